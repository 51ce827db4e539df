"""Early stopping for multi-objective studies: stop a trial that cannot reach the front.

Optuna prunes single-objective studies only. Here, after each epoch of a
trial whose shape-only costs are known, the trial's *optimistic point* is

- accuracy: its validation accuracy now, plus the largest gain from this epoch
  to the final test accuracy that any completed trial of the study showed,
  plus the spec's ``prune_margin``, capped at 1;
- every cost: its value with no activity at all (the static profile), since
  measured spikes only add synaptic operations, energy and time.

If, for every pair of objectives, some feasible design point already stored
(trained designs and their variants) is at least as good on both and better
on one, no outcome of this trial can appear on any pair's front: it is
stopped and stored as pruned, with these numbers as its reason. Until
:data:`MIN_EVIDENCE` completed trials have reached the epoch, nothing is stopped.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import hwmodels

from .. import engines
from ..engines import DataShape, Design
from ..spec import StudySpec
from ..store import Store

MIN_EVIDENCE = 3
"""Completed trials that must have reached an epoch before it can stop a trial."""


class ParetoPruner:
    def __init__(self, spec: StudySpec, store: Store) -> None:
        self.spec = spec
        self.store = store
        self.signs = {m: (-1.0 if d == "maximize" else 1.0) for m, d in spec.objectives}
        self.front: list[dict[str, float]] = []
        self.gains: list[tuple[float, ...]] = []
        self.profile: hwmodels.Profile | None = None

    def start(self, design: Design, shape: DataShape) -> None:
        """Read the evidence once per trial: the stored front and the completed trials' curves."""
        self.profile = engines.get(design.engine).static_profile(design, shape)
        name = self.spec.name
        finished = [t for t in self.store.trials(name, states=("complete",)) if t.status == "trained"]
        points = self.store.points(name, variants=True, trials=finished)
        feasible = [p.metrics for p in points if all(m in p.metrics for m in self.signs)
                    and all(c.violation(p.metrics.get(c.metric, float("inf"))) <= 0 for c in self.spec.constraints)]
        self.front = feasible
        final = {p.trial: p.metrics.get("accuracy") for p in points if not p.variant}
        self.gains = [tuple(final[t.number] - v for v in t.curve) for t in finished
                      if t.curve and final.get(t.number) is not None]

    def bound(self, epoch: int, accuracy: float) -> float | None:
        """The optimistic final accuracy, or None without enough evidence at this epoch."""
        seen = [g[epoch] for g in self.gains if len(g) > epoch]
        if len(seen) < MIN_EVIDENCE:
            return None
        return min(1.0, accuracy + max(seen) + self.spec.prune_margin)

    def optimistic(self, bound: float) -> dict[str, float]:
        """Every objective at its best possible value given the accuracy bound."""
        assert self.profile is not None
        metrics = hwmodels.evaluate(replace(self.profile, accuracy=bound), self.spec.hardware_models,
                                    **self.spec.hardware_options)
        metrics.update(accuracy=bound, val_accuracy=bound, train_seconds=0.0, eval_seconds=0.0)
        return metrics

    def verdict(self, epoch: int, accuracy: float) -> str | None:
        """The reason to stop now, or None to go on."""
        bound = self.bound(epoch, accuracy)
        if bound is None:
            return None
        best = self.optimistic(bound)
        point = {m: best[m] for m in self.signs}
        beaten_by = []
        for a, b in itertools.combinations(self.signs, 2) if len(self.signs) > 1 else [tuple(self.signs) * 2]:
            rival = next((q for q in self.front if self._dominates(q, point, (a, b))), None)
            if rival is None:
                return None
            beaten_by.append(f"{a}/{b}")
        shown = ", ".join(f"{m} = {v:.4g}" for m, v in point.items())
        return (f"pareto pruner at epoch {epoch + 1}: validation accuracy {accuracy:.3f}, optimistic test "
                f"accuracy {bound:.3f} (margin {self.spec.prune_margin:g}); the best it could reach ({shown}) "
                f"is dominated on every objective pair ({'; '.join(beaten_by)})")

    def _dominates(self, q: dict[str, float], p: dict[str, float], pair: tuple[str, str]) -> bool:
        qa, qb = (self.signs[m] * q[m] for m in pair)
        pa, pb = (self.signs[m] * p[m] for m in pair)
        return qa <= pa and qb <= pb and (qa < pa or qb < pb)
