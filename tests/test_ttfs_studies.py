"""The TTFS studies: the committed specs load, and a study over TTFS and rate/direct coding
reports accuracy, spikes, latency and neuromorphic energy for every design in one report."""

from pathlib import Path

import pytest

from dse.report import build, points_table, write_report
from dse.spec import load_spec, parse_spec
from dse.store import Store
from dse.study import run_study

STUDIES = Path(__file__).resolve().parent.parent / "studies"


def test_the_ablation_spec_is_the_seeds_factorial() -> None:
    spec = load_spec(STUDIES / "ttfs_digits.toml")
    assert spec.engines == ("ttfs",) and spec.sampler == "grid"
    grid = {p.name: p.choices for p in spec.space}
    assert grid["relaxation"] == (0, 20) and grid["kernel_reg"] == (0.0, 1e-5)
    assert grid["kernel_bn"] == (0.0, 1e-5, 1e-4) and grid["hidden"] == ((256, 256),)
    assert spec.n_trials == 2 * 2 * 2 * 3  # every combination once
    assert spec.train["kernel_epoch"] == 20 and spec.train["lr"] == 1e-3 and spec.train["epochs"] == 200
    assert "neuromorphic" in spec.hardware_models


def test_the_coding_spec_searches_both_engines_at_one_size() -> None:
    spec = load_spec(STUDIES / "coding_digits.toml")
    assert spec.engines == ("surrogate", "ttfs")
    assert {p.name for p in spec.params_for("surrogate")} >= {"hidden", "coding", "timesteps"}
    assert {p.name for p in spec.params_for("ttfs")} >= {"hidden", "relaxation", "kernel_bn"}
    assert dict(spec.objectives)["energy_truenorth"] == "minimize"


def test_one_report_compares_codings_with_latency_and_energy(workdir) -> None:
    data = {
        "study": {"name": "codings", "engine": ["surrogate", "ttfs"], "n_trials": 3, "sampler": "random",
                  "seed": 1},  # the space holds three designs: each trained once
        "objectives": {"accuracy": "maximize", "energy_truenorth": "minimize"},
        "space": {"hidden": {"choices": [[16]]}, "coding": {"choices": ["direct", "rate"]},
                  "timesteps": {"choices": [4]}, "window": {"choices": [8]}},
        "train": {"epochs": 1, "batch_size": 256},
        "hardware": {"models": ["synops", "neuromorphic"]},
    }
    spec = parse_spec(data, "codings.toml")
    url = f"sqlite:///{workdir / 'c.db'}"
    run_study(spec, storage=url, show_progress=False)
    info = build(Store(url), spec.name)
    engines = {p.params["engine"] for p in info.points}
    assert engines == {"surrogate", "ttfs"}
    for p in info.points:  # latency of every design: the surrogate's T, TTFS's (2 + 1) x 8 steps
        assert p.params["timesteps"] == (4 if p.params["engine"] == "surrogate" else 24)
        # each design shows its own engine's parameters only
        assert ("coding" in p.params) == ("window" not in p.params) == (p.params["engine"] == "surrogate")
    header, rows = points_table(info, list(info.points))
    assert len(rows) == len(info.points)
    for column in ("accuracy", "energy_truenorth", "spikes_per_sample", "energy_spinnaker", "timesteps"):
        assert column in header
    text = write_report(Store(url), spec.name).read_text()
    assert f"All design points ({len(info.points)})" in text


@pytest.mark.slow
def test_kernel_aware_batch_norm_cuts_spikes_at_the_seeds_setting(workdir) -> None:
    """The seed's TB trend on digits, three seeds: lambda_TB = 1e-4 fires fewer spikes than 0."""
    from dse.data import load_dataset
    from dse.engines import Budget, get
    from dse.design import make_design

    digits = load_dataset("digits")
    spikes = {}
    for kernel_bn in (0.0, 1e-4):
        design = make_design("ttfs", {"relaxation": 20, "kernel_reg": 1e-5, "kernel_bn": kernel_bn})
        spikes[kernel_bn] = [get("ttfs").run(design, digits, Budget(epochs=200, lr=1e-3, seed=s,
                                                                        extra={"kernel_epoch": 20}),
                                             lambda *_: None).profile.spikes for s in range(3)]
    assert sum(spikes[1e-4]) < 0.9 * sum(spikes[0.0])
