"""How the read side scales: `dse report`, `dse query` and `dse studies` on synthetic studies of N trials.

    python benchmarks/report_scale.py [N ...] [--keep DIR]       (default 500 2000 5000)

Prints one JSON line per N: ``{"n": N, "report_s": .., "report_mb": .., "query_s": .., "query_where_s": ..,
"studies_s": .., "select_s": .., "dashboard_s": ..}``; every ``dse`` command runs in a fresh
process, start-up included. ``query_s`` is the slowest of the table, CSV and JSON formats;
``query_where_s`` is null unless ``dse query`` has ``--where``; ``dashboard_s`` is optuna-dashboard's
``GET /api/studies/<id>`` on the same database (the peer figure), null where it is not installed.

The study is written through the project's storage by ``benchmarks/synthetic_study.py``
(``make_study``): realistic statuses (trained with variants, rejected, failed), profiles scored by
hwmodels, three objectives.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from synthetic_study import make_study  # noqa: E402: benchmarks/ is on the path above


def _timed(argv: list[str]) -> float:
    """Seconds of ``dse ARGV`` in a fresh process, start-up included (as a user waits for it)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dse", *argv], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"dse {' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - start


def _has_where() -> bool:
    from dse.cli import cli

    return any(p.name == "where" for p in cli.commands["query"].params)


def _dashboard_s(url: str, name: str) -> float | None:
    try:
        from optuna_dashboard import wsgi
    except ImportError:
        return None
    from wsgiref.util import setup_testing_defaults

    from dse.store import Store

    app = wsgi(url)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/studies/{Store(url).study_id(name)}",
               "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    start = time.perf_counter()
    b"".join(app(environ, lambda *a: None))
    return time.perf_counter() - start


def measure(n: int, folder: Path) -> dict:
    url, name = f"sqlite:///{folder / f'scale{n}.db'}", f"scale-{n}"
    make_study(url, name, n)
    out = folder / f"{name}.html"
    report_s = _timed(["report", name, "--storage", url, "-o", str(out)])
    query_s = max(_timed(["query", name, "--storage", url, "--variants", "--format", f]) for f in ("table", "csv", "json"))
    where = _timed(["query", name, "--storage", url, "--where", "accuracy > 0.8"]) if _has_where() else None
    return {"n": n, "report_s": round(report_s, 2), "report_mb": round(out.stat().st_size / 1e6, 2),
            "query_s": round(query_s, 2), "query_where_s": where and round(where, 2),
            "studies_s": round(_timed(["studies", "--storage", url]), 2),
            "select_s": round(_timed(["select", name, "--storage", url, "--mu", "0,0.5,1,2,4"]), 2),
            "dashboard_s": (lambda s: s and round(s, 2))(_dashboard_s(url, name))}


def main(argv: list[str]) -> None:
    """``--keep DIR`` leaves the databases and reports there (e.g. to open them in a browser)."""
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    sizes = [int(a) for a in argv if a.isdigit()] or [500, 2000, 5000]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            for old in folder.glob(f"scale{n}.db*"):
                old.unlink()
            print(json.dumps(measure(n, folder)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
