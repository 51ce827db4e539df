"""Trials whose worker is gone: failed with a reason, and retried.

A trial is RUNNING while its process trains it. If the process dies (kill -9,
out of memory, a lost machine) it stays RUNNING until someone looks: every
``dse run``, ``dse worker``, ``dse studies`` and ``dse report`` sweeps the
storage first. A RUNNING trial is lost when its worker ran on this host and
its process no longer exists (known at once), or when its last heartbeat
(Optuna's, every 10 s while a trial trains) is older than
:data:`GRACE_SECONDS`. A lost or interrupted trial is failed with the reason
and, unless it was itself the last allowed attempt, enqueued again with the
same parameters (``retry_of`` names the first attempt); a retry does not
count toward ``n_trials`` until it trains.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from . import names
from .schema import o_heartbeats, o_trial_attrs, o_trials

GRACE_SECONDS = 30
"""Seconds without a heartbeat after which a trial's worker counts as lost (Optuna's grace period)."""
HEARTBEAT_SECONDS = 10


def process_gone(worker: str) -> bool:
    """Whether `worker` (host:pid) ran on this host in a process that no longer runs."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed child its parent has not reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def lost_trials(store: Any, study_name: str, now: datetime | None = None) -> list[tuple[int, str]]:
    """(number, reason) of every RUNNING trial of the study whose worker is gone."""
    sid = store.study_id(study_name)
    now = now or datetime.now(timezone.utc)
    beats = sa.select(o_heartbeats.c.trial_id, sa.func.max(o_heartbeats.c.heartbeat).label("beat")) \
        .group_by(o_heartbeats.c.trial_id).subquery()
    worker = o_trial_attrs.alias("worker")
    query = (sa.select(o_trials.c.number, o_trials.c.datetime_start, beats.c.beat, worker.c.value_json)
             .select_from(o_trials.outerjoin(beats, beats.c.trial_id == o_trials.c.trial_id)
                          .outerjoin(worker, sa.and_(worker.c.trial_id == o_trials.c.trial_id,
                                                     worker.c.key == names.WORKER_ATTR)))
             .where(o_trials.c.study_id == sid, o_trials.c.state == "RUNNING"))
    out = []
    with store.engine.connect() as conn:
        for number, started, beat, who in conn.execute(query):
            label = json_str(who)
            last = _utc(beat)
            if label and process_gone(label):
                out.append((number, f"worker lost: process {label} is gone"))
            elif last is not None and now - last > timedelta(seconds=GRACE_SECONDS):
                out.append((number, f"worker lost: no heartbeat since {last:%Y-%m-%d %H:%M:%S} UTC"
                                    + (f" ({label})" if label else "")))
    return out


def json_str(value: str | None) -> str:
    return json.loads(value) if value else ""


def sweep(store: Any, study_name: str, retries: int) -> list[int]:
    """Fail every lost trial of the study with its reason and retry it; the numbers failed."""
    failed = []
    for number, reason in lost_trials(store, study_name):
        if fail(store, study_name, number, reason):
            retry(store, study_name, number, retries)
            failed.append(number)
    return failed


def fail(store: Any, study_name: str, number: int, reason: str) -> bool:
    """Mark a RUNNING trial failed with `reason` (False if it is no longer running)."""
    from optuna.trial import TrialState

    trial_id = store.trial_id(study_name, number)
    try:
        if store.optuna.get_trial(trial_id).state != TrialState.RUNNING:
            return False
        store.set_attrs(study_name, number, {names.FAIL_ATTR: reason, names.STATUS_ATTR: names.FAILED})
        store.optuna.set_trial_state_values(trial_id, TrialState.FAIL)
    except RuntimeError:  # finished by its own worker this instant
        return False
    return True


def retry(store: Any, study_name: str, number: int, retries: int) -> int | None:
    """Enqueue the failed trial's parameters again, if it has attempts left; the first attempt's number."""
    import optuna

    frozen = store.optuna.get_trial(store.trial_id(study_name, number))
    first = frozen.user_attrs.get(names.RETRY_ATTR, number)
    attempts = 1 + _retries_of(store, study_name, first)
    if attempts > retries:
        return None
    study = optuna.load_study(study_name=study_name, storage=store.optuna)
    study.enqueue_trial(frozen.params, user_attrs={names.RETRY_ATTR: first}, skip_if_exists=False)
    return first


def _retries_of(store: Any, study_name: str, first: int) -> int:
    """How many retries of trial `first` exist already."""
    sid = store.study_id(study_name)
    query = (sa.select(sa.func.count()).select_from(o_trial_attrs.join(o_trials, o_trials.c.trial_id ==
                                                                        o_trial_attrs.c.trial_id))
             .where(o_trials.c.study_id == sid, o_trial_attrs.c.key == names.RETRY_ATTR,
                    o_trial_attrs.c.value_json == json.dumps(first)))
    with store.engine.connect() as conn:
        return conn.execute(query).scalar()
