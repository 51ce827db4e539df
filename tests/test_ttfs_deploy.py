"""TTFS networks kept and used again: a trial's stored network (the frozen network as the
event-driven simulator ran it, and the surrogate its variants are derived from) reads back bit
for bit and gives its stored test accuracy and activity exactly under ``dse evaluate``, variants
included; NIR export stays refused (tests/test_deploy.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import optuna
import pytest

from dse.data import load_dataset
from dse.deploy import weights
from dse.engines import Budget, get
from tests.conftest import evaluated, stored_accuracy, trained_study

SPEC = {
    "study": {"name": "td", "engine": "ttfs", "n_trials": 1, "sampler": "grid", "seed": 0},
    "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
    "space": {"hidden": {"choices": [[32]]}, "window": {"choices": [16]}, "weight_bits": {"choices": [4]},
              "rounding": {"choices": ["stochastic"]}, "pruning": {"choices": [0.2]}},
    "variants": {"weight_bits": [2], "pruning": [0.5]},
    "train": {"epochs": 3, "max_train_samples": 600, "batch_size": 32, "lr": 0.01},
    "hardware": {"models": ["memory"]},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return trained_study(tmp_path_factory, SPEC, "ttfs-deploy")


def stored(url: str, variant: str = "") -> float:
    return stored_accuracy(url, "td", 0, variant)


def test_a_ttfs_trial_keeps_its_network_as_simulated(study) -> None:
    url, folder = study
    network = weights.trial_network(url, None, "td", 0)
    arrays, meta = network["arrays"], network["meta"]
    assert network["engine"] == "ttfs" and (folder / "dse.db.artifacts").is_dir()
    w0, w1 = arrays["frozen.weight0"], arrays["frozen.weight1"]
    assert w0.shape == (32, 64) and w1.shape == (10, 32) and arrays["frozen.bias0"].shape == (32,)
    for w, mask in ((w0, arrays["state.mask0"]), (w1, arrays["state.mask1"])):
        levels = np.unique(w[w != 0])  # 4 bits as simulated: 16 levels (k + 1/2) delta, k = -8..7
        delta = 2 * np.abs(levels).min()
        assert len(levels) <= 16 and np.allclose(levels / delta - 0.5, np.round(levels / delta - 0.5), atol=1e-4)
        assert (w == 0).sum() >= math.floor(0.2 * w.size) and np.all(w[mask == 0] == 0)  # the mask applied
    # BN folded: the hidden layer's frozen weights are not the float master weights, whose scale differs
    assert not np.allclose(w0, arrays["state.layers.0.weight"] * arrays["state.mask0"], atol=1e-3)
    assert np.array_equal(arrays["frozen.tau"], np.maximum(arrays["state.tau"], np.float32(1e-2)))
    assert meta["window"] == 16 and meta["theta0"] == 1.0 and meta["analog_input"] is True
    assert meta["design"]["weight_bits"] == 4 and meta["shape"] == [1, 8, 8] and meta["n_classes"] == 10


@pytest.mark.parametrize("variant", ["", "w=2", "p=0.5"])
def test_evaluate_reproduces_the_stored_ttfs_test_accuracy_exactly(study, capsys, variant) -> None:
    url, _ = study
    (row,) = evaluated(capsys, url, "td", variant=variant)
    assert row["accuracy"] == row["stored_accuracy"] == stored(url, variant)
    assert row["samples"] == 360 and row["spikes_per_sample"] > 0
    if not variant:
        assert row["accuracy"] > 0.8  # a network that learned: chance is 0.1


def test_evaluate_runs_a_ttfs_network_on_every_split(study, capsys) -> None:
    url, _ = study
    rows = evaluated(capsys, url, "td", split="all")
    assert [(r["split"], r["samples"]) for r in rows] == [("train", 1257), ("val", 180), ("test", 360)]
    assert rows[0]["stored_accuracy"] is None and rows[0]["accuracy"] > 0.8
    assert rows[2]["accuracy"] == rows[2]["stored_accuracy"]


def test_a_conv_network_with_spiking_input_reads_back_bit_exact_and_reruns_its_profile(tmp_path) -> None:
    """Conv, 2x2 pool, the pixels' own population, stochastic rounding: through an Optuna artifact
    and back, every array bit for bit, and the whole profile (per-layer events) of the trained
    design and of a variant comes back equal."""
    from dse.engines.ttfs.rerun import evaluate, variant_network

    data = load_dataset("digits")
    design = get("ttfs").design(conv=(4, 0), hidden=(16,), window=8, input_coding="ttfs", weight_bits=6,
                                rounding="stochastic")
    outcome = get("ttfs").run(design, data, Budget(epochs=3, seed=1, max_train_samples=600, batch_size=32, lr=0.01,
                                                   variants=({"weight_bits": 2},)), lambda e, a: None)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    trial = optuna.create_study(storage=url).ask()
    store = weights.artifact_store(url, None)
    back = weights.download(store, weights.upload(outcome.network, trial, store, trial.number))
    network = outcome.network
    assert back["meta"] == json.loads(json.dumps(network["meta"])) and set(back["arrays"]) == set(network["arrays"])
    for name, array in network["arrays"].items():
        got = back["arrays"][name]
        assert got.dtype == array.dtype and got.shape == array.shape and got.tobytes() == array.tobytes(), name
    assert back["arrays"]["frozen.weight0"].shape == (4, 1, 3, 3) and back["meta"]["analog_input"] is False
    again = evaluate(back, data.x_test, data.y_test)
    assert again == outcome.profile and again.accuracy > 0.5
    assert again.layers[0].name == "input" and again.layers[0].output_spikes > 0
    (variant,) = outcome.variants
    assert evaluate(back, data.x_test, data.y_test, {"weight_bits": 2}) == variant.profile
    w2 = variant_network(back, {"weight_bits": 2})
    assert w2["meta"]["design"]["weight_bits"] == 2 and len(np.unique(w2["arrays"]["frozen.weight1"])) <= 4
    assert np.array_equal(w2["arrays"]["state.layers.0.weight"], back["arrays"]["state.layers.0.weight"])
