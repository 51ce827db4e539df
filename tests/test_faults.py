"""Faults with real processes: a `dse run` killed with SIGKILL mid-training, one stopped with
SIGTERM, and the next run finishing exactly what was asked."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dse.store import Store

SPEC = """
[study]
name = "{name}"
engine = "surrogate"
n_trials = 3
sampler = "random"

[objectives]
accuracy = "maximize"
memory_bits = "minimize"

[space]
hidden = {{ choices = [[96], [128]] }}
weight_bits = {{ choices = [4, 8, 16, 32] }}
timesteps = {{ choices = [6, 8] }}

[train]
epochs = 60
max_train_samples = 600

[hardware]
models = ["memory"]
"""


def start(tmp_path: Path, name: str) -> tuple[subprocess.Popen, str, Path]:
    spec = tmp_path / f"{name}.toml"
    spec.write_text(SPEC.format(name=name))
    url = f"sqlite:///{tmp_path / 'f.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "dse", "run", str(spec), "--storage", url, "--quiet"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, url, spec


def wait_until_training(proc: subprocess.Popen, url: str, name: str, timeout: float = 120.0) -> int:
    """The number of a trial that is running (its worker recorded), once there is one."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            running = [t for t in Store(url, create=False).trials(name) if t.status == "running" and t.worker]
        except Exception:  # noqa: BLE001: the database is still being created
            running = []
        if running:
            time.sleep(0.5)  # well inside its training
            return running[0].number
        time.sleep(0.1)
    raise AssertionError("no trial started training")


@pytest.mark.slow  # two full runs of real processes: left to CI's slow step
def test_a_run_killed_mid_training_is_finished_by_the_next_run(tmp_path: Path) -> None:
    proc, url, spec = start(tmp_path, "killed")
    victim = wait_until_training(proc, url, "killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = subprocess.run([sys.executable, "-m", "dse", "run", str(spec), "--storage", url, "--quiet"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    store = Store(url, create=False)
    counts = store.status_counts("killed")
    assert counts["trained"] == 3 and counts["running"] == 0  # exactly what was asked, nothing left running
    trials = {t.number: t for t in store.trials("killed")}
    assert trials[victim].status == "failed" and trials[victim].note.startswith("worker lost: process ")
    retries = [t for t in trials.values() if t.retry_of == victim]
    assert len(retries) == 1 and retries[0].params == trials[victim].params  # retried once, linked to it
    assert retries[0].status in ("trained", "reused")


def test_sigterm_stops_like_ctrl_c_keeps_what_finished_and_exits_143(tmp_path: Path) -> None:
    proc, url, _ = start(tmp_path, "stopped")
    victim = wait_until_training(proc, url, "stopped")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "interrupted: finished trials are stored" in err and "Traceback" not in err
    trial = next(t for t in Store(url, create=False).trials("stopped") if t.number == victim)
    assert trial.status == "failed" and trial.note == "interrupted (SIGTERM)"
    assert (tmp_path / "reports" / "stopped.html").exists()  # the report of what finished
