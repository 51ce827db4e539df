"""Precision per neuron parameter (vmem_bits / vth_bits) and per weight layer (layer_bits).

Memory counts are computed by hand from tinySNN Eq. 4 (weights x bits + neuron
parameters x bits, docs/cost-models.md "Memory", sparse_format ideal).
"""

import optuna
import pytest
import torch

import hwmodels
from dse.design import make_design
from dse.engines import DataShape, get
from dse.engines.stdp.network import Network, Ranges
from dse.engines.stdp.params import Setup
from dse.engines.surrogate.model import PlannedSNN
from dse.engines.surrogate.shapes import plan
from dse.engines.ttfs.model import TTFSNet
from dse.errors import SpecError
from dse.space import suggest
from dse.study.variants import requests
from dse.spec import parse_spec

DIGITS = DataShape((1, 8, 8), 10)


def memory(engine: str, design) -> float:
    return hwmodels.evaluate(get(engine).static_profile(design, DIGITS), ["memory"])["memory_bits"]


def test_vmem_and_vth_bits_split_neuron_bits_in_the_profile_and_memory() -> None:
    # N = 10 excitatory neurons on 64 inputs, W at 4 bits, V_mem at 8, V_th at neuron_bits = 16
    design = make_design("stdp", {"network": "tinysnn", "n_neurons": 10, "weight_bits": 4,
                                  "neuron_bits": 16, "vmem_bits": 8})
    x_ae = get("stdp").static_profile(design, DIGITS).layers[0]
    assert x_ae.neuron_params == {"v_mem": (10, 8), "v_th": (10, 16)}
    # x_ae: 640 x 4 + 10 x 8 + 10 x 16 = 2800; lateral: one weight of 4 bits
    assert memory("stdp", design) == 2800 + 4
    # the old key alone still sets both; vth_bits alone overrides only v_th
    both = make_design("stdp", {"n_neurons": 10, "weight_bits": 4, "neuron_bits": 16})
    assert get("stdp").static_profile(both, DIGITS).layers[0].neuron_params == {"v_mem": (10, 16), "v_th": (10, 16)}
    vth = make_design("stdp", {"n_neurons": 10, "neuron_bits": 16, "vth_bits": 3})
    assert get("stdp").static_profile(vth, DIGITS).layers[0].neuron_params == {"v_mem": (10, 16), "v_th": (10, 3)}
    # the baseline's inhibitory population too: v_mem per neuron, one shared v_th
    base = make_design("stdp", {"network": "diehl-cook", "n_neurons": 10, "neuron_bits": 16, "vmem_bits": 8})
    assert get("stdp").static_profile(base, DIGITS).layers[1].neuron_params == {"v_mem": (10, 8), "v_th": (1, 16)}


def test_vmem_and_vth_bits_reach_the_quantisers() -> None:
    design = make_design("stdp", {"n_neurons": 4, "neuron_bits": 16, "vmem_bits": 6, "vth_bits": 10})
    net = Network(Setup.of(design), 64, torch.device("cpu"), torch.Generator().manual_seed(0))
    net.make_grids(Ranges(v_exc=20.0, v_th=20.0))
    # |x| <= 20 needs 5 integer bits: V_mem signed 6 bits -> Q5.0 (step 1), V_th unsigned 10 -> Q5.5
    assert (net.grids.v_exc.delta, net.grids.v_exc.kmax) == (1.0, 31)
    assert (net.grids.v_th.delta, net.grids.v_th.kmax) == (2.0 ** -5, 1023)
    small = make_design("surrogate", {"hidden": [8], "neuron_bits": 16, "vth_bits": 2, "threshold": 1.3})
    surrogate = PlannedSNN(small, plan(small, DIGITS))
    # threshold 1.3 at 2 signed bits: a sign and 1 integer bit, step 1 -> 1.0; V_mem keeps 16 bits
    assert surrogate.quant_neuron.threshold == 1.0
    assert surrogate.quant_neuron.state_grid.kmax == 2**15 - 1


def test_layer_bits_reach_the_stdp_network_and_its_memory() -> None:
    design = make_design("stdp", {"network": "diehl-cook", "n_neurons": 10, "layer_bits": [4, 2, 6],
                                  "inhibition": 17.3, "neuron_bits": 8})
    assert design.weight_bits == 2  # the lowest layer's: "anything quantised" stays true
    profile = get("stdp").static_profile(design, DIGITS)
    assert [(l.name, l.weight_bits) for l in profile.layers] == [("x_ae", 4), ("inh", 2), ("inh_exc", 6)]
    # x_ae 640 x 4 + 10 x 8 x 2; inh 10 nonzero x 2 + 10 x 8 + 1 x 8; inh_exc 90 nonzero x 6
    assert memory("stdp", design) == 2560 + 160 + 20 + 88 + 540
    net = Network(Setup.of(design), 64, torch.device("cpu"), torch.Generator().manual_seed(0))
    net.make_grids(Ranges(v_exc=20.0, v_th=20.0, v_inh=20.0))
    net.quantize_params()
    assert net.grids.w.delta == 2.0 ** -4 and len(torch.unique(net.w)) <= 16
    # 17.3 at 6 bits (5 integer, 1 fraction) -> 17.5; 22.5 at 2 bits (5 integer bits, step 8) -> 24
    assert (net.inh, net.exc_to_inh) == (17.5, 24.0)


def test_layer_bits_reach_the_surrogate_and_ttfs_quantisers() -> None:
    dense = make_design("surrogate", {"hidden": [16], "layer_bits": [2, 8], "quantization": "ptq"})
    assert [l.weight_bits for l in get("surrogate").static_profile(dense, DIGITS).layers] == [2, 8]
    # fc1: 64 x 16 x 2 + 16 x 32 (v_mem) + v_th, decay at 32; out: 16 x 10 x 8 + 10 x 32 + 10 x 8 (bias)
    assert memory("surrogate", dense) == 2048 + 512 + 64 + 1280 + 320 + 80
    model = PlannedSNN(dense, plan(dense, DIGITS))
    frozen = model.freeze(None)
    assert len(torch.unique(frozen.edges[0])) <= 4 < len(torch.unique(frozen.readout)) <= 256
    ttfs = make_design("ttfs", {"hidden": [16], "layer_bits": [3, 5]})
    layers = get("ttfs").static_profile(ttfs, DIGITS).layers
    assert [(l.weight_bits, l.neuron_params["bias"][1]) for l in layers] == [(3, 3), (5, 5)]
    net = TTFSNet(ttfs, DIGITS).eval().freeze()
    assert len(torch.unique(net.weights[0])) <= 8 < len(torch.unique(net.weights[1])) <= 32


def test_layer_bits_become_one_parameter_per_layer() -> None:
    spec = parse_spec({
        "study": {"name": "lb", "engine": "stdp", "n_trials": 1},
        "objectives": {"accuracy": "maximize"},
        "space": {"network": {"choices": ["diehl-cook"]}, "layer_bits": {"choices": [True]},
                  "weight_bits": {"choices": [2, 4, 8]}},
        "hardware": {"models": ["memory"]},
    }, "lb.toml")
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    design = suggest(trial, spec)
    assert sorted(trial.params) == ["layer_bits", "network", "weight_bits_l0", "weight_bits_l1", "weight_bits_l2"]
    assert design.layer_bits == tuple(trial.params[f"weight_bits_l{i}"] for i in range(3))
    with pytest.raises(SpecError, match=r"\[space\]\.layer_bits.*use cell_bits"):
        parse_spec({"study": {"name": "c", "engine": "surrogate"}, "objectives": {"accuracy": "maximize"},
                    "space": {"cells": {"choices": [2]}, "layer_bits": {"choices": [True]}}}, "c.toml")
    with pytest.raises(ValueError, match="layer_bits: expected 2 integers"):
        make_design("ttfs", {"hidden": [16], "layer_bits": [3, 5, 8]})


def test_a_weight_bits_variant_of_a_per_layer_design_sets_every_layer() -> None:
    design = make_design("stdp", {"network": "tinysnn", "layer_bits": [8, 4]})  # weight_bits = 4, the lowest
    asked = requests({"weight_bits": (4, 8)}, design, get("stdp"))
    assert asked == ({"weight_bits": 4}, {"weight_bits": 8})  # w=4 is not the design: its x_ae has 8 bits
    assert requests({"weight_bits": (4,)}, make_design("stdp", {"weight_bits": 4}), get("stdp")) == ()
