"""STDP networks kept and used again: a trial's stored network (quantised weights, learned
thresholds, the readout's labels, the evaluation's random state) gives its stored test accuracy
exactly under ``dse evaluate``, variants included, and exports to NIR as far as NIR can hold it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dse.data import load_dataset
from dse.design import make_design
from dse.engines import Budget, get
from tests.conftest import evaluated, invoke, stored_accuracy, trained_study

SPEC = {
    "study": {"name": "sd", "engine": "stdp", "n_trials": 1, "sampler": "grid", "seed": 0},
    "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
    "space": {"network": {"choices": ["tinysnn"]}, "n_neurons": {"choices": [30]},
              "timesteps": {"choices": [100]}, "weight_bits": {"choices": [4]},
              "rounding": {"choices": ["stochastic"]}},
    "variants": {"timesteps": [50], "weight_bits": [2]},
    "train": {"epochs": 1, "max_train_samples": 150},
    "hardware": {"models": ["memory"]},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return trained_study(tmp_path_factory, SPEC, "stdp-deploy")


def stored(url: str, variant: str = "") -> float:
    return stored_accuracy(url, "sd", 0, variant)


def test_a_stdp_trial_keeps_its_network_as_evaluated(study) -> None:
    from dse.deploy import weights

    url, folder = study
    network = weights.trial_network(url, None, "sd", 0)
    arrays, meta = network["arrays"], network["meta"]
    assert network["engine"] == "stdp" and (folder / "dse.db.artifacts").is_dir()
    w, vth, assignment = arrays["w"], arrays["vth"], arrays["assignment"]
    assert w.shape == (64, 30) and vth.shape == (30,) and assignment.shape == (30,)
    assert np.array_equal(w * 16, np.floor(w * 16)) and w.max() <= 15 / 16  # Q0.4, as evaluated
    assert meta["grids"]["w"] == [2.0 ** -4, 0, 15, 0.0]
    assert (vth >= 13.0).all() and (vth > 13.0).any()  # thresh - rest = 13 mV, plus the learned theta
    assert set(assignment.tolist()) <= set(range(-1, 10)) and (assignment >= 0).sum() >= 10
    assert sorted(meta["variants"]) == ["T=50", "w=2"] and meta["train"]["input_rate"] == 128.0


@pytest.mark.parametrize("variant", ["", "T=50", "w=2"])
def test_evaluate_reproduces_the_stored_stdp_test_accuracy_exactly(study, capsys, variant) -> None:
    url, _ = study
    (row,) = evaluated(capsys, url, "sd", variant=variant)
    assert row["accuracy"] == row["stored_accuracy"] == stored(url, variant)
    assert row["samples"] == 360 and row["spikes_per_sample"] > 0
    if not variant:
        assert row["accuracy"] > 0.2  # a network that learned: chance is 0.1


def test_evaluate_runs_a_stdp_network_on_every_split(study, capsys) -> None:
    url, _ = study
    rows = evaluated(capsys, url, "sd", split="all")
    assert [(r["split"], r["samples"]) for r in rows] == [("train", 1257), ("val", 180), ("test", 360)]
    assert rows[0]["stored_accuracy"] is None and rows[0]["accuracy"] > 0.2


def test_the_baseline_with_itq_and_stochastic_state_rounding_reruns_exactly(tmp_path) -> None:
    """Diehl & Cook's network (inhibitory population), trained on its grids (ITQ), membranes
    rounded stochastically every step: each draw of the evaluation comes back."""
    from dse.deploy.weights import load, save
    from dse.engines.stdp.rerun import evaluate

    data = load_dataset("digits")
    design = make_design("stdp", dict(network="diehl-cook", n_neurons=12, timesteps=40, weight_bits=8,
                                      neuron_bits=10, quantization="qat", rounding="stochastic"))
    outcome = get("stdp").run(design, data, Budget(epochs=1, seed=2, max_train_samples=40,
                                                    variants=({"weight_bits": 4},)), lambda e, a: None)
    save(outcome.network, tmp_path / "n.npz")
    network = load(tmp_path / "n.npz")
    assert network["meta"]["grids"]["v_inh"] is not None and network["meta"]["constants"]["exc_to_inh"] == 22.5
    again = evaluate(network, data.x_test, data.y_test)
    assert again.accuracy == outcome.accuracy and again.spikes == outcome.profile.spikes
    (variant,) = outcome.variants
    assert evaluate(network, data.x_test, data.y_test, {"weight_bits": 4}).accuracy == variant.profile.accuracy


# ---- export to NIR --------------------------------------------------------------------------------

def euler_step(node, v: np.ndarray, current: np.ndarray) -> np.ndarray:
    """NIR's LIF, ``tau dv/dt = (v_leak - v) + R I``, one forward-Euler step of the export's dt."""
    from dse.deploy.nir_units import DT

    return v + DT / node.tau * (node.v_leak - v + node.r * current)


def test_a_tinysnn_network_exports_to_nir_with_its_learned_weights_and_thresholds(study, capsys, tmp_path) -> None:
    import nir

    from dse.deploy import weights

    url, _ = study
    code, _, err = invoke(capsys, ["export", "sd", "--storage", url, "--trial", "0", "--format", "nir",
                                   "-o", str(tmp_path / "t.nir")])
    assert code == 0, err
    graph = nir.read(str(tmp_path / "t.nir"))
    network = weights.trial_network(url, None, "sd", 0)
    w, vth = network["arrays"]["w"], network["arrays"]["vth"]
    assert sorted(graph.edges) == sorted([("input", "delay_in"), ("delay_in", "fc"), ("fc", "exc"), ("exc", "output"),
                                          ("exc", "lateral"), ("lateral", "delay_lateral"), ("delay_lateral", "exc")])
    assert isinstance(graph.nodes["delay_in"], nir.Delay) and np.all(graph.nodes["delay_in"].delay == 1e-4)
    assert np.array_equal(graph.nodes["fc"].weight, w.T)
    exc = graph.nodes["exc"]
    assert isinstance(exc, nir.LIF) and np.all(exc.v_reset == 5.0) and np.all(exc.v_leak == 0)  # -60 - (-65) mV
    assert np.array_equal(exc.v_threshold, np.nextafter(vth, np.float32(-np.inf)).astype(np.float64))
    # the engine's step v <- exp(-1/100) v + I, by Euler at dt: v = 3, I = 2
    assert np.allclose(euler_step(exc, np.full(30, 3.0), np.full(30, 2.0)), np.exp(-0.01) * 3 + 2, rtol=1e-12)
    lateral = graph.nodes["lateral"].weight
    # w_inh = 17.5 stored at the lateral layer's 4 bits: 5 integer bits, so a step of 2, 17.5 -> 18
    assert network["meta"]["constants"]["inh"] == 18.0
    assert np.all(np.diag(lateral) == 0) and np.all(lateral[~np.eye(30, dtype=bool)] == -18.0)
    meta = graph.metadata
    assert meta["exact"] == False and "refractory" in meta["not_expressed"]  # noqa: E712 (numpy bool)
    assert json.loads(meta["assignment"]) == network["arrays"]["assignment"].tolist() and meta["n_classes"] == 10
    assert meta["timesteps"] == 100 and meta["input_rate_hz"] == 128.0 and meta["trial"] == 0
    code, _, err = invoke(capsys, ["export", "sd", "--storage", url, "--trial", "0", "--variant", "w=2",
                                   "--format", "nir", "-o", str(tmp_path / "v.nir")])
    fc = nir.read(str(tmp_path / "v.nir")).nodes["fc"].weight
    assert code == 0 and np.array_equal(fc * 4, np.floor(fc * 4)) and fc.max() <= 0.75, err  # Q0.2


def test_the_baseline_exports_its_inhibitory_population(tmp_path) -> None:
    import nir

    from dse.deploy.nir import write

    data = load_dataset("digits")
    design = make_design("stdp", dict(network="diehl-cook", n_neurons=8, timesteps=30, weight_bits=8,
                                      neuron_bits=12, inhibition=40.0))
    outcome = get("stdp").run(design, data, Budget(epochs=1, seed=0, max_train_samples=20), lambda e, a: None)
    write(outcome.network, tmp_path / "b.nir", {"study": "b"})
    graph = nir.read(str(tmp_path / "b.nir"))
    constants = outcome.network["meta"]["constants"]
    assert ("delay_exc_inh", "inh") in graph.edges and ("delay_inh_exc", "exc") in graph.edges
    assert np.array_equal(graph.nodes["exc_inh"].weight, 22.5 * np.eye(8, dtype=np.float32))
    inh_exc = graph.nodes["inh_exc"].weight
    assert np.all(inh_exc[~np.eye(8, dtype=bool)] == np.float32(-constants["inh"])) and constants["inh"] == 40.0
    inh = graph.nodes["inh"]  # the inhibitory LIF: v <- exp(-1/10) v + I, threshold 20 mV, reset 15 mV over rest
    assert np.allclose(euler_step(inh, np.full(8, 3.0), np.full(8, 2.0)), np.exp(-0.1) * 3 + 2, rtol=1e-12)
    assert np.all(inh.v_threshold == np.nextafter(np.float32(constants["thr_inh"]), np.float32(-1)))
    assert np.all(graph.nodes["exc"].v_reset == constants["reset_exc"])
    assert "rounded onto its fixed-point grid" in graph.metadata["not_expressed"]  # neuron_bits = 12


def test_stdp_torch_export_is_refused_pointing_at_nir(study, capsys, tmp_path) -> None:
    url, _ = study
    code, _, err = invoke(capsys, ["export", "sd", "--storage", url, "--trial", "0", "--format", "torch",
                                   "-o", str(tmp_path / "m")])
    assert code == 2 and "--format nir" in err and not (tmp_path / "m").exists()
