"""dse query's options and formats, dse export --neurobench, and dse rescore's Optuna values,
on a small synthetic study written through the store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import hwmodels
from benchmarks.synthetic_study import make_study
from dse.cli import main
from tests.conftest import invoke
from dse.pareto import nondominated
from dse.query import query


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "s.db"
    url = f"sqlite:///{path}"
    make_study(url, "s", 40)
    return url


def run(capsys, args):
    return invoke(capsys, args)


def test_where_sort_limit_columns_in_python(study) -> None:
    full = query("s", study)
    frame = query("s", study, where="status == 'trained' and weight_bits >= 8", sort="-accuracy,trial",
                  limit=3, columns="trial,accuracy,weight_bits")
    expected = full[(full.status == "trained") & (full.weight_bits >= 8)].sort_values(
        ["accuracy", "trial"], ascending=[False, True], kind="mergesort").head(3)[["trial", "accuracy", "weight_bits"]]
    pd.testing.assert_frame_equal(frame, expected.reset_index(drop=True))


def test_pareto_is_the_front_of_feasible_trained_designs_and_variants(study) -> None:
    points = query("s", study, variants=True)
    ok = points[points.status.isin(["trained", "variant"]) & (points.memory_bits <= 400_000)]
    front = ok[nondominated(ok[["accuracy", "memory_bits"]].to_numpy(), ["maximize", "minimize"])]
    got = query("s", study, pareto=True)
    assert sorted(zip(got.trial, got.variant)) == sorted(zip(front.trial, front.variant)) and len(got) > 0
    assert set(got.status) <= {"trained", "variant"}


def test_json_is_exact_and_nan_is_null(study, capsys, tmp_path) -> None:
    code, out, _ = run(capsys, ["query", "s", "--storage", study, "--format", "json"])
    rows = json.loads(out)
    frame = query("s", study)
    for row, (_, expected) in zip(rows, frame.iterrows()):
        assert row["energy_loihi_j"] == (None if pd.isna(expected["energy_loihi_j"]) else expected["energy_loihi_j"])
    assert code == 0 and "6.26e-10" in json.dumps(6.26e-10)
    assert any(r["accuracy"] is None for r in rows)  # rejected designs: never measured
    small = [r["energy_loihi_j"] for r in rows if r["energy_loihi_j"] is not None]
    assert all(repr(v) in out for v in small)  # every float written by repr, digit for digit


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "table"])
def test_every_format_goes_to_a_file(study, capsys, tmp_path, fmt) -> None:
    path = tmp_path / f"out.{fmt}"
    code, out, _ = run(capsys, ["query", "s", "--storage", study, "--format", fmt, "-o", str(path),
                                "--columns", "trial,status,accuracy,memory_bits"])
    assert code == 0 and out == "" and path.exists()
    if fmt == "parquet":
        frame = pd.read_parquet(path)
        pd.testing.assert_frame_equal(frame, query("s", study, columns="trial,status,accuracy,memory_bits"))


@pytest.mark.parametrize("args, message", [
    (["--format", "parquet"], "error: --format parquet: binary output needs a file: add -o FILE.parquet"),
    (["--sort", "-nope"], "error: --sort -nope: no column 'nope'; valid columns: trial, status, state, hidden, "),
    (["--columns", "trial,nope"], "error: --columns trial,nope: no column 'nope'; valid columns: trial, status, "),
    (["--limit", "-1"], "Error: Invalid value for '--limit': -1 is not in the range x>=0."),
])
def test_bad_options_exit_2(study, capsys, tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, ["query", "s", "--storage", study, *args])
    assert code == 2 and out == "" and err.strip().splitlines()[-1].startswith(message)
    assert list(tmp_path.iterdir()) == []


NEUROBENCH_KEYS = ["Footprint", "ConnectionSparsity", "ClassificationAccuracy", "ActivationSparsity",
                   "MembraneUpdates", "SynapticOperations"]


def test_neurobench_export_layout_key_by_key(study, capsys) -> None:
    code, out, _ = run(capsys, ["export", "s", "--storage", study, "--neurobench"])
    items = json.loads(out)
    frame = query("s", study).set_index("trial")
    trained = frame[frame.status == "trained"]
    assert code == 0 and [i["trial"] for i in items] == list(trained.index)
    for item in items:
        row, results = trained.loc[item["trial"]], item["results"]
        assert list(item) == ["study", "trial", "neurobench", "results"] and item["neurobench"] == "2.3.0"
        assert list(results) == NEUROBENCH_KEYS
        assert results["Footprint"] == row["footprint_bytes"]
        assert results["ConnectionSparsity"] == row["connection_sparsity"]
        assert results["ClassificationAccuracy"] == row["accuracy"]
        assert results["ActivationSparsity"] == row["activation_sparsity"]
        assert results["MembraneUpdates"] == row["membrane_updates"]
        assert results["SynapticOperations"] == {"Effective_MACs": row["effective_macs"],
                                                 "Effective_ACs": row["effective_acs"], "Dense": row["dense_synops"]}
    one = json.loads(run(capsys, ["export", "s", "--storage", study, "--neurobench", "--trial",
                                  str(items[0]["trial"])])[1])
    assert one == items[0]["results"]


def test_neurobench_export_without_the_model_computes_from_profiles(tmp_path, capsys) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'n.db'}"
    store = make_study(url, "n", 5)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM dse_trial_metrics WHERE model = 'neurobench'")
    items = json.loads(run(capsys, ["export", "n", "--storage", url, "--neurobench"])[1])
    profiles = store.profiles("n")
    for item in items:
        expected = hwmodels.evaluate(profiles[(item["trial"], "")], "neurobench")
        assert item["results"]["Footprint"] == expected["footprint_bytes"]
        assert item["results"]["SynapticOperations"]["Dense"] == expected["dense_synops"]
    assert sa  # imported for the raw delete above


def test_export_of_an_unknown_trial_exits_2(study, capsys) -> None:
    code, _, err = run(capsys, ["export", "s", "--storage", study, "--neurobench", "--trial", "9999"])
    assert code == 2 and err.startswith("error: --trial 9999: not a trained design of s; ")


def test_rescore_changes_what_optuna_shows(tmp_path, capsys) -> None:
    import optuna

    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = make_study(url, "r", 12)
    before = {t.number: t.values for t in optuna.load_study(study_name="r", storage=url).trials}
    code, _, err = run(capsys, ["rescore", "r", "--storage", url, "--option", "sparse_format=csr"])
    assert code == 0 and "updated Optuna's objective values (memory_bits) and dse_metrics of" in err
    study = optuna.load_study(study_name="r", storage=url)
    profiles = store.profiles("r")
    changed = 0
    for trial in study.trials:
        if trial.state != optuna.trial.TrialState.COMPLETE or trial.user_attrs["dse_status"] != "trained":
            continue
        csr = hwmodels.evaluate(profiles[(trial.number, "")], "memory", sparse_format="csr")["memory_bits"]
        assert trial.values == [before[trial.number][0], csr]
        assert trial.user_attrs["dse_metrics"]["memory_bits"] == csr
        changed += csr != before[trial.number][1]
    assert changed > 0
    record = store.rescores("r")[-1]
    assert record["options"]["sparse_format"] == "csr" and record["objectives_updated"] == ["memory_bits"]
    assert record["metrics"]["memory_bits"] == f"memory {hwmodels.__version__}"
    rejected = [t for t in study.trials if t.user_attrs.get("dse_status") == "rejected"]
    assert all(t.values[0] == 0.0 for t in rejected)  # the placeholder of the unmeasured accuracy is kept
