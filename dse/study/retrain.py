"""Training inherited designs from scratch (``dse retrain``), as ordinary trials of the same study.

Written by hand. Each chosen inherited trial is enqueued (``study.enqueue_trial``) with its
own parameters and the user attribute ``dse_retrain_of`` = its number; the study's
:class:`~.objective.Objective` sees the marker and trains the design with the engine (not
with the supernet), outside ``n_trials`` and outside the dedupe of the inherited twin. The
report then shows the retrained accuracy beside the predicted one.

Which designs:

- ``--pareto`` alone (:func:`front`): every design of the inherited front.
- ``--spread K`` (:func:`spread_front`): K designs of the inherited front spread evenly over it
  (:func:`dse.pareto.spread`), chosen before any is trained: how faithfully the supernet ranks
  designs, measured over the whole front rather than where retraining pays most.
- ``--top K`` (:func:`next_design`, one at a time): the design whose retraining adds the most
  expected hypervolume to the designs retrained so far. Inherited values are biased, and not
  uniformly (on the LitE digits space a 1-bit design inherits about 0.06-0.13 more accuracy than
  it reaches trained alone, a 4- or 8-bit one 0.03-0.09 less), so each pick learns from the twins already
  retrained: :mod:`.retrain_pick` predicts every inherited design's retrained values and their
  spread from the twins' gaps, and picks by expected gain among the designs that may lead.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import load_dataset
from ..pareto import nondominated, spread
from ..progress import Progress
from ..spec import StudySpec
from ..store import Store
from ..store import names as n
from .objective import Objective
from .retrain_pick import features, pick, summary


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


def _front(spec: StudySpec, store: Store) -> tuple[list[int], np.ndarray]:
    """The inherited front: its trials' numbers and their objective values, ordered by the first objective."""
    rows = _rows(spec, store)
    numbers = [t for t in _inherited(store.trials(spec.name)) if t in rows]
    values = np.array([rows[t] for t in numbers]).reshape(-1, len(spec.metric_names))
    order = sorted(np.flatnonzero(nondominated(values, spec.directions)), key=lambda i: values[i, 0])
    return [numbers[i] for i in order], values[order].reshape(-1, len(spec.metric_names))


def front(spec: StudySpec, store: Store) -> list[int]:
    """Numbers of the inherited trials on the inherited Pareto front."""
    return _front(spec, store)[0]


def spread_front(spec: StudySpec, store: Store, k: int) -> list[int]:
    """Numbers of `k` inherited trials spread over the inherited Pareto front (all of it if smaller),
    by their objective values, in the order :func:`dse.pareto.spread` chose them."""
    numbers, values = _front(spec, store)
    return [numbers[i] for i in spread(values, spec.directions, k)]


def next_design(spec: StudySpec, store: Store, tried: set[int] = frozenset()) -> int | None:
    """The inherited trial whose retraining most likely adds the most hypervolume to the retrained
    twins' (module docstring), other than those `tried`; None when every inherited design is retrained."""
    rows, trials = _rows(spec, store), store.trials(spec.name)
    twins, stored = _twins(trials), {t.number: t.design or t.params for t in trials}
    pairs = [(t, r) for t, r in twins.items() if t in rows and r in rows]
    pool = sorted(set(_inherited(trials)) & set(rows) - set(twins) - set(tried))
    if not pool:
        return None
    x = features([summary(stored[t]) for t in [*pool, *(t for t, _ in pairs)]])
    inherited = np.array([rows[t] for t, _ in pairs]).reshape(-1, len(spec.metric_names))
    real = np.array([rows[r] for _, r in pairs]).reshape(-1, len(spec.metric_names))
    return pool[pick(np.array([rows[t] for t in pool]), x[:len(pool)], inherited, real, x[len(pool):],
                     spec.directions)]


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
