"""Sequential search: which stage a study is in, and the values the other keys are fixed to.

A stage searches its keys; every other searched key is fixed: a key of an
earlier stage to the value of the *best* design of the stage before, a key of
a later stage to a neutral value (the engine's default where the space allows
it, else the allowed value nearest to it: 32-bit weights where the space has
them, no pruning, the default timesteps). The best design of a stage with
several objectives is the knee of its front: every objective scaled to [0, 1]
over the stage's feasible trained designs (0 the best seen), the
Pareto-optimal design nearest to the ideal point. With one objective, the best
value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..pareto import nondominated, signs as minimising
from ..spec import StudySpec
from ..store import Store, TrialRecord


@dataclass(frozen=True)
class Stage:
    index: int
    keys: tuple[str, ...]
    cap: int
    """Trained designs of the study when this stage is done (the budget so far)."""
    fixed: dict[str, Any] = field(default_factory=dict)
    """Values of the keys this stage does not search, by Optuna parameter name."""


def budgets(spec: StudySpec) -> list[int]:
    """Each stage's trained designs: its share of ``n_trials``, or as many distinct designs as its
    keys hold where that is fewer (e.g. three widths); what a stage cannot use goes to the next."""
    from .. import engines

    engine = engines.get(spec.engines[0])
    params = {p.name: p for p in spec.params_for(spec.engines[0])}
    out, carry = [], 0
    for keys, share in zip(spec.stages, spec.stage_trials):
        size = math.prod(math.inf if k in engine.expanded else params[k].size() for k in keys)
        out.append(int(min(share + carry, size)))
        carry = share + carry - out[-1]
    return out


def current(spec: StudySpec, store: Store) -> Stage | None:
    """The stage whose budget is not yet trained, with its fixed values; None when all are."""
    trials = store.trials(spec.name)
    trained = [t for t in trials if t.status == "trained"]
    cap = 0
    for index, (keys, budget) in enumerate(zip(spec.stages, budgets(spec))):
        cap += budget
        if sum(1 for t in trained if t.stage == index) < budget:
            earlier = [t for t in trained if t.stage == index - 1]
            return Stage(index, keys, cap, fixed_values(spec, store, earlier))
    return None


def fixed_values(spec: StudySpec, store: Store, previous: list[TrialRecord]) -> dict[str, Any]:
    """The best design of the previous stage, by parameter name: its own searched values and what
    it had fixed (later stages' keys are left out: the current stage decides them or fixes them
    to neutral values)."""
    if not previous:
        return {}
    best = knee(spec, store, previous)
    return {**best.fixed, **best.params}


def _usable(spec: StudySpec, metrics: dict[str, float]) -> bool:
    """Feasible, with every objective measured."""
    return all(c.violation(metrics.get(c.metric, math.inf)) <= 0 for c in spec.constraints) and \
        all(math.isfinite(metrics.get(m, math.nan)) for m in spec.metric_names)


def knee(spec: StudySpec, store: Store, trials: list[TrialRecord]) -> TrialRecord:
    """The trial of the knee of these trials' front (see the module docstring)."""
    points = [p for p in store.points(spec.name, variants=False, trials=trials) if _usable(spec, p.metrics)]
    if not points:
        return trials[0]
    values = np.array([[p.metrics[m] for m in spec.metric_names] for p in points]) * minimising(spec.directions)
    span = values.max(0) - values.min(0)
    scaled = (values - values.min(0)) / np.where(span > 0, span, 1.0)
    front = nondominated(values, ["minimize"] * len(spec.directions))
    distance = np.where(front, np.linalg.norm(scaled, axis=1), np.inf)
    chosen = points[int(np.argmin(distance))].trial
    return next(t for t in trials if t.number == chosen)
