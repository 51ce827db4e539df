"""Plotly figures of a :class:`~dse.report.data.ReportData`: one per pair of objectives."""

from __future__ import annotations

import html
from typing import Any

from .data import Front, Point, ReportData
from .tables import fmt

GROUPS = (  # name, which points, colour, symbol, size
    ("other designs", lambda p: p.feasible and not p.pareto, "#9aa5b1", "circle", 8),
    ("breaks a constraint", lambda p: not p.feasible, "#c9c9c9", "x", 8),
    ("Pareto-optimal (all objectives)", lambda p: p.pareto, "#d62728", "circle", 11),
)
LINEAR = ("accuracy", "val_accuracy")
"""Metrics never drawn on a log axis."""


def axis_title(data: ReportData, metric: str) -> str:
    unit = data.units.get(metric)
    direction = dict(data.objectives).get(metric)
    arrow = {"maximize": " (higher is better)", "minimize": " (lower is better)"}.get(direction, "")
    return f"{metric} [{unit}]{arrow}" if unit and unit != "1" else f"{metric}{arrow}"


def hover(data: ReportData, p: Point) -> str:
    lines = [f"<b>trial {html.escape(p.label)}</b>{' — Pareto-optimal' if p.pareto else ''}"]
    if not p.feasible:
        lines.append("<i>breaks a constraint</i>")
    for metric, value in sorted(p.metrics.items()):
        unit = data.units.get(metric, "")
        lines.append(f"{html.escape(metric)}: {fmt(value)} {html.escape(unit) if unit != '1' else ''}")
    lines += [f"<i>{html.escape(k)}</i> = {html.escape(fmt(v))}" for k, v in p.params.items()]
    return "<br>".join(lines)


def figures(data: ReportData) -> list[Any]:
    """One figure per pair of objectives (one history plot for a single objective)."""
    if len(data.objectives) == 1:
        return [_history(data)]
    return [_pair(data, front) for front in data.fronts]


def _history(data: ReportData) -> Any:
    import plotly.graph_objects as go

    metric, _ = data.objectives[0]
    ordered = sorted(data.points, key=lambda p: (p.trial, p.variant))
    fig = go.Figure(go.Scatter(
        x=[p.trial for p in ordered], y=[p.metrics[metric] for p in ordered], mode="markers",
        text=[hover(data, p) for p in ordered], hovertemplate="%{text}<extra></extra>",
        marker=dict(color=["#d62728" if p.pareto else "#1f77b4" for p in ordered], size=9)))
    fig.update_layout(title=f"{metric} per trial", xaxis_title="trial", yaxis_title=axis_title(data, metric),
                      template="plotly_white", height=460)
    return fig


def _pair(data: ReportData, front: Front) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, member, color, symbol, size in GROUPS:
        pts = [p for p in data.points if member(p)]
        if pts:
            fig.add_trace(go.Scatter(
                x=_values(pts, front.x), y=_values(pts, front.y), mode="markers", name=name,
                text=[hover(data, p) for p in pts], hovertemplate="%{text}<extra></extra>",
                marker=dict(color=color, symbol=symbol, size=size, line=dict(width=0.5, color="#333"))))
    by_label = {p.label: p for p in data.points}
    line = [by_label[label] for label in front.labels]
    if line:
        fig.add_trace(go.Scatter(
            x=_values(line, front.x), y=_values(line, front.y), mode="lines", name="front of this pair",
            line=dict(color="#d62728", width=1.5, shape="hv"), hoverinfo="skip"))
    fig.update_layout(title=f"{front.y} vs {front.x}", xaxis_title=axis_title(data, front.x),
                      yaxis_title=axis_title(data, front.y), template="plotly_white", height=480,
                      legend=dict(orientation="h", y=-0.2))
    for metric, update in ((front.x, fig.update_xaxes), (front.y, fig.update_yaxes)):
        if metric not in LINEAR and _spans_decades(data, metric):
            update(type="log")
    return fig


def _values(points: list[Point], metric: str) -> list[float]:
    return [p.metrics[metric] for p in points]


def _spans_decades(data: ReportData, metric: str) -> bool:
    values = [p.metrics[metric] for p in data.points if p.metrics.get(metric, 0) > 0]
    return bool(values) and max(values) / min(values) > 30
