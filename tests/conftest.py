"""Shared fixtures: a scratch working folder, storages (SQLite and PostgreSQL), spec files."""

from __future__ import annotations

import os
import textwrap
import uuid
from pathlib import Path

import pytest

from hwmodels import LayerProfile, Profile

POSTGRES_ENV = "DSE_TEST_POSTGRES_URL"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, as a user would (dse.db and reports/ land here)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def postgres_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide a PostgreSQL server: set {POSTGRES_ENV} (see .ci/run)")
    pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} to run this test")


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage mode the project supports (PostgreSQL where a server is given)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trials.db'}"
    return postgres_url()  # type: ignore[return-value]


@pytest.fixture
def unique_name() -> str:
    """A study name no other test (or earlier run on a shared server) uses."""
    return f"test-{uuid.uuid4().hex[:10]}"


TINY_SPEC = """
[study]
name = "{name}"
engine = "surrogate"
dataset = "digits"
n_trials = {n_trials}
sampler = "{sampler}"
seed = 0

[objectives]
accuracy = "maximize"
memory_bits = "minimize"

[space]
hidden = {{ choices = [[16], [32]] }}
weight_bits = {{ choices = [4, 8, 32] }}
timesteps = {{ low = 2, high = 4 }}
pruning = {{ low = 0.0, high = 0.5 }}

[train]
epochs = 1
batch_size = 256
eval_timesteps = [1]

[hardware]
models = ["memory", "synops", "energy45nm"]
"""


@pytest.fixture
def tiny_spec(tmp_path: Path, unique_name: str):
    """Write a 1-epoch study spec; returns a function(n_trials=3, **extra sections)."""

    def write(n_trials: int = 3, sampler: str = "nsga2", name: str | None = None, extra: str = "") -> Path:
        path = tmp_path / f"{name or unique_name}.toml"
        path.write_text(TINY_SPEC.format(name=name or unique_name, n_trials=n_trials, sampler=sampler)
                        + textwrap.dedent(extra))
        return path

    return write


def dense(name: str = "fc", **kw) -> LayerProfile:
    """A dense layer with sensible defaults for hand-computed tests."""
    args = dict(name=name, kind="dense", n_inputs=4, n_neurons=3, n_weights=12, n_nonzero=12,
                weight_bits=8, neuron_params={}, macs_per_step=12, fan_out=3.0, input_events=0.0,
                output_spikes=0.0, spiking_input=True)
    args.update(kw)
    return LayerProfile(**args)


def profile_of(*layers: LayerProfile, timesteps: int = 1, **kw) -> Profile:
    return Profile(layers=tuple(layers), timesteps=timesteps, **kw)


def invoke(capsys, args: list[str]) -> tuple[int, str, str]:
    """Run `dse ARGS` in-process as the console script would: (exit code, stdout, stderr)."""
    from dse.cli import main

    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def evaluated(capsys, url: str, study: str, trial: int = 0, variant: str = "", split: str | None = None) -> list[dict]:
    """The rows of `dse evaluate STUDY --trial N [--variant V] [--split S] --format json` (which must exit 0)."""
    import json

    args = ["evaluate", study, "--storage", url, "--trial", str(trial), "--format", "json"]
    args += (["--variant", variant] if variant else []) + (["--split", split] if split else [])
    code, out, err = invoke(capsys, args)
    assert code == 0, err
    return json.loads(out)


def trained_study(tmp_path_factory: pytest.TempPathFactory, spec: dict, folder: str) -> tuple[str, Path]:
    """Run `spec` (a parsed-spec dict) into a new SQLite database; (its URL, its folder)."""
    from dse.spec import parse_spec
    from dse.study import run_study

    path = tmp_path_factory.mktemp(folder)
    url = f"sqlite:///{path / 'dse.db'}"
    run_study(parse_spec(spec), storage=url, show_progress=False)
    return url, path


def stored_accuracy(url: str, study: str, trial: int = 0, variant: str = "") -> float:
    """The test accuracy `dse query` shows for a trial's design point (variant "" = the trained one)."""
    from dse.query import query

    frame = query(study, url, variants=True)
    return float(frame[(frame.trial == trial) & (frame.variant == variant)].accuracy.iloc[0])
