"""Parameter importances for each objective, by Optuna's own evaluator (its default one).

Only trained trials count (a rejected design's objective values are placeholders, a reused one
repeats another's), so they are copied, with the distributions the study sampled from, into an
in-memory Optuna study; past :data:`MAX_TRIALS` an even sample of them, so a large study stays quick.
"""

from __future__ import annotations

import inspect
import re
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store
    from .data import ReportData

MAX_TRIALS = 500


def method() -> str:
    """How the importances are computed, naming the evaluator Optuna uses by default."""
    import optuna.importance

    found = re.search(r"evaluator = (\w+)\(", inspect.getsource(optuna.importance.get_param_importances))
    name = found.group(1) if found else "its default evaluator"
    return f"optuna.importance.get_param_importances with Optuna's default evaluator ({name})"


def importances(store: "Store", data: "ReportData") -> dict[str, Any]:
    """``{"method", "by_objective": {objective: {param: importance}}, "n": trials}`` or ``{"reason"}``."""
    trials = [t for t in data.trials if t.status == "trained" and t.values and t.params]
    why = _cannot(trials)
    if why:
        return {"reason": why}
    try:
        distributions = store.param_distributions(data.study_name)
    except Exception as exc:  # noqa: BLE001: the report goes on without importances
        return {"reason": f"the study's parameter distributions could not be read ({exc})"}
    if len(trials) > MAX_TRIALS:
        step = len(trials) / MAX_TRIALS
        trials = [trials[int(i * step)] for i in range(MAX_TRIALS)]
    return _evaluate(trials, distributions, data.objectives)


def _cannot(trials: list) -> str:
    """Why importances cannot be computed from `trials` ("" where they can)."""
    keys = {k for t in trials for k in t.params}
    varying = {k for k in keys if len({repr(t.params.get(k)) for t in trials}) > 1}
    if len(trials) >= 2 and varying:
        return ""
    return (f"needs at least 2 trained trials whose parameters vary (this study has {len(trials)} trained "
            f"trial{'s' * (len(trials) != 1)}{'' if varying else ', no varying parameter'})")


def _evaluate(trials: list, distributions: dict, objectives: tuple) -> dict[str, Any]:
    """Each objective's importances over an in-memory copy of the trained trials: the Optuna study
    as stored also holds rejected designs' placeholder values, which must not count."""
    import optuna

    from ..store import names

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out: dict[str, dict[str, float]] = {}
    reasons = []
    for i, (metric, direction) in enumerate(objectives):
        study = optuna.create_study(direction=direction)
        study.add_trials([optuna.trial.create_trial(
            value=t.values[i], params={k: names.encode(v) for k, v in t.params.items()},
            distributions={k: distributions[k] for k in t.params}) for t in trials])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[metric] = dict(optuna.importance.get_param_importances(study))
        except Exception as exc:  # noqa: BLE001
            reasons.append(f"{metric}: {exc}")
    result: dict[str, Any] = {"method": method(), "by_objective": out, "n": len(trials)}
    if reasons:
        result["reason"] = "; ".join(reasons)
    return result
