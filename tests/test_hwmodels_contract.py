"""Every registered cost model against Contract 2: names, units, options, totals, breakdowns, static metrics."""

import math
import sys
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hwmodels
from hwmodels.memory import SPARSE_FORMATS, memory_bits

from .conftest import dense, profile_of
from .test_hwmodels_values import CONV
from .test_profile import profiles


@given(profiles(), st.sampled_from(SPARSE_FORMATS), st.integers(1, 64))
def test_memory_at_other_bits_equals_the_rebuilt_profile(profile, sparse_format, bits) -> None:
    # The fast path (no profile rebuilt) against the slow reference, Profile.with_bits.
    assert memory_bits(profile, sparse_format, bits) == memory_bits(profile.with_bits(bits), sparse_format)


CONTRACT_OPTIONS = {"sparse_format", "arithmetic", "include_neuron_updates", "s_ref", "t_ref", "gpu_targets", "mu"}
EXTENSIONS = {"include_weight_fetch"}  # energy45nm's optional SRAM term (docs/cost-models.md, issue 4)
OTHER_VALUES = {"sparse_format": "csr", "arithmetic": "int", "include_neuron_updates": True, "s_ref": 1e3,
                "t_ref": 8, "gpu_targets": ["rtx2080ti"], "mu": 0.9, "include_weight_fetch": True}
MODELS = hwmodels.available()


def busy_profile(phase: str = "inference"):
    stem = dense("stem", n_inputs=64, n_neurons=32, n_weights=2048, n_nonzero=1500, weight_bits=8,
                 macs_per_step=2048, output_spikes=40.0, spiking_input=False,
                 neuron_params={"v_mem": (32, 16), "v_th": (1, 16), "decay": (1, 16)})
    fc = dense("fc", n_inputs=64, n_neurons=10, n_weights=640, n_nonzero=320, weight_bits=2, macs_per_step=640,
               fan_out=5.0, input_events=30.0, output_spikes=9.0, neuron_params={"v_mem": (10, 8)})
    inh = dense("inh", kind="lateral", n_inputs=10, n_neurons=10, n_weights=1, n_nonzero=1,
                macs_per_step=90, fan_out=9.0, input_events=9.0)
    return profile_of(stem, dense(**CONV), fc, inh, timesteps=4, accuracy=0.8, phase=phase)


def quiet(profile):
    """The same shapes with no measured activity and no accuracy (what a study has before training)."""
    layers = tuple(replace(l, input_events=0.0, output_spikes=0.0) for l in profile.layers)
    return replace(profile, layers=layers, accuracy=None)


def own_units(name: str) -> dict[str, str]:
    return {metric: unit for metric, (_, unit) in hwmodels.units(name).items()}


@pytest.mark.parametrize("name", MODELS)
def test_declares_a_name_metrics_with_units_and_contract_options(name: str) -> None:
    model = hwmodels.get(name)
    assert model.name == name
    assert model.metrics and all(isinstance(u, str) and u for u in model.metrics.values())
    assert model.additive <= set(model.metrics) and model.static <= set(model.metrics)
    assert set(model.options) <= CONTRACT_OPTIONS | EXTENSIONS
    assert all(option.help for option in model.options.values())
    model.resolve({})  # every default passes its own check
    doc = sys.modules[type(model).__module__].__doc__
    assert doc and any(cite in doc for cite in ("Eq.", "docs/cost-models.md", "NeuroBench", "Horowitz"))


@pytest.mark.parametrize("name", MODELS)
def test_estimate_returns_exactly_its_metrics_in_order_as_finite_floats(name: str) -> None:
    for phase in ("inference", "training"):
        out = hwmodels.evaluate(busy_profile(phase), name)
        assert list(out) and list(out) == list(own_units(name))  # in the declared order
        assert all(isinstance(v, float) and math.isfinite(v) for v in out.values()), out


@pytest.mark.parametrize("name", MODELS)
def test_breakdown_holds_every_additive_metric_and_adds_up_to_the_total(name: str) -> None:
    model = hwmodels.get(name)
    profile = busy_profile()
    totals = hwmodels.evaluate(profile, name)
    per_layer = hwmodels.breakdown(profile, name)
    additive = {m for m in totals if model.is_additive(m)}
    assert list(per_layer) == [layer.name for layer in profile.layers]
    for values in per_layer.values():
        assert set(values) == additive
    for metric in additive:
        assert sum(v[metric] for v in per_layer.values()) == pytest.approx(totals[metric]), metric


def test_every_model_but_the_ratios_breaks_down_per_layer() -> None:
    per_layer = hwmodels.breakdown(busy_profile())["conv"]
    not_additive = set(hwmodels.units()) - set(per_layer)
    assert not_additive == {"spike_rate", "spike_sparsity", "energy_truenorth", "energy_spinnaker", "reward", "memory_ratio",
                            "connection_sparsity", "activation_sparsity"}


@pytest.mark.parametrize("name", MODELS)
def test_static_metrics_need_no_measured_activity(name: str) -> None:
    static = hwmodels.static_metrics(name)
    assert static == {m for m in own_units(name) if hwmodels.get(name).is_static(m)}
    busy, before = hwmodels.evaluate(busy_profile(), name), hwmodels.evaluate(quiet(busy_profile()), name)
    for metric in static:
        assert busy[metric] == before[metric], metric


@pytest.mark.parametrize("name", MODELS)
def test_a_model_ignores_the_options_of_the_others(name: str) -> None:
    others = {k: v for k, v in OTHER_VALUES.items() if k not in hwmodels.get(name).options}
    assert hwmodels.evaluate(busy_profile(), name, **others) == hwmodels.evaluate(busy_profile(), name)


@pytest.mark.parametrize("name", MODELS)
def test_a_bad_option_value_names_the_model_and_the_option(name: str) -> None:
    for key in hwmodels.get(name).options:
        with pytest.raises(ValueError, match=f"option '{key}' of model '{name}': expected"):
            hwmodels.evaluate(busy_profile(), name, **{key: object()})


@pytest.mark.parametrize("name", MODELS)
def test_every_option_declares_a_constraint_and_refuses_nan_and_infinity(name: str) -> None:
    for key, option in hwmodels.get(name).options.items():
        assert isinstance(option.constraint, hwmodels.Constraint), key
        assert option.check(option.default) == hwmodels.get(name).resolve({})[key]
        for bad in (float("nan"), float("inf"), -float("inf")):
            with pytest.raises(hwmodels.Invalid) as info:
                hwmodels.get(name).resolve({key: bad})
            assert info.value.where == f"option {key!r} of model {name!r}"
            assert info.value.got is bad and info.value.expected
            assert str(info.value) == f"{info.value.where}: expected {info.value.expected}, got {bad!r}" \
                or key == "gpu_targets"


def test_a_bad_option_is_a_structured_invalid() -> None:
    with pytest.raises(hwmodels.Invalid) as info:
        hwmodels.evaluate(busy_profile(), "neuromorphic", t_ref=-1)
    assert (info.value.expected, info.value.got, info.value.where) == (
        "numbers > 0", -1, "option 't_ref' of model 'neuromorphic'")
    assert str(info.value) == "option 't_ref' of model 'neuromorphic': expected numbers > 0, got -1"
    with pytest.raises(hwmodels.Invalid) as info:
        hwmodels.evaluate(busy_profile(), "energy45nm", include_neuron_updates=1)
    assert str(info.value) == ("option 'include_neuron_updates' of model 'energy45nm': "
                               "expected true or false, got 1")


@pytest.mark.parametrize("change, message", [
    (dict(fan_out=float("inf")), "layer 'fc': fan_out must be a finite number >= 0, got inf"),
    (dict(output_spikes=float("nan")), "layer 'fc': output_spikes must be a finite number >= 0, got nan"),
    (dict(weight_bits=True), "layer 'fc': weight_bits must be an integer in 1..64, got True"),
    (dict(spiking_input=1), "layer 'fc': spiking_input must be true or false, got 1"),
    (dict(neuron_params={"v": (1, 65)}), "layer 'fc': neuron_params['v'] needs count in 0..2**63-1 and bits "
                                         "in 1..64, got [1, 65]"),
])
def test_a_bad_layer_field_is_a_structured_invalid(change, message) -> None:
    with pytest.raises(hwmodels.Invalid) as info:
        dense("fc", **change)
    assert str(info.value) == message and info.value.where == "layer 'fc'"
    (key, value), = change.items()
    assert info.value.got is value or key == "neuron_params"


@pytest.mark.parametrize("change, message", [
    (dict(accuracy=float("nan")), "profile: accuracy must be in 0..1 or null, got nan"),
    (dict(accuracy=float("inf")), "profile: accuracy must be in 0..1 or null, got inf"),
    (dict(timesteps=2.0), "profile: timesteps must be an integer >= 1, got 2.0"),
    (dict(phase="test"), "profile: phase must be one of inference, training, got 'test'"),
])
def test_a_bad_profile_field_is_a_structured_invalid(change, message) -> None:
    with pytest.raises(hwmodels.Invalid) as info:
        profile_of(dense(), **change)
    assert str(info.value) == message and info.value.where == "profile"
    assert profile_of(dense(), accuracy=1).accuracy == 1.0 and profile_of(dense(), accuracy=None).accuracy is None


def test_metric_names_are_unique_across_models() -> None:
    names = [m for model in MODELS for m in hwmodels.get(model).metrics_for(**hwmodels.get(model).resolve({}))]
    assert len(names) == len(set(names))


def test_only_a_profile_reaches_a_model() -> None:
    with pytest.raises(TypeError, match="expected a hwmodels.Profile, got dict"):
        hwmodels.evaluate(busy_profile().to_dict())
