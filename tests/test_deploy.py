"""Trained networks kept and used again: Optuna artifacts read back bit for bit, ``dse evaluate``
reproducing the stored accuracy exactly, ``keep_weights``, and ``dse export --format nir|torch``
checked against clients no one here wrote (nir.read, snnTorch 1.0's import_from_nir)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import optuna
import pytest
import torch

from dse.data import load_dataset
from dse.deploy import weights
from dse.engines import Budget, get
from dse.spec import parse_spec
from dse.study import run_study
from tests.conftest import evaluated, invoke, stored_accuracy, trained_study

SPEC = {
    "study": {"name": "dep", "engine": "surrogate", "n_trials": 4, "sampler": "grid", "seed": 0},
    "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
    "space": {"coding": {"choices": ["direct", "rate"]}, "reset": {"choices": ["hard", "soft"]},
              "hidden": {"choices": [[32]]}, "timesteps": {"choices": [4]}, "weight_bits": {"choices": [8]}},
    "variants": {"timesteps": [2], "weight_bits": [4], "pruning": [0.5]},
    "train": {"epochs": 3, "lr": 0.01},
    "hardware": {"models": ["memory"]},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    url, folder = trained_study(tmp_path_factory, SPEC, "deploy")
    trials = optuna.load_study(study_name="dep", storage=url).trials
    by_design = {(t.user_attrs["design"]["coding"], t.user_attrs["design"]["reset"]): t.number for t in trials}
    return url, folder, by_design


def stored(url: str, number: int, variant: str = "") -> float:
    return stored_accuracy(url, "dep", number, variant)


# ---- weights kept as artifacts ----------------------------------------------------------------------

def test_weights_read_back_bit_exact_through_optuna_artifacts(tmp_path) -> None:
    data = load_dataset("digits")
    design = get("surrogate").design(hidden=(16,), timesteps=3, coding="rate", weight_bits=4, pruning=0.3,
                                     neuron_bits=8, rounding="stochastic")
    outcome = get("surrogate").run(design, data, Budget(epochs=1, max_train_samples=200, seed=3), lambda s, a: None)
    network = outcome.network
    assert network["format"] == 1 and {"frozen.edge0", "frozen.readout", "frozen.bias", "rng.eval",
                                       "state.mask0"} <= set(network["arrays"])
    url = f"sqlite:///{tmp_path / 'a.db'}"
    trial = optuna.create_study(storage=url).ask()
    store = weights.artifact_store(url, None)
    artifact_id = weights.upload(network, trial, store, trial.number)
    back = weights.download(store, artifact_id)
    assert (tmp_path / "a.db.artifacts" / artifact_id).exists()  # beside the database, by default
    assert back["meta"] == json.loads(json.dumps(network["meta"])) and back["engine"] == "surrogate"
    assert set(back["arrays"]) == set(network["arrays"])
    for name, array in network["arrays"].items():
        got = back["arrays"][name]
        assert got.dtype == array.dtype and got.shape == array.shape and got.tobytes() == array.tobytes(), name
    metas = optuna.artifacts.get_all_artifact_meta(trial)  # what optuna-dashboard lists
    assert [m.artifact_id for m in metas] == [artifact_id] and metas[0].filename.endswith(".npz")


@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
def test_every_trained_trial_keeps_its_network(study) -> None:
    url, folder, by_design = study
    trials = optuna.load_study(study_name="dep", storage=url).trials
    ids = [t.user_attrs["dse_weights"] for t in trials]
    assert len(set(ids)) == 4 and all((folder / "dse.db.artifacts" / i).exists() for i in ids)


def test_keep_weights_pareto_deletes_the_networks_off_the_front(tmp_path) -> None:
    spec = {**SPEC, "study": {**SPEC["study"], "name": "few", "keep_weights": "pareto"},
            "train": {"epochs": 1, "max_train_samples": 100}, "variants": {}}
    url = f"sqlite:///{tmp_path / 'p.db'}"
    run_study(parse_spec(spec), storage=url, show_progress=False)
    study = optuna.load_study(study_name="few", storage=url)
    front = {t.number for t in study.best_trials}
    for t in study.trials:
        kept = t.user_attrs.get("dse_weights")
        assert (kept is not None) == (t.number in front), t.number
        assert len(optuna.artifacts.get_all_artifact_meta(t, storage=study._storage)) == int(kept is not None)
    assert len(list((tmp_path / "p.db.artifacts").iterdir())) == len(front) < 4


def test_keep_weights_none_keeps_nothing(tmp_path) -> None:
    spec = {**SPEC, "study": {**SPEC["study"], "name": "none", "n_trials": 1, "keep_weights": "none"},
            "space": {**SPEC["space"], "coding": {"choices": ["direct"]}, "reset": {"choices": ["hard"]}},
            "train": {"epochs": 1, "max_train_samples": 50}, "variants": {}}
    url = f"sqlite:///{tmp_path / 'n.db'}"
    run_study(parse_spec(spec), storage=url, show_progress=False)
    assert not (tmp_path / "n.db.artifacts").exists()
    assert "dse_weights" not in optuna.load_study(study_name="none", storage=url).trials[0].user_attrs


def test_a_small_run_is_evaluated_and_exported_again(tmp_path, capsys) -> None:
    """The fast suite's check: a rate-coded trial's stored accuracy comes back exactly, its graph reads."""
    import nir

    spec = {**SPEC, "study": {**SPEC["study"], "name": "one", "n_trials": 1},
            "space": {**SPEC["space"], "coding": {"choices": ["rate"]}, "reset": {"choices": ["hard"]}},
            "train": {"epochs": 1, "max_train_samples": 150}, "variants": {"timesteps": [2]}}
    url = f"sqlite:///{tmp_path / 'o.db'}"
    run_study(parse_spec(spec), storage=url, show_progress=False)
    for variant in ("", "T=2"):
        (row,) = evaluated(capsys, url, "one", variant=variant)
        assert row["accuracy"] == row["stored_accuracy"] is not None
    code, _, err = invoke(capsys, ["export", "one", "--storage", url, "--pareto", "--format", "nir",
                                   "-o", str(tmp_path / "front")])
    files = sorted(p.name for p in (tmp_path / "front").iterdir())
    assert code == 0 and files and all(nir.read(str(tmp_path / "front" / f)).metadata["study"] == "one"
                                       for f in files), err


# ---- dse evaluate ----------------------------------------------------------------------------------

@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
@pytest.mark.parametrize("variant", ["", "T=2", "w=4", "p=0.5"])
def test_evaluate_reproduces_the_stored_test_accuracy_exactly(study, capsys, variant) -> None:
    url, _, by_design = study
    for number in (by_design[("rate", "hard")], by_design[("direct", "soft")]):
        (row,) = evaluated(capsys, url, "dep", number, variant)
        assert row["accuracy"] == row["stored_accuracy"] == stored(url, number, variant)
        assert row["samples"] == 360 and row["spikes_per_sample"] > 0


@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
def test_evaluate_other_splits_and_bad_requests(study, capsys) -> None:
    url, _, by_design = study
    number = by_design[("direct", "hard")]
    rows = evaluated(capsys, url, "dep", number, split="all")
    assert [(r["split"], r["samples"]) for r in rows] == [("train", 1257), ("val", 180), ("test", 360)]
    assert rows[0]["stored_accuracy"] is None and rows[0]["accuracy"] > 0.5  # trained on it
    code, _, err = invoke(capsys, ["evaluate", "dep", "--storage", url, "--trial", "99"])
    assert code == 2 and "--trial 99" in err
    code, _, err = invoke(capsys, ["evaluate", "dep", "--storage", url, "--trial", str(number), "--variant", "T=9"])
    assert code == 2 and "--variant T=9" in err and "T=2" in err


# ---- export: NIR, snnTorch, torch ---------------------------------------------------------------

@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
def test_nir_export_passes_nir_read_with_the_stored_weights(study, capsys, tmp_path) -> None:
    import nir

    url, _, by_design = study
    number = by_design[("rate", "hard")]
    code, _, err = invoke(capsys, ["export", "dep", "--storage", url, "--trial", str(number), "--format", "nir",
                                   "-o", str(tmp_path / "n.nir")])
    assert code == 0, err
    graph = nir.read(str(tmp_path / "n.nir"))
    network = weights.trial_network(url, None, "dep", number)
    assert graph.edges == [("input", "fc0"), ("fc0", "lif0"), ("lif0", "readout"), ("readout", "output")]
    assert np.array_equal(graph.nodes["fc0"].weight, network["arrays"]["frozen.edge0"])
    assert np.array_equal(graph.nodes["readout"].bias, network["arrays"]["frozen.bias"])
    lif = graph.nodes["lif0"]  # beta = 0.5: tau = dt / (1 - beta) = 2e-4, R = tau / dt = 2
    assert np.allclose(lif.tau, 2e-4) and np.allclose(lif.r, 2.0) and np.all(lif.v_leak == 0)
    assert np.all(lif.v_threshold == np.float32(np.nextafter(np.float32(1.0), np.float32(0))))
    assert graph.metadata["timesteps"] == 4 and graph.metadata["coding"] == "rate"
    assert graph.metadata["trial"] == number and graph.metadata["study"] == "dep"


@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
def test_soft_reset_exports_are_refused_naming_what_is_missing(study, capsys, tmp_path) -> None:
    url, _, by_design = study
    code, _, err = invoke(capsys, ["export", "dep", "--storage", url, "--trial", str(by_design[("direct", "soft")]),
                                   "--format", "nir", "-o", str(tmp_path / "s.nir")])
    assert code == 2 and "subtractive reset" in err and "NIR" in err and not (tmp_path / "s.nir").exists()


def snntorch_predictions(graph, spikes: torch.Tensor) -> torch.Tensor:
    """Classes snnTorch predicts for input trains [T, B, N]: the readout summed over the T steps."""
    import snntorch.utils
    from snntorch.import_nir import import_from_nir

    net = import_from_nir(graph)
    snntorch.utils.reset(net)
    total = 0
    with torch.no_grad():
        for step in spikes:
            out, _ = net(step)
            total = total + out
    return total.reshape(len(total), -1).argmax(1)


@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
@pytest.mark.parametrize("coding", ["direct", "rate"])
def test_snntorch_runs_the_exported_graph_as_snn_dse_does(study, capsys, tmp_path, coding) -> None:
    import nir

    from dse.engines.surrogate.stored import evaluation_generator, restore

    url, _, by_design = study
    number = by_design[(coding, "hard")]
    invoke(capsys, ["export", "dep", "--storage", url, "--trial", str(number), "--format", "nir",
                    "-o", str(tmp_path / "g.nir")])
    graph = nir.read(str(tmp_path / "g.nir"))
    data = load_dataset("digits")
    x, y = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    restored = restore(weights.trial_network(url, None, "dep", number))
    flat = x.reshape(len(x), -1)
    spikes = (torch.bernoulli(x.expand(4, *x.shape), generator=evaluation_generator(restored)).reshape(4, len(x), -1)
              if coding == "rate" else flat.expand(4, *flat.shape))  # the engine's own input draws
    ours = restored.model(x, 4, restored.weights, restored.cfg, evaluation_generator(restored)).argmax(1)
    theirs = snntorch_predictions(graph, spikes)
    accuracy = stored(url, number)
    assert accuracy > 0.8  # a network that learned
    assert float((ours == theirs).float().mean()) >= 0.99
    assert abs(float((theirs == y).float().mean()) - accuracy) <= 0.005


def norse_predictions(graph, spikes: torch.Tensor) -> torch.Tensor:
    """Classes Norse 1.1 predicts for input trains [T, B, N]: the readout summed over the T steps."""
    import norse.torch as norse

    net = norse.from_nir(graph, dt=1e-4, ignore_warnings=True)
    state, total = None, 0
    with torch.no_grad():
        for step in spikes:
            out, state = net(step, state)
            total = total + out
    return total.reshape(len(total), -1).argmax(1)


@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
@pytest.mark.parametrize("coding", ["direct", "rate"])
def test_norse_and_snntorch_run_the_unit_r_graph_as_snn_dse_does(study, capsys, tmp_path, coding) -> None:
    # Norse 1.1 takes a LIF's R as 1: --unit-r folds R into the weights; snnTorch reads both forms
    import nir

    from dse.engines.surrogate.stored import evaluation_generator, restore

    if not os.environ.get("CI"):  # CI installs the dev extra: a missing client fails there
        pytest.importorskip("norse")
    url, _, by_design = study
    number = by_design[(coding, "hard")]
    code, _, err = invoke(capsys, ["export", "dep", "--storage", url, "--trial", str(number), "--format", "nir",
                                   "--unit-r", "-o", str(tmp_path / "g.nir")])
    assert code == 0, err
    graph = nir.read(str(tmp_path / "g.nir"))
    lifs = [node for node in graph.nodes.values() if isinstance(node, nir.LIF)]
    assert lifs and all(np.all(node.r == 1) for node in lifs) and graph.metadata["unit_r"] == 1
    data = load_dataset("digits")
    x, y = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    restored = restore(weights.trial_network(url, None, "dep", number))
    flat = x.reshape(len(x), -1)
    spikes = (torch.bernoulli(x.expand(4, *x.shape), generator=evaluation_generator(restored)).reshape(4, len(x), -1)
              if coding == "rate" else flat.expand(4, *flat.shape))
    ours = restored.model(x, 4, restored.weights, restored.cfg, evaluation_generator(restored)).argmax(1)
    accuracy = stored(url, number)
    for theirs in (norse_predictions(graph, spikes), snntorch_predictions(nir.read(str(tmp_path / "g.nir")), spikes)):
        assert float((ours == theirs).float().mean()) >= 0.99
        assert abs(float((theirs == y).float().mean()) - accuracy) <= 0.005


def test_unit_r_is_refused_for_torch_exports_before_anything_is_read(capsys, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    code, _, err = invoke(capsys, ["export", "dep", "--storage", url, "--trial", "0", "--format", "torch",
                                   "--unit-r", "-o", str(tmp_path / "m")])
    assert code == 2 and "--unit-r" in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "none.db").exists()


@pytest.mark.slow  # the shared study trains 4 networks (about 10 s)
def test_torch_export_loads_with_torch_alone_and_gives_the_engines_logits(study, capsys, tmp_path) -> None:
    url, _, by_design = study
    number = by_design[("rate", "soft")]
    code, _, err = invoke(capsys, ["export", "dep", "--storage", url, "--trial", str(number), "--format", "torch",
                                   "-o", str(tmp_path / "m")])
    assert code == 0, err
    from dse.engines.surrogate.stored import evaluation_generator, restore

    restored = restore(weights.trial_network(url, None, "dep", number))
    data = load_dataset("digits")
    x = torch.from_numpy(data.x_test)
    spikes = torch.bernoulli(x.expand(4, *x.shape), generator=evaluation_generator(restored)).reshape(4, len(x), -1)
    torch.save(spikes, tmp_path / "spikes.pt")
    script = ("import sys, torch; sys.path.insert(0, sys.argv[1]); from snn_model import load; "
              "net = load(sys.argv[1] + '/model.pt'); "
              "print(net(spikes=torch.load(sys.argv[2])).argmax(1).tolist())")
    out = subprocess.run([sys.executable, "-I", "-c", script, str(tmp_path / "m"), str(tmp_path / "spikes.pt")],
                         capture_output=True, text=True, check=True).stdout
    ours = restored.model(x, 4, restored.weights, restored.cfg, evaluation_generator(restored)).argmax(1)
    theirs = torch.tensor(json.loads(out))
    assert float((ours == theirs).float().mean()) >= 0.99
    assert abs(float((theirs == torch.from_numpy(data.y_test)).float().mean()) - stored(url, number)) <= 0.005


def test_ttfs_export_is_refused_naming_what_nir_lacks(tmp_path, capsys) -> None:
    spec = {"study": {"name": "t", "engine": "ttfs", "n_trials": 1, "seed": 0},
            "objectives": {"accuracy": "maximize"},
            "space": {"hidden": {"choices": [[16]]}, "window": {"choices": [8]}},
            "train": {"epochs": 1, "batch_size": 256, "max_train_samples": 100}, "hardware": {"models": ["memory"]}}
    url = f"sqlite:///{tmp_path / 't.db'}"
    run_study(parse_spec(spec), storage=url, show_progress=False)
    code, _, err = invoke(capsys, ["export", "t", "--storage", url, "--trial", "0", "--format", "nir",
                                   "-o", str(tmp_path / "t.nir")])
    assert code == 2 and "NIR 1.0 has no single-spike" in err and not (tmp_path / "t.nir").exists()
    code, _, err = invoke(capsys, ["export", "t", "--storage", url, "--trial", "0", "--format", "torch",
                                   "-o", str(tmp_path / "m")])
    assert code == 2 and "ttfs network exports to no format" in err and not (tmp_path / "m").exists()
    code, out, err = invoke(capsys, ["evaluate", "t", "--storage", url, "--trial", "0", "--format", "json"])
    (row,) = json.loads(out)
    assert code == 0 and row["accuracy"] == row["stored_accuracy"] is not None, err  # kept, and run again


@pytest.mark.parametrize("coding", ["direct", "rate"])
def test_a_cell_network_exports_and_runs_in_snntorch_as_in_snn_dse(tmp_path, coding) -> None:
    """Stem, skip, 1x1 and 3x3 edges, a zero edge, a reduction cell, concatenated cell outputs."""
    import nir

    from dse.deploy.nir import write
    from dse.design import make_design
    from dse.engines.surrogate.stored import evaluation_generator, restore

    data = load_dataset("digits")
    ops = ("conv3x3", "skip", "conv1x1", "zero", "skip", "conv3x3", "conv1x1", "conv3x3")
    design = make_design("surrogate", {"cells": 2, "nodes": 2, "channels": 4, "timesteps": 4, "coding": coding,
                                       "ops": ops, "weight_bits": 8})
    outcome = get("surrogate").run(design, data, Budget(epochs=1, max_train_samples=300, lr=0.01, seed=0),
                                   lambda s, a: None)
    write(outcome.network, tmp_path / "c.nir")
    graph = nir.read(str(tmp_path / "c.nir"))
    assert sum(isinstance(node, nir.LIF) for node in graph.nodes.values()) == 5  # stem + 2 x 2 nodes
    assert graph.metadata["batch_norm"].startswith("folded")
    restored = restore(outcome.network)
    x = torch.from_numpy(data.x_test)
    spikes = (torch.bernoulli(x.expand(4, *x.shape), generator=evaluation_generator(restored)) if coding == "rate"
              else x.expand(4, *x.shape))
    ours = restored.model(x, 4, restored.weights, restored.cfg, evaluation_generator(restored)).argmax(1)
    theirs = snntorch_predictions(graph, spikes)
    assert float((ours == theirs).float().mean()) >= 0.99
    assert abs(float((theirs == torch.from_numpy(data.y_test)).float().mean()) - outcome.accuracy) <= 0.005
