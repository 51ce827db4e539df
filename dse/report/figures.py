"""Plotly figures of the fronts, as plain dicts (``{"id", "data", "layout"}``) drawn by the page's
script: the front of every pair of objectives, a 3-D front for three, parallel coordinates of all
objectives and parameters. Every trace's ``customdata`` is the index of its point in the page's
data block (:func:`dse.report.tables.client_data`), so brushing, the show/hide control and a click
reach the same design. Past :data:`GL_FROM` points the scatter plots use WebGL."""

from __future__ import annotations

import html
from typing import Any

from .analysis import key_params
from .data import Front, Point, ReportData
from .tables import fmt

GROUPS = (  # name, which points, colour, symbol, size, opacity
    ("breaks a constraint", lambda p: not p.feasible and p.status != "rejected", "#b0b0b0", "x", 7, 0.6),
    ("rejected before training (static costs)", lambda p: p.status == "rejected", "#e0a030", "x-thin-open", 7, 0.7),
    ("dominated", lambda p: p.feasible and not p.pareto, "#7f8fa6", "circle", 7, 0.55),
    ("Pareto-optimal (all objectives)", lambda p: p.pareto, "#d62728", "circle", 10, 1.0),
)
LINEAR = ("accuracy", "val_accuracy")
"""Metrics never drawn on a log axis."""
GL_FROM = 1000
LAYOUT = {"template": "plotly_white", "margin": {"l": 70, "r": 20, "t": 50, "b": 60}}


def axis_title(data: ReportData, metric: str) -> str:
    unit = data.units.get(metric)
    direction = dict(data.objectives).get(metric)
    arrow = {"maximize": " (higher is better)", "minimize": " (lower is better)"}.get(direction, "")
    text = f"{metric} [{unit}]{arrow}" if unit and unit != "1" else f"{metric}{arrow}"
    return html.escape(text)


def hover(data: ReportData, p: Point) -> str:
    """A short label: the design, its objectives and key parameters (a click shows the full record)."""
    head = f"<b>{html.escape(p.label)}</b>" + (" · Pareto-optimal" if p.pareto else "") + \
        (" · rejected" if p.status == "rejected" else " · breaks a constraint" if not p.feasible else "")
    values = " · ".join(f"{html.escape(m)} {fmt(p.metrics[m])}" for m, _ in data.objectives if m in p.metrics)
    params = " ".join(f"{html.escape(k)}={html.escape(fmt(v))}" for k, v in key_params(data, p))
    return "<br>".join(x for x in (head, values, params) if x)


def figures(data: ReportData) -> list[dict[str, Any]]:
    """The front figures: one per pair of objectives (one history plot for a single objective),
    a 3-D front for three objectives, parallel coordinates whenever there are points."""
    index = {(p.trial, p.variant, p.status): i for i, p in enumerate(data.everything)}
    if len(data.objectives) == 1:
        out = [_history(data, index)]
    else:
        out = [_pair(data, front, index, f"front-{i}") for i, front in enumerate(data.fronts)]
    if len(data.objectives) == 3 and data.points:
        out.append(_front_3d(data, index))
    if data.points:
        out.append(parcoords(data))
    return out


def _kind(data: ReportData) -> str:
    return "scattergl" if len(data.everything) >= GL_FROM else "scatter"


def _history(data: ReportData, index: dict) -> dict[str, Any]:
    metric, _ = data.objectives[0]
    traces = []
    for name, member, color, symbol, size, opacity in GROUPS:
        pts = sorted((p for p in data.everything if member(p) and metric in p.metrics), key=lambda p: p.trial)
        if pts:
            traces.append(_trace(data, _kind(data), name, pts, index, "trial", metric, color, symbol, size, opacity))
    layout = {**LAYOUT, "title": {"text": html.escape(f"{metric} per trial")}, "xaxis": {"title": {"text": "trial"}},
              "yaxis": {"title": {"text": axis_title(data, metric)}}, "height": 460}
    return {"id": "front-0", "data": traces, "layout": layout, "kind": "scatter"}


def _trace(data, kind, name, pts, index, x, y, color, symbol, size, opacity, z=None) -> dict[str, Any]:
    def values(metric: str) -> list[float]:
        return [p.trial if metric == "trial" else p.metrics[metric] for p in pts]

    trace = {"type": kind, "mode": "markers", "name": name, "x": values(x), "y": values(y),
             "customdata": [index[(p.trial, p.variant, p.status)] for p in pts],
             "text": [hover(data, p) for p in pts], "hovertemplate": "%{text}<extra></extra>",
             "marker": {"color": color, "symbol": symbol, "size": size, "opacity": opacity,
                        "line": {"width": 0.5, "color": "#333"}}}
    if kind == "scattergl" and size < 10:  # thousands of points: small and translucent, so density shows
        trace["marker"] = {**trace["marker"], "size": 4, "opacity": round(opacity * 0.6, 2), "line": {"width": 0}}
    if z is not None:
        trace["z"] = values(z)
        trace["marker"] = {**trace["marker"], "size": max(3, size - 4), "symbol": "circle"}
    return trace


def _pair(data: ReportData, front: Front, index: dict, fid: str) -> dict[str, Any]:
    traces = []
    for name, member, color, symbol, size, opacity in GROUPS:
        pts = [p for p in data.everything if member(p) and front.x in p.metrics and front.y in p.metrics]
        if pts:
            traces.append(_trace(data, _kind(data), name, pts, index, front.x, front.y, color, symbol, size, opacity))
    traces += _staircase(data, front)
    layout = {**LAYOUT, "title": {"text": html.escape(f"{front.y} vs {front.x}")}, "height": 480,
              "legend": {"orientation": "h", "y": -0.22}, "hovermode": "closest",
              "xaxis": {"title": {"text": axis_title(data, front.x)}},
              "yaxis": {"title": {"text": axis_title(data, front.y)}}}
    for metric, axis in ((front.x, "xaxis"), (front.y, "yaxis")):
        if metric not in LINEAR and _spans_decades(data, metric):
            layout[axis]["type"] = "log"
    return {"id": fid, "data": traces, "layout": layout, "kind": "scatter"}


def _staircase(data: ReportData, front: Front) -> list[dict[str, Any]]:
    """The pair's own front as a line (none where it is empty)."""
    by_label = {p.label: p for p in data.points}
    line = [by_label[label] for label in front.labels if label in by_label]
    if not line:
        return []
    return [{"type": _kind(data), "mode": "lines", "name": "front of this pair", "hoverinfo": "skip",
             "x": [p.metrics[front.x] for p in line], "y": [p.metrics[front.y] for p in line],
             "line": {"color": "#d62728", "width": 1.5, "shape": "hv"}}]


def _front_3d(data: ReportData, index: dict) -> dict[str, Any]:
    (x, _), (y, _), (z, _) = data.objectives
    traces = []
    for name, member, color, symbol, size, opacity in GROUPS:
        pts = [p for p in data.points if member(p)]
        if pts:
            traces.append(_trace(data, "scatter3d", name, pts, index, x, y, color, symbol, size, opacity, z=z))
    scene = {axis: {"title": {"text": html.escape(metric)}, **({"type": "log"} if metric not in LINEAR
                                                  and _spans_decades(data, metric) else {})}
             for axis, metric in (("xaxis", x), ("yaxis", y), ("zaxis", z))}
    layout = {**LAYOUT, "title": {"text": html.escape(f"3-D front: {x}, {y}, {z}")}, "height": 620, "scene": scene,
              "legend": {"orientation": "h", "y": -0.05}}
    return {"id": "front-3d", "data": traces, "layout": layout, "kind": "scatter3d"}


def parcoords(data: ReportData) -> dict[str, Any]:
    """One line per measured design point (the first ``len(data.points)`` indices), one axis per
    objective and parameter; lists and strings become categories."""
    dims = [{"label": html.escape(m), "values": [p.metrics[m] for p in data.points]} for m, _ in data.objectives]
    params = list(dict.fromkeys(k for p in data.points for k in p.params))
    dims += [d for d in (_param_axis(key, [p.params.get(key) for p in data.points]) for key in params) if d]
    first, direction = data.objectives[0]
    trace = {"type": "parcoords", "dimensions": dims,
             "line": {"color": dims[0]["values"], "colorscale": "Viridis", "showscale": True,
                      "reversescale": direction == "minimize", "colorbar": {"title": {"text": html.escape(first)}}}}
    layout = {**LAYOUT, "title": {"text": "All objectives and parameters (drag along an axis to filter)"},
              "height": 460, "margin": {"l": 60, "r": 60, "t": 90, "b": 30}}
    return {"id": "parcoords", "data": [trace], "layout": layout, "kind": "parcoords"}


def _param_axis(key: str, raw: list[Any]) -> dict[str, Any] | None:
    """A parameter's parallel axis: numbers as they are, anything else as categories; None where it
    does not vary (or has too many categories to read)."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        return {"label": html.escape(key), "values": raw} if len(set(raw)) > 1 else None
    cats = sorted({fmt(v) for v in raw}, key=_natural)
    if not 1 < len(cats) <= 60:
        return None
    code = {c: i for i, c in enumerate(cats)}
    return {"label": html.escape(key), "values": [code[fmt(v)] for v in raw], "tickvals": list(range(len(cats))),
            "ticktext": [html.escape(c) for c in cats]}


def _natural(text: str) -> tuple:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def _spans_decades(data: ReportData, metric: str) -> bool:
    values = [p.metrics[metric] for p in data.everything if p.metrics.get(metric, 0) > 0]
    return bool(values) and max(values) / min(values) > 30
