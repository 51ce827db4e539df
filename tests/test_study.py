"""A tiny study end to end: it trains, stores, reads back, resumes, survives failures and Ctrl-C."""

import json
import math

import optuna
import pytest

import hwmodels
from dse import engines
from dse.query import query
from dse.report import nondominated, build, write_report
from dse.spec import load_spec
from dse.store import Store
from dse.study import run_study


def test_tiny_study_stores_what_it_trained(storage_url, tiny_spec) -> None:
    spec = load_spec(tiny_spec(n_trials=3))
    result = run_study(spec, storage=storage_url, show_progress=False)
    assert not result.interrupted and result.ran == 3

    study = optuna.load_study(study_name=spec.name, storage=storage_url)  # Optuna's own view
    assert study.metric_names == ["accuracy", "memory_bits"]
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 3

    store = Store(storage_url)
    stored = store.profiles(spec.name)
    assert sorted(stored) == [(0, ""), (0, "T=1"), (1, ""), (1, "T=1"), (2, ""), (2, "T=1")]
    units = store.metric_units(spec.name)
    assert units["memory_bits"] == ("memory", "bit") and units["accuracy"] == ("engine", "1")
    assert units["energy_45nm_j"] == ("energy45nm", "J")
    points = {p.key: p for p in store.points(spec.name)}
    for trial in trials:
        profile = stored[(trial.number, "")]
        # what Optuna holds, what the metric rows hold, and a fresh evaluation of the stored profile agree
        assert trial.values == [profile.accuracy, hwmodels.evaluate(profile, "memory")["memory_bits"]]
        mine = points[(trial.number, "")].metrics
        assert mine["memory_bits"] == trial.user_attrs["dse_metrics"]["memory_bits"] == trial.values[1]
        assert mine["synops"] == pytest.approx(hwmodels.evaluate(profile, "synops")["synops"])
        variant = points[(trial.number, "T=1")]  # lineage: the trained weights at T = 1
        assert (variant.kind, variant.parent, variant.params["timesteps"]) == ("variant", "", 1)
        assert stored[(trial.number, "T=1")].timesteps == 1
        assert profile.layers[0].n_neurons == json.loads(trial.params["hidden"])[0]
        design = trial.user_attrs["design"]  # the resolved design, defaults included
        assert design["engine"] == "surrogate" and design["decay"] == 0.5 and design["neuron"] == "lif"
        assert design["hidden"] == json.loads(trial.params["hidden"]) and design["timesteps"] == trial.params["timesteps"]

    frame = query(spec.name, storage_url)
    assert list(frame["trial"]) == [0, 1, 2] and set(frame["state"]) == {"complete"}
    for column in ("hidden", "weight_bits", "timesteps", "pruning", "accuracy", "memory_bits",
                   "bit_synops", "energy_45nm_j", "val_accuracy", "train_seconds"):
        assert column in frame.columns
    assert frame.loc[0, "memory_bits"] == trials[0].values[1]
    assert len(query(spec.name, storage_url, variants=True)) == 6


def test_same_command_continues_the_study(workdir, tiny_spec) -> None:
    url = f"sqlite:///{workdir / 'r.db'}"
    path = tiny_spec(n_trials=2)
    assert run_study(load_spec(path), storage=url, show_progress=False).ran == 2
    again = run_study(load_spec(path), storage=url, show_progress=False)
    assert again.ran == 0 and len(again.study.trials) == 2  # finished: nothing to do
    more = run_study(load_spec(path, n_trials=4), storage=url, show_progress=False)
    assert more.ran == 2 and [t.number for t in more.study.trials] == [0, 1, 2, 3]
    params = [tuple(sorted(t.params.items())) for t in more.study.trials]
    assert len(set(params)) == 4  # the resumed sampler did not replay its first proposals


def test_a_failing_trial_fails_alone_with_its_reason(workdir, tiny_spec, monkeypatch) -> None:
    calls = {"n": 0}
    original = engines.Engine.run

    def flaky(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated out-of-memory")
        return original(self, *args)

    monkeypatch.setattr(engines.Engine, "run", flaky)
    url = f"sqlite:///{workdir / 'f.db'}"
    result = run_study(load_spec(tiny_spec(n_trials=3)), storage=url, show_progress=False)
    # a failed trial does not count: three designs trained, as asked
    assert [t.state.name for t in result.study.trials] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert result.counts["trained"] == 3 and result.counts["failed"] == 1
    frame = query(result.study.study_name, url)
    assert frame.loc[1, "note"] == "RuntimeError: simulated out-of-memory"
    assert math.isnan(frame.loc[1, "accuracy"]) and frame.loc[0, "accuracy"] > 0


def test_ctrl_c_keeps_finished_trials(workdir, tiny_spec, monkeypatch) -> None:
    engine = engines.get("surrogate")
    calls = {"n": 0}
    original = engines.Engine.run

    def interrupting(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(engines.Engine, "run", interrupting)
    url = f"sqlite:///{workdir / 'c.db'}"
    path = tiny_spec(n_trials=5)
    result = run_study(load_spec(path), storage=url, show_progress=False)
    assert result.interrupted
    trials = optuna.load_study(study_name=load_spec(path).name, storage=url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "FAIL", "WAITING"]
    assert trials[2].user_attrs["fail_reason"] == "interrupted (SIGINT)"
    assert trials[3].user_attrs["retry_of"] == 2  # enqueued again, with the same parameters
    monkeypatch.setattr(engines.Engine, "run", original)
    resumed = run_study(load_spec(path), storage=url, show_progress=False)
    assert not resumed.interrupted
    assert resumed.counts["trained"] == 5 and resumed.counts["failed"] == 1  # the interrupted one does not count
    retried = resumed.study.trials[3]
    assert retried.state.name == "COMPLETE" and retried.params == trials[2].params  # the retry ran first
    assert engine is engines.get("surrogate")


def test_designs_over_a_shape_only_constraint_are_rejected_before_training(workdir, tiny_spec,
                                                                           monkeypatch) -> None:
    trained = []
    original = engines.Engine.run
    monkeypatch.setattr(engines.Engine, "run", lambda self, d, *a: trained.append(d) or original(self, d, *a))
    path = tiny_spec(n_trials=8, extra="""
        [constraints]
        memory_bits = { max = 5000 }
    """)
    url = f"sqlite:///{workdir / 'k.db'}"
    result = run_study(load_spec(path), storage=url, show_progress=False)
    status = {t.number: t.user_attrs["dse_status"] for t in result.study.trials}
    rejected = [t for t in result.study.trials if status[t.number] == "rejected"]
    done = [t for t in result.study.trials if status[t.number] == "trained"]
    assert rejected and len(done) == 8 == len(trained)  # exactly n_trials trained; rejections do not count
    assert all(t.user_attrs["infeasible"].startswith("rejected before training: memory_bits = ") for t in rejected)
    assert all(t.user_attrs["dse_metrics"]["memory_bits"] <= 5000 for t in done)
    assert all(t.constraints == {"memory_bits": t.user_attrs["dse_metrics"]["memory_bits"] - 5000} for t in done)
    # a rejected design: complete for the sampler, with its violation; its accuracy never measured
    frame = query(result.study.study_name, url).set_index("trial")
    for t in rejected:
        assert t.state.name == "COMPLETE" and t.constraints["memory_bits"] > 0
        assert t.user_attrs["unmeasured"] == ["accuracy"]
        assert frame.loc[t.number, "status"] == "rejected" and math.isnan(frame.loc[t.number, "accuracy"])
        assert frame.loc[t.number, "memory_bits"] == t.constraints["memory_bits"] + 5000  # its static cost


def test_report_file_and_build(workdir, tiny_spec) -> None:
    url = f"sqlite:///{workdir / 'p.db'}"
    spec = load_spec(tiny_spec(n_trials=4))
    run_study(spec, storage=url, show_progress=False)
    store = Store(url)
    info = build(store, spec.name)
    assert len(info.points) == 8  # 4 trials, each also evaluated at T=1
    values = [[p.metrics["accuracy"], p.metrics["memory_bits"]] for p in info.points]
    import numpy as np

    mask = nondominated(np.array(values), ["maximize", "minimize"])
    assert [p.pareto for p in info.points] == mask.tolist()
    assert info.pareto and info.fronts[0].x == "memory_bits" and info.fronts[0].y == "accuracy"
    path = write_report(store, spec.name)
    assert path.resolve() == workdir / "reports" / f"{spec.name}.html"
    text = path.read_text()
    assert "<script src=" not in text and len(text) > 1_000_000  # plotly.js inlined: opens offline
    assert "plotly" in text and spec.name in text and "Pareto-optimal designs" in text
    from dse.report import figures

    scatters = [t for fig in figures(info) if fig["kind"] == "scatter" for t in fig["data"] if "customdata" in t]
    hovers = [h for trace in scatters for h in trace["text"]]
    assert len(hovers) == len(info.everything)  # every design point drawn once per pair
    for hover in hovers:  # a short label: the objectives and key parameters; a click shows the rest
        assert hover.count("<br>") <= 3 and "accuracy" in hover and "memory_bits" in hover and "weight_bits=" in hover
        assert "energy_45nm_j" not in hover
    from dse.report.tables import client_data

    block = client_data(info)
    for name in ("accuracy", "memory_bits", "energy_45nm_j", "bit_synops", "spike_rate", "weight_bits"):
        assert name in block["cols"]  # the full record, shown on click
    best = max(info.pareto, key=lambda p: p.metrics["accuracy"])
    assert f"<td>{best.label}</td>" in text  # the Pareto table lists it


def test_nondominated_by_hand() -> None:
    import numpy as np

    points = np.array([[0.9, 100.0], [0.8, 50.0], [0.85, 120.0], [0.9, 100.0], [0.7, 50.0]])
    mask = nondominated(points, ["maximize", "minimize"])
    assert mask.tolist() == [True, True, False, True, False]
    assert nondominated(np.zeros((0, 2)), ["minimize", "minimize"]).tolist() == []


def test_optuna_dashboard_reads_the_study(workdir, tiny_spec) -> None:
    from io import BytesIO
    from wsgiref.util import setup_testing_defaults

    from optuna_dashboard import wsgi

    url = f"sqlite:///{workdir / 'd.db'}"
    spec = load_spec(tiny_spec(n_trials=2))
    run_study(spec, storage=url, show_progress=False)
    app = wsgi(url)
    status = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/studies", "wsgi.input": BytesIO()}
    setup_testing_defaults(environ)
    body = b"".join(app(environ, lambda s, h, e=None: status.update(code=s)))
    assert status["code"].startswith("200")
    studies = json.loads(body)["study_summaries"]
    assert [s["study_name"] for s in studies] == [spec.name]
    assert math.isfinite(len(studies))


def test_one_study_holds_one_spec(workdir, tiny_spec, capsys) -> None:
    from dse.cli import main

    url = f"sqlite:///{workdir / 'o.db'}"
    path = tiny_spec(n_trials=1)
    assert run_study(load_spec(path), storage=url, show_progress=False).counts["trained"] == 1
    more = run_study(load_spec(path, n_trials=2), storage=url, show_progress=False)  # only n_trials: continues
    assert more.counts["trained"] == 2
    path.write_text(path.read_text().replace("weight_bits = {{ choices = [4, 8, 32] }}".replace("{{", "{").replace(
        "}}", "}"), "weight_bits = { choices = [4, 8] }"))
    code = None
    try:
        main(["run", str(path), "--storage", url, "--quiet"])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"error: {path}: [space].weight_bits: study {path.stem!r} in {url} was run with "
        '{"choices": [4, 8, 32]}, this spec has {"choices": [4, 8]}; one study holds one spec: run it under '
        "another name (--new-name NAME), or change only n_trials to continue it")
    main(["run", str(path), "--storage", url, "--quiet", "--new-name", "narrower", "--n-trials", "1"])
    assert Store(url, create=False).status_counts("narrower")["trained"] == 1
