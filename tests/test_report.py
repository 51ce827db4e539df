"""The HTML report: every section on a real small study and on a 5,000-trial synthetic one,
rejected designs drawn at their static costs, the selection `dse select` makes, hostile strings escaped."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from dse.report import SECTIONS, Front, build, render, script_json, write_report
from dse.select import select
from dse.spec import load_spec
from dse.store import Store
from dse.study import run_study

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINED = """
[constraints]
memory_bits = { max = 5000 }
"""
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def scale_module():
    spec = importlib.util.spec_from_file_location("report_scale", ROOT / "benchmarks" / "report_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def small_study(workdir, tiny_spec):
    """A real 4-trial study whose memory constraint rejects some designs before training."""
    url = f"sqlite:///{workdir / 'r.db'}"
    spec = load_spec(tiny_spec(n_trials=4, extra=CONSTRAINED))
    run_study(spec, storage=url, show_progress=False)
    return Store(url), spec.name


def figure_ids(text: str) -> list[str]:
    block = re.search(r'<script type="application/json" id="dse-figs">(.*?)</script>', text, re.S).group(1)
    return [f["id"] for f in json.loads(block)]


def check_sections(text: str) -> None:
    for section in SECTIONS:
        assert f'<section id="{section}">' in text
    ids = figure_ids(text)
    assert "front-0" in ids and "parcoords" in ids
    for chart in ("chart-hypervolume", "chart-importance", "chart-selection", "chart-targets"):
        assert chart in ids, chart
    for word in ("Training time spent", "best (feasible)", "Reference point", "Method: optuna.importance",
                 "from mu = 0", "The best design", "Pareto-optimal designs"):
        assert word in text, word


def test_every_section_on_a_real_small_study(small_study) -> None:
    store, name = small_study
    data = build(store, name)
    assert data.rejected and all(not p.feasible and "accuracy" not in p.metrics for p in data.rejected)
    summary = data.extras["summary"]
    assert summary["statuses"]["trained"] == 4 and summary["statuses"]["rejected"] == len(data.rejected)
    text = write_report(store, name).read_text()
    check_sections(text)
    assert "rejected before training (static costs)" not in text or "memory_bits" in text
    hv = data.extras["hypervolume"]
    assert "worst value of each objective among the feasible" in hv["how"] and hv["series"][-1][2] > 0


def test_selection_is_the_one_dse_select_makes(small_study) -> None:
    store, name = small_study
    sel = build(store, name, importances=False).extras["selection"]
    frame = select(name, store, sel["mu"], variants=True)
    labels = [f"{t} ({v})" if v else str(t) for t, v in zip(frame["trial"], frame["variant"])]
    assert labels == sel["labels"] and frame["reward"].tolist() == sel["reward"]


def test_rejected_designs_appear_as_infeasible_points_where_both_metrics_are_known(small_study) -> None:
    store, name = small_study
    data = build(store, name, importances=False)
    from dse.report import figures

    pair = figures(data)[0]  # accuracy vs memory_bits: a rejected design has no accuracy
    assert not [t for t in pair["data"] if t["name"].startswith("rejected")]
    static = replace(data, objectives=(("memory_bits", "minimize"), ("memory_bytes", "minimize")),
                     fronts=(Front("memory_bits", "memory_bytes", ()),))
    drawn = [t for t in figures(static)[0]["data"] if t["name"].startswith("rejected")]
    assert drawn and len(drawn[0]["x"]) == len(data.rejected)  # two static costs: drawn, at those costs
    from dse.report.tables import client_data

    statuses = [row[3] for row in client_data(data)["rows"]]
    assert statuses.count("rejected") == len(data.rejected)  # and listed among all designs


def test_analyses_that_cannot_run_say_why(workdir, tiny_spec) -> None:
    url = f"sqlite:///{workdir / 'one.db'}"
    spec = load_spec(tiny_spec(n_trials=1))
    run_study(spec, storage=url, show_progress=False)
    text = write_report(Store(url), spec.name).read_text()
    assert "No parameter importances: needs at least 2 trained trials" in text


def test_hostile_strings_are_escaped(small_study) -> None:
    store, name = small_study
    data = build(store, name, importances=False)
    hostile_points = tuple(replace(p, params={**p.params, "coding": HOSTILE}, parent=p.parent and HOSTILE)
                           for p in data.points)
    trials = tuple(replace(t, status="failed", note=HOSTILE) for t in data.trials)
    data = replace(data, study_name=HOSTILE, points=hostile_points, trials=trials,
                   spec=replace(data.spec, path=HOSTILE, dataset=HOSTILE, engine=HOSTILE))
    from dse.report.analysis import summary

    data = replace(data, extras={**data.extras, "summary": summary(data)})
    text = render(data)
    assert HOSTILE not in text and "<img" not in text and '<script>alert' not in text
    assert "&lt;script&gt;alert" in text
    assert text.count("<script") == 4  # plotly.js, two JSON blocks, the page's script: none injected
    assert "</script><img" not in script_json({"x": HOSTILE})


def test_script_json_cannot_close_its_element() -> None:
    assert "<" not in script_json(["</script>", "<!--"]) and json.loads(script_json(["</script>"])) == ["</script>"]


@pytest.mark.slow
def test_every_section_at_5000_trials_in_time_and_size(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}"
    scale_module().make_study(url, "big", 5000)
    start = time.perf_counter()
    path = write_report(Store(url), "big", tmp_path / "big.html")
    seconds = time.perf_counter() - start
    text = path.read_text()
    check_sections(text)
    assert seconds < 15 and path.stat().st_size < 20e6, (seconds, path.stat().st_size)
    assert text.count("<tr>") < 2000  # the all-designs table is built in the browser from the JSON block
    assert '"type":"scattergl"' in text  # WebGL past a thousand points


def test_the_report_says_which_cost_model_versions_produced_the_metrics(workdir, tiny_spec, capsys) -> None:
    from dse.cli import main
    from dse.report import write_report
    from dse.spec import load_spec
    from dse.store import Store
    from dse.study import run_study

    url = f"sqlite:///{workdir / 'v.db'}"
    spec = load_spec(tiny_spec(n_trials=2))
    run_study(spec, storage=url, show_progress=False)
    main(["rescore", spec.name, "--storage", url, "--option", "sparse_format=csr"])
    text = write_report(Store(url), spec.name).read_text()
    assert "Metrics from the cost models memory, synops, energy45nm (hwmodels " in text
    assert "rescored " in text and "memory 0.1.0" in text and "&quot;sparse_format&quot;: &quot;csr&quot;" in text
