"""Training inherited designs from scratch (``dse retrain``), as ordinary trials of the same study.

Written by hand. Each chosen inherited trial is enqueued (``study.enqueue_trial``) with its
own parameters and the user attribute ``dse_retrain_of`` = its number; the study's
:class:`~.objective.Objective` sees the marker and trains the design with the engine (not
with the supernet), outside ``n_trials`` and outside the dedupe of the inherited twin. The
report then shows the retrained accuracy beside the predicted one.

Which designs:

- ``--pareto`` alone (:func:`front`): every design of the inherited front.
- ``--top K`` (:func:`next_design`, one at a time): the design whose retraining most likely adds
  the most hypervolume to the designs retrained so far. Inherited values are biased, and not
  uniformly (on the LitE digits space a 1-bit design inherits 0.2-0.3 more accuracy than it
  reaches trained alone, a 4-bit one about 0.05), so each pick learns from the twins already
  retrained: a candidate's predicted values are its inherited ones plus the twins' gaps
  (retrained minus inherited, every objective), averaged with a Gaussian weight on the distance
  between inherited points (objectives scaled to [0, 1]), shrunk toward the mean gap where no
  twin is near. Candidates are the first inherited fronts (at least ``CANDIDATES`` designs),
  since a design dominated before the correction may not be after it.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import load_dataset
from ..pareto import hypervolume, nondominated
from ..progress import Progress
from ..spec import StudySpec
from ..store import Store
from ..store import names as n
from .objective import Objective

CANDIDATES = 100
"""Inherited designs (whole fronts, best first) among which ``--top`` picks."""
BANDWIDTH = 0.15
"""Width of the Gaussian weight on the distance between inherited points, in [0, 1]-scaled objectives."""
PRIOR = 0.2
"""Weight of the mean gap in a candidate's correction (a twin at distance 0 weighs 1)."""


def _rows(spec: StudySpec, store: Store) -> dict[int, np.ndarray]:
    """Every trained trial's objective values, by trial number."""
    rows = {}
    for p in store.points(spec.name, variants=False):
        if p.status == n.TRAINED_STATUS and all(math.isfinite(p.metrics.get(m, math.nan)) for m in spec.metric_names):
            rows[p.trial] = np.array([p.metrics[m] for m in spec.metric_names], dtype=float)
    return rows


def _inherited(spec: StudySpec, store: Store) -> list[int]:
    return [t.number for t in store.trials(spec.name) if t.inherited and t.status == n.TRAINED_STATUS]


def front(spec: StudySpec, store: Store) -> list[int]:
    """Numbers of the inherited trials on the inherited Pareto front."""
    rows = _rows(spec, store)
    numbers = [t for t in _inherited(spec, store) if t in rows]
    values = np.array([rows[t] for t in numbers]).reshape(-1, len(spec.metric_names))
    return [numbers[i] for i in fronts(values, spec.directions, 1)]


def fronts(values: np.ndarray, directions: list[str], at_least: int) -> list[int]:
    """Rows of the first non-dominated front, then of the next ones, until `at_least` rows are taken."""
    left = np.ones(len(values), bool)
    chosen: list[int] = []
    while left.any() and len(chosen) < at_least:
        index = np.flatnonzero(left)
        first = index[nondominated(values[index], directions)]
        chosen += sorted(first.tolist(), key=lambda i: values[i, 0])
        left[first] = False
    return chosen


def corrected(candidates: np.ndarray, inherited: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Candidates' inherited values plus the gaps of the nearby twins (module docstring); `inherited`
    and `real` are the retrained twins' values, row by row."""
    if len(real) == 0:
        return candidates
    everything = np.vstack([candidates, inherited])
    low, span = everything.min(0), np.maximum(np.ptp(everything, 0), 1e-12)
    distance = (((candidates - low) / span)[:, None, :] - ((inherited - low) / span)[None, :, :]) ** 2
    weight = np.exp(-distance.sum(-1) / (2 * BANDWIDTH**2))  # [candidates, twins]
    gaps = real - inherited
    return candidates + (weight @ gaps + PRIOR * gaps.mean(0)) / (weight.sum(1, keepdims=True) + PRIOR)


def next_design(spec: StudySpec, store: Store, tried: set[int] = frozenset()) -> int | None:
    """The inherited trial whose retraining most likely adds the most hypervolume to the retrained
    twins' (module docstring), other than those `tried`; None when every candidate is retrained."""
    rows, twins = _rows(spec, store), retrained(store, spec)
    numbers = [t for t in _inherited(spec, store) if t in rows]
    values = np.array([rows[t] for t in numbers]).reshape(-1, len(spec.metric_names))
    pool = [numbers[i] for i in fronts(values, spec.directions, CANDIDATES) if numbers[i] not in twins and numbers[i] not in tried]
    if not pool:
        return None
    pairs = [(t, r) for t, r in twins.items() if t in rows and r in rows]
    inherited = np.array([rows[t] for t, _ in pairs]).reshape(-1, values.shape[1])
    real = np.array([rows[r] for _, r in pairs]).reshape(-1, values.shape[1])
    return pool[pick(np.array([rows[t] for t in pool]), inherited, real, spec.directions)]


def pick(candidates: np.ndarray, inherited: np.ndarray, real: np.ndarray, directions: list[str]) -> int:
    """Row of `candidates` (inherited values) adding the most hypervolume to `real` (the retrained twins'
    values; `inherited`, theirs before) once corrected (:func:`corrected`); the first of equal gains.
    Reference: the worst value seen on each objective, a tenth of its range further."""
    predicted = corrected(candidates, inherited, real)
    seen = np.vstack([predicted, real, inherited])
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    worst, best = (seen * signs).max(0), (seen * signs).min(0)
    reference = list((worst + 0.1 * np.maximum(worst - best, 1e-12)) * signs)
    base = hypervolume(real, directions, reference)
    return int(np.argmax([hypervolume(np.vstack([real, row]), directions, reference) - base for row in predicted]))


def retrained(store: Store, spec: StudySpec) -> dict[int, int]:
    """Inherited trial -> the trial that trained it from scratch (finished ones)."""
    return {t.retrain_of: t.number for t in store.trials(spec.name)
            if t.retrain_of is not None and t.status == n.TRAINED_STATUS}


def retrain(spec: StudySpec, *, storage: str, numbers: list[int] | None = None, top: int | None = None,
            device: str = "cpu", data_dir: str | None = None, show_progress: bool = True) -> dict[int, int]:
    """Train from scratch the inherited trials `numbers` (those not yet retrained), or with `top`, designs
    chosen one at a time by :func:`next_design` until `top` are retrained; returns every inherited
    trial -> its retrained twin."""
    from . import open_study, quiet_optuna

    quiet_optuna()
    data = load_dataset(spec.dataset, data_dir)
    store = Store(storage, heartbeat=True)
    study = open_study(spec, store)
    todo = [t for t in numbers or [] if t not in retrained(store, spec)]
    count = len(todo) if top is None else max(0, top - len(retrained(store, spec)))
    progress = Progress(total=count, enabled=show_progress, objectives=spec.objectives)
    objective = Objective(spec, data, store, device, progress)
    try:
        with objective.interrupt.installed():
            tried: set[int] = set()  # a design whose retraining failed is not picked again
            for k in range(count):
                number = todo[k] if top is None else next_design(spec, store, tried)
                if number is None:
                    break
                tried.add(number)
                frozen = store.optuna.get_trial(store.trial_id(spec.name, number))
                study.enqueue_trial(frozen.params, user_attrs={n.RETRAIN_OF_ATTR: number}, skip_if_exists=False)
                study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False,
                               callbacks=[lambda s, t: progress.trial_done(t, store.status_counts(spec.name))])
                if objective.interrupt.requested:
                    break
    finally:
        progress.close()
    return retrained(store, spec)
