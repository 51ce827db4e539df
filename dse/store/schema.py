"""The tables: snn-dse's own (versioned, migrated) and a read-only view of Optuna's.

snn-dse's tables, keyed by Optuna's trial_id and also carrying the public study
name and trial number, so plain SQL can filter them without joins:

- ``dse_trial_profiles``: each design point's hwmodels.Profile as JSON, so any
  cost model can score it again without retraining (``dse rescore``);
- ``dse_trial_metrics``: one row per metric, with the model that produced it and its unit;
- ``dse_trial_variants`` (schema 2): each design point's kind (the trained design,
  a variant of it, or a training-phase profile), its parent and the parameters
  in which it differs from its trial's design, e.g. ``{"timesteps": 4}``.

Optuna's tables (its RDB schema, version 12 since Optuna 3.2) are read directly
for the read side: one SQL query answers what per-trial Optuna objects answer
trial by trial. They are never written here.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from . import names

SCHEMA_VERSION = 3
"""1: profiles and metrics (snn-dse 0.1). 2: adds dse_trial_variants (lineage). 3: adds
dse_designs, dse_study_locks and dse_workers (dedupe, exact budgets, distinct workers)."""

metadata = sa.MetaData()

schema_table = sa.Table(
    names.SCHEMA_TABLE, metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1: one row, even if two processes race
    sa.Column("version", sa.Integer, nullable=False),
)



def _point_columns(*extra_keys: sa.Column) -> list[sa.Column]:
    """The key of a design point (Optuna's trial id, the variant name, any more key columns)
    and the public identifiers beside it."""
    return [sa.Column("trial_id", sa.Integer, primary_key=True),
            sa.Column("variant", sa.String(64), primary_key=True), *extra_keys,
            sa.Column("study_name", sa.String(512), nullable=False, index=True),
            sa.Column("trial_number", sa.Integer, nullable=False)]


profiles_table = sa.Table(
    names.PROFILES_TABLE, metadata, *_point_columns(),
    sa.Column("engine", sa.String(64), nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

metrics_table = sa.Table(
    names.METRICS_TABLE, metadata, *_point_columns(sa.Column("metric", sa.String(128), primary_key=True)),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("unit", sa.String(32), nullable=False),
)

variants_table = sa.Table(
    names.VARIANTS_TABLE, metadata, *_point_columns(),
    sa.Column("kind", sa.String(16), nullable=False),  # trained, variant, training
    sa.Column("parent", sa.String(64), nullable=True),  # the variant it derives from ("" = trained)
    sa.Column("params", sa.Text, nullable=False),  # JSON: keys that differ from the trial's design
)

designs_table = sa.Table(
    names.DESIGNS_TABLE, metadata,
    sa.Column("study_name", sa.String(512), primary_key=True),
    sa.Column("fingerprint", sa.String(64), primary_key=True),  # sha256 of the resolved design
    sa.Column("trial_number", sa.Integer, nullable=False),  # the trial that trains it
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

locks_table = sa.Table(
    names.LOCKS_TABLE, metadata,
    sa.Column("study_name", sa.String(512), primary_key=True),
    sa.Column("counter", sa.Integer, nullable=False),
)

workers_table = sa.Table(
    names.WORKERS_TABLE, metadata,
    sa.Column("study_name", sa.String(512), primary_key=True),
    sa.Column("worker", sa.Integer, primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
)

def variant_row(variant: str) -> tuple[str, str | None, dict]:
    """(kind, parent, params) of a variant named by schema 1, which kept them only in the name."""
    if variant == names.TRAINED:
        return "trained", None, {}
    if variant == names.TRAINING:
        return "training", names.TRAINED, {}
    if variant.startswith("T=") and variant[2:].isdigit():
        return "variant", names.TRAINED, {"timesteps": int(variant[2:])}
    return "variant", names.TRAINED, {}


def migrate(conn: sa.Connection, found: int) -> None:
    """Bring snn-dse's tables from schema `found` to :data:`SCHEMA_VERSION` (tables exist)."""
    if found < 2:  # lineage rows for the design points schema 1 stored
        have = {(r.trial_id, r.variant) for r in conn.execute(
            sa.select(variants_table.c.trial_id, variants_table.c.variant))}
        rows = []
        for r in conn.execute(sa.select(profiles_table.c.trial_id, profiles_table.c.variant,
                                        profiles_table.c.study_name, profiles_table.c.trial_number)):
            if (r.trial_id, r.variant) in have:
                continue
            kind, parent, params = variant_row(r.variant)
            rows.append(dict(trial_id=r.trial_id, variant=r.variant, study_name=r.study_name,
                             trial_number=r.trial_number, kind=kind, parent=parent, params=json.dumps(params)))
        if rows:
            conn.execute(variants_table.insert(), rows)
    # 3 adds tables only (created above): trials recorded before it are not deduplicated against
    conn.execute(schema_table.update().where(schema_table.c.id == 1).values(version=SCHEMA_VERSION))


# ---- Optuna's tables, read only ---------------------------------------------------------
# Optuna declares these three as enums: a native type on PostgreSQL, strings elsewhere.
STATE = sa.Enum("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING", name="trialstate", create_type=False)
VALUE_TYPE = sa.Enum("FINITE", "INF_POS", "INF_NEG", name="trialvaluetype", create_type=False)
DIRECTION = sa.Enum("NOT_SET", "MINIMIZE", "MAXIMIZE", name="studydirection", create_type=False)
optuna_metadata = sa.MetaData()
o_studies = sa.Table("studies", optuna_metadata, sa.Column("study_id", sa.Integer), sa.Column("study_name", sa.String))
o_study_attrs = sa.Table("study_user_attributes", optuna_metadata, sa.Column("study_id", sa.Integer),
                         sa.Column("key", sa.String), sa.Column("value_json", sa.Text))
o_directions = sa.Table("study_directions", optuna_metadata, sa.Column("study_id", sa.Integer),
                        sa.Column("objective", sa.Integer), sa.Column("direction", DIRECTION))
o_trials = sa.Table("trials", optuna_metadata, sa.Column("trial_id", sa.Integer), sa.Column("number", sa.Integer),
                    sa.Column("study_id", sa.Integer), sa.Column("state", STATE),
                    sa.Column("datetime_start", sa.DateTime), sa.Column("datetime_complete", sa.DateTime))
o_params = sa.Table("trial_params", optuna_metadata, sa.Column("trial_id", sa.Integer),
                    sa.Column("param_name", sa.String), sa.Column("param_value", sa.Float),
                    sa.Column("distribution_json", sa.Text))
o_values = sa.Table("trial_values", optuna_metadata, sa.Column("trial_id", sa.Integer),
                    sa.Column("objective", sa.Integer), sa.Column("value", sa.Float),
                    sa.Column("value_type", VALUE_TYPE))
o_heartbeats = sa.Table("trial_heartbeats", optuna_metadata, sa.Column("trial_id", sa.Integer),
                        sa.Column("heartbeat", sa.DateTime))
o_trial_attrs = sa.Table("trial_user_attributes", optuna_metadata, sa.Column("trial_id", sa.Integer),
                         sa.Column("key", sa.String), sa.Column("value_json", sa.Text))
o_trial_system_attrs = sa.Table("trial_system_attributes", optuna_metadata, sa.Column("trial_id", sa.Integer),
                               sa.Column("key", sa.String), sa.Column("value_json", sa.Text))
