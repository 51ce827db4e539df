"""Score stored trials again, with other cost models or options, without retraining.

Every trial keeps its measured Profile (Contract 5), so a new hardware target
or a new sparse format is one pass over the stored profiles: the metric rows
are replaced, and ``dse query`` and ``dse report`` show the new values.
"""

from __future__ import annotations

from typing import Any

import hwmodels

from .errors import UserError
from .storage import MetricRow, Store
from .study import SPEC_ATTR


def rescore(study_name: str, storage: str | Store, models: list[str] | None = None,
            options: dict[str, Any] | None = None) -> int:
    """Re-evaluate every stored design point of a study; returns how many."""
    store = storage if isinstance(storage, Store) else Store(storage, create=False)
    study = store.load_study(study_name)
    spec = study.user_attrs.get(SPEC_ATTR, {})
    models = models or spec.get("hardware_models") or hwmodels.available()
    options = {**spec.get("hardware_options", {}), **(options or {})}
    try:
        units = hwmodels.units(models, **options)
    except ValueError as exc:
        raise UserError(str(exc).removeprefix("hwmodels: ")) from None
    count = 0
    for trial_id, number, variant, profile in store.profiles(study_name):
        metrics = hwmodels.evaluate(profile, models, **options)
        rows = [MetricRow(m, units[m][0], v, units[m][1]) for m, v in metrics.items()]
        store.replace_metrics(study_name, trial_id, number, {variant: rows})
        count += 1
    return count
