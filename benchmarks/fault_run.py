"""A study that survives its workers being killed: SIGKILL at random, then one more `dse run`.

Two `dse worker` processes share a study of ``--n-trials`` designs; ``--kills``
times, at a random moment while one of them trains, that worker is killed
with SIGKILL (as the OOM killer or a lost machine would) and a new worker is
started in its place. When the workers are done, one more `dse run` finishes
the study. One JSON line, then a check line each:

    {"name": "fault_run", "trained": 20, "running": 0, "killed": 10, "killed_trials": K,
     "failed_with_reason": K, "retried": R, "complete_lost": 0, ...}

    python benchmarks/fault_run.py --storage postgresql+psycopg://user:pw@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from dse.store import Store
from dse.store.url import shown

SPEC = """
[study]
name = "{name}"
engine = "surrogate"
n_trials = {n_trials}
sampler = "random"
seed = 1

[objectives]
accuracy = "maximize"
memory_bits = "minimize"

[space]
hidden = {{ choices = [[64], [96], [128]] }}
weight_bits = {{ choices = [2, 4, 8, 16, 32] }}
timesteps = {{ low = 4, high = 8 }}
pruning = {{ low = 0.0, high = 0.5 }}

[train]
epochs = 40
max_train_samples = 600

[hardware]
models = ["memory"]
"""


def worker(spec: Path, url: str, folder: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dse", "worker", str(spec), "--storage", url, "--quiet"],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def running_trial_of(store: Store, name: str, pid: int) -> int | None:
    for t in store.trials(name, states=("running",)):
        if t.worker.endswith(f":{pid}"):
            return t.number
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default=os.environ.get("DSE_TEST_POSTGRES_URL"))
    parser.add_argument("--n-trials", type=int, default=20)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    name = f"fault-run-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        url = args.storage or f"sqlite:///{folder}/faults.db"
        spec = Path(folder) / f"{name}.toml"
        spec.write_text(SPEC.format(name=name, n_trials=args.n_trials))
        store = Store(url)
        workers = [worker(spec, url, folder) for _ in range(2)]
        killed, victims, complete_seen = 0, [], set()
        while killed < args.kills and any(w.poll() is None for w in workers):
            time.sleep(rng.uniform(0.3, 1.5))
            alive = [w for w in workers if w.poll() is None]
            try:
                complete_seen |= {t.number for t in store.trials(name, states=("complete",))}
            except Exception:  # noqa: BLE001: the study is still being created
                continue
            target = rng.choice(alive)
            trial = running_trial_of(store, name, target.pid)
            if trial is None:
                continue  # between trials: wait for it to be training
            target.kill()
            target.wait()
            killed += 1
            victims.append(trial)
            workers[workers.index(target)] = worker(spec, url, folder)
        for w in workers:
            w.wait()
        final = subprocess.run([sys.executable, "-m", "dse", "run", str(spec), "--storage", url, "--quiet"],
                               cwd=folder, capture_output=True, text=True)
        store = Store(url, create=False)
        trials = {t.number: t for t in store.trials(name)}
        counts = store.status_counts(name)
    victims_failed = [v for v in victims if trials[v].status == "failed" and trials[v].note.startswith("worker lost")]
    retried = [v for v in victims if any(t.retry_of == v for t in trials.values())]
    print(json.dumps({
        "name": "fault_run", "storage": shown(url).split("://")[0], "final_run_exit": final.returncode,
        "trained": counts["trained"], "running": counts["running"], "failed": counts["failed"],
        "reused": counts["reused"], "killed": killed, "killed_trials": len(victims),
        "failed_with_reason": len(victims_failed), "retried": len(retried),
        "complete_lost": len([n for n in complete_seen if trials[n].state != "complete"]),
        "n_trials": args.n_trials}))


if __name__ == "__main__":
    main()
