"""Studies over several engines, and engines that also report a training-phase profile.

A toy engine (no torch) is registered for these tests: its accuracy is a known
function of its design, so what the study stores can be checked exactly.
"""

import sys
import types

import optuna
import pytest

import hwmodels
from dse import engines
from dse.engines import Budget, DataShape, Engine, TrialOutcome
from dse.errors import SpecError
from dse.keys import Key
from dse.query import query
from dse.spec import parse_spec
from dse.study import run_study
from hwmodels import LayerProfile, Profile


def toy_profile(design, shape: DataShape, phase: str = "inference") -> Profile:
    width = design.hidden[0]
    return Profile(layers=(LayerProfile(
        name="fc", kind="dense", n_inputs=64, n_neurons=width, n_weights=64 * width, n_nonzero=64 * width,
        weight_bits=design.weight_bits, neuron_params={"v_mem": (width, 16)}, macs_per_step=64 * width,
        fan_out=float(width), input_events=10.0 * (3 if phase == "training" else 1), output_spikes=5.0),),
        timesteps=4, coding="rate", phase=phase)


def toy_run(design, data, budget: Budget, report) -> TrialOutcome:
    accuracy = min(1.0, design.hidden[0] / 100)
    report(0, accuracy)
    profile = toy_profile(design, DataShape(data.shape, data.n_classes))
    profile = Profile(profile.layers, profile.timesteps, profile.coding, accuracy, "inference")
    return TrialOutcome(accuracy=accuracy, profile=profile, train_seconds=0.0, eval_seconds=0.0,
                        val_accuracy=accuracy,
                        training_profile=toy_profile(design, DataShape(data.shape, data.n_classes), "training"))


@pytest.fixture
def toy_engine(monkeypatch):
    module = types.ModuleType("toy_engine_for_tests")
    module.run = toy_run
    module.ENGINE = Engine(
        name="toy", help="a toy engine for tests",
        keys={"hidden": Key("hidden", "ints", (8,), "widths", low=1, high=1000),
              "flavour": Key("flavour", "str", "plain", "only the toy knows it", options=("plain", "spicy"))},
        shared=("weight_bits",), defaults={}, static_profile=toy_profile,
        runner="toy_engine_for_tests:run", training_profile=True)
    monkeypatch.setitem(sys.modules, "toy_engine_for_tests", module)
    monkeypatch.setitem(engines._ENGINES, "toy", "toy_engine_for_tests")
    return module.ENGINE


def spec_data(**study):
    return {
        "study": {"name": "multi", "engine": ["surrogate", "toy"], "n_trials": 12, "sampler": "random",
                  **study},
        "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
        "space": {"hidden": {"choices": [[10], [20]]}, "flavour": {"choices": ["plain", "spicy"]},
                  "timesteps": {"choices": [2]}},
        "train": {"epochs": 1, "batch_size": 256},
        "hardware": {"models": ["memory", "synops"]},
    }


def test_a_study_searches_over_engines_with_keys_scoped_to_each(toy_engine, tmp_path) -> None:
    spec = parse_spec(spec_data(), "multi.toml")
    assert spec.engines == ("surrogate", "toy") and spec.engine == "surrogate+toy"
    assert [p.name for p in spec.params_for("toy")] == ["hidden", "flavour"]
    assert [p.name for p in spec.params_for("surrogate")] == ["hidden", "timesteps"]
    url = f"sqlite:///{tmp_path / 'm.db'}"
    result = run_study(spec, storage=url, show_progress=False)
    trials = result.study.trials
    assert {t.params["engine"] for t in trials} == {"surrogate", "toy"}
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for t in trials:
        assert ("flavour" in t.params) == (t.params["engine"] == "toy")
        assert ("timesteps" in t.params) == (t.params["engine"] == "surrogate")
    frame = query(spec.name, url)
    toy = frame[frame.engine == "toy"]
    # the training phase is scored with the same models, under its own names
    for _, row in toy.iterrows():
        design = types.SimpleNamespace(hidden=tuple(row["hidden"]), weight_bits=32)
        training = toy_profile(design, DataShape((1, 8, 8), 10), "training")
        assert row["training_synops"] == hwmodels.evaluate(training, "synops")["synops"]
        assert row["training_memory_bits"] == row["memory_bits"]
    assert "training_memory_bits" in query(spec.name, url, variants=True).columns
    assert set(query(spec.name, url, variants=True)["variant"]) <= {"", "T=1"}


def test_training_metrics_are_refused_without_an_engine_that_reports_them() -> None:
    data = spec_data()
    data["objectives"]["training_memory_bits"] = "minimize"
    data["study"]["engine"] = "surrogate"
    data["space"].pop("flavour")
    with pytest.raises(SpecError, match=r'\[objectives\].training_memory_bits: unknown metric'):
        parse_spec(data, "x.toml")


def test_training_metrics_are_refused_unless_every_listed_engine_reports_them(toy_engine) -> None:
    data = spec_data()
    data["constraints"] = {"training_synops": {"max": 1e9}}
    with pytest.raises(SpecError, match=r'\[constraints\].training_synops: .*engine "surrogate" does not report'):
        parse_spec(data, "x.toml")
    data = spec_data(engine="toy")
    data["space"].pop("timesteps")
    data["objectives"]["training_memory_bits"] = "minimize"
    assert parse_spec(data, "x.toml").metric_names[-1] == "training_memory_bits"


def test_keys_no_listed_engine_knows_and_grids_over_engines_are_refused(toy_engine) -> None:
    data = spec_data()
    data["space"]["window"] = {"choices": [8]}
    with pytest.raises(SpecError, match=r'\[space\].window: engine "surrogate" or "toy" has no such key'):
        parse_spec(data, "x.toml")
    with pytest.raises(SpecError, match=r"\[study\].sampler: the grid sampler needs a single engine"):
        parse_spec(spec_data(sampler="grid"), "x.toml")
    with pytest.raises(SpecError, match=r"\[study\].engine: an engine is listed twice"):
        parse_spec(spec_data(engine=["toy", "toy"]), "x.toml")
