"""Convolutional cell networks (LitE-SNN search space): shapes, SynOps, mixed precision, search."""

import math

import pytest
import torch
import torch.nn.functional as F

import hwmodels
from dse.data import load_dataset
from dse.engines import Budget, DataShape, get
from dse.engines.activity import Activity
from dse.engines.runtime import tensors
from dse.engines.surrogate.engine import fit
from dse.engines.surrogate.shapes import conv_out, plan, reduction_cells
from dse.design import make_design
from dse.spec import parse_spec
from dse.study import run_study

DIGITS = DataShape((1, 8, 8), 10)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def cell_design(**kw):
    args = {"cells": 2, "nodes": 2, "channels": 4, "timesteps": 3}
    args.update(kw)
    return make_design("surrogate", args)


def test_reductions_follow_litesnn() -> None:
    assert [sorted(reduction_cells(n)) for n in (1, 2, 3, 8)] == [[], [1], [1, 2], [2, 5]]
    assert conv_out(8, 3, 2) == 4 and conv_out(7, 3, 2) == 4 and conv_out(8, 1, 2) == 4


def test_plan_of_two_cells_by_hand() -> None:
    p = plan(cell_design(ops=("conv3x3",) * 8), DIGITS)
    names = [s.name for s in p.states]
    assert names == ["input", "stem", "c0.n0", "c0.n1", "c0", "c1.n0", "c1.n1", "c1"]
    shapes = {s.name: s.shape for s in p.states}
    assert shapes["stem"] == (4, 8, 8) and shapes["c0"] == (8, 8, 8)  # 2 nodes x 4 channels
    assert shapes["c1.n0"] == (8, 4, 4)  # the second of 2 cells reduces: channels x2, resolution /2
    c1n0 = p.populations[3]
    assert [(e.source, e.op, e.stride) for e in c1n0.edges] == [(1, "conv3x3", 2), (4, "conv3x3", 2)]
    assert p.readout_source == 7


def test_skip_between_different_shapes_becomes_a_strided_1x1_conv() -> None:
    p = plan(cell_design(ops=("skip",) * 8), DIGITS)
    c0n0, c0n1, c1n0, c1n1 = p.populations[1:]
    assert [e.op for e in c0n0.edges] == ["skip", "skip"]  # stem (4 ch) -> node (4 ch): identity
    assert [(e.op, e.stride) for e in c1n0.edges] == [("conv1x1", 2), ("conv1x1", 2)]
    assert [e.op for e in c1n1.edges] == ["conv1x1", "skip"]  # from c0 (8 ch, 8x8); from c1.n0 (same shape)


def test_static_profile_of_a_cell_by_hand() -> None:
    design = cell_design(ops=("conv3x3", "skip", "zero", "conv1x1", "conv3x3", "conv3x3", "skip", "skip"),
                         weight_bits=4, neuron_bits=8, pruning=0.5)
    layers = {l.name: l for l in get("surrogate").static_profile(design, DIGITS).layers}
    stem = layers["stem"]
    assert (stem.n_inputs, stem.n_neurons, stem.n_weights) == (64, 4 * 64, 4 * 1 * 9)
    assert stem.macs_per_step == 4 * 64 * 9 and not stem.spiking_input  # direct coding: analog
    n0 = layers["c0.n0"]  # conv3x3 from the stem + identity from the stem
    assert n0.n_weights == 4 * 4 * 9 and n0.n_inputs == 256 + 256
    assert n0.macs_per_step == 256 * 4 * 9 + 256
    assert n0.n_nonzero == 144 - math.floor(0.5 * 144)
    assert n0.neuron_params == {"v_mem": (256, 8), "v_th": (1, 8), "decay": (1, 8),
                                "bn_scale": (4, 8), "bn_shift": (4, 8)}  # one BN: one weighted edge
    n1 = layers["c0.n1"]  # "zero" from the stem, conv1x1 from c0.n0
    assert n1.n_weights == 4 * 4 and n1.n_inputs == 256
    out = layers["out"]
    assert (out.n_inputs, out.n_weights, out.weight_bits) == (16 * 16, 16 * 10, 4)


def test_synops_of_a_conv_cell_equal_a_hand_count_on_a_fixed_input(digits) -> None:
    design = cell_design(cells=1, nodes=1, ops=("conv3x3", "skip"), pruning=0.4, coding="rate", timesteps=2)
    trained = fit(design, digits, Budget(epochs=1, seed=0), lambda e, a: None)
    model = trained.model
    x, _ = tensors(digits.x_test[:3], digits.y_test[:3], trained.device)
    activity = Activity.empty(3)
    model(x, 2, model.frozen, model.neuron_config(False), torch.Generator().manual_seed(1), activity)
    # the stem's spikes of the same pass, then every (event, kernel tap) pair counted in Python
    from dse.engines.surrogate.fused import lif

    inputs = torch.bernoulli(x.expand(2, *x.shape), generator=torch.Generator().manual_seed(1))
    stem_w, node_w = model.frozen.edges
    with torch.no_grad():
        current = model.norms[0](F.conv2d(inputs.reshape(-1, 1, 8, 8), stem_w, padding=1)).reshape(2, 3, 4, 8, 8)
        stem_spikes = lif(current, 2, model.neuron_config(False), constant=False)
    nonzero = node_w != 0  # [4 out, 4 in, 3, 3]
    hand = 0
    for t, b, c, i, j in stem_spikes.nonzero().tolist():  # each stem spike at (c, i, j)
        for o in range(4):
            for di in range(3):
                for dj in range(3):
                    oi, oj = i - di + 1, j - dj + 1  # the output this tap of the kernel reaches
                    if 0 <= oi < 8 and 0 <= oj < 8 and nonzero[o, c, di, dj]:
                        hand += 1
    hand += int(stem_spikes.sum())  # the skip edge: one accumulate per spike
    assert activity.synops[1] == hand
    assert activity.output_spikes[0] == float(stem_spikes.sum())


def test_trained_cell_profile_matches_its_static_shapes(digits) -> None:
    design = cell_design(ops=("conv3x3", "skip", "conv1x1", "conv3x3") * 2, cell_bits=(2, 8), weight_bits=4)
    out = get("surrogate").run(design, digits, Budget(epochs=1, seed=0), lambda e, a: None)
    static = get("surrogate").static_profile(design, DIGITS)
    strip = lambda p: [(l.name, l.kind, l.n_inputs, l.n_neurons, l.n_weights, l.weight_bits, l.neuron_params,  # noqa: E731
                        l.macs_per_step) for l in p.layers]
    assert strip(out.profile) == strip(static)
    assert [l.weight_bits for l in out.profile.layers] == [4, 2, 2, 8, 8, 4]  # stem, cell 0, cell 1, readout
    for trained, shape_only in zip(out.profile.layers, static.layers):
        if trained.weight_bits <= 4:  # LitE-SNN's mid-rise grid has no zero: nothing more is pruned
            assert trained.n_nonzero == shape_only.n_nonzero
        else:  # fixed point may round small weights to zero: the pre-training bound holds
            assert trained.n_nonzero <= shape_only.n_nonzero
    assert hwmodels.evaluate(out.profile, "memory")["memory_bits"] <= \
        hwmodels.evaluate(static, "memory")["memory_bits"]


@pytest.mark.slow  # 6 epochs to a stated accuracy (fewer fall short); 1-epoch cell trainings above stay fast
def test_a_small_cell_network_learns_digits(digits) -> None:
    design = cell_design(cells=2, nodes=2, channels=8, timesteps=4)
    out = get("surrogate").run(design, digits, Budget(epochs=6, seed=0), lambda e, a: None)
    assert out.accuracy >= 0.85


def test_each_edge_and_each_cell_is_its_own_parameter(tmp_path) -> None:
    spec = parse_spec({
        "study": {"name": "cells", "engine": "surrogate", "n_trials": 3, "sampler": "random"},
        "objectives": {"accuracy": "maximize", "bit_synops": "minimize"},
        "space": {"cells": {"choices": [1, 2]}, "nodes": {"choices": [2]}, "channels": {"choices": [4]},
                  "ops": {"choices": ["conv3x3", "skip"]}, "cell_bits": {"choices": [True]},
                  "weight_bits": {"choices": [1, 2, 4, 8]}, "timesteps": {"choices": [2]}},
        "train": {"epochs": 1, "batch_size": 256},
        "hardware": {"models": ["memory", "synops"]},
    }, "cells.toml")
    result = run_study(spec, storage=f"sqlite:///{tmp_path / 'c.db'}", show_progress=False)
    for trial in result.study.trials:
        assert trial.state.name == "COMPLETE"
        cells = trial.params["cells"]
        ops = sorted(k for k in trial.params if k.startswith("op_"))
        assert ops == sorted(f"op_c{k}_n{i}_e{e}" for k in range(cells) for i in range(2) for e in (0, 1))
        assert sorted(k for k in trial.params if k.startswith("weight_bits_c")) == \
            [f"weight_bits_c{k}" for k in range(cells)]
        assert set(trial.params[o] for o in ops) <= {"conv3x3", "skip"}


def test_impossible_memory_constraint_sees_the_cheapest_ops_and_bits() -> None:
    base = {
        "study": {"name": "c", "engine": "surrogate"},
        "objectives": {"accuracy": "maximize"},
        "space": {"cells": {"choices": [2]}, "channels": {"choices": [4]}, "ops": {"choices": ["conv3x3", "skip"]},
                  "cell_bits": {"choices": [True]}, "weight_bits": {"choices": [1, 32]}},
        "hardware": {"models": ["memory"]},
    }
    # all skips at 1 bit is small; all conv3x3 at 32 bits is not: only the cheap corner meets 60 kbit
    from dse.errors import SpecError
    from dse.study import check_feasible

    check_feasible(parse_spec({**base, "constraints": {"memory_bits": {"max": 60000}}}, "c.toml"))
    with pytest.raises(SpecError, match="impossible"):
        check_feasible(parse_spec({**base, "constraints": {"memory_bits": {"max": 100}}}, "c.toml"))


def test_mixed_precision_keeps_stem_and_readout_at_io_bits(tmp_path) -> None:
    spec = parse_spec({
        "study": {"name": "io", "engine": "surrogate", "n_trials": 2, "sampler": "random"},
        "objectives": {"accuracy": "maximize"},
        "space": {"cells": {"choices": [2]}, "nodes": {"choices": [1]}, "channels": {"choices": [4]},
                  "cell_bits": {"choices": [True]}, "weight_bits": {"choices": [1, 2]},
                  "io_bits": {"choices": [4]}, "timesteps": {"choices": [2]}},
        "train": {"epochs": 1, "batch_size": 256},
        "hardware": {"models": ["memory"]},
    }, "io.toml")
    result = run_study(spec, storage=f"sqlite:///{tmp_path / 'io.db'}", show_progress=False)
    for trial in result.study.trials:
        assert "weight_bits" not in trial.params  # no dimension that nothing uses
        assert {trial.params["weight_bits_c0"], trial.params["weight_bits_c1"]} <= {1, 2}
    design = make_design("surrogate", {"cells": 2, "nodes": 1, "cell_bits": (1, 2), "io_bits": 4})
    bits = [l.weight_bits for l in get("surrogate").static_profile(design, DIGITS).layers]
    assert bits == [4, 1, 2, 4]  # stem, cell 0, cell 1, readout
    with pytest.raises(ValueError, match="cell_bits: expected 2 integers 1..32"):
        make_design("surrogate", {"cells": 2, "nodes": 1, "cell_bits": (1, 2, 4)})
    with pytest.raises(ValueError, match="ops: expected 4 operations"):
        make_design("surrogate", {"cells": 2, "nodes": 1, "ops": ("skip",)})
