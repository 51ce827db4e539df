"""The store: typed records read back, old databases opened, the read side free of the training stack."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import invoke
from dse.report import nondominated
from dse.store import Store
from dse.store import names as n
from dse.store.schema import SCHEMA_VERSION

ASSETS = Path(__file__).parent / "assets"


def cli(capsys, args: list[str]) -> tuple[int, str, str]:
    return invoke(capsys, args)


def _close(value, old) -> bool:
    """Equal, floats to the 10 decimal places pandas' to_json kept."""
    if isinstance(value, float) and isinstance(old, (int, float)):
        return abs(value - old) <= 5e-11 + 1e-12 * abs(old)
    return value == old


@pytest.fixture
def old_db(workdir: Path) -> str:
    """A database written by snn-dse 0.1 (schema 1), as main wrote it before the store kept lineage."""
    shutil.copy(ASSETS / "main-schema1.db", workdir / "old.db")
    return f"sqlite:///{workdir / 'old.db'}"


def test_a_schema_1_database_opens_and_reads_as_it_did(old_db: str, capsys) -> None:
    code, out, _ = cli(capsys, ["query", "old-surrogate", "--storage", old_db, "--variants", "--format", "json"])
    assert code == 0
    rows = json.loads(out)
    before = json.loads((ASSETS / "old-surrogate.query.json").read_text())
    assert len(rows) == len(before) == 4
    for row, old in zip(rows, before):
        assert row.pop("status") == ("rejected" if old["state"] == "pruned" else "variant" if old["variant"] else "trained")
        assert row.pop("parent") == ("1" if old["variant"] else "")  # T=1 derives from trial 1's trained design
        assert row.pop("worker") == ""  # the old study recorded none
        if old["variant"] == "T=1":
            assert row.pop("timesteps") == 1 and old.pop("timesteps") == 4  # the variant's own T, not its parent's
        # the asset was written when JSON went through pandas' to_json (10 decimal places);
        # dse now writes every float exactly
        assert row.keys() == old.keys() and all(_close(row[k], old[k]) for k in row), row
    for study in ("old-surrogate", "old-stdp"):
        code, out, _ = cli(capsys, ["select", study, "--storage", old_db, "--mu", "0,1", "--format", "json"])
        got, want = json.loads(out), json.loads((ASSETS / f"{study}.select.json").read_text())
        assert len(got) == len(want) and all(g.keys() == w.keys() and all(_close(g[k], w[k]) for k in g)
                                             for g, w in zip(got, want))
    with sa.create_engine(old_db).connect() as conn:  # migrated in place: lineage rows exist now
        assert conn.execute(sa.text("SELECT version FROM dse_schema")).scalar() == SCHEMA_VERSION
        kinds = dict(conn.execute(sa.text(f"SELECT variant, kind FROM {n.VARIANTS_TABLE} WHERE trial_number = 1 "
                                          "AND study_name = 'old-surrogate'")).all())
    assert kinds == {"": "trained", "T=1": "variant"}


def test_a_schema_1_database_reports_lists_and_continues(old_db: str, workdir: Path, capsys) -> None:
    code, out, _ = cli(capsys, ["studies", "--storage", old_db, "--format", "json"])
    assert [(s["study"], s["trained"], s["rejected"]) for s in json.loads(out)] == \
        [("old-surrogate", 1, 2), ("old-stdp", 2, 0)]
    assert cli(capsys, ["report", "old-stdp", "--storage", old_db])[0] == 0
    store = Store(old_db, create=False)
    training = [p for p in store.points("old-stdp") if "training_memory_bits" in p.metrics]
    assert len(training) == 2  # the STDP training phase still reaches every design point
    spec = workdir / "s.toml"
    spec.write_text((ASSETS / "main-schema1-surrogate.toml").read_text())
    code, _, err = cli(capsys, ["run", str(spec), "--storage", old_db, "--quiet", "--n-trials", "4"])
    assert code == 0, err
    assert Store(old_db, create=False).status_counts("old-surrogate")["trained"] == 4


def test_a_database_of_a_newer_schema_is_refused(old_db: str, capsys) -> None:
    with sa.create_engine(old_db).begin() as conn:
        conn.execute(sa.text("UPDATE dse_schema SET version = 99"))
    code, out, err = cli(capsys, ["query", "old-stdp", "--storage", old_db])
    assert code == 2 and out == ""
    assert err.strip() == (f"error: --storage {old_db}: written by a newer snn-dse (dse schema 99, "
                           f"this one reads up to {SCHEMA_VERSION}); upgrade snn-dse")


def test_records_read_back_what_the_study_wrote(workdir: Path, tiny_spec) -> None:
    from dse.spec import load_spec
    from dse.study import run_study

    url = f"sqlite:///{workdir / 'r.db'}"
    spec = load_spec(tiny_spec(n_trials=3, extra="[constraints]\nmemory_bits = { max = 30000 }\n"))
    result = run_study(spec, storage=url, show_progress=False)
    store = Store(url, create=False)
    stored = store.stored_spec(spec.name)
    assert stored.version == 3 and stored.objectives == ("accuracy", "memory_bits")
    assert stored.train["epochs"] == 1 and stored.space == ("hidden", "weight_bits", "timesteps", "pruning")
    for frozen, record in zip(result.study.trials, store.trials(spec.name)):
        assert record.number == frozen.number and record.state == frozen.state.name.lower()
        assert {k: list(v) if isinstance(v, tuple) else v for k, v in record.params.items()} == \
            {k: json.loads(v) if isinstance(v, str) else v for k, v in frozen.params.items()}
        assert record.design == frozen.user_attrs["design"]
        assert record.rejected == ("infeasible" in frozen.user_attrs)
        assert record.values == (tuple(frozen.values) if frozen.values else None)


def test_the_read_side_needs_no_training_stack() -> None:
    code = ("import sys\n"
            "import dse.query, dse.report, dse.select, dse.rescore, dse.cli\n"
            "loaded = [m for m in ('torch', 'sklearn', 'dse.engines', 'dse.study', 'dse.spec') if m in sys.modules]\n"
            "assert not loaded, loaded\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def slow_front(values: np.ndarray, signs: np.ndarray) -> list[bool]:
    v = values * signs
    return [not any((v[j] <= v[i]).all() and (v[j] < v[i]).any() for j in range(len(v))) for i in range(len(v))]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda d: st.tuples(
    st.just(d), st.lists(st.lists(st.integers(0, 6), min_size=d, max_size=d), max_size=60),
    st.lists(st.sampled_from(["minimize", "maximize"]), min_size=d, max_size=d))))
def test_the_fast_front_is_the_brute_force_front(case) -> None:
    d, rows, directions = case
    values = np.array(rows, dtype=float).reshape(len(rows), d)  # small integers: many ties
    signs = np.array([-1.0 if x == "maximize" else 1.0 for x in directions])
    assert nondominated(values, directions).tolist() == slow_front(values, signs)


def brute_volume(values: np.ndarray, reference: np.ndarray) -> float:
    """Count unit cells of an integer grid dominated by some row (all minimised)."""
    import itertools

    cells = 0
    for cell in itertools.product(*[range(int(r)) for r in reference]):
        corner = np.array(cell, dtype=float)
        cells += bool(((values <= corner).all(1)).any())
    return float(cells)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3).flatmap(lambda d: st.lists(
    st.lists(st.integers(0, 5), min_size=d, max_size=d), min_size=1, max_size=12)))
def test_the_hypervolume_is_the_brute_force_volume(rows) -> None:
    from dse.pareto import hypervolume

    values = np.array(rows, dtype=float)
    reference = np.full(values.shape[1], 6.0)
    assert hypervolume(values, ["minimize"] * values.shape[1], list(reference)) == brute_volume(values, reference)


def test_the_hypervolume_by_hand() -> None:
    from dse.pareto import hypervolume

    # accuracy up, memory down: (0.9, 10) and (0.5, 5) against (0, 20): 0.9*10 + 0.5*5 = 11.5
    assert hypervolume(np.array([[0.9, 10.0], [0.5, 5.0]]), ["maximize", "minimize"], [0.0, 20.0]) == \
        pytest.approx(0.9 * 10 + 0.5 * 5)
    assert hypervolume(np.array([[0.9, 30.0]]), ["maximize", "minimize"], [0.0, 20.0]) == 0.0  # beyond the reference


def test_sqlite_commits_skip_the_disk_wait_only_in_wal_mode(tmp_path: Path) -> None:
    """WAL databases run synchronous=NORMAL on every connection (ours and Optuna's); a database left
    in rollback-journal mode keeps FULL, where NORMAL could corrupt it on a power cut."""
    def synchronous(engine: sa.Engine) -> int:
        with engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA synchronous").scalar()

    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    assert [synchronous(store.engine), synchronous(store.optuna.engine)] == [1, 1]
    reader = Store(f"sqlite:///{tmp_path / 'wal.db'}", create=False)
    assert synchronous(reader.engine) == 1
    for engine in (store.engine, store.optuna.engine, reader.engine):
        engine.dispose()
    with sa.create_engine(f"sqlite:///{tmp_path / 'wal.db'}").connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    assert synchronous(Store(f"sqlite:///{tmp_path / 'wal.db'}", create=False).engine) == 2
