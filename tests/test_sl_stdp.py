"""SL-STDP (Srinivasan et al. 2017 as tinySNN compares it): its rule, its Profile, its learning."""

import pytest
import torch

import hwmodels
from dse.data import load_dataset
from dse.design import make_design
from dse.engines import Budget, DataShape, get
from dse.engines.stdp.network import Network
from dse.engines.stdp.params import Setup

DIGITS = DataShape((1, 8, 8), 10)


def test_the_rule_potentiates_recent_inputs_and_depresses_the_others_of_the_firing_column() -> None:
    design = make_design("stdp", {"network": "sl-stdp", "n_neurons": 2})
    net = Network(Setup.of(design, {"nu_post": 0.1, "x_offset": 0.4}), 2, torch.device("cpu"),
                  torch.Generator().manual_seed(0), dtype=torch.float64)
    net.w = torch.tensor([[0.5, 0.2], [0.5, 0.2]], dtype=torch.float64)
    net.sl_stdp_update(torch.tensor([1.0, 0.0], dtype=torch.float64), post=0)
    # input 0: 0.1 (1 - 0.4)(1 - 0.5) = +0.03; input 1: 0.1 (0 - 0.4) 0.5 = -0.02; column 1 untouched
    assert net.w.flatten().tolist() == pytest.approx([0.53, 0.2, 0.48, 0.2])


def test_its_profile_holds_the_inhibitory_population_and_only_the_input_traces() -> None:
    design = make_design("stdp", {"network": "sl-stdp", "n_neurons": 10, "weight_bits": 8, "neuron_bits": 16,
                                  "timesteps": 50})
    engine = get("stdp")
    layers = engine.static_profile(design, DIGITS).layers
    assert [(l.name, l.kind, l.n_weights, l.n_nonzero) for l in layers] == [
        ("x_ae", "dense", 640, 640), ("inh", "dense", 100, 10), ("inh_exc", "recurrent", 100, 90)]
    # x_ae 640 x 8 + 10 x 16 (V_mem) + 10 x 16 (V_th); inh 10 x 8 + 10 x 16 + 1 x 16; inh_exc 90 x 8
    memory = hwmodels.evaluate(engine.static_profile(design, DIGITS), ["memory"])["memory_bits"]
    assert memory == 5120 + 320 + 80 + 176 + 720
    out = engine.run(design, load_dataset("digits"), Budget(epochs=1, max_train_samples=20), lambda e, a: None)
    x_ae = out.training_profile.layers[0]
    assert x_ae.neuron_params == {"v_mem": (10, 16), "v_th": (10, 16), "x_pre": (64, 32)}
    assert x_ae.macs_per_step == 640 + 640 + 13  # forward, one outer product, normalisation / T
    # the rule touched the 64 synapses of each excitatory spike, nothing per input spike
    spikes = out.training_profile.layers[0].output_spikes
    assert spikes > 0
    assert x_ae.input_events * x_ae.fan_out == pytest.approx(x_ae.input_events * 10 + spikes * 64)


@pytest.mark.slow
def test_sl_stdp_learns_digits_well_above_chance() -> None:
    design = make_design("stdp", {"network": "sl-stdp", "n_neurons": 50, "timesteps": 100})
    out = get("stdp").run(design, load_dataset("digits"), Budget(epochs=1, max_train_samples=400),
                          lambda e, a: None)
    assert out.accuracy >= 0.35  # chance is 0.10 (measured 0.52)
