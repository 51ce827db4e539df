"""Several workers share one study through one storage: different proposals, no design trained
twice, exactly n_trials trained, whatever the backend."""

import subprocess
import sys

import pytest

from dse.query import query
from dse.store import Store

DISCRETE = """
[space]
hidden = { choices = [[16], [32]] }
weight_bits = { choices = [4, 8, 32] }
timesteps = { choices = [2, 3] }
"""


def spec_file(tmp_path, name: str, n_trials: int) -> str:
    """Twelve designs, a random sampler: workers propose the same design often."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f"""
[study]
name = "{name}"
engine = "surrogate"
n_trials = {n_trials}
sampler = "random"

[objectives]
accuracy = "maximize"
memory_bits = "minimize"
{DISCRETE}
[train]
epochs = 1
batch_size = 256

[hardware]
models = ["memory"]
""")
    return str(path)


def check_shared(url: str, name: str, n_trials: int) -> None:
    store = Store(url, create=False)
    trials = store.trials(name)
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    counts = store.status_counts(name)
    assert counts["trained"] == n_trials and counts["running"] == 0 and counts["failed"] == 0
    designs = [tuple(sorted((k, str(v)) for k, v in t.design.items())) for t in trials if t.status == "trained"]
    assert len(set(designs)) == len(designs) == n_trials  # no design trained twice
    assert len({t.worker for t in trials}) >= 2  # every worker took part
    frame = query(name, url)
    assert frame.loc[frame.status == "trained", "memory_bits"].notna().all()


def run_workers(url: str, spec: str, k: int, cwd) -> None:
    command = [sys.executable, "-m", "dse", "worker", spec, "--storage", url, "--quiet"]
    workers = [subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(k)]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err


def test_two_workers_share_one_study(storage_url, unique_name, tmp_path) -> None:
    run_workers(storage_url, spec_file(tmp_path, unique_name, 6), 2, tmp_path)
    check_shared(storage_url, unique_name, 6)
    assert not (tmp_path / "reports").exists()  # workers leave the report to `dse report`


@pytest.mark.slow
def test_four_workers_share_one_study(storage_url, unique_name, tmp_path) -> None:
    run_workers(storage_url, spec_file(tmp_path, unique_name, 8), 4, tmp_path)
    check_shared(storage_url, unique_name, 8)


def test_dse_run_with_local_workers_on_sqlite(unique_name, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    spec = spec_file(tmp_path, unique_name, 6)
    result = subprocess.run([sys.executable, "-m", "dse", "run", spec, "--storage", url, "--workers", "2"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "database is locked" not in result.stderr and "Traceback" not in result.stderr
    check_shared(url, unique_name, 6)
    assert (tmp_path / "reports" / f"{unique_name}.html").exists()
