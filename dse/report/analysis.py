"""What the report computes beyond the fronts: the summary, hypervolume over trials and seconds,
the tinySNN selection as mu sweeps (through :func:`dse.select.select`), and the ranks of the
feasible designs under each hardware target. Each returns plain data; :mod:`.charts` draws it."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from ..pareto import hypervolume, nondominated

if TYPE_CHECKING:
    from ..store import Store
    from .data import Point, ReportData

HV_CHECKPOINTS = 120
"""Hypervolume is computed after at most this many trials, evenly spread (and after the last)."""
TARGET = re.compile(r"^(energy_45nm_j|energy_truenorth|energy_spinnaker|energy_(?!45nm|truenorth|spinnaker|loihi)"
                    r"[a-z0-9_-]+_j|latency_[a-z0-9_-]+_s)$")
"""Hardware-target metrics compared: 45 nm, TrueNorth, SpiNNaker, and each GPU board's energy and latency."""
TOP_PER_TARGET = 5


def analyse(store: "Store", data: "ReportData", *, importances: bool = True) -> dict[str, Any]:
    from .importance import importances as param_importances

    return {"summary": summary(data), "provenance": provenance(store, data), "hypervolume": hypervolume_series(data),
            "importances": param_importances(store, data) if importances else {"reason": "not computed"},
            "selection": selection(store, data), "targets": targets(data)}


def summary(data: "ReportData") -> dict[str, Any]:
    """Status counts, the commonest failure reasons, training seconds, the best value of each objective."""
    statuses = Counter(t.status for t in data.trials)
    reasons = Counter(t.note for t in data.trials if t.status == "failed" and t.note).most_common(3)
    pruned = Counter(t.note for t in data.trials if t.status == "pruned" and t.note).most_common(3)
    return {"statuses": {s: statuses.get(s, 0) for s in ("trained", "rejected", "reused", "pruned", "failed",
                                                          "running")},
            "fail_reasons": reasons, "pruned_reasons": pruned, "train_seconds": sum(train_seconds(data).values()),
            "best": best_values(data), "engines": engines(data), "variants": sum(p.status == "variant" for p in data.points)}


def provenance(store: "Store", data: "ReportData") -> dict[str, Any]:
    """Which cost models (and versions) produced the metrics: as trained, then each ``dse rescore``."""
    import hwmodels

    return {"trained_with": list(data.spec.hardware_models), "hwmodels": hwmodels.__version__,
            "rescores": store.rescores(data.study_name)}


def best_values(data: "ReportData") -> dict[str, tuple[float, str]]:
    """``{objective: (best value, design)}`` over the feasible design points."""
    feasible = [p for p in data.points if p.feasible]
    best = {}
    for metric, direction in data.objectives if feasible else ():
        pick = (max if direction == "maximize" else min)(feasible, key=lambda p: p.metrics[metric])
        best[metric] = (pick.metrics[metric], pick.label)
    return best


def engines(data: "ReportData") -> list[str]:
    found = sorted({str(p.params["engine"]) for p in data.points if "engine" in p.params})
    return found or [e for e in [data.spec.engine] if e]


def train_seconds(data: "ReportData") -> dict[int, float]:
    """Seconds each trial spent training: the engine's train_seconds, else the trial's duration
    (rejected and reused trials trained nothing)."""
    measured = {p.trial: p.metrics["train_seconds"] for p in data.points
                if not p.variant and "train_seconds" in p.metrics}
    return {t.number: measured.get(t.number, t.duration_s or 0.0) for t in data.trials
            if t.status in ("trained", "pruned", "failed")}


def reference_point(data: "ReportData") -> tuple[list[float], str]:
    feasible = [p for p in data.points if p.feasible]
    worst = [(min if d == "maximize" else max)(p.metrics[m] for p in feasible) for m, d in data.objectives]
    return worst, ("the worst value of each objective among the feasible design points "
                   "(the spec sets no reference point)")


def hypervolume_series(data: "ReportData") -> dict[str, Any]:
    """Hypervolume of the feasible points of the trials up to each checkpoint, over trial number
    and over cumulative training seconds."""
    feasible = [p for p in data.points if p.feasible]
    if len(feasible) < 2:
        return {"reason": "fewer than two feasible design points"}
    names, directions = [m for m, _ in data.objectives], [d for _, d in data.objectives]
    reference, how = reference_point(data)
    seconds = train_seconds(data)
    numbers = sorted({t.number for t in data.trials})
    step = max(1, len(numbers) // HV_CHECKPOINTS)
    marks = sorted(set(numbers[step - 1::step]) | {numbers[-1]})
    by_trial: dict[int, list[list[float]]] = {}
    for p in feasible:
        by_trial.setdefault(p.trial, []).append([p.metrics[m] for m in names])
    front = np.zeros((0, len(names)))
    series, done, spent = [], 0, 0.0
    for mark in marks:
        new = [v for n in numbers[done:numbers.index(mark) + 1] for v in by_trial.get(n, [])]
        spent += sum(seconds.get(n, 0.0) for n in numbers[done:numbers.index(mark) + 1])
        done = numbers.index(mark) + 1
        if new:
            front = np.vstack([front, new])
            front = front[nondominated(front, directions)]
        series.append((mark, spent, hypervolume(front, directions, reference) if len(front) else 0.0))
    return {"reference": dict(zip(names, reference)), "how": how, "series": series}


def selection(store: "Store", data: "ReportData") -> dict[str, Any]:
    """The tinySNN reward of the design `dse select` picks as mu sweeps from 0 to where the choice
    stops changing, with the mu at which each choice starts."""
    from ..select import select

    if not any("memory_bits" in p.metrics for p in data.points):
        return {"reason": "the study has no memory_bits metric (the memory model)"}
    mus = sorted(set(np.round(np.r_[np.linspace(0, 2, 81), np.geomspace(2, 1000, 40)], 6).tolist()))
    try:
        frame = select(data.study_name, store, mus, variants=True)
    except Exception as exc:  # noqa: BLE001: a study the selection cannot read is said, not fatal
        return {"reason": f"the selection could not run: {exc}"}
    if frame.empty:
        return {"reason": "no trained design has a stored accuracy"}
    labels = [f"{t} ({v})" if v else str(t) for t, v in zip(frame["trial"], frame["variant"])]
    changes = [i for i in range(len(labels)) if i == 0 or labels[i] != labels[i - 1]]
    bound = float(max(2.0, 1.25 * frame["mu"].iloc[changes[-1]])) if len(changes) > 1 else 2.0
    keep = frame["mu"] <= bound
    return {"mu": frame["mu"][keep].tolist(), "reward": frame["reward"][keep].tolist(),
            "labels": [lab for lab, k in zip(labels, keep) if k], "changes": [i for i in changes if keep.iloc[i]],
            "accuracy": frame["accuracy"][keep].tolist(), "memory_ratio": frame["memory_ratio"][keep].tolist(),
            "bound": bound}


def targets(data: "ReportData") -> dict[str, Any]:
    """Rank (1 = lowest) of each feasible design under each hardware target's energy and latency,
    for the designs in the top few under any target."""
    feasible = [p for p in data.points if p.feasible]
    metrics = target_metrics(feasible)
    if not feasible or not metrics:
        return {"reason": "the study has no hardware-target energy or latency metric for its feasible designs"}
    values = np.array([[p.metrics[m] for m in metrics] for p in feasible])
    ranks = values.argsort(0).argsort(0) + 1
    top = np.unique(np.argsort(values, axis=0)[:TOP_PER_TARGET].ravel())
    shown = sorted(top.tolist(), key=lambda i: ranks[i].mean())
    best = [feasible[int(np.argmin(values[:, j]))].label for j in range(len(metrics))]
    return {"metrics": metrics, "labels": [feasible[i].label for i in shown],
            "ranks": [[int(r) for r in ranks[i]] for i in shown], "best": best, "n": len(feasible)}


def target_metrics(points: list["Point"]) -> list[str]:
    """The hardware-target metrics every one of `points` has, 45 nm, TrueNorth, SpiNNaker first."""
    metrics = sorted({m for p in points for m in p.metrics if TARGET.match(m)}, key=_target_order)
    return [m for m in metrics if all(m in p.metrics for p in points)]


def _target_order(metric: str) -> tuple[int, str]:
    order = ("energy_45nm_j", "energy_truenorth", "energy_spinnaker")
    return (order.index(metric), "") if metric in order else (len(order) + metric.startswith("latency"), metric)


def key_params(data: "ReportData", point: "Point", limit: int = 4) -> list[tuple[str, Any]]:
    """The design's searched parameters (the spec's space first), at most `limit`."""
    keys = [k for k in data.spec.space if k in point.params] or list(point.params)
    return [(k, point.params[k]) for k in keys[:limit]]
