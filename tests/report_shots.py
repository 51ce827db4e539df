"""Open a report in headless Chromium (playwright driving Debian's /usr/bin/chromium): console
errors, load time, whether each plot area drew something, and one PNG per section.

The browser test calls :func:`inspect_report`; ``python -m tests.report_shots`` regenerates the
README's screenshots under docs/report/ from a small real study."""

from __future__ import annotations

import io
import shutil
import sys
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--use-gl=swiftshader", "--enable-unsafe-swiftshader",
        "--ignore-gpu-blocklist"]


def have_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def _blank(png: bytes) -> bool:
    """Whether a screenshot is one flat colour (nothing drawn)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    low, high = image.getextrema()
    return high - low < 20


def inspect_report(path: Path, shots: Path | None = None, interact: bool = True) -> dict:
    """Load `path`; return console errors, load seconds, the ids of blank plot areas and the
    timings of a hover, a brush and the all-designs table. With `shots`, write SECTION.png there."""
    from playwright.sync_api import sync_playwright

    out: dict = {"errors": [], "blank": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: out["errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: out["errors"].append(str(e)))
        page.goto(Path(path).resolve().as_uri(), wait_until="commit", timeout=60_000)
        page.wait_for_function("window.dseReport && window.dseReport.ready && window.dseReport.firstDrawn",
                               timeout=60_000)
        # from navigation start to the page's script done and the first plot on screen drawn, by the page's clock
        out["load_s"] = page.evaluate("() => Math.max(dseReport.ready, dseReport.firstDrawn)") / 1000
        out["plots"] = page.eval_on_selector_all(".fig", "els => els.map(e => e.id)")
        start = time.perf_counter()
        for fid in out["plots"]:
            element = page.locator(f"div#{fid}")
            element.scroll_into_view_if_needed()
            page.wait_for_selector(f"div#{fid}[data-drawn]", timeout=60_000)
            page.wait_for_timeout(150)
            if _blank(element.screenshot()):
                out["blank"].append(fid)
        out["all_plots_s"] = time.perf_counter() - start
        if interact:
            out.update(_interact(page))
        if shots:
            _section_shots(page, Path(shots))
        browser.close()
    return out


def _interact(page) -> dict:
    timings = {}
    page.evaluate("() => window.dseReport.drawAll()")
    start = time.perf_counter()
    page.evaluate("() => window.dseReport.panel(0)")
    timings["panel_s"] = time.perf_counter() - start
    timings["panel_text"] = page.inner_text("#panel")
    start = time.perf_counter()
    page.check("#all-designs")
    timings["all_rows"] = page.locator("#table tbody tr").count()
    timings["all_designs_s"] = time.perf_counter() - start
    page.uncheck("#all-designs")
    start = time.perf_counter()
    page.evaluate("""() => { const d = document.getElementById('parcoords'); if (!d) return;
        const v = d.data[0].dimensions[0].values; const lo = Math.min(...v), hi = Math.max(...v);
        return Plotly.restyle(d, {'dimensions[0].constraintrange': [[lo + (hi - lo) / 2, hi]]}); }""")
    timings["brush_s"] = time.perf_counter() - start
    timings["shown_after_brush"] = page.inner_text("#shown-count")
    box = page.locator("#front-0").bounding_box()
    if box:
        start = time.perf_counter()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(50)
        timings["hover_s"] = time.perf_counter() - start
    page.click("#reset-brush")
    page.evaluate("() => { document.getElementById('panel').hidden = true; }")
    return timings


def _section_shots(page, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.wait_for_timeout(300)
    for section in page.eval_on_selector_all("section", "els => els.map(e => e.id)"):
        target = page.locator(f"section#{section}")
        target.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        _write_small(target.screenshot(), folder / f"{section}.png")


def _write_small(png: bytes, path: Path, width: int = 820) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.crop((0, 0, image.width, min(image.height, 1000)))
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image = image.quantize(colors=128)
    image.save(path, optimize=True)


def main(argv: list[str]) -> None:
    """Run a small real study and write docs/report/SECTION.png from its report."""
    import tempfile

    from dse.report import write_report
    from dse.spec import load_spec
    from dse.store import Store
    from dse.study import run_study

    from .conftest import TINY_SPEC

    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "docs" / "report"
    with tempfile.TemporaryDirectory() as folder:
        spec_path = Path(folder) / "tour.toml"
        spec_path.write_text(TOUR_SPEC)
        url = f"sqlite:///{Path(folder) / 'tour.db'}"
        spec = load_spec(spec_path)
        run_study(spec, storage=url, show_progress=False)
        report = write_report(Store(url), spec.name, Path(folder) / "tour.html")
        found = inspect_report(report, shots=out, interact=False)
    print(f"wrote {len(list(out.glob('*.png')))} screenshots to {out}; errors: {found['errors']}")
    del TINY_SPEC


TOUR_SPEC = """
[study]
name = "digits-tour"
engine = "surrogate"
dataset = "digits"
n_trials = 12
sampler = "nsga2"
seed = 0

[objectives]
accuracy = "maximize"
memory_bits = "minimize"
energy_45nm_j = "minimize"

[constraints]
memory_bits = { max = 60000 }

[space]
hidden = { choices = [[16], [32], [64]] }
weight_bits = { choices = [2, 4, 8, 32] }
timesteps = { low = 2, high = 6 }
pruning = { low = 0.0, high = 0.6 }

[train]
epochs = 2
batch_size = 128

[variants]
timesteps = [1]
weight_bits = [4]

[hardware]
models = ["memory", "synops", "energy45nm", "neuromorphic", "gpu", "reward"]
"""


if __name__ == "__main__":
    main(sys.argv[1:])
