"""The report's prose around its figures: the summary, what each analysis used or why it could
not run, and each Pareto-optimal design's lineage. Every user string is escaped here."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from .data import ReportData
from .tables import fmt


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def summary(data: ReportData) -> str:
    s = data.extras.get("summary", {})
    statuses = s.get("statuses", {})
    counts = ", ".join(f"<b>{n}</b> {escape(k)}" for k, n in statuses.items() if n or k != "running")
    reasons, pruned = _reasons(s.get("fail_reasons", [])), _reasons(s.get("pruned_reasons", []))
    best = _best(data, s.get("best", {}))
    spec = json.dumps(data.spec.to_attr(), indent=2, default=str)
    engines = s.get("engines", [])
    return (f"<p>Engine{'s' * (len(engines) > 1)} <b>{escape(', '.join(engines) or '?')}</b>"
            f" · data set <b>{escape(data.spec.dataset or '?')}</b> · sampler {escape(data.spec.sampler or '?')}"
            f" · spec {escape(data.spec.path or '?')}</p>"
            f"<p>Trials: {counts}; {s.get('variants', 0)} variants read off trained networks; "
            f"{len(data.points)} measured design points. Training time spent: "
            f"<b>{_seconds(s.get('train_seconds', 0.0))}</b>.</p>"
            + (f"<p>Most common failure reasons:</p><ul>{reasons}</ul>" if reasons else "")
            + (f"<p>Pruned because:</p><ul>{pruned}</ul>" if pruned else "")
            + f"<p>Objectives: {escape(', '.join(f'{m} ({d})' for m, d in data.objectives))}.{constraints(data)}</p>"
            + (f'<table class="best"><tr><th>objective</th><th>best (feasible)</th><th>design</th></tr>{best}</table>'
               if best else '<p class="muted">no feasible design point yet</p>')
            + _provenance(data.extras.get("provenance", {}))
            + f"<details><summary>The spec</summary><pre>{escape(spec)}</pre></details>")


def _provenance(p: dict) -> str:
    """Which cost-model versions produced the metrics shown."""
    if not p:
        return ""
    text = (f"<p>Metrics from the cost models {escape(', '.join(p.get('trained_with', [])) or 'all registered')}"
            f" (hwmodels {escape(str(p.get('hwmodels', '?')))}) as trained")
    for r in p.get("rescores", []):
        models = ", ".join(f"{m} {v}" for m, v in r.get("models", {}).items())
        text += f"; rescored {escape(str(r.get('at', '')))} with {escape(models)}"
        if r.get("options"):
            text += f" ({escape(json.dumps(r['options'], default=str))})"
    return text + ".</p>"


def _reasons(pairs: list) -> str:
    return "".join(f"<li>{escape(r)} ({n})</li>" for r, n in pairs)


def _best(data: ReportData, best: dict) -> str:
    return "".join(f"<tr><td>{escape(m)} ({escape(d)})</td><td>{escape(fmt(best[m][0]))} "
                   f"{escape(_unit(data, m))}</td><td>{escape(best[m][1])}</td></tr>"
                   for m, d in data.objectives if m in best)


def _unit(data: ReportData, metric: str) -> str:
    unit = data.units.get(metric, "")
    return "" if unit == "1" else unit


def constraints(data: ReportData) -> str:
    parts = [c["metric"] + (f" >= {c['min']:g}" if c.get("min") is not None else "")
             + (f" <= {c['max']:g}" if c.get("max") is not None else "") for c in data.spec.constraints]
    return f" Constraints: {escape(', '.join(parts))}." if parts else ""


def hypervolume(data: ReportData) -> str:
    hv = data.extras.get("hypervolume", {})
    if "series" not in hv:
        return f'<p class="muted">No hypervolume: {escape(hv.get("reason", "not computed"))}.</p>'
    ref = ", ".join(f"{m} = {fmt(v)}" for m, v in hv["reference"].items())
    return (f"<p>Reference point: {escape(ref)}; chosen as {escape(hv['how'])}. Trials are taken in order of their "
            f"number; training seconds add up each trained, pruned or failed trial's training time.</p>")


def importance(data: ReportData) -> str:
    imp = data.extras.get("importances", {})
    if not imp.get("by_objective"):
        return f'<p class="muted">No parameter importances: {escape(imp.get("reason", "not computed"))}.</p>'
    note = f" ({escape(imp['reason'])})" if imp.get("reason") else ""
    return (f"<p>Method: {escape(imp['method'])}, over {imp['n']} trained trials (rejected and reused trials left "
            f"out){note}.</p>")


def selection(data: ReportData) -> str:
    sel = data.extras.get("selection", {})
    if "mu" not in sel:
        return f'<p class="muted">No selection: {escape(sel.get("reason", "not computed"))}.</p>'
    steps = "".join(f"<li>from mu = {sel['mu'][i]:.3g}: design <b>{escape(sel['labels'][i])}</b> "
                    f"(accuracy {fmt(sel['accuracy'][i])}, M = {fmt(sel['memory_ratio'][i])})</li>"
                    for i in sel["changes"])
    return (f"<p>For each trade-off mu, the design (variants included) with the highest reward R = A - mu x M "
            f"(A accuracy, M memory over the same network at 32 bits), exactly as <code>dse select "
            f"{escape(data.study_name)} --variants --mu ...</code>; mu swept from 0 to {sel['bound']:.3g}.</p>"
            f"<ul>{steps}</ul>")


def targets(data: ReportData) -> str:
    tg = data.extras.get("targets", {})
    if "ranks" not in tg:
        return f'<p class="muted">No hardware-target comparison: {escape(tg.get("reason", "not computed"))}.</p>'
    best = "".join(f"<li>{escape(m)}: <b>{escape(b)}</b></li>" for m, b in zip(tg["metrics"], tg["best"]))
    changes = len(set(tg["best"])) > 1
    return (f"<p>The best design {'changes' if changes else 'is the same'} between targets. Lowest under each:</p>"
            f"<ul class=\"cols\">{best}</ul><p class=\"muted\">Shown: the {len(tg['labels'])} designs in the top "
            f"5 under any target; colour and number are the rank among all {tg['n']} feasible design points.</p>")


def lineage(data: ReportData, label: str) -> str:
    """A Pareto-optimal design's parent and siblings (variants of the same trained network)."""
    point = next((p for p in data.points if p.label == label), None)
    if point is None:
        return ""
    family = [p.label for p in data.points if p.trial == point.trial and p.label != label]
    parts = []
    if point.parent:
        parts.append(f"variant of <b>{escape(point.parent)}</b>")
    if family:
        parts.append(("siblings" if point.parent else "variants") + ": " + escape(", ".join(family)))
    return f"<p class=\"muted\">{'; '.join(parts)}</p>" if parts else ""


def statuses_line(counts: dict[str, Any]) -> str:
    return ", ".join(f"{n} {escape(state)}" for state, n in counts.items() if n)
