"""Reading a study as typed records, in a few SQL queries.

Optuna's tables are read directly (their layout is Optuna's RDB schema 12),
because the per-trial objects Optuna's API builds cost seconds per thousand
trials; parameter values are decoded by Optuna's own distributions.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Iterable

import sqlalchemy as sa

from hwmodels import Profile

from ..errors import StudyNotFound
from . import names
from .records import PointRecord, StoredSpec, TrialRecord
from .schema import (metrics_table, o_directions, o_params, o_studies, o_study_attrs, o_trial_attrs, o_trials,
                     o_values, profiles_table, variants_table)
from .url import shown

NOTE_ATTRS = (names.FAIL_ATTR, names.REJECTED_ATTR, names.PRUNED_ATTR)


@lru_cache(maxsize=256)
def _distribution(text: str) -> Any:
    from optuna.distributions import json_to_distribution

    return json_to_distribution(text)


def decode_param(value: float, distribution_json: str) -> Any:
    """A stored parameter value as the trial saw it (list choices as tuples)."""
    return names.decode(_distribution(distribution_json).to_external_repr(value))


class Reader:
    """The read half of :class:`dse.store.Store` (needs ``self.engine`` and ``self.url``)."""

    engine: sa.Engine
    url: str

    def study_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(o_studies.c.study_name).order_by(o_studies.c.study_id)).scalars())

    def study_id(self, name: str) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(o_studies.c.study_id).where(o_studies.c.study_name == name)).scalar()
        if found is None:
            known = self.study_names()
            hint = f"; studies here: {', '.join(known)}" if known else "; this storage holds no study"
            raise StudyNotFound(f"no study named {name!r} in {shown(self.url)}{hint}")
        return found

    def stored_spec(self, name: str) -> StoredSpec:
        """The spec the study was run with; objectives and directions from Optuna where it lacks them."""
        sid = self.study_id(name)
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(o_study_attrs.c.value_json).where(
                o_study_attrs.c.study_id == sid, o_study_attrs.c.key == names.SPEC_ATTR)).scalar()
            directions = [d.lower() for d in conn.execute(sa.select(o_directions.c.direction).where(
                o_directions.c.study_id == sid).order_by(o_directions.c.objective)).scalars()]
        spec = StoredSpec.from_attr(json.loads(text) if text else None)
        if not spec.objectives:
            spec = StoredSpec.from_attr({**spec.to_attr(), "version": spec.version,
                                         "objectives": [f"objective_{i}" for i in range(len(directions))]})
        if not spec.directions:
            spec = StoredSpec.from_attr({**spec.to_attr(), "version": spec.version, "directions": directions})
        return spec

    def state_counts(self, name: str) -> dict[str, int]:
        sid = self.study_id(name)
        query = sa.select(o_trials.c.state, sa.func.count()).where(o_trials.c.study_id == sid).group_by(o_trials.c.state)
        with self.engine.connect() as conn:
            return {state.lower(): n for state, n in conn.execute(query)}

    def status_counts(self, name: str) -> dict[str, int]:
        """How many trials ended each way (see :data:`dse.store.names.STATUSES`), in one query."""
        sid = self.study_id(name)
        status = o_trial_attrs.alias("status")
        rejected = o_trial_attrs.alias("rejected")
        query = (sa.select(o_trials.c.state, status.c.value_json, rejected.c.trial_id.is_not(None), sa.func.count())
                 .select_from(o_trials
                              .outerjoin(status, sa.and_(status.c.trial_id == o_trials.c.trial_id,
                                                         status.c.key == names.STATUS_ATTR))
                              .outerjoin(rejected, sa.and_(rejected.c.trial_id == o_trials.c.trial_id,
                                                           rejected.c.key == names.REJECTED_ATTR)))
                 .where(o_trials.c.study_id == sid)
                 .group_by(o_trials.c.state, status.c.value_json, rejected.c.trial_id.is_not(None)))
        counts = {s: 0 for s in names.STATUSES if s != names.VARIANT}
        with self.engine.connect() as conn:
            for state, value, was_rejected, count in conn.execute(query):
                key = status_of(state, json.loads(value) if value else None, bool(was_rejected))
                counts[key] = counts.get(key, 0) + count
        return counts

    def trials(self, name: str, states: Iterable[str] | None = None) -> list[TrialRecord]:
        """Every trial of the study (or those in `states`), by number."""
        sid = self.study_id(name)
        wanted = {s.upper() for s in states} if states else None
        by_id: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for trial_id, number, state, start, complete in conn.execute(sa.select(
                    o_trials.c.trial_id, o_trials.c.number, o_trials.c.state, o_trials.c.datetime_start,
                    o_trials.c.datetime_complete).where(o_trials.c.study_id == sid).order_by(o_trials.c.number)).all():
                if wanted is None or state in wanted:
                    duration = (complete - start).total_seconds() if complete and start else None
                    by_id[trial_id] = dict(number=number, state=state.lower(), params={}, attrs={},
                                           values={}, duration_s=duration)
            of_study = sa.select(o_trials.c.trial_id).where(o_trials.c.study_id == sid).scalar_subquery()
            for trial_id, param, value, distribution in conn.execute(sa.select(
                    o_params.c.trial_id, o_params.c.param_name, o_params.c.param_value,
                    o_params.c.distribution_json).where(o_params.c.trial_id.in_(of_study))).all():
                if trial_id in by_id:
                    by_id[trial_id]["params"][param] = decode_param(value, distribution)
            # dse_metrics (every metric again, for Optuna's own tools) is no part of a record
            for trial_id, key, value in conn.execute(sa.select(
                    o_trial_attrs.c.trial_id, o_trial_attrs.c.key, o_trial_attrs.c.value_json).where(
                    o_trial_attrs.c.trial_id.in_(of_study), o_trial_attrs.c.key != names.METRICS_ATTR)).all():
                if trial_id in by_id:
                    by_id[trial_id]["attrs"][key] = json.loads(value)
            for trial_id, objective, value, value_type in conn.execute(sa.select(
                    o_values.c.trial_id, o_values.c.objective, o_values.c.value, o_values.c.value_type).where(
                    o_values.c.trial_id.in_(of_study))).all():
                if trial_id in by_id:
                    by_id[trial_id]["values"][objective] = _value(value, value_type)
        return [_trial_record(t) for t in by_id.values()]

    def points(self, name: str, *, variants: bool = True, states: Iterable[str] | None = None,
               trials: list[TrialRecord] | None = None, metrics: bool = True) -> list[PointRecord]:
        """Every design point (each trial's own, and variants unless ``variants=False``) of the
        trials in `states` (default: all), with their metrics (none read where ``metrics=False``).
        A reused trial shows the metrics of the trial it was served from; training-phase metrics
        are ``training_<metric>`` of every point of their trial."""
        trials = trials if trials is not None else self.trials(name, states)
        lineage: dict[int, dict[str, tuple[str, str | None, dict]]] = {}
        with self.engine.connect() as conn:
            metrics = _metrics(conn, name, variants) if metrics else {}
            for r in conn.execute(sa.select(variants_table).where(variants_table.c.study_name == name)):
                lineage.setdefault(r.trial_number, {})[r.variant] = (r.kind, r.parent, json.loads(r.params))
        out = []
        for trial in trials:
            source = trial.reused_from if trial.status == names.REUSED and trial.reused_from is not None \
                else trial.number
            own = lineage.get(source, {names.TRAINED: ("trained", None, {})})
            training = {f"{names.TRAINING_PREFIX}{m}": v for m, v in metrics.get((source, names.TRAINING), {}).items()}
            for variant in sorted(own):
                kind, parent, changed = own[variant]
                if kind == "training" or (kind == "variant" and (not variants or source != trial.number)):
                    continue
                out.append(_point(trial, variant, kind, parent, changed, {**metrics.get((source, variant), {}),
                                                                        **training}))
        return out

    def lineage(self, name: str, trial: int) -> dict[str, tuple[str, str | None, dict]]:
        """A trial's design points by variant name: (kind, parent, the keys it changes)."""
        query = sa.select(variants_table).where(variants_table.c.study_name == name,
                                                variants_table.c.trial_number == trial)
        with self.engine.connect() as conn:
            return {r.variant: (r.kind, r.parent, json.loads(r.params)) for r in conn.execute(query)}

    def param_distributions(self, name: str) -> dict[str, Any]:
        """``{parameter: Optuna distribution}`` the study sampled each parameter from (the latest)."""
        sid = self.study_id(name)
        of_study = sa.select(o_trials.c.trial_id).where(o_trials.c.study_id == sid).scalar_subquery()
        query = (sa.select(o_params.c.param_name, o_params.c.distribution_json).where(o_params.c.trial_id.in_(of_study))
                 .distinct())
        with self.engine.connect() as conn:
            return {r.param_name: _distribution(r.distribution_json) for r in conn.execute(query)}

    def profiles(self, name: str, keys: Iterable[tuple[int, str]] | None = None) -> dict[tuple[int, str], Profile]:
        """Stored profiles by (trial number, variant), all or those in `keys`."""
        wanted = set(keys) if keys is not None else None
        query = sa.select(profiles_table.c.trial_number, profiles_table.c.variant, profiles_table.c.profile
                          ).where(profiles_table.c.study_name == name
                                  ).order_by(profiles_table.c.trial_number, profiles_table.c.variant)
        out = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                if wanted is None or (r.trial_number, r.variant) in wanted:
                    out[(r.trial_number, r.variant)] = Profile.from_dict(json.loads(r.profile))
        return out

    def trained_range(self, name: str) -> dict[str, tuple[float, float]]:
        """``{objective: (lowest, highest)}`` over the study's trained designs (not rejected or reused)."""
        sid = self.study_id(name)
        objectives = self.stored_spec(name).objectives
        trained = sa.select(o_trial_attrs.c.trial_id).where(
            o_trial_attrs.c.key == names.STATUS_ATTR, o_trial_attrs.c.value_json == json.dumps(names.TRAINED_STATUS))
        query = (sa.select(o_values.c.objective, sa.func.min(o_values.c.value), sa.func.max(o_values.c.value))
                 .join(o_trials, o_trials.c.trial_id == o_values.c.trial_id)
                 .where(o_trials.c.study_id == sid, o_trials.c.state == "COMPLETE",
                        o_values.c.value_type == "FINITE", o_values.c.trial_id.in_(trained))
                 .group_by(o_values.c.objective))
        with self.engine.connect() as conn:
            return {objectives[i]: (low, high) for i, low, high in conn.execute(query) if i < len(objectives)}

    def rescores(self, name: str) -> list[dict[str, Any]]:
        """What each ``dse rescore`` of the study did, oldest first (cost-model versions included)."""
        sid = self.study_id(name)
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(o_study_attrs.c.value_json).where(
                o_study_attrs.c.study_id == sid, o_study_attrs.c.key == names.RESCORES_ATTR)).scalar()
        return json.loads(text) if text else []

    def metric_units(self, name: str) -> dict[str, tuple[str, str]]:
        """``{metric: (model, unit)}`` of every metric stored for the study."""
        query = sa.select(metrics_table.c.metric, metrics_table.c.model, metrics_table.c.unit
                          ).where(metrics_table.c.study_name == name).distinct()
        with self.engine.connect() as conn:
            return {r.metric: (r.model, r.unit) for r in conn.execute(query)}


def _metrics(conn: sa.Connection, name: str, variants: bool) -> dict[tuple[int, str], dict[str, float]]:
    """Every stored metric by (trial number, variant), in one fetch; NaN where none was stored."""
    query = sa.select(metrics_table.c.trial_number, metrics_table.c.variant, metrics_table.c.metric,
                      metrics_table.c.value).where(metrics_table.c.study_name == name)
    if not variants:  # a study's variants hold about half its metric rows
        query = query.where(metrics_table.c.variant.in_([names.TRAINED, names.TRAINING]))
    nan = float("nan")
    out: dict[tuple[int, str], dict[str, float]] = {}
    for number, variant, metric, value in _plain_rows(conn, query):
        into = out.get((number, variant))
        if into is None:
            into = out[(number, variant)] = {}
        into[metric] = value if value is not None else nan
    return out


def _plain_rows(conn: sa.Connection, query: sa.Select) -> list[tuple]:
    """The rows of a query of plain columns (numbers and text) as the DB-API driver returns them:
    SQLAlchemy's result rows cost a third more on the 300,000 metric rows of a 5,000-trial study."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[key] for key in compiled.positiontup)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _point(trial: TrialRecord, variant: str, kind: str, parent: str | None, changed: dict,
           metrics: dict[str, float]) -> PointRecord:
    status = names.VARIANT if kind == "variant" else trial.status
    if trial.status == names.REUSED:
        kind, parent = "reused", None
    return PointRecord(trial.number, variant, kind, parent, trial.state, {**trial.fixed, **trial.params, **changed},
                       metrics,
                       trial.duration_s, trial.note, status, trial.reused_from, trial.worker)


def _value(value: float | None, value_type: str) -> float:
    if value_type == "INF_POS":
        return float("inf")
    if value_type == "INF_NEG":
        return float("-inf")
    return value if value is not None else float("nan")


def _trial_record(t: dict[str, Any]) -> TrialRecord:
    attrs = t["attrs"]
    note = next((str(attrs[k]) for k in NOTE_ATTRS if attrs.get(k)), "")
    values = tuple(t["values"][i] for i in sorted(t["values"])) if t["values"] else None
    extras = {k.removeprefix(names.EXTRA_PREFIX): v for k, v in attrs.items() if k.startswith(names.EXTRA_PREFIX)}
    return TrialRecord(t["number"], t["state"], t["params"], attrs.get(names.DESIGN_ATTR), values,
                       t["duration_s"], note, names.REJECTED_ATTR in attrs, extras,
                       status_of(t["state"], attrs.get(names.STATUS_ATTR), names.REJECTED_ATTR in attrs),
                       attrs.get(names.REUSED_ATTR), tuple(attrs.get(names.UNMEASURED_ATTR, ())),
                       tuple(attrs.get(names.CURVE_ATTR, ())), attrs.get(names.WORKER_ATTR, ""),
                       attrs.get(names.RETRY_ATTR),
                       attrs.get(names.STAGE_ATTR), {k: names.decode(v) for k, v in attrs.get(names.FIXED_ATTR, {}).items()},
                       inherited=attrs.get(names.INHERITED_ATTR), retrain_of=attrs.get(names.RETRAIN_OF_ATTR))


def status_of(state: str, status: str | None, rejected: bool) -> str:
    """A trial's status; for trials recorded before snn-dse stored one, from its state."""
    if state.lower() in ("running", "waiting"):
        return names.RUNNING
    if state.lower() == "fail":  # whatever it had recorded: Optuna never completed it
        return names.FAILED
    if status:
        return status
    if state.lower() == "complete":
        return names.TRAINED_STATUS
    if state.lower() == "pruned":
        return names.REJECTED if rejected else names.PRUNED
    return names.FAILED
