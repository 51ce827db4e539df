"""One trial: sample a Design, check it, reject it before training if it must, train, score, store.

A design whose shape-only metrics already break a constraint is rejected
without training. Otherwise the engine trains it, every configured cost model
scores the measured Profile, the profiles and metrics of every design point
are stored in one transaction, and Optuna gets the objective values. A trial
that raises or diverges fails alone, its reason stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import hwmodels
import optuna

from .. import engines
from ..data import Dataset
from ..engines import Budget, DataShape, TrialOutcome
from ..engines._base import TRAIN_KEYS
from ..interrupt import Interrupt
from ..progress import Progress
from ..space import suggest
from ..spec import StudySpec
from ..store import MetricRow, Store
from ..store import names as n
from .feasibility import broken, static_metrics
from .variants import lineage_params, requests


def trial_seed(spec: StudySpec, number: int) -> int:
    return (spec.seed * 1_000_003 + number) % (2**31 - 1)


def budget(spec: StudySpec, *, device: str = "cpu", seed: int = 0,
           variants: tuple[dict[str, Any], ...] = ()) -> Budget:
    """How to train one trial: the spec's [train] table plus run-time choices."""
    common = {k: v for k, v in spec.train.items() if k in TRAIN_KEYS and k != "eval_timesteps"}
    extra = {k: v for k, v in spec.train.items() if k not in TRAIN_KEYS}
    common["max_train_samples"] = common.get("max_train_samples") or None
    return Budget(**common, device=device, seed=seed, extra=extra, variants=variants)


def metric_rows(metrics: dict[str, float], units: dict[str, tuple[str, str]]) -> list[MetricRow]:
    return [MetricRow(m, units[m][0], v, units[m][1]) for m, v in metrics.items() if m in units]


def score(spec: StudySpec, profile: hwmodels.Profile, extra: dict[str, float]) -> dict[str, float]:
    """Engine metrics plus every cost model's metrics for a profile."""
    metrics = dict(extra)
    metrics["accuracy"] = profile.accuracy if profile.accuracy is not None else math.nan
    metrics.update(hwmodels.evaluate(profile, spec.hardware_models, **spec.hardware_options))
    return metrics


@dataclass
class Scored:
    """A trained outcome, scored: what the trial stores and what Optuna gets."""

    metrics: dict[str, float]
    profiles: dict[str, hwmodels.Profile]
    rows: dict[str, list[MetricRow]]
    lineage: dict[str, tuple[str, str | None, dict[str, Any]]]
    values: list[float]


@dataclass
class Objective:
    spec: StudySpec
    data: Dataset
    store: Store
    device: str
    progress: Progress
    current: int | None = None
    """Number of the trial this process is running, if any."""
    interrupt: Interrupt = field(default_factory=Interrupt)

    def __post_init__(self) -> None:
        self.units = self.spec.metric_units()
        self.shape = DataShape(self.data.shape, self.data.n_classes)
        self.early = self.spec.static_constraints()

    def __call__(self, trial: optuna.Trial) -> list[float]:
        self.current = trial.number
        spec = self.spec
        try:
            design = suggest(trial, spec)
            engine = engines.get(design.engine)
            # everything the trial trains with, defaults included: reproducible from the database
            trial.set_user_attr(n.DESIGN_ATTR, {"engine": design.engine, **{
                k: list(v) if isinstance(v, tuple) else v for k, v in design.params().items()}})
            self.progress.start_trial(trial.number, spec.train["epochs"])
            engine.validate(design)
            self._reject_early(trial, design)
            plan = budget(spec, device=self.device, seed=trial_seed(spec, trial.number),
                          variants=requests(spec.variants, design, engine))
            with self.interrupt.training():
                outcome = engine.run(design, self.data, plan, self._reporter(trial))
            scored = self._score(outcome, design)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr(n.FAIL_ATTR, f"{exc.__class__.__name__}: {exc}")
            raise
        self.store.write_trial(spec.name, trial.number, design.engine, scored.profiles, scored.rows,
                               scored.lineage)
        attrs = {m: v for m, v in scored.metrics.items() if math.isfinite(v)}
        attrs.update({f"{n.EXTRA_PREFIX}{k}": v for k, v in outcome.extras.items()})
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        for constraint in spec.constraints:
            trial.set_constraint(constraint.metric, constraint.violation(scored.metrics[constraint.metric]))
        return scored.values

    def _reject_early(self, trial: optuna.Trial, design: engines.Design) -> None:
        if not self.early:
            return
        metrics = static_metrics(self.spec, design, self.shape)
        bad = broken(self.early, metrics)
        if bad:
            reason = "; ".join(f"{c.metric} = {metrics[c.metric]:g} breaks {c.describe()}" for c in bad)
            trial.set_user_attr(n.REJECTED_ATTR, f"rejected before training: {reason}")
            raise optuna.TrialPruned(reason)

    def _score(self, outcome: TrialOutcome, design: engines.Design) -> Scored:
        """Every metric of the outcome, its profiles and metric rows by variant, and the objective values."""
        spec = self.spec
        extra = {"val_accuracy": outcome.val_accuracy if outcome.val_accuracy is not None else math.nan,
                 "train_seconds": outcome.train_seconds, "eval_seconds": outcome.eval_seconds}
        metrics = score(spec, outcome.profile, extra)
        profiles = {n.TRAINED: outcome.profile, **{v.name: v.profile for v in outcome.variants}}
        rows = {n.TRAINED: metric_rows(metrics, self.units)}
        rows.update({v.name: metric_rows(score(spec, v.profile, {}), self.units) for v in outcome.variants})
        lineage = {v.name: ("variant", n.TRAINED, lineage_params(v, design)) for v in outcome.variants}
        if outcome.training_profile is not None:
            training = hwmodels.evaluate(outcome.training_profile, spec.hardware_models, **spec.hardware_options)
            profiles[n.TRAINING] = outcome.training_profile
            rows[n.TRAINING] = metric_rows(training, self.units)
            metrics.update({f"{n.TRAINING_PREFIX}{m}": v for m, v in training.items()})
        values = [metrics[m] for m in spec.metric_names]
        if not all(math.isfinite(v) for v in values):
            raise RuntimeError(f"objective values are not finite: {dict(zip(spec.metric_names, values))}")
        return Scored(metrics, profiles, rows, lineage, values)

    def _reporter(self, trial: optuna.Trial) -> Callable[[int, float], None]:
        single = len(self.spec.objectives) == 1

        def report(step: int, accuracy: float) -> None:
            self.progress.epoch(step, accuracy)
            if single:
                with self.interrupt.bookkeeping():  # writes to the storage: not to be cut half-way
                    trial.report(accuracy, step)
                    prune = trial.should_prune()
                if prune:
                    raise optuna.TrialPruned(f"pruned at epoch {step + 1} (validation accuracy {accuracy:.3f})")

        return report
