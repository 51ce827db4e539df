"""Pareto-front HTML reports: compute the data once (:mod:`.data`, :mod:`.analysis`), then draw it.

The page is one file with plotly.js inlined, so it opens offline: a summary; the front of every
pair of objectives, a 3-D front for three, parallel coordinates whose brushing filters the fronts
and the table (:mod:`.figures`); hypervolume, parameter importances, the tinySNN selection and the
hardware-target ranks (:mod:`.charts`); a sortable, filterable table of the Pareto-optimal designs
(all designs behind a toggle, rendered lazily from one JSON block) and the per-layer breakdown
with lineage (:mod:`.tables`, :mod:`.sections`), laid into ``template.html``. Every user string is
HTML-escaped; the JSON blocks escape ``<`` so no string can close their script element.

Reads the store's typed records; only the parameter importances load the Optuna study.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from ..store import Store
from . import sections
from .charts import charts
from .data import Front, Point, ReportData, build
from .figures import figures
from ..pareto import nondominated
from .tables import client_data, layer_tables, pareto_frame, pareto_table, points_table, to_html

__all__ = ["build", "render", "write_report", "pareto_frame", "pareto_table", "points_table", "nondominated",
           "ReportData", "Point", "Front", "SECTIONS"]

SECTIONS = ("summary", "fronts", "hypervolume", "importance", "selection", "targets", "designs", "breakdown")
"""The ids of the page's sections, in order."""
MAX_BREAKDOWNS = 60


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '<' survives, so nothing can close it."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _div(fig: dict[str, Any] | None, note: str = "") -> str:
    return f'{note}<div class="fig" id="{fig["id"]}"></div>' if fig else note


def _breakdown(data: ReportData) -> str:
    tables = layer_tables(data)[:MAX_BREAKDOWNS]
    out = "".join(f"<details><summary>design {html.escape(label)}</summary>{sections.lineage(data, label)}{table}"
                  f"</details>" for label, table in tables)
    more = len(data.layers) - len(tables)
    return (out + (f'<p class="muted">and {more} more Pareto-optimal designs (dse query)</p>' if more > 0 else "")) \
        or '<p class="muted">no Pareto-optimal design yet</p>'


def render(data: ReportData) -> str:
    from plotly.offline import get_plotlyjs

    template = Template(resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8"))
    fronts = figures(data)
    extra = charts(data)
    header, rows = pareto_table(data)
    return template.substitute(
        study=html.escape(data.study_name), plotlyjs=get_plotlyjs(), summary=sections.summary(data),
        counts=html.escape(sections.statuses_line(data.counts)), n_points=len(data.points),
        n_all=len(data.everything), n_rejected=len(data.rejected),
        fronts="".join(_div(f) for f in fronts),
        hypervolume=_div(extra["hypervolume"], sections.hypervolume(data)),
        importance=_div(extra["importance"], sections.importance(data)),
        selection=_div(extra["selection"], sections.selection(data)),
        targets=_div(extra["targets"], sections.targets(data)),
        n_pareto=len(rows), pareto_table=to_html(header, rows), breakdown=_breakdown(data),
        figs_json=script_json(fronts + [f for f in extra.values() if f]), data_json=script_json(client_data(data)))


def write_report(store: Store, study_name: str, out: str | Path | None = None,
                 data: ReportData | None = None) -> Path:
    """Write reports/STUDY.html (or `out`) and return its path; `data` if already built."""
    data = data or build(store, study_name)
    path = Path(out) if out else Path("reports") / f"{study_name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    return path
