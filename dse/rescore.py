"""Score stored trials again, with other cost models or options, without retraining.

Every trial keeps its measured Profile, so a new hardware target or a new
sparse format is one pass over the stored profiles: the metric rows are
replaced, and ``dse query`` and ``dse report`` show the new values. Where the
study's objectives include a rescored metric, Optuna's stored objective values
and each trial's ``dse_metrics`` attribute are updated too (optuna-dashboard and
``optuna.load_study`` show the new values), all in one transaction; the study's
``dse_rescores`` attribute records which cost-model versions produced which metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import hwmodels

from .errors import UserError, hw_message
from .query import open_store
from .store import MetricRow, Store
from .store import names as n


@dataclass(frozen=True)
class Rescored:
    points: int
    """Design points scored again."""
    objectives: tuple[str, ...]
    """The study's objectives among the rescored metrics (Optuna's values updated)."""
    trials: int
    """Trials whose Optuna objective values were updated."""


def model_versions(models: list[str]) -> dict[str, str]:
    """``{model: version}``: a model's own ``version`` where it declares one, else hwmodels'."""
    return {m: str(getattr(hwmodels.get(m), "version", None) or hwmodels.__version__) for m in models}


def rescore(study_name: str, storage: str | Store, models: list[str] | None = None,
            options: dict[str, Any] | None = None) -> Rescored:
    """Re-evaluate every stored design point of a study."""
    store = open_store(storage)
    spec = store.stored_spec(study_name)
    models = models or list(spec.hardware_models) or hwmodels.available()
    options = {**spec.hardware_options, **(options or {})}
    try:
        units = hwmodels.units(models, **options)
        static = hwmodels.static_metrics(models, **options)
    except ValueError as exc:
        raise UserError(hw_message(exc)) from None
    scored: dict[tuple[int, str], dict[str, float]] = {}
    rows: dict[int, dict[str, list[MetricRow]]] = {}
    for (number, variant), profile in store.profiles(study_name).items():
        metrics = hwmodels.evaluate(profile, models, **options)
        scored[(number, variant)] = metrics
        rows.setdefault(number, {})[variant] = [MetricRow(m, units[m][0], v, units[m][1]) for m, v in metrics.items()]
    objectives = tuple(o for o in spec.objectives if o in units)
    values, attrs = _optuna_updates(store.trials(study_name), spec.objectives, objectives, scored, static)
    versions = model_versions(models)
    record = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "hwmodels": hwmodels.__version__,
              "models": versions, "options": options, "objectives_updated": list(objectives),
              "metrics": {m: f"{model} {versions[model]}" for m, (model, _) in units.items()}}
    store.apply_rescore(study_name, rows, values, attrs, record)
    return Rescored(sum(len(v) for v in rows.values()), objectives, len(values))


def _optuna_updates(trials, all_objectives, objectives, scored, static) -> tuple[dict, dict]:
    """New objective values by trial number and objective index, and the trained designs' new
    ``dse_metrics``. A reused trial takes its source's values; a rejected one only the objectives
    it measured before training (never its placeholders)."""
    values: dict[int, dict[int, float]] = {}
    attrs: dict[int, dict[str, float]] = {}
    for trial in trials:
        if trial.state != "complete" or not trial.values:
            continue
        source = trial.reused_from if trial.status == n.REUSED else trial.number
        metrics = scored.get((source, n.TRAINED)) if source is not None else None
        if metrics is None:
            continue
        if trial.status == n.TRAINED_STATUS:
            attrs[trial.number] = metrics
        allowed = [o for o in objectives if trial.status != n.REJECTED or (o in static and o not in trial.unmeasured)]
        new = {all_objectives.index(o): metrics[o] for o in allowed if o in metrics}
        if new:
            values[trial.number] = new
    return values, attrs
