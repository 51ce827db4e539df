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
  uniformly (on the LitE digits space a 1-bit design inherits 0.1-0.4 more accuracy than it
  reaches trained alone, a 2-bit one about 0.05), so each pick learns from the twins already
  retrained: a design's predicted values are its inherited ones plus a ridge regression of the
  twins' gaps (retrained minus inherited, every objective) on the design's parameters (numbers
  scaled to [0, 1], choices one-hot), which with few twins is little more than their mean gap.
  Every inherited design is corrected, and the pick is made among the front of the corrected
  values: a design the biased values dominate may well lead once they are corrected.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import load_dataset
from ..pareto import hypervolume, nondominated, signs as minimising
from ..progress import Progress
from ..spec import StudySpec
from ..store import Store
from ..store import names as n
from .objective import Objective

RIDGE = 0.3
"""L2 penalty of the gap regression (parameters scaled to [0, 1])."""


def _rows(spec: StudySpec, store: Store) -> dict[int, np.ndarray]:
    """Every trained trial's objective values, by trial number."""
    rows = {}
    for p in store.points(spec.name, variants=False):
        if p.status == n.TRAINED_STATUS and all(math.isfinite(p.metrics.get(m, math.nan)) for m in spec.metric_names):
            rows[p.trial] = np.array([p.metrics[m] for m in spec.metric_names], dtype=float)
    return rows


def _inherited(trials: list) -> list[int]:
    """Numbers of the inherited trials that trained."""
    return [t.number for t in trials if t.inherited and t.status == n.TRAINED_STATUS]


def _twins(trials: list) -> dict[int, int]:
    """Inherited trial -> the trial that trained it from scratch (finished ones)."""
    return {t.retrain_of: t.number for t in trials if t.retrain_of is not None and t.status == n.TRAINED_STATUS}


def front(spec: StudySpec, store: Store) -> list[int]:
    """Numbers of the inherited trials on the inherited Pareto front."""
    rows = _rows(spec, store)
    numbers = [t for t in _inherited(store.trials(spec.name)) if t in rows]
    values = np.array([rows[t] for t in numbers]).reshape(-1, len(spec.metric_names))
    return [numbers[i] for i in sorted(np.flatnonzero(nondominated(values, spec.directions)), key=lambda i: values[i, 0])]


def features(params: list[dict]) -> np.ndarray:
    """The designs' parameters as numbers: a numeric parameter scaled to [0, 1] over these designs (0 where
    a design lacks it, with a column marking that), any other one-hot by value (a missing one its own value)."""
    columns: list[list[float]] = []
    for key in sorted({k for p in params for k in p}):
        columns += _columns([p.get(key) for p in params])
    return np.array(columns, dtype=float).T.reshape(len(params), -1)


def _columns(values: list) -> list[list[float]]:
    numbers = [v for v in values if v is not None]
    if not numbers or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
        return [[float(repr(v) == level) for v in values] for level in sorted({repr(v) for v in values})]
    low, span = min(numbers), max(max(numbers) - min(numbers), 1e-12)
    scaled = [[(v - low) / span if v is not None else 0.0 for v in values]]
    return scaled + ([[float(v is None) for v in values]] if len(numbers) < len(values) else [])


def corrected(candidates: np.ndarray, x: np.ndarray, inherited: np.ndarray, real: np.ndarray,
              x_twins: np.ndarray) -> np.ndarray:
    """Candidates' inherited values (features `x`) plus the gaps a ridge regression of the twins' gaps
    (`real` - `inherited`, features `x_twins`) predicts for them; no twin, no correction."""
    if len(real) == 0:
        return candidates
    gaps = real - inherited
    mean_x, mean_gap = x_twins.mean(0), gaps.mean(0)
    centred = x_twins - mean_x
    beta = np.linalg.solve(centred.T @ centred + RIDGE * np.eye(x.shape[1]), centred.T @ (gaps - mean_gap))
    return candidates + mean_gap + (x - mean_x) @ beta


def next_design(spec: StudySpec, store: Store, tried: set[int] = frozenset()) -> int | None:
    """The inherited trial whose retraining most likely adds the most hypervolume to the retrained
    twins' (module docstring), other than those `tried`; None when every inherited design is retrained."""
    rows, trials = _rows(spec, store), store.trials(spec.name)
    twins, params = _twins(trials), {t.number: dict(t.params) for t in trials}
    pairs = [(t, r) for t, r in twins.items() if t in rows and r in rows]
    pool = sorted(set(_inherited(trials)) & set(rows) - set(twins) - set(tried))
    if not pool:
        return None
    x = features([params[t] for t in pool] + [params[t] for t, _ in pairs])
    inherited = np.array([rows[t] for t, _ in pairs]).reshape(-1, len(spec.metric_names))
    real = np.array([rows[r] for _, r in pairs]).reshape(-1, len(spec.metric_names))
    return pool[pick(np.array([rows[t] for t in pool]), x[:len(pool)], inherited, real, x[len(pool):],
                     spec.directions)]


def pick(candidates: np.ndarray, x: np.ndarray, inherited: np.ndarray, real: np.ndarray, x_twins: np.ndarray,
         directions: list[str]) -> int:
    """Row of `candidates` (inherited values, features `x`) adding the most hypervolume to `real` (the
    retrained twins' values; `inherited`, theirs before; features `x_twins`) once corrected
    (:func:`corrected`), among the front of the corrected values; the first of equal gains.
    Reference: the worst value seen on each objective, a tenth of its range further."""
    predicted = corrected(candidates, x, inherited, real, x_twins)
    seen = np.vstack([predicted, real, inherited])
    flip = minimising(directions)
    worst, best = (seen * flip).max(0), (seen * flip).min(0)
    reference = list((worst + 0.1 * np.maximum(worst - best, 1e-12)) * flip)
    base = hypervolume(real, directions, reference)
    front = np.flatnonzero(nondominated(predicted, directions))
    gains = [hypervolume(np.vstack([real, predicted[i]]), directions, reference) - base for i in front]
    return int(front[int(np.argmax(gains))])


def retrained(store: Store, spec: StudySpec) -> dict[int, int]:
    """Inherited trial -> the trial that trained it from scratch (finished ones)."""
    return _twins(store.trials(spec.name))


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
    done = retrained(store, spec)
    todo = [t for t in numbers or [] if t not in done]
    count = len(todo) if top is None else max(0, top - len(done))
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
