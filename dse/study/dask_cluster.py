"""``dse run SPEC --dask ADDRESS``: trials as tasks on a Dask distributed cluster.

The client (this process) creates the study, then hands each Dask worker one
long-running task, a *trial loop*: :func:`run_study` inside the worker process,
one trial at a time, its torch threads the worker's ``nthreads``. The loops
share the study through its storage, exactly as ``dse worker`` processes do:
claims keep any design from being trained twice and the study at ``n_trials``
trained designs; every trial records the ``worker`` (host:pid) that ran it.

Each task is pinned to its worker (``workers=[address]``, no other worker
allowed), so a worker process runs one trial at a time whatever its thread
count, and a GPU worker (one declaring a ``GPU`` resource, e.g. started with
``--resources GPU=1``) also holds its GPU while it trains. The client
supervises the loops from the storage and the scheduler, every
:data:`POLL_SECONDS`:

- a worker that joins (a scaled-up one, or one its nanny restarted) gets a loop;
- a worker that leaves (dies mid-trial) has its loop cancelled: a pinned task
  cannot run elsewhere, and the unit worth retrying is the trial, not the loop.
  Its running trial is failed at once where its process was on this host and is
  gone, else by Optuna's heartbeat (30 s); its design is then claimed afresh by
  the next trial that proposes it;
- when every loop has ended short of ``n_trials`` trained designs (they stop
  once every slot looks taken, a lost trial's included), a new round starts.

Ctrl-C sets a distributed :class:`~distributed.Event` that every loop checks
after each trial. With ``local:K`` the client owns the cluster: it closes it at
once (its worker processes killed: a running task cannot be stopped otherwise) and fails
the trials it cut short ("interrupted (Ctrl-C)"). On a cluster it does not
own it waits for the running trials to be recorded; a second Ctrl-C leaves them
to finish on their workers (Dask cannot stop a running task) and exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa

from ..errors import UserError
from ..progress import Progress
from ..spec import StudySpec
from ..store import Store
from ..store import names as n
from ..store.claims import worker_label
from . import ensure_study, quiet_optuna, run_study
from .feasibility import check_feasible

POLL_SECONDS = 0.5
STALE_SECONDS = 5.0
"""How often the client fails trials whose worker stopped sending heartbeats."""
CONNECT_SECONDS = 30
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class DaskResult:
    counts: dict[str, int]
    interrupted: bool
    failures: list[str] = field(default_factory=list)
    """One line per trial loop that raised (worker address: error)."""
    gave_up: bool = False


def trial_loop(spec: StudySpec, storage: str, data_dir: str | None, device: str, threads: int,
               stop_event: str) -> dict[str, Any]:
    """The task a Dask worker runs: trials of the study until it is done or the client says stop."""
    import torch

    torch.set_num_threads(max(1, threads))
    result = run_study(spec, storage=storage, data_dir=data_dir, device=device, show_progress=False,
                       should_stop=lambda: event_is_set(stop_event))
    return {"worker": worker_label(), "ran": result.ran, "gave_up": result.gave_up}


def event_is_set(name: str) -> bool:
    """Whether the client set the stop event, asked of the scheduler through the worker's own
    connection (a worker-side Client would outlive a worker the client closes); a scheduler that
    cannot be asked says stop."""
    from distributed import get_worker
    from distributed.utils import sync

    worker = get_worker()
    try:
        return bool(sync(worker.loop, worker.scheduler.event_is_set, name=name))
    except Exception:  # noqa: BLE001: the scheduler is gone: this worker is going too
        return True


def reachable_storage(address: str, storage: str) -> str:
    """The storage URL as every worker must see it: a relative SQLite path made absolute for a
    cluster on this machine, refused for one elsewhere."""
    try:
        url = sa.engine.make_url(storage)
    except sa.exc.ArgumentError:
        return storage  # Store says what is wrong with it
    if url.get_backend_name() != "sqlite":
        return storage
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise UserError(f"--storage {storage}: an in-memory SQLite database cannot be shared with Dask workers; "
                        f"give a file (sqlite:////abs/path.db) or PostgreSQL")
    if Path(database).is_absolute():
        return storage
    if address.startswith("local:") or _host(address) in LOCAL_HOSTS:
        return url.set(database=str(Path(database).resolve())).render_as_string(hide_password=False)
    raise UserError(f"--storage {storage}: a relative SQLite path cannot be reached by the workers of the "
                    f"Dask cluster at {address}; give PostgreSQL (--storage postgresql+psycopg://user:pw@host/db), "
                    f"which every machine can reach, or an absolute path on a file system all workers share")


def _host(address: str) -> str:
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0] if rest.count(":") <= 1 or rest.startswith("[") else rest


@contextmanager
def connect(address: str) -> Iterator[tuple[Any, bool]]:
    """A client of the cluster at `address`, or of a new ``local:K`` cluster; and whether we own it."""
    from distributed import Client, LocalCluster

    if address.startswith("local:"):
        k = _local_workers(address)
        threads = max(1, (os.cpu_count() or 1) // k)  # torch's threads: the cores shared out, as --workers
        with LocalCluster(n_workers=k, threads_per_worker=threads, processes=True, host="127.0.0.1",
                          dashboard_address=None, scheduler_kwargs={"dashboard": False},
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client, True
        return
    try:
        client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(f"--dask {address}: cannot reach a Dask scheduler there ({exc}); "
                        f"give tcp://HOST:PORT of a running scheduler, or local:K") from None
    with client:
        yield client, False


def _local_workers(address: str) -> int:
    text = address.removeprefix("local:")
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise UserError(f"--dask {address}: expected local:K with K worker processes (1..256), e.g. local:2")
    return int(text)


class Supervisor:
    """One trial loop per eligible Dask worker, kept going until the study is done (module docstring)."""

    def __init__(self, client: Any, spec: StudySpec, store: Store, storage: str, data_dir: str | None,
                 device: str) -> None:
        from distributed import Event

        self.client, self.spec, self.store = client, spec, store
        self.args = (spec, storage, data_dir, device)
        self.gpu = device.startswith("cuda") or device == "auto"
        self.stop = Event(f"dse-stop-{uuid.uuid4().hex}", client=client)
        self.loops: dict[str, Any] = {}
        """Worker address -> the future of its trial loop."""
        self.labels: dict[str, str] = {}
        """Worker address -> host:pid of its process."""
        self.failures: list[str] = []
        self.broken: set[str] = set()
        self.seen: set[str] = set()
        """Workers that got a loop this round (a worker that joins later gets one too)."""
        self.gave_up = False
        self.rounds = 0
        self.round_ran = 0
        self.last_stale = 0.0

    def workers(self) -> dict[str, dict]:
        """The workers that run trials: those with a GPU resource for a GPU study, if any; else all."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        gpus = {a: w for a, w in workers.items() if w.get("resources", {}).get("GPU")}
        return gpus if self.gpu and gpus else workers

    def step(self) -> bool:
        """One look at the cluster and the storage; False once the study needs no more trials."""
        workers = self.workers()
        for address in [a for a in self.loops if a not in workers]:
            self._lost(address)
        self._collect()
        self._fail_stale()
        counts = self.store.status_counts(self.spec.name)
        if counts.get(n.TRAINED_STATUS, 0) >= self.spec.n_trials or self.gave_up:
            return bool(self.loops)
        if not self.loops:
            if counts.get(n.RUNNING, 0):
                return True  # a lost worker's trial: failed by the heartbeat, then retried
            if not self._new_round():
                return False
        fresh = [a for a in workers if a not in self.seen and a not in self.broken]
        if fresh:
            self._start(fresh, workers)
        elif not self.loops:
            self.failures.append("no Dask worker to run trials on" if not workers else "every trial loop failed")
            return False
        return True

    def _new_round(self) -> bool:
        """Every loop ended short of n_trials (a lost trial freed its slot): start them again, unless
        the last round trained nothing."""
        if self.rounds and self.round_ran == 0:
            if not self.failures:
                self.failures.append("the trial loops stopped without running a trial")
            return False
        self.rounds += 1
        self.round_ran = 0
        self.seen = set()
        return True

    def _start(self, addresses: list[str], workers: dict[str, dict]) -> None:
        """A trial loop on each of these workers (pinned there; a GPU worker's loop holds its GPU)."""
        labels = self.client.run(worker_label, workers=addresses, on_error="return")
        self.labels.update({a: label for a, label in labels.items() if isinstance(label, str)})
        for address in addresses:
            info = workers[address]
            resources = {"GPU": 1} if info.get("resources", {}).get("GPU") else None
            self.seen.add(address)
            self.loops[address] = self.client.submit(
                trial_loop, *self.args, info.get("nthreads", 1), self.stop.name, pure=False, workers=[address],
                allow_other_workers=False, resources=resources, key=f"dse-trials-{uuid.uuid4().hex}")

    def _collect(self) -> None:
        for address, future in list(self.loops.items()):
            if not future.done():
                continue
            del self.loops[address]
            if future.status == "finished":
                result = future.result()
                self.round_ran += result["ran"]
                self.gave_up = self.gave_up or result["gave_up"]
            elif future.status == "error":
                self.broken.add(address)
                exc = future.exception()
                self.failures.append(f"{address}: {exc.__class__.__name__}: {exc}")

    def _lost(self, address: str) -> None:
        """A worker left mid-loop: cancel its loop; fail its trial now where we can see its process is gone."""
        self.loops.pop(address).cancel()
        label = self.labels.get(address, "")
        host, _, pid = label.rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
            fail_running(self.store, self.spec.name, label,
                         f"dask worker {address} ({label}) died mid-trial; its design is claimed afresh")

    def _fail_stale(self) -> None:
        """Trials whose worker went silent (on any host) fail after the heartbeat's grace period."""
        import optuna

        if time.monotonic() - self.last_stale >= STALE_SECONDS:
            self.last_stale = time.monotonic()
            optuna.storages.fail_stale_trials(self.store.load_study(self.spec.name))

    def wind_down(self, owned: bool) -> None:
        """After Ctrl-C: every loop stops after its trial; see the module docstring."""
        self.stop.set()
        if owned:  # our own worker processes: cut their trials now, as --workers does (failed as interrupted)
            for future in self.loops.values():
                future.cancel()
            logging.getLogger("distributed").setLevel(logging.CRITICAL)  # the lost connections are ours
            for label in self.labels.values():
                pid = int(label.rpartition(":")[2])
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
            return
        import sys

        running = self.store.status_counts(self.spec.name).get(n.RUNNING, 0)
        print(f"stopping: waiting for {running} running trial(s) to be recorded; Ctrl-C again to leave them "
              f"to finish on their workers", file=sys.stderr)
        try:
            while any(not f.done() for f in self.loops.values()):
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            for future in self.loops.values():
                future.cancel()


def _alive(pid: int) -> bool:
    """Whether process `pid` of this host runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def fail_running(store: Store, study_name: str, label: str, reason: str,
                 unlabelled_from: int | None = None) -> list[int]:
    """Fail the study's running trials that the process `label` (host:pid) was running; their numbers.
    With `unlabelled_from`, also those from that number on that no process had labelled yet (a worker
    killed between Optuna creating its trial and the trial recording its worker)."""
    from optuna.trial import TrialState

    failed = []
    for trial in store.trials(study_name, states=["running"]):
        unlabelled = not trial.worker and unlabelled_from is not None and trial.number >= unlabelled_from
        if trial.worker != label and not unlabelled:
            continue
        trial_id = store.trial_id(study_name, trial.number)
        try:
            if store.optuna.set_trial_state_values(trial_id, TrialState.FAIL):
                store.set_attrs(study_name, trial.number, {n.FAIL_ATTR: reason})
                failed.append(trial.number)
        except Exception:  # noqa: BLE001: it finished meanwhile (UpdateFinishedTrialError)
            continue
    return failed


def run_dask(spec: StudySpec, address: str, *, storage: str, data_dir: str | None = None, device: str = "cpu",
             show_progress: bool = True) -> DaskResult:
    """Run (or continue) the study on the Dask cluster at `address` (``tcp://host:port`` or ``local:K``)."""
    quiet_optuna()
    check_feasible(spec)
    storage = reachable_storage(address, storage)
    if address.startswith("local:"):
        _local_workers(address)
    store = Store(storage, heartbeat=True)
    ensure_study(spec, store)
    first = store.optuna.get_n_trials(store.study_id(spec.name))  # the number of the first trial this run creates
    interrupted = False
    progress = Progress(total=spec.n_trials, counts=store.status_counts(spec.name), enabled=show_progress,
                        objectives=spec.objectives)
    with connect(address) as (client, owned):
        supervisor = Supervisor(client, spec, store, storage, data_dir, device)
        try:
            while supervisor.step():
                progress.overall(store.status_counts(spec.name))
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            interrupted = True
            supervisor.wind_down(owned)
        finally:
            progress.close()
    if interrupted and owned:  # the cluster is closed: its workers' unfinished trials end here, those
        # created after this run began but not yet labelled by the worker we killed among them
        for label in supervisor.labels.values():
            fail_running(store, spec.name, label, "interrupted (Ctrl-C)", unlabelled_from=first)
    return DaskResult(store.status_counts(spec.name), interrupted, supervisor.failures, supervisor.gave_up)
