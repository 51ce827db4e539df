"""The STDP engine end to end: profiles of both networks, quantised trials, a real training run."""

import math
from dataclasses import fields, replace

import numpy as np
import pytest

import hwmodels
from dse.data import load_dataset
from dse.engines import Budget, DataShape, get
from dse.engines.stdp.shapes import Activity, profile
from dse.engines import DesignError
from dse.errors import UserError
from dse.design import make_design

DIGITS = DataShape((1, 8, 8), 10)
ACTIVITY_FIELDS = {"input_events", "output_spikes", "fan_out"}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def design(**params):
    return make_design("stdp", params)


def test_tinysnn_profile_is_the_input_layer_and_one_shared_lateral_weight() -> None:
    p = get("stdp").static_profile(design(network="tinysnn", n_neurons=100, weight_bits=8, neuron_bits=8), DIGITS)
    x_ae, lateral = p.layers
    assert (x_ae.name, x_ae.kind, x_ae.n_weights, x_ae.macs_per_step, x_ae.fan_out) == ("x_ae", "dense", 6400, 6400, 100)
    assert x_ae.neuron_params == {"v_mem": (100, 8), "v_th": (100, 8)}
    assert (lateral.kind, lateral.n_weights, lateral.n_nonzero, lateral.macs_per_step, lateral.fan_out) == \
        ("lateral", 1, 1, 100, 99)
    assert p.n_neurons == 100 and p.timesteps == 250 and p.coding == "rate"
    assert hwmodels.evaluate(p, "memory")["memory_bits"] == 6400 * 8 + 1 * 8 + (100 + 100) * 8


def test_the_baseline_profile_holds_the_inhibitory_population_as_its_own_layer() -> None:
    p = get("stdp").static_profile(design(network="diehl-cook", n_neurons=100), DIGITS)
    x_ae, inh, inh_exc = p.layers
    assert (inh.name, inh.kind, inh.n_weights, inh.n_nonzero, inh.fan_out) == ("inh", "dense", 10000, 100, 1.0)
    assert inh.neuron_params == {"v_mem": (100, 32), "v_th": (1, 32)}
    assert (inh_exc.kind, inh_exc.n_weights, inh_exc.n_nonzero, inh_exc.fan_out) == ("recurrent", 10000, 9900, 99)
    assert p.n_neurons == 200  # excitatory and inhibitory
    baseline = hwmodels.evaluate(p, "memory")["memory_bits"]
    assert baseline == (6400 + 100 + 9900) * 32 + (100 + 100 + 100 + 1) * 32
    tiny8 = get("stdp").static_profile(design(network="tinysnn", weight_bits=8, neuron_bits=8), DIGITS)
    assert baseline / hwmodels.evaluate(tiny8, "memory")["memory_bits"] >= 3.3  # seed section 4.2


def test_training_profiles_count_traces_and_the_learning_rule_s_work() -> None:
    activity = Activity(input_events=600.0, exc_spikes=10.0, inh_spikes=9.0, updated_synapses=6400.0)
    base = profile(design(network="diehl-cook"), DIGITS, "training", activity).layers[0]
    tiny = profile(design(network="tinysnn", update_interval=50), DIGITS, "training", activity).layers[0]
    # pair STDP: two outer products per step beside the forward pass; tinySNN: one update per T_u
    assert base.macs_per_step == 6400 + 2 * 6400 + math.ceil(6400 / 250)
    assert tiny.macs_per_step == 6400 + 6400 // 50 + math.ceil(6400 / 250)
    assert base.neuron_params["x_post"] == (100, 32) and "spike_count" not in base.neuron_params
    assert tiny.neuron_params["spike_count"] == (100, 8) and "x_post" not in tiny.neuron_params
    assert tiny.neuron_params["x_pre"] == base.neuron_params["x_pre"] == (64, 32)
    # synaptic operations = forward accumulates + updated synapses
    assert base.synops == pytest.approx(600 * 100 + 6400)
    inference = profile(design(network="diehl-cook"), DIGITS, "inference", activity)
    assert inference.layers[0].synops == 600 * 100 and inference.phase == "inference"


@pytest.mark.parametrize("params", [
    dict(network="tinysnn"),
    dict(network="diehl-cook"),
    dict(network="tinysnn", weight_bits=8, neuron_bits=8, quantization="ptq", rounding="nearest"),
    dict(network="diehl-cook", weight_bits=6, neuron_bits=8, quantization="qat", rounding="stochastic"),
])
def test_a_short_trial_measures_profiles_with_the_static_shapes(digits, params) -> None:
    d = design(n_neurons=12, timesteps=40, update_interval=10, **params)
    epochs = []
    outcome = get("stdp").run(d, digits, Budget(epochs=2, seed=1, max_train_samples=40, variants=({"timesteps": 20},)),
                              lambda e, a: epochs.append(e))
    assert epochs == [0, 1]
    static = get("stdp").static_profile(d, DIGITS)
    for phase in (outcome.profile, outcome.training_profile):
        assert len(phase.layers) == len(static.layers)
        for measured, shape in zip(phase.layers, static.layers):
            for f in fields(shape):
                if f.name not in ACTIVITY_FIELDS and not (phase.phase == "training" and f.name in
                                                          ("neuron_params", "macs_per_step")):
                    assert getattr(measured, f.name) == getattr(shape, f.name), f.name
    p, t = outcome.profile, outcome.training_profile
    assert p.phase == "inference" and t.phase == "training" and 0 <= outcome.accuracy <= 1
    assert p.layers[0].input_events > 0 and t.layers[0].input_events > 0
    assert p.layers[1].input_events == p.layers[0].output_spikes  # inhibition is driven by Ae spikes
    if d.network == "diehl-cook":
        assert p.layers[2].input_events == p.layers[1].output_spikes
    assert [v.name for v in outcome.variants] == ["T=20"] and outcome.variants[0].profile.timesteps == 20
    assert outcome.extras["event_driven"] == (params.get("quantization") != "qat")


@pytest.mark.slow  # two passes of 1257 images x 250 steps: ~15 s; the short trials above cover the training path
def test_training_on_digits_labels_most_neurons_and_beats_chance_widely(digits) -> None:
    """Defaults (README, STDP engine): 100 tinySNN neurons, 250 steps, two passes."""
    outcome = get("stdp").run(design(network="tinysnn", n_neurons=100), digits, Budget(epochs=2, seed=0),
                              lambda e, a: None)
    assert outcome.accuracy >= 0.70
    assert outcome.extras["labelled_neurons"] >= 0.9


def test_pixels_outside_0_1_and_too_few_steps_are_refused(digits) -> None:
    bad = replace(digits, x_train=digits.x_train * 16)
    with pytest.raises(UserError, match=r"rate-codes pixels in \[0, 1\], got values in \[0, 16\]"):
        get("stdp").run(design(), bad, Budget(epochs=1), lambda e, a: None)
    with pytest.raises(DesignError, match="timesteps = 1: a presentation needs at least 2 steps"):
        get("stdp").run(design(timesteps=1), digits, Budget(epochs=1), lambda e, a: None)
    with pytest.raises(DesignError, match="update_interval = 300 exceeds timesteps = 250: tinySNN would never"):
        get("stdp").run(design(update_interval=300), digits, Budget(epochs=1), lambda e, a: None)
    assert np.all(digits.x_train <= 1)
