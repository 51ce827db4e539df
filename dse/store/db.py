"""The database: Optuna's storage and snn-dse's tables behind one SQLAlchemy URL.

Writers (the study) store each trial's design points in one transaction;
readers get typed records (:mod:`dse.store.records`) from a few SQL queries,
never per-trial Optuna objects, so reading a study of thousands of trials
takes a fraction of a second and needs neither Optuna's sampler machinery nor
the training stack. SQLite is the embedded default; PostgreSQL serves any
number of workers on any number of machines.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa

from hwmodels import Profile

from ..errors import UserError
from . import names
from .claims import Claims
from .lost import GRACE_SECONDS, HEARTBEAT_SECONDS
from .reader import Reader
from .schema import (SCHEMA_VERSION, metadata, metrics_table, migrate, o_trial_attrs, o_trial_system_attrs,
                     profiles_table, schema_table, variants_table)
from .updates import _insert_metrics, apply_rescore
from .url import EXAMPLE_URLS, check_storage, open_error, shown

INIT_ATTEMPTS = 5


@dataclass(frozen=True)
class MetricRow:
    """One metric of one design point: the value, the model that produced it, its unit."""

    metric: str
    model: str
    value: float
    unit: str


class Store(Reader, Claims):
    """Optuna's storage and snn-dse's tables on one database."""

    def __init__(self, url: str = names.DEFAULT_URL, *, heartbeat: bool = False, create: bool = True,
                 on_lost: Any = None) -> None:
        """Open (and with `create`, make) the database; readers pass ``create=False`` so that a
        mistyped SQLite path is refused instead of leaving an empty database behind. With
        `heartbeat`, running trials beat every 10 s and Optuna fails one silent for 30 s,
        calling ``on_lost(study, trial)``."""
        self.url = url
        self._heartbeat = heartbeat
        self._on_lost = on_lost
        check_storage(url)
        if not create:
            _require_existing(url)
        try:
            self.engine = tuned(sa.create_engine(url, **engine_options(url)))
            for attempt in range(INIT_ATTEMPTS):
                try:
                    self._open(create)
                    break
                except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError) as exc:
                    # another worker is creating the same tables this instant: its
                    # schema is complete when we look again
                    if attempt == INIT_ATTEMPTS - 1 or not _is_race(exc):
                        raise
                    time.sleep(0.2 * (attempt + 1))
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise UserError(f"--storage {shown(url)}: not a valid SQLAlchemy URL ({exc}); {EXAMPLE_URLS}") from None
        except sa.exc.DatabaseError as exc:
            if type(exc) not in (sa.exc.OperationalError, sa.exc.DatabaseError):
                raise  # an integrity or programming error is ours, not the database's
            raise open_error(url, exc) from None

    def _open(self, create: bool) -> None:
        if create:
            self._migrate()
            if self.engine.dialect.name == "sqlite":  # readers beside writers, several writing workers
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            self.optuna  # noqa: B018: Optuna creates its tables now, not in the middle of a trial
        elif not sa.inspect(self.engine).has_table("studies"):
            raise UserError(f"--storage {shown(self.url)}: holds no snn-dse or Optuna study; "
                            f"run a study there first (dse run SPEC)")
        else:
            self._migrate_if_needed()

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            version = conn.execute(sa.select(schema_table.c.version)).scalar()
            if version is None:
                conn.execute(schema_table.insert().values(id=1, version=SCHEMA_VERSION))
            elif version > SCHEMA_VERSION:
                raise UserError(f"--storage {shown(self.url)}: written by a newer snn-dse (dse schema {version}, "
                                f"this one reads up to {SCHEMA_VERSION}); upgrade snn-dse")
            elif version < SCHEMA_VERSION:
                migrate(conn, version)

    def _migrate_if_needed(self) -> None:
        """A reader upgrades an older database in place (the migration only adds rows)."""
        with self.engine.connect() as conn:
            have = sa.inspect(conn).has_table(names.SCHEMA_TABLE)
            version = conn.execute(sa.select(schema_table.c.version)).scalar() if have else None
        if version != SCHEMA_VERSION:
            self._migrate()

    @cached_property
    def optuna(self) -> Any:
        """Optuna's RDBStorage on the same database (made on first use: readers rarely need it)."""
        import optuna

        kwargs: dict[str, Any] = {"engine_kwargs": engine_options(self.url)}
        if self._heartbeat:
            kwargs.update(heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                          heartbeat_stale_trial_callback=self._on_lost)
        storage = optuna.storages.RDBStorage(self.url, **kwargs)
        tuned(storage.engine)
        return storage

    # ---- studies ---------------------------------------------------------------------
    def load_study(self, name: str) -> Any:
        """The optuna.Study (for writers and Optuna's own tools)."""
        import optuna

        self.study_id(name)  # StudyNotFound, naming the studies here
        return optuna.load_study(study_name=name, storage=self.optuna)

    def trial_id(self, study_name: str, number: int) -> int:
        """Optuna's internal id of a trial (the key of snn-dse's rows), from public identifiers."""
        return self.optuna.get_trial_id_from_study_id_trial_number(self.study_id(study_name), number)

    # ---- writing ---------------------------------------------------------------------
    def write_trial(self, study_name: str, number: int, engine: str, profiles: Mapping[str, Profile],
                    metrics: Mapping[str, list[MetricRow]],
                    lineage: Mapping[str, tuple[str, str | None, Mapping[str, Any]]] | None = None,
                    attrs: Mapping[str, Any] | None = None) -> None:
        """Store every design point's profile, metrics and lineage of one trial, and the trial's
        user attributes, in one transaction: a kill at any instant leaves all of it or none.

        ``lineage[variant] = (kind, parent, params)``; where absent it follows from the name.
        """
        from .schema import variant_row

        trial_id = self.trial_id(study_name, number)
        now = datetime.now(timezone.utc)
        lineage = dict(lineage or {})
        with self.engine.begin() as conn:
            for variant, profile in profiles.items():
                conn.execute(profiles_table.insert().values(
                    trial_id=trial_id, variant=variant, study_name=study_name, trial_number=number,
                    engine=engine, profile=json.dumps(profile.to_dict()), created_at=now))
                kind, parent, params = lineage.get(variant) or variant_row(variant)
                conn.execute(variants_table.insert().values(
                    trial_id=trial_id, variant=variant, study_name=study_name, trial_number=number,
                    kind=kind, parent=parent, params=json.dumps(dict(params))))
            _insert_metrics(conn, study_name, trial_id, number, metrics)
            _write_attrs(conn, trial_id, attrs or {})

    def set_attrs(self, study_name: str, number: int, attrs: Mapping[str, Any]) -> None:
        """Set a trial's Optuna user attributes, all in one transaction (Optuna's API commits each)."""
        trial_id = self.trial_id(study_name, number)
        with self.engine.begin() as conn:
            _write_attrs(conn, trial_id, attrs)

    def forget_weights(self, study_name: str, number: int, artifact_id: str) -> None:
        """After its file is deleted: the trial keeps no network (``dse_weights`` null) and Optuna
        lists no artifact ``artifact_id`` for it (its system attribute ``artifacts:<id>`` removed)."""
        trial_id = self.trial_id(study_name, number)
        with self.engine.begin() as conn:
            _write_attrs(conn, trial_id, {names.WEIGHTS_ATTR: None})
            conn.execute(o_trial_system_attrs.delete().where(o_trial_system_attrs.c.trial_id == trial_id,
                                                             o_trial_system_attrs.c.key == f"artifacts:{artifact_id}"))

    def replace_metrics(self, study_name: str, number: int, metrics: Mapping[str, list[MetricRow]]) -> None:
        """Overwrite the named metrics of a trial's design points (``dse rescore``)."""
        trial_id = self._stored_trial_id(study_name, number)
        with self.engine.begin() as conn:
            for variant, rows in metrics.items():
                conn.execute(metrics_table.delete().where(
                    metrics_table.c.trial_id == trial_id,
                    metrics_table.c.variant == variant,
                    metrics_table.c.metric.in_([r.metric for r in rows])))
            _insert_metrics(conn, study_name, trial_id, number, metrics)

    def apply_rescore(self, study_name: str, rows: Mapping[int, Mapping[str, list[MetricRow]]],
                      values: Mapping[int, Mapping[int, float]], metrics_attr: Mapping[int, Mapping[str, float]],
                      record: Mapping[str, Any]) -> None:
        """``dse rescore``'s writes in one transaction (:func:`dse.store.updates.apply_rescore`)."""
        apply_rescore(self, study_name, rows, values, metrics_attr, record)

    def _stored_trial_id(self, study_name: str, number: int) -> int:
        query = sa.select(profiles_table.c.trial_id).where(
            profiles_table.c.study_name == study_name, profiles_table.c.trial_number == number).limit(1)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return found if found is not None else self.trial_id(study_name, number)


def _write_attrs(conn: sa.Connection, trial_id: int, attrs: Mapping[str, Any]) -> None:
    """Optuna's ``trial_user_attributes`` rows (its schema 12: trial_id, key, value_json), replaced."""
    if not attrs:
        return
    conn.execute(o_trial_attrs.delete().where(o_trial_attrs.c.trial_id == trial_id,
                                              o_trial_attrs.c.key.in_(list(attrs))))
    conn.execute(o_trial_attrs.insert(), [dict(trial_id=trial_id, key=k, value_json=json.dumps(v))
                                          for k, v in attrs.items()])


def _require_existing(url: str) -> None:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return  # the constructor says what is wrong with the URL
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:") and not Path(database).exists():
        raise UserError(f"--storage {shown(url)}: no database at {database}; run a study there first (dse run SPEC)")


def _is_race(exc: sa.exc.DBAPIError) -> bool:
    """An error another process causes by creating the same schema at the same time."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return "already exists" in text or "locked" in text or "duplicate" in text


def tuned(engine: sa.Engine) -> sa.Engine:
    """`engine`, its SQLite connections to a WAL database set to ``synchronous=NORMAL``.

    In WAL mode a commit then appends to the log without waiting for the disk (SQLite syncs at each
    checkpoint instead): a process killed at any point still loses nothing it committed, a power cut
    may lose the last commits, never the database. A one-shot study commits a few dozen times per
    inherited trial, and waiting for the disk on each cost about a tenth of its trials. A database
    still in rollback-journal mode keeps SQLite's default (there NORMAL could corrupt on a power cut).
    Set as a connection is checked out, once per connection, so that connections opened before the
    database turned to WAL get it too (disposing of them instead lost a concurrent reader's view).
    """
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "checkout", _relaxed_sync)
    return engine


def _relaxed_sync(connection: Any, record: Any, _proxy: Any) -> None:
    if record.info.get("relaxed"):
        return
    cursor = connection.cursor()
    try:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode and str(mode[0]).lower() == "wal":
            cursor.execute("PRAGMA synchronous=NORMAL")
            record.info["relaxed"] = True
    finally:
        cursor.close()


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    return {"pool_pre_ping": True}
