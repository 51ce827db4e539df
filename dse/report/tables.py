"""The report's tables: Pareto-optimal designs, all design points, per-layer breakdowns."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .data import Point, ReportData

TABLE_METRICS = ("accuracy", "memory_bits", "bit_synops", "energy_45nm_j", "spikes_per_sample",
                 "energy_truenorth", "energy_spinnaker")
"""Metrics shown in the tables beside the objectives, where the study has them."""
LAYER_METRICS = ("memory_bits", "synops", "bit_synops", "macs", "energy_45nm_j", "spikes_per_sample")


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            return f"{value:.4g}"
        return f"{value:.3e}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def points_table(data: ReportData, points: list[Point]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of `points`, sorted by the first objective."""
    names = [m for m, _ in data.objectives]
    first, direction = data.objectives[0]
    points = sorted(points, key=lambda p: p.metrics[first], reverse=direction == "maximize")
    extra = [m for m in TABLE_METRICS if m not in names and any(m in p.metrics for p in points)]
    params = list(dict.fromkeys(k for p in points for k in p.params))
    header = ["trial", *names, *extra, *params]
    rows = [[p.label, *(p.metrics[m] for m in names), *(p.metrics.get(m, "") for m in extra),
             *(p.params.get(k, "") for k in params)] for p in points]
    return header, rows


def pareto_table(data: ReportData) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the Pareto-optimal points, sorted by the first objective."""
    return points_table(data, data.pareto)


def pareto_frame(data: ReportData) -> pd.DataFrame:
    header, rows = pareto_table(data)
    return pd.DataFrame(rows, columns=header)


def to_html(header: list[str], rows: list[list[Any]]) -> str:
    """An HTML table, every cell formatted and escaped by pandas."""
    frame = pd.DataFrame([[fmt(c) for c in row] for row in rows], columns=header)
    table = frame.to_html(index=False, escape=True, border=0)
    return f'<div class="scroll">{table}</div>'


def layer_tables(data: ReportData) -> list[tuple[str, str]]:
    """(label, HTML table) of each Pareto-optimal design's per-layer costs."""
    out = []
    for label, layers in data.layers.items():
        metrics = [m for m in LAYER_METRICS if any(m in v for v in layers.values())]
        rows = [[name, *(values.get(m, "") for m in metrics)] for name, values in layers.items()]
        out.append((label, to_html(["layer", *metrics], rows)))
    return out


def client_data(data: ReportData) -> dict[str, Any]:
    """Every point the page draws, for its script (tables, side panel, filters): ``cols`` and one
    row per point in :attr:`ReportData.everything` order (the figures' ``customdata``)."""
    points = data.everything
    names = [m for m, _ in data.objectives]
    metrics = names + sorted({m for p in points for m in p.metrics} - set(names))
    params = list(dict.fromkeys(k for p in points for k in p.params))
    head = ["design", "trial", "variant", "status", "parent", "pareto", "feasible", "twin"]
    twin = twins(data)
    rows = [[p.label, p.trial, p.variant, p.status, p.parent, p.pareto, p.feasible, twin.get(p.label, ""),
             *(_cell(p.metrics.get(m)) for m in metrics), *(_cell(p.params.get(k)) for k in params)] for p in points]
    return {"cols": head + metrics + params, "n_head": len(head), "n_metrics": len(metrics), "twins": bool(twin),
            "objectives": names, "table_metrics": [m for m in TABLE_METRICS if m in metrics and m not in names],
            "space": [k for k in data.spec.space if k in params], "units": data.units, "rows": rows,
            "first_max": bool(data.objectives) and data.objectives[0][1] == "maximize"}


def twins(data: ReportData) -> dict[str, str]:
    """A one-shot study's predicted and real accuracy side by side: by label, "inherited" (and its
    retrained twin's accuracy), or "retrain of N" with the accuracy its inherited twin predicted."""
    accuracy = {p.trial: p.metrics.get("accuracy") for p in data.points if not p.variant}
    retrained = {t.retrain_of: t.number for t in data.trials if t.retrain_of is not None}
    out = {}
    for t in data.trials:
        if t.inherited is not None:
            real = accuracy.get(retrained.get(t.number))
            out[str(t.number)] = "inherited" + (f"; retrained #{retrained[t.number]}: {real:.4g}" if real is not None else "")
        elif t.retrain_of is not None and accuracy.get(t.retrain_of) is not None:
            out[str(t.number)] = f"retrain of #{t.retrain_of}: predicted {accuracy[t.retrain_of]:.4g}"
    return out


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return fmt(value)
