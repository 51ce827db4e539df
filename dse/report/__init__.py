"""Pareto-front HTML reports: compute the data once (:mod:`.data`), then draw it.

The page is one file with plotly.js inlined, so it opens offline: the front of
every pair of objectives (:mod:`.figures`), tables of the Pareto-optimal and
of all design points and the per-layer breakdown (:mod:`.tables`), laid into
``template.html``. Every user string is HTML-escaped.

Reads the store's typed records only: no Optuna study objects, no engines, no torch.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from string import Template

from ..store import Store
from .data import Front, Point, ReportData, build
from .figures import figures
from ..pareto import nondominated
from .tables import layer_tables, pareto_frame, pareto_table, points_table, to_html

__all__ = ["build", "render", "write_report", "pareto_frame", "pareto_table", "points_table", "nondominated",
           "ReportData", "Point", "Front"]


def _constraints(data: ReportData) -> str:
    parts = [c["metric"] + (f" >= {c['min']:g}" if c.get("min") is not None else "")
             + (f" <= {c['max']:g}" if c.get("max") is not None else "") for c in data.spec.constraints]
    return f" Constraints: {html.escape(', '.join(parts))}." if parts else ""


def render(data: ReportData) -> str:
    from plotly.offline import get_plotlyjs

    template = Template(resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8"))
    figs = "".join(f'<div class="fig">{fig.to_html(full_html=False, include_plotlyjs=False)}</div>'
                   for fig in figures(data))
    header, rows = pareto_table(data)
    breakdown = "".join(f"<details><summary>trial {html.escape(label)}</summary>{table}</details>"
                        for label, table in layer_tables(data))
    counts = ", ".join(f"{n} {state}" for state, n in data.counts.items() if n)
    return template.substitute(
        study=html.escape(data.study_name), plotlyjs=get_plotlyjs(),
        engine=html.escape(data.spec.engine or "?"), dataset=html.escape(data.spec.dataset or "?"),
        counts=html.escape(counts), n_points=len(data.points), spec_path=html.escape(data.spec.path),
        objectives=html.escape(", ".join(f"{m} ({d})" for m, d in data.objectives)),
        constraints=_constraints(data), figures=figs, n_pareto=len(rows), pareto_table=to_html(header, rows),
        all_table=to_html(*points_table(data, list(data.points))),
        breakdown=breakdown or '<p class="muted">no Pareto-optimal design yet</p>')


def write_report(store: Store, study_name: str, out: str | Path | None = None,
                 data: ReportData | None = None) -> Path:
    """Write reports/STUDY.html (or `out`) and return its path; `data` if already built."""
    data = data or build(store, study_name)
    path = Path(out) if out else Path("reports") / f"{study_name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    return path
