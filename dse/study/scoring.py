"""From a trained outcome to what is stored and what Optuna is told."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import hwmodels

from ..engines import Budget, Design, TrialOutcome
from ..engines._base import TRAIN_KEYS
from ..spec import StudySpec
from ..store import MetricRow
from ..store import names as n
from .variants import lineage_params


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


def score_outcome(spec: StudySpec, units: dict[str, tuple[str, str]], outcome: TrialOutcome,
                  design: Design) -> Scored:
    """Every metric of the outcome, its profiles and metric rows by variant, and the objective values."""
    extra = {"val_accuracy": outcome.val_accuracy if outcome.val_accuracy is not None else math.nan,
             "train_seconds": outcome.train_seconds, "eval_seconds": outcome.eval_seconds}
    metrics = score(spec, outcome.profile, extra)
    profiles = {n.TRAINED: outcome.profile, **{v.name: v.profile for v in outcome.variants}}
    rows = {n.TRAINED: metric_rows(metrics, units)}
    rows.update({v.name: metric_rows(score(spec, v.profile, {}), units) for v in outcome.variants})
    lineage = {v.name: ("variant", n.TRAINED, lineage_params(v, design)) for v in outcome.variants}
    if outcome.training_profile is not None:
        training = hwmodels.evaluate(outcome.training_profile, spec.hardware_models, **spec.hardware_options)
        profiles[n.TRAINING] = outcome.training_profile
        rows[n.TRAINING] = metric_rows(training, units)
        metrics.update({f"{n.TRAINING_PREFIX}{m}": v for m, v in training.items()})
    values = [metrics[m] for m in spec.metric_names]
    if not all(math.isfinite(v) for v in values):
        raise RuntimeError(f"objective values are not finite: {dict(zip(spec.metric_names, values))}")
    return Scored(metrics, profiles, rows, lineage, values)
