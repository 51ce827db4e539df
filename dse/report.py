"""Pareto-front HTML reports: compute a :class:`ParetoInfo`, then render it.

The page is one file with plotly.js inlined, so it opens offline. It shows the
front of every pair of objectives (all design points, the Pareto-optimal ones
highlighted, each point's every metric and parameter in its hover), a table of
the Pareto-optimal design points, and where their cost comes from (per layer).

Non-dominated sorting is written here (a few lines of numpy) because Optuna
exposes only the full-dimensional front of completed trials publicly
(``study.best_trials``), while the report also needs each pair's front and the
extra design points a trial yields (e.g. the same weights at fewer timesteps).
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

import hwmodels

from .storage import Store
from .study import SPEC_ATTR, describe

ENGINE_COLUMNS = ("trial", "variant", "state", "duration_s", "note")


def nondominated(values: np.ndarray, directions: list[str]) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (ties are kept)."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    v = values * signs  # everything minimised
    better_eq = (v[:, None, :] <= v[None, :, :]).all(-1)
    strictly = (v[:, None, :] < v[None, :, :]).any(-1)
    dominated = (better_eq & strictly).any(0)
    return ~dominated


@dataclass(frozen=True)
class Point:
    trial: int
    variant: str
    metrics: dict[str, float]
    params: dict[str, Any]
    feasible: bool
    pareto: bool = False

    @property
    def label(self) -> str:
        return f"{self.trial} ({self.variant})" if self.variant else str(self.trial)


@dataclass(frozen=True)
class Front:
    x: str
    y: str
    labels: tuple[str, ...]  # the pair's Pareto-optimal points, sorted by x


@dataclass(frozen=True)
class ParetoInfo:
    study_name: str
    objectives: tuple[tuple[str, str], ...]
    units: dict[str, str]
    points: tuple[Point, ...]
    fronts: tuple[Front, ...]
    counts: dict[str, int]
    spec: dict[str, Any] = field(default_factory=dict)
    layers: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    """Per-layer breakdown of the Pareto-optimal points, by label."""

    @property
    def pareto(self) -> list[Point]:
        return [p for p in self.points if p.pareto]


def pareto_info(store: Store, study_name: str) -> ParetoInfo:
    from .query import query

    study = store.load_study(study_name)
    spec = study.user_attrs.get(SPEC_ATTR, {})
    names = spec.get("objectives") or study.metric_names or [f"objective_{i}" for i in range(len(study.directions))]
    directions = [d.name.lower() for d in study.directions]
    objectives = tuple(zip(names, directions))
    frame = query(study_name, store, variants=True, states=("complete",))
    metric_units = {row["metric"]: row["unit"] for row in store.metrics(study_name)}
    param_names = [c for c in frame.columns if c in _param_names(study)]
    constraints = spec.get("constraints", [])
    timesteps: dict[tuple[int, str], int] = {}  # from the stored profiles, read only if a design lacks the key
    points = []
    for row in frame.to_dict("records"):
        metrics = {k: float(v) for k, v in row.items()
                   if k not in ENGINE_COLUMNS and k not in param_names and _is_number(v)}
        if not all(m in metrics for m in names):
            continue  # a variant lacking an objective (e.g. no validation accuracy)
        feasible = all(_satisfies(metrics.get(c["metric"]), c) for c in constraints)
        params = {k: row[k] for k in param_names  # a parameter another engine's design lacks is NaN: dropped
                  if not (isinstance(row[k], float) and math.isnan(row[k]))}
        if row.get("variant"):
            params["timesteps"] = int(str(row["variant"]).removeprefix("T=")) \
                if str(row["variant"]).startswith("T=") else params.get("timesteps")
        if not _is_number(params.get("timesteps")):  # an engine that derives it (TTFS: layers x window)
            if not timesteps:
                timesteps.update({(number, variant): profile.timesteps
                                  for _, number, variant, profile in store.profiles(study_name)})
            params["timesteps"] = timesteps.get((int(row["trial"]), row.get("variant") or ""))
        points.append(Point(int(row["trial"]), row.get("variant") or "", metrics, params, feasible))
    points = _mark_pareto(points, list(names), directions)
    fronts = []
    for (x, dx), (y, dy) in itertools.combinations(objectives, 2):
        if dx == "maximize" and dy == "minimize":  # cost on x, what is maximised (accuracy) on y
            (x, dx), (y, dy) = (y, dy), (x, dx)
        candidates = [p for p in points if p.feasible]
        mask = nondominated(np.array([[p.metrics[x], p.metrics[y]] for p in candidates]).reshape(-1, 2), [dx, dy])
        front = sorted((p for p, keep in zip(candidates, mask) if keep), key=lambda p: p.metrics[x])
        fronts.append(Front(x, y, tuple(p.label for p in front)))
    layers = _layer_breakdown(store, study_name, [p for p in points if p.pareto], spec)
    return ParetoInfo(study_name, objectives, metric_units, tuple(points), tuple(fronts),
                      describe(study), spec, layers)


def _param_names(study: optuna.Study) -> set[str]:
    return {name for t in study.get_trials(deepcopy=False) for name in t.params}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def _satisfies(value: float | None, constraint: dict[str, Any]) -> bool:
    if value is None:
        return False
    low, high = constraint.get("min"), constraint.get("max")
    return (low is None or value >= low) and (high is None or value <= high)


def _mark_pareto(points: list[Point], names: list[str], directions: list[str]) -> list[Point]:
    feasible = [p for p in points if p.feasible]
    mask = nondominated(np.array([[p.metrics[m] for m in names] for p in feasible]).reshape(-1, len(names)),
                        directions)
    optimal = {(p.trial, p.variant) for p, keep in zip(feasible, mask) if keep}
    return [Point(p.trial, p.variant, p.metrics, p.params, p.feasible, (p.trial, p.variant) in optimal)
            for p in points]


def _layer_breakdown(store: Store, study_name: str, points: list[Point],
                     spec: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    wanted = {(p.trial, p.variant): p.label for p in points}
    models = spec.get("hardware_models") or None
    options = spec.get("hardware_options", {})
    out = {}
    for _, number, variant, profile in store.profiles(study_name):
        label = wanted.get((number, variant))
        if label is not None:
            try:
                out[label] = hwmodels.breakdown(profile, models, **options)
            except ValueError:
                out[label] = hwmodels.breakdown(profile)  # a model no longer installed
    return out


# ---- rendering -----------------------------------------------------------------

def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            return f"{value:.4g}"
        return f"{value:.3e}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _axis(info: ParetoInfo, metric: str) -> str:
    unit = info.units.get(metric)
    direction = dict(info.objectives).get(metric)
    arrow = {"maximize": " (higher is better)", "minimize": " (lower is better)"}.get(direction, "")
    return f"{metric} [{unit}]{arrow}" if unit and unit != "1" else f"{metric}{arrow}"


def _hover(info: ParetoInfo, p: Point) -> str:
    lines = [f"<b>trial {html.escape(p.label)}</b>{' — Pareto-optimal' if p.pareto else ''}"]
    if not p.feasible:
        lines.append("<i>breaks a constraint</i>")
    for metric, value in sorted(p.metrics.items()):
        unit = info.units.get(metric, "")
        lines.append(f"{html.escape(metric)}: {_fmt(value)} {html.escape(unit) if unit != '1' else ''}")
    lines += [f"<i>{html.escape(k)}</i> = {html.escape(_fmt(v))}" for k, v in p.params.items()]
    return "<br>".join(lines)


def figures(info: ParetoInfo) -> list[Any]:
    """One plotly figure per pair of objectives (one history plot for a single objective)."""
    import plotly.graph_objects as go

    by_label = {p.label: p for p in info.points}
    out = []
    if len(info.objectives) == 1:
        metric, _ = info.objectives[0]
        ordered = sorted(info.points, key=lambda p: (p.trial, p.variant))
        fig = go.Figure(go.Scatter(
            x=[p.trial for p in ordered], y=[p.metrics[metric] for p in ordered], mode="markers",
            text=[_hover(info, p) for p in ordered], hovertemplate="%{text}<extra></extra>",
            marker=dict(color=["#d62728" if p.pareto else "#1f77b4" for p in ordered], size=9)))
        fig.update_layout(title=f"{metric} per trial", xaxis_title="trial", yaxis_title=_axis(info, metric),
                          template="plotly_white", height=460)
        return [fig]
    for front in info.fronts:
        fig = go.Figure()
        groups = [
            ("other designs", [p for p in info.points if p.feasible and not p.pareto], "#9aa5b1", "circle", 8),
            ("breaks a constraint", [p for p in info.points if not p.feasible], "#c9c9c9", "x", 8),
            ("Pareto-optimal (all objectives)", [p for p in info.points if p.pareto], "#d62728", "circle", 11),
        ]
        for name, pts, color, symbol, size in groups:
            if pts:
                fig.add_trace(go.Scatter(
                    x=[p.metrics[front.x] for p in pts], y=[p.metrics[front.y] for p in pts],
                    mode="markers", name=name, text=[_hover(info, p) for p in pts],
                    hovertemplate="%{text}<extra></extra>",
                    marker=dict(color=color, symbol=symbol, size=size, line=dict(width=0.5, color="#333"))))
        line = [by_label[label] for label in front.labels]
        if line:
            fig.add_trace(go.Scatter(
                x=[p.metrics[front.x] for p in line], y=[p.metrics[front.y] for p in line],
                mode="lines", name="front of this pair", line=dict(color="#d62728", width=1.5, shape="hv"),
                hoverinfo="skip"))
        fig.update_layout(title=f"{front.y} vs {front.x}", xaxis_title=_axis(info, front.x),
                          yaxis_title=_axis(info, front.y), template="plotly_white", height=480,
                          legend=dict(orientation="h", y=-0.2))
        if front.x not in ("accuracy", "val_accuracy") and _spans_decades(info, front.x):
            fig.update_xaxes(type="log")
        if front.y not in ("accuracy", "val_accuracy") and _spans_decades(info, front.y):
            fig.update_yaxes(type="log")
        out.append(fig)
    return out


def _spans_decades(info: ParetoInfo, metric: str) -> bool:
    values = [p.metrics[metric] for p in info.points if p.metrics.get(metric, 0) > 0]
    return bool(values) and max(values) / min(values) > 30


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'



TABLE_METRICS = ("accuracy", "memory_bits", "bit_synops", "energy_45nm_j", "spikes_per_sample",
                 "energy_truenorth", "energy_spinnaker")
"""Metrics shown in the tables beside the objectives, where the study has them."""


def pareto_table(info: ParetoInfo) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the Pareto-optimal points, sorted by the first objective."""
    return points_table(info, info.pareto)


def points_table(info: ParetoInfo, points: list[Point]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of `points`, sorted by the first objective."""
    names = [m for m, _ in info.objectives]
    first, direction = info.objectives[0]
    points = sorted(points, key=lambda p: p.metrics[first], reverse=direction == "maximize")
    extra = [m for m in TABLE_METRICS if m not in names and any(m in p.metrics for p in points)]
    params = list(dict.fromkeys(k for p in points for k in p.params))
    header = ["trial", *names, *extra, *params]
    rows = [[p.label, *(p.metrics[m] for m in names), *(p.metrics.get(m, "") for m in extra),
             *(p.params.get(k, "") for k in params)] for p in points]
    return header, rows


def render(info: ParetoInfo) -> str:
    from plotly.offline import get_plotlyjs

    figs = "".join(f'<div class="fig">{fig.to_html(full_html=False, include_plotlyjs=False)}</div>'
                   for fig in figures(info))
    header, rows = pareto_table(info)
    every = _table(*points_table(info, list(info.points)))
    counts = ", ".join(f"{n} {state}" for state, n in info.counts.items() if n)
    objectives = ", ".join(f"{m} ({d})" for m, d in info.objectives)
    constraints = ", ".join(
        f"{c['metric']}" + (f" >= {c['min']:g}" if c.get("min") is not None else "")
        + (f" <= {c['max']:g}" if c.get("max") is not None else "") for c in info.spec.get("constraints", []))
    breakdown = []
    for label, layers in info.layers.items():
        metrics = [m for m in ("memory_bits", "synops", "bit_synops", "macs", "energy_45nm_j", "spikes_per_sample")
                   if any(m in v for v in layers.values())]
        rows_ = [[name, *(values.get(m, "") for m in metrics)] for name, values in layers.items()]
        breakdown.append(f"<details><summary>trial {html.escape(label)}</summary>"
                         f"{_table(['layer', *metrics], rows_)}</details>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(info.study_name)} — snn-dse</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
th, td {{ border: 1px solid #ddd; padding: 4px 8px; text-align: right; }}
th {{ background: #f4f4f4; }} .fig {{ margin: 1em 0; }} .muted {{ color: #666; }}
details {{ margin: 0.3em 0; }} .scroll {{ overflow-x: auto; }}
</style></head><body>
<h1>{html.escape(info.study_name)}</h1>
<p class="muted">engine {html.escape(str(info.spec.get('engine', '?')))} · data set
{html.escape(str(info.spec.get('dataset', '?')))} · trials: {html.escape(counts)} ·
{len(info.points)} design points · spec {html.escape(str(info.spec.get('path', '')))}</p>
<p>Objectives: {html.escape(objectives)}.{' Constraints: ' + html.escape(constraints) + '.' if constraints else ''}</p>
<h2>Pareto fronts</h2>
<p class="muted">Each point is a trained design (a trial; "12 (T=4)" is trial 12's weights evaluated
at 4 timesteps). Red points are Pareto-optimal over all objectives together; the red line is the front
of the two objectives shown. Hover a point for every metric and parameter.</p>
{figs}
<h2>Pareto-optimal designs ({len(rows)})</h2>
{_table(header, rows)}
<details><summary>All design points ({len(info.points)})</summary>
{every}
</details>
<h2>Where the cost is: per-layer breakdown of the Pareto-optimal designs</h2>
{''.join(breakdown) or '<p class="muted">no Pareto-optimal design yet</p>'}
<p class="muted">snn-dse · query these trials with <code>dse query {html.escape(info.study_name)}</code></p>
</body></html>
"""


def write_report(store: Store, study_name: str, out: str | Path | None = None) -> Path:
    """Write reports/STUDY.html (or `out`) and return its path."""
    info = pareto_info(store, study_name)
    path = Path(out) if out else Path("reports") / f"{study_name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(info), encoding="utf-8")
    return path


def pareto_frame(info: ParetoInfo) -> pd.DataFrame:
    header, rows = pareto_table(info)
    return pd.DataFrame(rows, columns=header)
