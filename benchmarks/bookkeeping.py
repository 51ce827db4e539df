"""What storing a trial costs next to training it: SQL statements, transactions, seconds.

Runs the quickstart spec (digits) for a few trials in a fresh SQLite database
(after a warm-up study, so imports and the C kernel are not counted) and
counts every SQL statement and commit any engine sends (Optuna's and
snn-dse's) and the seconds spent executing and committing them
(*bookkeeping*), and the seconds a trial spends outside the engine's training
and evaluation altogether (*overhead*: bookkeeping plus the sampler, the
scoring and building the network). One JSON line per figure:

    statements_per_trial, commits_per_trial, bookkeeping_seconds_per_trial,
    overhead_seconds_per_trial, training_seconds_per_trial,
    bookkeeping_fraction (bookkeeping / training), overhead_fraction (overhead / training)

    python benchmarks/bookkeeping.py [--n-trials 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sqlite3
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from dse.spec import load_spec
from dse.store import Store, db
from dse.study import quiet_optuna, run_study

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {"statements": 0, "commits": 0, "seconds": 0.0, "start": 0.0}


@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _statement(*_args) -> None:
    COUNTS["statements"] += 1
    COUNTS["start"] = time.perf_counter()


@sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
def _executed(*_args) -> None:
    COUNTS["seconds"] += time.perf_counter() - COUNTS["start"]


class TimedConnection(sqlite3.Connection):
    """sqlite3's connection, its commits counted and timed."""

    def commit(self) -> None:
        start = time.perf_counter()
        super().commit()
        COUNTS["commits"] += 1
        COUNTS["seconds"] += time.perf_counter() - start


def timed_options(url: str) -> dict:
    return {"connect_args": {"timeout": 60, "factory": TimedConnection}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "studies" / "quickstart.toml"))
    parser.add_argument("--n-trials", type=int, default=10)
    args = parser.parse_args()
    quiet_optuna()
    db.engine_options = timed_options  # every engine of the run: snn-dse's and Optuna's
    spec = load_spec(args.spec, n_trials=args.n_trials)
    with tempfile.TemporaryDirectory() as folder:
        run_study(load_spec(args.spec, n_trials=2), storage=f"sqlite:///{folder}/warm.db", show_progress=False)
        url = f"sqlite:///{folder}/b.db"
        Store(url)  # the schema, before counting
        COUNTS.update(statements=0, commits=0, seconds=0.0)
        run_study(spec, storage=url, show_progress=False)
        statements, commits, seconds = COUNTS["statements"], COUNTS["commits"], COUNTS["seconds"]
        store = Store(url, create=False)
        every = store.trials(spec.name)
        trials = [t for t in every if t.status == "trained"]
        metrics = {p.trial: p.metrics for p in store.points(spec.name, variants=False)}
    work = [metrics[t.number]["train_seconds"] + metrics[t.number]["eval_seconds"] for t in trials]
    overhead = [t.duration_s - w for t, w in zip(trials, work)]
    n = len(every)
    config = {"spec": os.path.relpath(args.spec, ROOT), "n_trials": args.n_trials, "storage": "sqlite",
              "device": "cpu", "machine": platform.machine()}
    training = statistics.median(work)
    for name, value, unit in (
            ("statements_per_trial", statements / n, "statement"),
            ("commits_per_trial", commits / n, "commit"),
            ("bookkeeping_seconds_per_trial", seconds / n, "s"),
            ("overhead_seconds_per_trial", statistics.median(overhead), "s"),
            ("training_seconds_per_trial", training, "s"),
            ("bookkeeping_fraction", seconds / n / training, "1"),
            ("overhead_fraction", statistics.median(overhead) / training, "1")):
        print(json.dumps({"name": name, "value": value, "unit": unit, "config": config}))


if __name__ == "__main__":
    main()
