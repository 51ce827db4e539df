"""Trials per minute of the quickstart with 1 and 2 workers: local processes and a Dask cluster.

Runs ``dse run studies/quickstart.toml --n-trials N`` four times, each in a fresh
SQLite database: ``--workers 1``, ``--workers 2``, ``--dask local:1`` and
``--dask local:2`` (a LocalCluster of worker processes on 127.0.0.1), timing the
whole command (start-up, the cluster's included; the report it writes too) and
the span from the first trial's start to the last trial's end, and reads each
study back: trained designs, duplicates (trained trials whose ``design``
attributes are equal) and lost trials (running, or failed without a reason, at
the end). One JSON line per run (``trials_per_min`` over the span, and
``command_trials_per_min`` over the whole command), then

    {"name": "speedup_2_workers", "backend": "local", "value": R}
    {"name": "speedup_2_workers", "backend": "dask", "value": R}
    {"name": "duplicate_designs", "value": N}   (over all runs)
    {"name": "lost_trials", "value": N}         (over all runs)

    python benchmarks/workers.py [--n-trials 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from dse.spec import load_spec
from dse.store import Store

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "studies" / "quickstart.toml"
RUNS = (("local", 1, ["--workers", "1"]), ("local", 2, ["--workers", "2"]),
        ("dask", 1, ["--dask", "local:1"]), ("dask", 2, ["--dask", "local:2"]))


def run(backend: str, k: int, option: list[str], n_trials: int, folder: Path) -> dict:
    url = f"sqlite:///{folder / f'{backend}-{k}.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dse", "run", str(SPEC), "--n-trials", str(n_trials), "--quiet",
                           "--storage", url, *option], cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{backend} x{k} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    name = load_spec(str(SPEC)).name
    trials = Store(url, create=False).trials(name)
    trained = [t for t in trials if t.status == "trained"]
    designs = [json.dumps(t.design, sort_keys=True) for t in trained]
    lost = [t for t in trials if t.state == "running" or (t.state == "fail" and not t.note)]
    frozen = optuna.load_study(study_name=name, storage=url).trials  # the span in which trials ran
    span = (max(t.datetime_complete for t in frozen if t.datetime_complete)
            - min(t.datetime_start for t in frozen if t.datetime_start)).total_seconds()
    return {"name": "trials_per_min", "backend": backend, "workers": k, "value": round(len(trained) / span * 60, 2),
            "command_trials_per_min": round(len(trained) / seconds * 60, 2),
            "trained": len(trained), "trials": len(trials), "seconds": round(seconds, 1), "span_s": round(span, 1),
            "duplicates": len(designs) - len(set(designs)), "lost": len(lost),
            "distinct_workers": len({t.worker for t in trained})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=30)
    args = parser.parse_args()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, k, option in RUNS:
            row = run(backend, k, option, args.n_trials, Path(tmp))
            results[(backend, k)] = row
            print(json.dumps({**row, **machine}), flush=True)
    for backend in ("local", "dask"):
        speedup = results[(backend, 2)]["value"] / results[(backend, 1)]["value"]
        print(json.dumps({"name": "speedup_2_workers", "backend": backend, "value": round(speedup, 3)}))
    print(json.dumps({"name": "duplicate_designs", "value": sum(r["duplicates"] for r in results.values())}))
    print(json.dumps({"name": "lost_trials", "value": sum(r["lost"] for r in results.values())}))


if __name__ == "__main__":
    main()
