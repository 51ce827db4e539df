"""Plotly figures (plain dicts, like :mod:`.figures`) of what :mod:`.analysis` computed:
hypervolume over trials and seconds, parameter importances, the tinySNN selection as mu sweeps,
and the ranks of the feasible designs under each hardware target."""

from __future__ import annotations

import html
from typing import Any

from .data import ReportData
from .figures import LAYOUT


def charts(data: ReportData) -> dict[str, dict[str, Any] | None]:
    """``{section: figure or None}`` (None: the section says why there is nothing to draw)."""
    extras = data.extras
    return {"hypervolume": _hypervolume(extras.get("hypervolume", {})),
            "importance": _importances(extras.get("importances", {})),
            "selection": _selection(extras.get("selection", {})),
            "targets": _targets(extras.get("targets", {}))}


def _hypervolume(hv: dict[str, Any]) -> dict[str, Any] | None:
    if "series" not in hv:
        return None
    trials, seconds, volume = zip(*hv["series"])
    line = {"mode": "lines+markers", "line": {"shape": "hv", "color": "#1f77b4"}, "marker": {"size": 4},
            "y": list(volume), "showlegend": False}
    data = [{"type": "scatter", **line, "x": list(trials), "hovertemplate": "after trial %{x}: %{y:.4g}<extra></extra>"},
            {"type": "scatter", **line, "x": list(seconds), "xaxis": "x2", "yaxis": "y2",
             "hovertemplate": "after %{x:.0f} s of training: %{y:.4g}<extra></extra>"}]
    layout = {**LAYOUT, "height": 380, "title": {"text": "Hypervolume of the feasible front"},
              "xaxis": {"domain": [0, 0.46], "title": {"text": "trial"}},
              "yaxis": {"title": {"text": "hypervolume"}, "rangemode": "tozero"},
              "xaxis2": {"domain": [0.54, 1], "title": {"text": "training seconds (cumulative)"}, "anchor": "y2"},
              "yaxis2": {"anchor": "x2", "rangemode": "tozero"}}
    return {"id": "chart-hypervolume", "data": data, "layout": layout, "kind": "chart"}


def _importances(imp: dict[str, Any]) -> dict[str, Any] | None:
    by = imp.get("by_objective") or {}
    if not by:
        return None
    params = sorted({k for v in by.values() for k in v}, key=lambda k: -max(v.get(k, 0) for v in by.values()))
    data = [{"type": "bar", "orientation": "h", "name": html.escape(metric), "y": [html.escape(k) for k in params],
             "x": [values.get(k, 0.0) for k in params], "hovertemplate": "%{y}: %{x:.3f}<extra>%{fullData.name}</extra>"}
            for metric, values in by.items()]
    layout = {**LAYOUT, "barmode": "group", "height": max(300, 60 + 28 * len(params) * max(1, len(by)) // 2),
              "title": {"text": "Parameter importance for each objective"},
              "xaxis": {"title": {"text": "importance (normalised to sum 1 per objective)"}},
              "yaxis": {"autorange": "reversed"}, "legend": {"orientation": "h", "y": -0.2}}
    return {"id": "chart-importance", "data": data, "layout": layout, "kind": "chart"}


def _selection(sel: dict[str, Any]) -> dict[str, Any] | None:
    """Reward against mu on a log axis (mu = 0, the most accurate design, drawn at the smallest mu)."""
    if "mu" not in sel:
        return None
    low = min((m for m in sel["mu"] if m > 0), default=1e-3)
    mus = [m if m > 0 else low for m in sel["mu"]]
    rewards, labels, changes = sel["reward"], sel["labels"], sel["changes"]
    data = [{"type": "scatter", "mode": "lines", "x": mus, "y": rewards, "name": "reward of the selected design",
             "text": [html.escape(label) for label in labels], "line": {"color": "#1f77b4"},
             "hovertemplate": "mu %{x:.3g}: design %{text}, reward %{y:.4f}<extra></extra>"},
            {"type": "scatter", "mode": "markers+text", "x": [mus[i] for i in changes],
             "y": [rewards[i] for i in changes], "name": "the choice changes (design)",
             "text": [html.escape(labels[i]) for i in changes], "textposition": "top right",
             "marker": {"color": "#d62728", "size": 9},
             "hovertemplate": "from mu %{x:.3g}: design %{text}<extra></extra>"}]
    layout = {**LAYOUT, "height": 420, "title": {"text": "tinySNN selection: reward A - mu x M of the chosen design"},
              "xaxis": {"title": {"text": f"mu (trade-off, log scale; mu = 0 drawn at {low:.3g})"}, "type": "log"},
              "yaxis": {"title": {"text": "reward A - mu x M"}}, "legend": {"orientation": "h", "y": -0.22}}
    return {"id": "chart-selection", "data": data, "layout": layout, "kind": "chart"}


def _targets(tg: dict[str, Any]) -> dict[str, Any] | None:
    if "ranks" not in tg:
        return None
    z = [list(col) for col in zip(*tg["ranks"])]  # one row per target
    labels = [html.escape(label) for label in tg["labels"]]
    data = [{"type": "heatmap", "x": labels, "y": [html.escape(m) for m in tg["metrics"]], "z": z,
             "text": [[str(r) for r in row] for row in z], "texttemplate": "%{text}",
             "colorscale": "RdYlGn", "reversescale": True, "zmin": 1, "zmax": max(10, 2 * len(labels)),
             "colorbar": {"title": {"text": "rank"}},
             "hovertemplate": "design %{x} under %{y}: rank %{z}<extra></extra>", "xgap": 1, "ygap": 1}]
    layout = {**LAYOUT, "height": 140 + 32 * len(tg["metrics"]),
              "title": {"text": f"Rank of each design under each target (1 = lowest; of {tg['n']} feasible)"},
              "xaxis": {"type": "category", "title": {"text": "design (trial)"}},
              "yaxis": {"autorange": "reversed"}, "margin": {"l": 190, "r": 20, "t": 50, "b": 60}}
    return {"id": "chart-targets", "data": data, "layout": layout, "kind": "chart"}
