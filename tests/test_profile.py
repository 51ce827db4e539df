"""hwmodels.Profile: the JSON round trip and the refusal of inconsistent profiles."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwmodels import LayerProfile, Profile

from .conftest import dense, profile_of

counts = st.integers(min_value=0, max_value=10**9)
reals = st.floats(min_value=0, max_value=1e12, allow_nan=False)


@st.composite
def layers(draw, name: str):
    n_weights = draw(counts)
    return LayerProfile(
        name=name,
        kind=draw(st.sampled_from(["dense", "conv2d", "lateral", "recurrent"])),
        n_inputs=draw(counts), n_neurons=draw(counts), n_weights=n_weights,
        n_nonzero=draw(st.integers(min_value=0, max_value=n_weights)),
        weight_bits=draw(st.integers(min_value=1, max_value=64)),
        neuron_params=draw(st.dictionaries(st.sampled_from(["v_mem", "v_th", "decay", "theta"]),
                                           st.tuples(counts, st.integers(1, 64)), max_size=3)),
        macs_per_step=draw(counts), fan_out=draw(reals), input_events=draw(reals),
        output_spikes=draw(reals), spiking_input=draw(st.booleans()))


@st.composite
def profiles(draw):
    n = draw(st.integers(min_value=1, max_value=4))
    return Profile(layers=tuple(draw(layers(f"l{i}")) for i in range(n)),
                   timesteps=draw(st.integers(1, 10_000)),
                   coding=draw(st.sampled_from(["rate", "direct", "ttfs"])),
                   accuracy=draw(st.one_of(st.none(), st.floats(0, 1))),
                   phase=draw(st.sampled_from(["inference", "training"])))


@given(profiles())
def test_round_trip_through_json(profile: Profile) -> None:
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


def test_to_dict_is_plain_json_types() -> None:
    data = profile_of(dense(neuron_params={"v_mem": (3, 16)})).to_dict()
    assert data["layers"][0]["neuron_params"] == {"v_mem": [3, 16]}
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize("change, message", [
    (dict(n_nonzero=13), "n_nonzero (13) exceeds n_weights (12)"),
    (dict(n_inputs=-1), "n_inputs must be an integer in 0..2**63-1"),
    (dict(macs_per_step=10**400), "macs_per_step must be an integer in 0..2**63-1"),  # JSON allows it
    (dict(kind="pooling"), "kind must be one of dense, conv2d, lateral, recurrent"),
    (dict(input_events=float("nan")), "input_events must be a finite number"),
    (dict(weight_bits=0), "weight_bits must be an integer in 1..64"),
    (dict(neuron_params={"v_mem": [3]}), "neuron_params['v_mem'] must be [count, bits]"),
    (dict(output_spikes=-2.0), "output_spikes must be a finite number >= 0"),
    (dict(n_inputs=True), "n_inputs must be an integer in 0..2**63-1"),  # a bool is no count
    (dict(fan_out=float("inf")), "fan_out must be a finite number >= 0"),
    (dict(spiking_input=1), "spiking_input must be true or false"),
    (dict(neuron_params={"v_mem": [3, 65]}), "neuron_params['v_mem'] needs count in 0..2**63-1 and bits in 1..64"),
    (dict(neuron_params={"v_mem": [True, 8]}), "neuron_params['v_mem'] must be [count, bits]"),
])
def test_inconsistent_layers_are_refused(change, message) -> None:
    with pytest.raises(ValueError, match=r"layer 'fc'") as info:
        dense(**change)
    assert message in str(info.value)


def test_profile_level_checks() -> None:
    with pytest.raises(ValueError, match="repeated: a"):
        profile_of(dense("a"), dense("a"))
    with pytest.raises(ValueError, match="coding must be one of"):
        profile_of(dense(), coding="burst")
    with pytest.raises(ValueError, match="timesteps must be an integer >= 1"):
        profile_of(dense(), timesteps=0)
    with pytest.raises(ValueError, match="accuracy must be in 0..1"):
        profile_of(dense(), accuracy=1.5)
    with pytest.raises(ValueError, match="unknown field"):
        Profile.from_dict({"layers": [], "timesteps": 1, "colour": "red"})


def test_values_are_normalised_to_their_field_type() -> None:
    layer = dense(fan_out=3, input_events=2, neuron_params={"v_mem": (3, 16)})
    assert type(layer.fan_out) is float and type(layer.input_events) is float
    assert layer.neuron_params == {"v_mem": (3, 16)} and type(layer.neuron_params["v_mem"]) is tuple
