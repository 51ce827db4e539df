"""Score stored trials again, with other cost models or options, without retraining.

Every trial keeps its measured Profile, so a new hardware target or a new
sparse format is one pass over the stored profiles: the metric rows are
replaced, and ``dse query`` and ``dse report`` show the new values.
"""

from __future__ import annotations

from typing import Any

import hwmodels

from .errors import UserError, hw_message
from .query import open_store
from .store import MetricRow, Store


def rescore(study_name: str, storage: str | Store, models: list[str] | None = None,
            options: dict[str, Any] | None = None) -> int:
    """Re-evaluate every stored design point of a study; returns how many."""
    store = open_store(storage)
    spec = store.stored_spec(study_name)
    models = models or list(spec.hardware_models) or hwmodels.available()
    options = {**spec.hardware_options, **(options or {})}
    try:
        units = hwmodels.units(models, **options)
    except ValueError as exc:
        raise UserError(hw_message(exc)) from None
    by_trial: dict[int, dict[str, list[MetricRow]]] = {}
    for (number, variant), profile in store.profiles(study_name).items():
        metrics = hwmodels.evaluate(profile, models, **options)
        by_trial.setdefault(number, {})[variant] = [MetricRow(m, units[m][0], v, units[m][1])
                                                    for m, v in metrics.items()]
    for number, rows in by_trial.items():
        store.replace_metrics(study_name, number, rows)
    return sum(len(rows) for rows in by_trial.values())

