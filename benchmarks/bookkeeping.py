"""What storing a trial costs next to training it: SQL statements, transactions, seconds.

Runs the quickstart spec (digits) for a few trials in a fresh SQLite database
and counts every SQL statement and commit any engine sends (Optuna's and
snn-dse's), and the seconds a trial spends outside the engine's training and
evaluation. One JSON line per figure:

    statements_per_trial, commits_per_trial, bookkeeping_seconds_per_trial,
    training_seconds_per_trial, bookkeeping_fraction (bookkeeping / training)

    python benchmarks/bookkeeping.py [--n-trials 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

import sqlalchemy as sa

from dse.spec import load_spec
from dse.store import Store
from dse.study import quiet_optuna, run_study

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {"statements": 0, "commits": 0}


@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _statement(*_args) -> None:
    COUNTS["statements"] += 1


@sa.event.listens_for(sa.engine.Engine, "commit")
def _commit(*_args) -> None:
    COUNTS["commits"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "studies" / "quickstart.toml"))
    parser.add_argument("--n-trials", type=int, default=10)
    args = parser.parse_args()
    quiet_optuna()
    spec = load_spec(args.spec, n_trials=args.n_trials)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/b.db"
        Store(url)  # the schema, before counting
        COUNTS.update(statements=0, commits=0)
        run_study(spec, storage=url, show_progress=False)
        statements, commits = COUNTS["statements"], COUNTS["commits"]
        store = Store(url, create=False)
        every = store.trials(spec.name)
        trials = [t for t in every if t.status == "trained"]
        metrics = {p.trial: p.metrics for p in store.points(spec.name, variants=False)}
    work = [metrics[t.number]["train_seconds"] + metrics[t.number]["eval_seconds"] for t in trials]
    overhead = [t.duration_s - w for t, w in zip(trials, work)]
    n = len(every)
    config = {"spec": os.path.relpath(args.spec, ROOT), "n_trials": args.n_trials, "storage": "sqlite",
              "device": "cpu", "machine": platform.machine()}
    for name, value, unit in (
            ("statements_per_trial", statements / n, "statement"),
            ("commits_per_trial", commits / n, "commit"),
            ("bookkeeping_seconds_per_trial", statistics.median(overhead), "s"),
            ("training_seconds_per_trial", statistics.median(work), "s"),
            ("bookkeeping_fraction", statistics.median(overhead) / statistics.median(work), "1")):
        print(json.dumps({"name": name, "value": value, "unit": unit, "config": config}))


if __name__ == "__main__":
    main()
