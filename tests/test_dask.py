"""Trials as tasks on a Dask distributed cluster: a real scheduler and worker processes on 127.0.0.1.

Exactly n_trials trained designs, none twice, each trial's ``worker`` the Dask worker process that
ran it; a worker killed mid-trial loses nothing but its trial, which is failed with a reason and
whose design is claimed afresh.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from dse.query import query  # noqa: E402
from dse.spec import load_spec  # noqa: E402
from dse.store import Store  # noqa: E402
from dse.study.dask_cluster import run_dask  # noqa: E402

from .conftest import TINY_SPEC  # noqa: E402

DASK = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]


def _warm() -> None:
    import dse.engines.surrogate  # noqa: F401
    import dse.study  # noqa: F401
    import torch  # noqa: F401


class Cluster:
    """`dask scheduler` and `dask worker` processes (no nanny: a killed worker stays dead)."""

    def __init__(self, folder: Path, n_workers: int) -> None:
        self.procs: list[subprocess.Popen] = []
        try:
            self._start(folder, n_workers)
        except BaseException:
            self.close()  # no scheduler or worker outlives a failed start
            raise

    def _start(self, folder: Path, n_workers: int) -> None:
        self.file = folder / "scheduler.json"
        self.procs += [subprocess.Popen([*DASK, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                        "--scheduler-file", str(self.file)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        self._wait(lambda: self.file.exists(), "scheduler")
        import json

        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [subprocess.Popen([*WORKER, self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                          "--host", "127.0.0.1", "--local-directory", str(folder / f"w{i}")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for i in range(n_workers)]
        self.procs += self.workers
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n_workers, timeout=60)
            client.run(_warm)  # torch imported by each: no worker is seconds late to its first trial


    @staticmethod
    def _wait(ready, what: str) -> None:
        deadline = time.monotonic() + 60
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {what} did not start")
            time.sleep(0.1)

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = Cluster(tmp_path_factory.mktemp("dask"), 2)
    yield started
    started.close()


def spec_file(folder: Path, name: str, n_trials: int, epochs: int = 1) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(TINY_SPEC.format(name=name, n_trials=n_trials, sampler="random")
                    .replace("epochs = 1", f"epochs = {epochs}"))
    return path


def check_study(url: str, name: str, n_trials: int, min_workers: int = 2) -> list:
    store = Store(url, create=False)
    counts = store.status_counts(name)
    assert counts["trained"] == n_trials and counts["running"] == 0, counts
    trials = store.trials(name)
    designs = [tuple(sorted((k, str(v)) for k, v in t.design.items())) for t in trials if t.status == "trained"]
    assert len(set(designs)) == len(designs) == n_trials  # no design trained twice
    frame = query(name, url)
    workers = set(frame.loc[frame.status == "trained", "worker"])
    assert len(workers) >= min_workers and all(w.count(":") == 1 for w in workers), workers
    return trials


def test_a_study_on_a_dask_cluster(cluster, storage_url, unique_name, tmp_path) -> None:
    spec = load_spec(str(spec_file(tmp_path, unique_name, 4, epochs=5)))  # ~0.5 s a trial: both workers train
    result = run_dask(spec, cluster.address, storage=storage_url, show_progress=False)
    assert not result.interrupted and not result.failures
    trials = check_study(storage_url, unique_name, 4)
    pids = {int(t.worker.rpartition(":")[2]) for t in trials if t.status == "trained"}
    assert pids <= {p.pid for p in cluster.workers}  # run by the Dask worker processes, not by this one


@pytest.mark.slow  # a cluster of its own, seconds-long trials: left to CI's slow step
def test_a_worker_killed_mid_trial_loses_only_its_trial(tmp_path, unique_name) -> None:
    cluster = Cluster(tmp_path, 2)
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    spec = load_spec(str(spec_file(tmp_path, unique_name, 4, epochs=200)))
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.update(
        result=run_dask(spec, cluster.address, storage=url, show_progress=False)))
    try:
        runner.start()
        victim = wait_for_a_training_worker(url, unique_name, {p.pid for p in cluster.workers})
        os.kill(victim, signal.SIGKILL)
        runner.join(timeout=240)
        assert not runner.is_alive() and not outcome["result"].interrupted
    finally:
        cluster.close()
    trials = check_study(url, unique_name, 4, min_workers=1)
    killed = [t for t in trials if t.worker.endswith(f":{victim}") and t.state == "fail"]
    # failed with its reason: by the client (its worker left the cluster) or by the sweep (its process is gone)
    assert len(killed) == 1 and ("died mid-trial" in killed[0].note or killed[0].note.startswith("worker lost")), \
        [(t.number, t.state, t.note) for t in trials]


def wait_for_a_training_worker(url: str, name: str, pids: set[int] | None) -> int:
    """The pid of a Dask worker (of `pids`, or any) once it trains a design (its trial RUNNING, its worker
    recorded)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            running = Store(url, create=False).trials(name, states=["running"])
        except Exception:  # noqa: BLE001: the study is not created yet
            running = []
        for trial in running:
            host, _, pid = trial.worker.rpartition(":")
            if host == socket.gethostname() and (pids is None or int(pid or 0) in pids):
                time.sleep(0.2)  # into training (a trial takes seconds)
                return int(pid)
        time.sleep(0.1)
    raise TimeoutError("no trial started training")


@pytest.mark.slow  # a cluster of its own, seconds-long trials: left to CI's slow step
def test_dse_run_on_a_local_dask_cluster(tmp_path, unique_name) -> None:
    spec = spec_file(tmp_path, unique_name, 4, epochs=5)
    result = subprocess.run([sys.executable, "-m", "dse", "run", str(spec), "--dask", "local:2", "--quiet",
                             "--storage", "sqlite:///local.db"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "reports" / f"{unique_name}.html").exists()
    check_study(f"sqlite:///{tmp_path / 'local.db'}", unique_name, 4, min_workers=1)  # under load one may take all


def test_a_relative_sqlite_path_is_refused_for_a_remote_cluster(tmp_path, unique_name) -> None:
    spec = spec_file(tmp_path, unique_name, 2)
    result = subprocess.run([sys.executable, "-m", "dse", "run", str(spec), "--dask", "tcp://scheduler.invalid:8786",
                             "--storage", "sqlite:///trials.db"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "relative SQLite path" in line and "PostgreSQL" in line
    assert not (tmp_path / "trials.db").exists()


def test_dask_and_workers_are_exclusive(tmp_path, unique_name) -> None:
    spec = spec_file(tmp_path, unique_name, 2)
    result = subprocess.run([sys.executable, "-m", "dse", "run", str(spec), "--dask", "local:2", "--workers", "2"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--dask and --workers" in result.stderr


@pytest.mark.slow  # a cluster of its own, seconds-long trials: left to CI's slow step
def test_ctrl_c_on_the_client_stops_a_local_cluster_cleanly(tmp_path, unique_name) -> None:
    spec = spec_file(tmp_path, unique_name, 6, epochs=400)  # seconds a trial: Ctrl-C lands in one
    url = f"sqlite:///{tmp_path / 'c.db'}"
    client = subprocess.Popen([sys.executable, "-m", "dse", "run", str(spec), "--dask", "local:2", "--quiet",
                               "--storage", url], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # (SIGINT as a terminal's Ctrl-C finds it, even where the suite itself runs as a background job, `&`,
    # whose SIGINT is ignored and would be handed down ignored)
    try:
        wait_for_a_training_worker(url, unique_name, None)
        client.send_signal(signal.SIGINT)
        _, err = client.communicate(timeout=120)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err, err
    store = Store(url, create=False)
    counts = store.status_counts(unique_name)
    assert counts["running"] == 0 and counts["trained"] < 6, counts
    cut = [t for t in store.trials(unique_name) if t.state == "fail"]
    assert cut and all(t.note == "interrupted (Ctrl-C)" for t in cut)
