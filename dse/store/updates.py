"""``dse rescore``'s writes: new metric rows, Optuna's objective values and ``dse_metrics``,
and a record of which cost-model versions produced them, in one transaction.

Optuna has no API to change a finished trial's values, so its ``trial_values`` rows
(its RDB schema 12: trial_id, objective, value, value_type) are updated here, where
``optuna.load_study`` and optuna-dashboard read them.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from . import names
from .schema import metrics_table, o_study_attrs, o_trial_attrs, o_trials, o_values


def apply_rescore(store: Any, study_name: str, rows: Mapping[int, Mapping[str, list]],
                  values: Mapping[int, Mapping[int, float]], metrics_attr: Mapping[int, Mapping[str, float]],
                  record: Mapping[str, Any]) -> None:
    """Replace metric rows (by trial number and variant), set objective values
    (``{number: {objective index: value}}``), merge ``dse_metrics`` and append `record` to the
    study's ``dse_rescores``: all of it or none."""
    sid = store.study_id(study_name)
    with store.engine.begin() as conn:
        ids = {r.number: r.trial_id for r in conn.execute(
            sa.select(o_trials.c.number, o_trials.c.trial_id).where(o_trials.c.study_id == sid))}
        for number, by_variant in rows.items():
            for variant, metric_rows in by_variant.items():
                conn.execute(metrics_table.delete().where(
                    metrics_table.c.study_name == study_name, metrics_table.c.trial_number == number,
                    metrics_table.c.variant == variant, metrics_table.c.metric.in_([r.metric for r in metric_rows])))
            _insert_metrics(conn, study_name, ids[number], number, by_variant)
        for number, by_objective in values.items():
            for objective, value in by_objective.items():
                _set_value(conn, ids[number], objective, value)
        _merge_metrics_attr(conn, {ids[n]: m for n, m in metrics_attr.items()})
        _append_study_attr(conn, sid, names.RESCORES_ATTR, dict(record))


def _set_value(conn: sa.Connection, trial_id: int, objective: int, value: float) -> None:
    if math.isnan(value):
        return  # Optuna never holds NaN for a complete trial: keep the old value
    kind = "FINITE" if math.isfinite(value) else ("INF_POS" if value > 0 else "INF_NEG")
    conn.execute(o_values.update().where(o_values.c.trial_id == trial_id, o_values.c.objective == objective)
                 .values(value=value if kind == "FINITE" else None, value_type=kind))


def _merge_metrics_attr(conn: sa.Connection, by_id: Mapping[int, Mapping[str, float]]) -> None:
    if not by_id:
        return
    old = {r.trial_id: r.value_json for r in conn.execute(sa.select(o_trial_attrs.c.trial_id, o_trial_attrs.c.value_json)
                                                          .where(o_trial_attrs.c.key == names.METRICS_ATTR,
                                                                 o_trial_attrs.c.trial_id.in_(list(by_id))))}
    conn.execute(o_trial_attrs.delete().where(o_trial_attrs.c.key == names.METRICS_ATTR,
                                              o_trial_attrs.c.trial_id.in_(list(by_id))))
    conn.execute(o_trial_attrs.insert(), [
        dict(trial_id=tid, key=names.METRICS_ATTR, value_json=json.dumps(
            {**json.loads(old.get(tid) or "{}"), **{m: v for m, v in new.items() if math.isfinite(v)}}))
        for tid, new in by_id.items()])


def _append_study_attr(conn: sa.Connection, study_id: int, key: str, item: Any) -> None:
    where = (o_study_attrs.c.study_id == study_id, o_study_attrs.c.key == key)
    old = conn.execute(sa.select(o_study_attrs.c.value_json).where(*where)).scalar()
    conn.execute(o_study_attrs.delete().where(*where))
    conn.execute(o_study_attrs.insert().values(study_id=study_id, key=key,
                                               value_json=json.dumps([*json.loads(old or "[]"), item])))


def _insert_metrics(conn: sa.Connection, study_name: str, trial_id: int, number: int,
                    metrics: Mapping[str, Iterable[MetricRow]]) -> None:
    rows = [dict(trial_id=trial_id, variant=variant, study_name=study_name, trial_number=number,
                 metric=r.metric, model=r.model, value=_finite_or_none(r.value), unit=r.unit)
            for variant, rows_ in metrics.items() for r in rows_]
    if rows:
        conn.execute(metrics_table.insert(), rows)


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
