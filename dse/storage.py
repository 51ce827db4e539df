"""One SQLAlchemy URL holds everything (Contract 5).

Optuna's own tables keep the search (studies, trials, params, values, user
attributes); ``optuna.load_study`` and optuna-dashboard read them unchanged.
Beside them, snn-dse keeps, per trial and design variant (``""`` for the trained
design, ``"T=4"`` for the same weights evaluated at 4 steps):

- ``dse_trial_profiles``: the hwmodels.Profile as JSON, so any cost model can
  re-score the trial later without retraining (``dse rescore``);
- ``dse_trial_metrics``: one row per metric, with the model that produced it
  and its unit.

Both carry the study name and trial number beside Optuna's trial_id, so plain
SQL can filter them without joining Optuna's tables. ``dse_schema`` holds the
schema version; a database written by a newer snn-dse is refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import optuna
import sqlalchemy as sa

from hwmodels import Profile

from .errors import StudyNotFound, UserError

SCHEMA_VERSION = 1
DEFAULT_URL = "sqlite:///dse.db"
INIT_ATTEMPTS = 5

metadata = sa.MetaData()

schema_table = sa.Table(
    "dse_schema", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1: one row, even if two processes race
    sa.Column("version", sa.Integer, nullable=False),
)

profiles_table = sa.Table(
    "dse_trial_profiles", metadata,
    sa.Column("trial_id", sa.Integer, primary_key=True),
    sa.Column("variant", sa.String(64), primary_key=True),
    sa.Column("study_name", sa.String(512), nullable=False, index=True),
    sa.Column("trial_number", sa.Integer, nullable=False),
    sa.Column("engine", sa.String(64), nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

metrics_table = sa.Table(
    "dse_trial_metrics", metadata,
    sa.Column("trial_id", sa.Integer, primary_key=True),
    sa.Column("variant", sa.String(64), primary_key=True),
    sa.Column("metric", sa.String(128), primary_key=True),
    sa.Column("study_name", sa.String(512), nullable=False, index=True),
    sa.Column("trial_number", sa.Integer, nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("unit", sa.String(32), nullable=False),
)


@dataclass(frozen=True)
class MetricRow:
    metric: str
    model: str
    value: float
    unit: str


def _require_existing(url: str) -> None:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return  # the constructor says what is wrong with the URL
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:") and not Path(database).exists():
        raise UserError(f"--storage {url}: no database at {database}; run a study there first (dse run SPEC)")


class Store:
    """Optuna's storage and snn-dse's tables on one database."""

    def __init__(self, url: str = DEFAULT_URL, *, heartbeat: bool = False, create: bool = True) -> None:
        """Open (and with `create`, make) the database; readers pass ``create=False`` so that a
        mistyped SQLite path is refused instead of leaving an empty database behind."""
        self.url = url
        if not create:
            _require_existing(url)
        try:
            self.engine = sa.create_engine(url, **_engine_options(url))
            kwargs: dict[str, Any] = {"engine_kwargs": _engine_options(url)}
            if heartbeat:
                kwargs.update(heartbeat_interval=10, grace_period=30)
            for attempt in range(INIT_ATTEMPTS):
                try:
                    self._migrate()
                    self.optuna = optuna.storages.RDBStorage(url, **kwargs)
                    break
                except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError) as exc:
                    # another worker is creating the same tables this instant: its
                    # schema is complete when we look again
                    if attempt == INIT_ATTEMPTS - 1 or not _is_race(exc):
                        raise
                    time.sleep(0.2 * (attempt + 1))
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise UserError(f"--storage {url}: not a valid SQLAlchemy URL ({exc}); "
                            f"e.g. sqlite:///dse.db or postgresql+psycopg://user:pw@host/db") from None
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise UserError(f"--storage {url}: cannot open the database ({reason})") from None

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            version = conn.execute(sa.select(schema_table.c.version)).scalar()
            if version is None:
                conn.execute(schema_table.insert().values(id=1, version=SCHEMA_VERSION))
            elif version > SCHEMA_VERSION:
                raise UserError(f"--storage {self.url}: written by a newer snn-dse (dse schema {version}, "
                                f"this one reads up to {SCHEMA_VERSION}); upgrade snn-dse")

    # ---- studies -----------------------------------------------------------------
    def study_names(self) -> list[str]:
        return [s.study_name for s in optuna.get_all_study_summaries(self.optuna, include_best_trial=False)]

    def load_study(self, name: str) -> optuna.Study:
        try:
            return optuna.load_study(study_name=name, storage=self.optuna)
        except KeyError:
            known = self.study_names()
            hint = f"; studies here: {', '.join(known)}" if known else "; this storage holds no study"
            raise StudyNotFound(f"no study named {name!r} in {self.url}{hint}") from None

    # ---- writing -----------------------------------------------------------------
    def write_trial(self, study_name: str, trial_id: int, number: int, engine: str,
                    profiles: dict[str, Profile], metrics: dict[str, list[MetricRow]]) -> None:
        """Store every variant's profile and metrics of one trial, in one transaction."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            for variant, profile in profiles.items():
                conn.execute(profiles_table.insert().values(
                    trial_id=trial_id, variant=variant, study_name=study_name, trial_number=number,
                    engine=engine, profile=json.dumps(profile.to_dict()), created_at=now))
            self._insert_metrics(conn, study_name, trial_id, number, metrics)

    def replace_metrics(self, study_name: str, trial_id: int, number: int,
                        metrics: dict[str, list[MetricRow]]) -> None:
        """Overwrite the named metrics of a trial (``dse rescore``)."""
        with self.engine.begin() as conn:
            for variant, rows in metrics.items():
                conn.execute(metrics_table.delete().where(
                    metrics_table.c.trial_id == trial_id,
                    metrics_table.c.variant == variant,
                    metrics_table.c.metric.in_([r.metric for r in rows])))
            self._insert_metrics(conn, study_name, trial_id, number, metrics)

    @staticmethod
    def _insert_metrics(conn, study_name: str, trial_id: int, number: int,
                        metrics: dict[str, list[MetricRow]]) -> None:
        rows = [dict(trial_id=trial_id, variant=variant, study_name=study_name, trial_number=number,
                     metric=r.metric, model=r.model, value=_finite_or_none(r.value), unit=r.unit)
                for variant, rows_ in metrics.items() for r in rows_]
        if rows:
            conn.execute(metrics_table.insert(), rows)

    # ---- reading -----------------------------------------------------------------
    def profiles(self, study_name: str) -> list[tuple[int, int, str, Profile]]:
        """(trial_id, trial_number, variant, Profile) of every stored trial of a study."""
        query = sa.select(profiles_table.c.trial_id, profiles_table.c.trial_number,
                          profiles_table.c.variant, profiles_table.c.profile
                          ).where(profiles_table.c.study_name == study_name
                                  ).order_by(profiles_table.c.trial_number, profiles_table.c.variant)
        with self.engine.connect() as conn:
            return [(row.trial_id, row.trial_number, row.variant, Profile.from_dict(json.loads(row.profile)))
                    for row in conn.execute(query)]

    def metrics(self, study_name: str, trial_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        query = sa.select(metrics_table).where(metrics_table.c.study_name == study_name)
        if trial_ids is not None:
            query = query.where(metrics_table.c.trial_id.in_(list(trial_ids)))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def _is_race(exc: sa.exc.DBAPIError) -> bool:
    """An error another process causes by creating the same schema at the same time."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return "already exists" in text or "locked" in text or "duplicate" in text


def _finite_or_none(value: float) -> float | None:
    import math

    return value if value is not None and math.isfinite(value) else None


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    return {"pool_pre_ping": True}
