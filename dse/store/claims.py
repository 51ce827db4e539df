"""Training slots and distinct designs, shared by every worker of a study.

Before a trial trains, it *claims* its design in one transaction: the study's
lock row is updated first (SQLite then holds the write lock, PostgreSQL the
row lock, so claims are serialised across processes and machines), then

- a design some trial already trained is served from that trial (``reuse``);
- a design another worker is training now makes this trial ``wait`` for it;
- otherwise, if fewer than ``n_trials`` designs are trained or training, the
  trial takes a slot and trains (``train``); else the budget is ``full``.

A design whose trainer failed is claimed afresh. Trials recorded before
schema 3 count toward the budget but are not deduplicated against.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from . import names
from .schema import designs_table, locks_table, o_trial_attrs, o_trials, workers_table

TRAIN, REUSE, WAIT, FULL = "train", "reuse", "wait", "full"


@dataclass(frozen=True)
class Claim:
    kind: str
    """train, reuse, wait or full."""
    owner: int | None = None
    """The trial that trains (or trained) the design, for reuse and wait."""
    owner_state: str | None = None


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Claims:
    """The claiming half of :class:`dse.store.Store` (needs ``engine`` and ``study_id``)."""

    engine: sa.Engine

    def _lock(self, conn: sa.Connection, study_name: str) -> None:
        if not conn.execute(locks_table.update().where(locks_table.c.study_name == study_name)
                            .values(counter=locks_table.c.counter + 1)).rowcount:
            conn.execute(locks_table.insert().values(study_name=study_name, counter=1))

    def prepare_claims(self, study_name: str) -> None:
        """Make the study's lock row (once; several workers may race to)."""
        try:
            with self.engine.begin() as conn:
                if conn.execute(sa.select(locks_table.c.counter).where(locks_table.c.study_name == study_name)).first():
                    return
                conn.execute(locks_table.insert().values(study_name=study_name, counter=0))
        except sa.exc.IntegrityError:
            pass  # another worker made it

    def claim(self, study_name: str, number: int, fingerprint: str, n_trials: int) -> Claim:
        """Claim the design `fingerprint` for trial `number` (see the module docstring)."""
        sid = self.study_id(study_name)
        with self.engine.begin() as conn:
            self._lock(conn, study_name)
            row = conn.execute(sa.select(designs_table.c.trial_number).where(
                designs_table.c.study_name == study_name, designs_table.c.fingerprint == fingerprint)).first()
            if row is not None:
                state = conn.execute(sa.select(o_trials.c.state).where(
                    o_trials.c.study_id == sid, o_trials.c.number == row.trial_number)).scalar()
                if state in ("COMPLETE", "PRUNED"):
                    return Claim(REUSE, row.trial_number, state)
                if state in ("RUNNING", "WAITING"):
                    return Claim(WAIT, row.trial_number, state)
            if self._slots_used(conn, sid, study_name) >= n_trials:
                return Claim(FULL)
            values = dict(trial_number=number, created_at=datetime.now(timezone.utc))
            if row is None:
                conn.execute(designs_table.insert().values(study_name=study_name, fingerprint=fingerprint, **values))
            else:  # its trainer failed: this trial trains it
                conn.execute(designs_table.update().where(designs_table.c.study_name == study_name,
                                                          designs_table.c.fingerprint == fingerprint).values(**values))
            return Claim(TRAIN)

    def slots_used(self, study_name: str) -> int:
        """Designs trained or being trained now (by any worker)."""
        sid = self.study_id(study_name)
        with self.engine.connect() as conn:
            return self._slots_used(conn, sid, study_name)

    @staticmethod
    def _slots_used(conn: sa.Connection, sid: int, study_name: str) -> int:
        """Designs trained or training now, and trained trials recorded before claims existed."""
        # a trial owns at most one design row, so counting its trials counts the rows; an IN (not a join)
        # because Optuna indexes trials by study only: SQLite's join looked every row up in the whole study
        owning = sa.select(designs_table.c.trial_number).where(designs_table.c.study_name == study_name)
        owners = sa.select(sa.func.count()).select_from(o_trials).where(
            o_trials.c.study_id == sid, o_trials.c.state.in_(("RUNNING", "COMPLETE")), o_trials.c.number.in_(owning))
        with_status = sa.select(o_trial_attrs.c.trial_id).where(o_trial_attrs.c.key == names.STATUS_ATTR)
        legacy = sa.select(sa.func.count()).select_from(o_trials).where(
            o_trials.c.study_id == sid, o_trials.c.state == "COMPLETE", o_trials.c.trial_id.not_in(with_status))
        return conn.execute(owners).scalar() + conn.execute(legacy).scalar()

    def register_worker(self, study_name: str) -> int:
        """This process's index among the study's workers (0, 1, ...): its sampler's seed offset."""
        now = datetime.now(timezone.utc)
        host, _, pid = worker_label().rpartition(":")
        with self.engine.begin() as conn:
            self._lock(conn, study_name)
            index = conn.execute(sa.select(sa.func.coalesce(sa.func.max(workers_table.c.worker) + 1, 0)).where(
                workers_table.c.study_name == study_name)).scalar()
            conn.execute(workers_table.insert().values(study_name=study_name, worker=index, host=host[:255],
                                                       pid=int(pid), started_at=now))
        return index
