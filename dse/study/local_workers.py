"""``dse run SPEC --workers K``: K worker processes on this machine, one study, one storage.

Each worker is a ``dse worker`` process: its own sampler seed (its index
among the study's workers), its own share of the cores (``OMP_NUM_THREADS``
= cores / K unless set: two torch thread pools on the same cores slow both
down), and the study's claims (:mod:`dse.store.claims`) keep them from
training the same design twice or more than ``n_trials`` designs. This
process creates the study, shows the progress from the storage and, on
Ctrl-C or SIGTERM, passes the signal on and waits for the workers to record
what they finished.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from ..progress import Progress
from ..spec import StudySpec
from ..store import Store
from . import ensure_study, quiet_optuna
from .feasibility import check_feasible

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WorkersResult:
    counts: dict[str, int]
    interrupted: bool
    failures: list[tuple[int, str]]
    """(exit code, last line of stderr) of each worker that did not exit 0."""


def worker_command(spec_path: str, storage: str, data_dir: str | None, device: str,
                   n_trials: int | None) -> list[str]:
    command = [sys.executable, "-m", "dse", "worker", spec_path, "--storage", storage, "--device", device, "--quiet"]
    if data_dir:
        command += ["--data-dir", data_dir]
    if n_trials:
        command += ["--n-trials", str(n_trials)]
    return command


def run_workers(spec: StudySpec, spec_path: str, k: int, *, storage: str, data_dir: str | None = None,
                device: str = "cpu", n_trials: int | None = None, show_progress: bool = True) -> WorkersResult:
    quiet_optuna()
    check_feasible(spec)
    store = Store(storage)
    ensure_study(spec, store)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // k)))
    command = worker_command(spec_path, storage, data_dir, device, n_trials) + ["--new-name", spec.name]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(k)]
    progress = Progress(total=spec.n_trials, counts=store.status_counts(spec.name), enabled=show_progress,
                        objectives=spec.objectives)
    interrupted = False
    try:
        while any(p.poll() is None for p in procs):
            time.sleep(POLL_SECONDS)
            progress.overall(store.status_counts(spec.name))
    except KeyboardInterrupt:
        interrupted = True
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
    finally:
        errors = [(p.wait(), p.stderr.read().strip().splitlines() if p.stderr else []) for p in procs]
        progress.close()
    failures = [(code, lines[-1] if lines else "") for code, lines in errors if code not in (0, 130)]
    interrupted = interrupted or any(code == 130 for code, _ in errors)
    return WorkersResult(store.status_counts(spec.name), interrupted, failures)
