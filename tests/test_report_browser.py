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
