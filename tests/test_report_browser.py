"""The report, opened in a real headless browser, draws its plots offline."""

import os
import shutil
import subprocess

import pytest

from dse.report import write_report
from dse.spec import load_spec
from dse.store import Store
from dse.study import run_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="no chromium (apt-get install chromium)")
def test_report_renders_its_pareto_plots_in_chromium(workdir, tiny_spec) -> None:
    assert CHROMIUM, "CI installs chromium (.ci/run)"
    url = f"sqlite:///{workdir / 'b.db'}"
    spec = load_spec(tiny_spec(n_trials=3))
    run_study(spec, storage=url, show_progress=False)
    path = write_report(Store(url), spec.name).resolve()
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={workdir / 'chr'}",
         "--virtual-time-budget=10000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert dom.count('class="main-svg"') >= 2  # plotly drew the figure (no network: its js is inlined)
    assert "scatterlayer" in dom and "Pareto-optimal designs" in dom


from tests.report_shots import have_playwright, inspect_report  # noqa: E402

needs_playwright = pytest.mark.skipif(not have_playwright() and not os.environ.get("CI"),
                                      reason="no playwright or chromium (pip install playwright; apt-get install chromium)")


@needs_playwright
def test_every_plot_draws_with_no_console_error_and_the_page_responds(workdir, tiny_spec) -> None:
    url = f"sqlite:///{workdir / 'p.db'}"
    spec = load_spec(tiny_spec(n_trials=4, extra="[constraints]\nmemory_bits = { max = 5000 }\n"))
    run_study(spec, storage=url, show_progress=False)
    path = write_report(Store(url), spec.name)
    found = inspect_report(path, shots=workdir / "shots")
    assert found["errors"] == [] and found["blank"] == [], found
    assert {"front-0", "parcoords", "chart-hypervolume", "chart-selection", "chart-importance"} <= set(found["plots"])
    assert found["load_s"] < 5 and "accuracy" in found["panel_text"]  # a click shows the full record
    assert found["all_rows"] > 0 and "designs shown" in found["shown_after_brush"]
    assert len(list((workdir / "shots").glob("*.png"))) == 8  # one per section (the README's tour)


@pytest.mark.slow
@needs_playwright
def test_a_5000_trial_report_loads_in_under_5_s(tmp_path) -> None:
    from tests.test_report import scale_module

    url = f"sqlite:///{tmp_path / 'big.db'}"
    scale_module().make_study(url, "big", 5000)
    found = inspect_report(write_report(Store(url), "big", tmp_path / "big.html"))
    assert found["errors"] == [] and found["blank"] == [], found
    assert found["load_s"] < 5 and found["all_designs_s"] < 2 and found["brush_s"] < 5, found
