"""Training inherited designs from scratch (``dse retrain``), as ordinary trials of the same study.

Written by hand. Each chosen inherited trial is enqueued (``study.enqueue_trial``) with its
own parameters and the user attribute ``dse_retrain_of`` = its number; the study's
:class:`~.objective.Objective` sees the marker and trains the design with the engine (not
with the supernet), outside ``n_trials`` and outside the dedupe of the inherited twin. The
report then shows the retrained accuracy beside the predicted one.

:func:`spread` picks the designs: the front of the inherited trials (non-dominated on the
study's objectives), and where ``top`` asks for more, the next fronts; then the ``top`` of them that
together cover the most inherited hypervolume, chosen greedily (:func:`dse.pareto.greedy_subset`):
retraining is the expensive step, so the K designs most worth it are those whose front, were the
inherited accuracies right, would be the largest (an even spread along one objective of a 3-objective
front leaves whole regions of it out).
"""

from __future__ import annotations

import math

import numpy as np

from ..data import load_dataset
from ..pareto import greedy_subset, nondominated
from ..progress import Progress
from ..spec import StudySpec
from ..store import Store
from ..store import names as n
from .objective import Objective


def spread(spec: StudySpec, store: Store, top: int | None = None) -> list[int]:
    """Numbers of inherited trials to retrain: the Pareto front (``top`` None), or the `top` designs of it
    covering the most hypervolume, taken from the following fronts where the first holds fewer."""
    trials = [t for t in store.trials(spec.name) if t.inherited and t.status == n.TRAINED_STATUS]
    points = [p for p in store.points(spec.name, variants=False, trials=trials)
              if all(math.isfinite(p.metrics.get(m, math.nan)) for m in spec.metric_names)]
    values = np.array([[p.metrics[m] for m in spec.metric_names] for p in points]).reshape(-1, len(spec.metric_names))
    chosen = fronts(values, spec.directions, top or 1)
    if top is not None and len(chosen) > top:
        chosen = sorted((chosen[i] for i in greedy_subset(values[chosen], spec.directions, top)),
                        key=lambda i: values[i, 0])
    return list(dict.fromkeys(points[i].trial for i in chosen))


def fronts(values: np.ndarray, directions: list[str], at_least: int) -> list[int]:
    """Rows of the first non-dominated front, then of the next ones, until `at_least` rows are taken."""
    left = np.ones(len(values), bool)
    chosen: list[int] = []
    while left.any() and len(chosen) < at_least:
        index = np.flatnonzero(left)
        front = index[nondominated(values[index], directions)]
        chosen += sorted(front.tolist(), key=lambda i: values[i, 0])
        left[front] = False
    return chosen


def retrained(store: Store, spec: StudySpec) -> dict[int, int]:
    """Inherited trial -> the trial that trained it from scratch (finished ones)."""
    return {t.retrain_of: t.number for t in store.trials(spec.name)
            if t.retrain_of is not None and t.status == n.TRAINED_STATUS}


def retrain(spec: StudySpec, *, storage: str, numbers: list[int], device: str = "cpu",
            data_dir: str | None = None, show_progress: bool = True) -> dict[int, int]:
    """Train the designs of the inherited trials `numbers` from scratch (those not yet retrained);
    returns every inherited trial -> its retrained twin."""
    from . import open_study, quiet_optuna

    quiet_optuna()
    data = load_dataset(spec.dataset, data_dir)
    store = Store(storage, heartbeat=True)
    study = open_study(spec, store)
    done = retrained(store, spec)
    todo = [number for number in numbers if number not in done]
    for number in todo:
        frozen = store.optuna.get_trial(store.trial_id(spec.name, number))
        study.enqueue_trial(frozen.params, user_attrs={n.RETRAIN_OF_ATTR: number}, skip_if_exists=False)
    progress = Progress(total=len(todo), enabled=show_progress, objectives=spec.objectives)
    objective = Objective(spec, data, store, device, progress)
    try:
        with objective.interrupt.installed():
            if todo:
                study.optimize(objective, n_trials=len(todo), catch=(Exception,), gc_after_trial=False,
                               callbacks=[lambda s, t: progress.trial_done(t, store.status_counts(spec.name))])
    finally:
        progress.close()
    return retrained(store, spec)
