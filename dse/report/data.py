"""The report's data, computed once from the store's typed records; figures and HTML only draw it."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

import hwmodels

from ..store import PointRecord, Store, StoredSpec, TrialRecord
from ..pareto import nondominated

MEASURED = ("trained", "variant")
"""Design points whose every metric was measured (a reused trial repeats another's)."""


@dataclass(frozen=True)
class Point:
    """One design point as the report shows it."""

    trial: int
    variant: str
    metrics: dict[str, float]
    params: dict[str, Any]
    feasible: bool
    pareto: bool = False
    status: str = "trained"
    """trained, variant, or rejected (before training: its static costs only)."""
    parent: str = ""
    """The label of the design point a variant derives from ("" for a trained design)."""

    @property
    def label(self) -> str:
        return f"{self.trial} ({self.variant})" if self.variant else str(self.trial)


@dataclass(frozen=True)
class Front:
    x: str
    y: str
    labels: tuple[str, ...]
    """The pair's Pareto-optimal points, sorted by x."""


@dataclass(frozen=True)
class ReportData:
    study_name: str
    objectives: tuple[tuple[str, str], ...]
    units: dict[str, str]
    points: tuple[Point, ...]
    fronts: tuple[Front, ...]
    counts: dict[str, int]
    spec: StoredSpec = field(default_factory=StoredSpec)
    layers: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    """Per-layer breakdown of the Pareto-optimal points, by label."""
    rejected: tuple[Point, ...] = ()
    """Designs rejected before training, with the static costs they were rejected on."""
    trials: tuple[TrialRecord, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    """What :mod:`.analysis` computed: summary, hypervolume, importances, selection, targets."""

    @property
    def pareto(self) -> list[Point]:
        return [p for p in self.points if p.pareto]

    @property
    def everything(self) -> tuple[Point, ...]:
        """Every point the report draws: the measured ones, then the rejected designs."""
        return self.points + self.rejected


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _point(record: PointRecord, spec: StoredSpec, timesteps: int | None) -> Point:
    metrics = {k: float(v) for k, v in record.metrics.items() if _finite(v)}
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in record.params.items()}
    if not _finite(params.get("timesteps")) and timesteps is not None:
        params["timesteps"] = timesteps  # an engine that derives it (TTFS: layers x window)
    rejected = record.status == "rejected"
    return Point(record.trial, record.variant, metrics, params, not rejected and spec.satisfies(metrics),
                 status=record.status, parent=record.parent_label if record.status == "variant" else "")


def build(store: Store, study_name: str, *, importances: bool = True) -> ReportData:
    """Everything the report shows, read once (`importances=False` skips loading the Optuna study)."""
    from .analysis import analyse

    spec = store.stored_spec(study_name)
    objectives = spec.objective_pairs
    trials = store.trials(study_name)
    records = store.points(study_name, variants=True, trials=[t for t in trials if t.state == "complete"])
    measured = _measured(records, [m for m, _ in objectives])
    missing = [r.key for r in measured if not _finite(r.params.get("timesteps"))]
    steps = {k: p.timesteps for k, p in store.profiles(study_name, missing).items()} if missing else {}
    points = _mark_pareto([_point(r, spec, steps.get(r.key)) for r in measured], objectives)
    rejected = tuple(_point(r, spec, None) for r in records if r.status == "rejected")
    fronts = tuple(_pair_front(points, a, b) for a, b in itertools.combinations(objectives, 2))
    units = {m: unit for m, (_, unit) in store.metric_units(study_name).items()}
    layers = _layer_breakdown(store, study_name, [p for p in points if p.pareto], spec)
    data = ReportData(study_name, objectives, units, tuple(points), fronts, store.state_counts(study_name),
                      spec, layers, rejected, tuple(trials))
    return replace(data, extras=analyse(store, data, importances=importances))


def _measured(records: list[PointRecord], names: list[str]) -> list[PointRecord]:
    """Design points measured with every objective: trained designs and variants, not a duplicate
    served from another trial, not a variant lacking an objective."""
    return [r for r in records if r.status in MEASURED and all(_finite(r.metrics.get(m)) for m in names)]


def _mark_pareto(points: list[Point], objectives: tuple[tuple[str, str], ...]) -> list[Point]:
    feasible = [p for p in points if p.feasible]
    mask = nondominated(np.array([[p.metrics[m] for m, _ in objectives] for p in feasible]),
                        [d for _, d in objectives])
    optimal = {(p.trial, p.variant) for p, keep in zip(feasible, mask) if keep}
    return [replace(p, pareto=(p.trial, p.variant) in optimal) for p in points]


def _pair_front(points: list[Point], a: tuple[str, str], b: tuple[str, str]) -> Front:
    (x, dx), (y, dy) = a, b
    if dx == "maximize" and dy == "minimize":  # cost on x, what is maximised (accuracy) on y
        (x, dx), (y, dy) = (y, dy), (x, dx)
    candidates = [p for p in points if p.feasible]
    mask = nondominated(np.array([[p.metrics[x], p.metrics[y]] for p in candidates]), [dx, dy])
    front = sorted((p for p, keep in zip(candidates, mask) if keep), key=lambda p: p.metrics[x])
    return Front(x, y, tuple(p.label for p in front))


def _layer_breakdown(store: Store, study_name: str, points: list[Point],
                     spec: StoredSpec) -> dict[str, dict[str, dict[str, float]]]:
    wanted = {(p.trial, p.variant): p.label for p in points}
    models = list(spec.hardware_models) or None
    out = {}
    for key, profile in store.profiles(study_name, wanted).items():
        try:
            out[wanted[key]] = hwmodels.breakdown(profile, models, **spec.hardware_options)
        except ValueError:
            out[wanted[key]] = hwmodels.breakdown(profile)  # a model no longer installed
    return out
