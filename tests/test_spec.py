"""Study specs: good ones load, bad ones are refused with the file, key and what is valid."""

import subprocess
import sys
from pathlib import Path

import pytest

from dse.errors import SpecError
from dse.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "study": {"name": "s", "engine": "surrogate"},
    "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
}


def spec_with(**sections):
    data = {k: dict(v) for k, v in BASE.items()}
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return data


def refused(data) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(data, "x.toml")
    return str(info.value)


@pytest.mark.parametrize("path", sorted((ROOT / "studies").glob("*.toml")), ids=lambda p: p.name)
def test_every_bundled_study_loads(path: Path) -> None:
    spec = load_spec(path)
    assert spec.objectives and spec.n_trials >= 1


def test_quickstart_is_the_documented_study() -> None:
    spec = load_spec(ROOT / "studies" / "quickstart.toml")
    assert spec.name == "digits-quickstart" and spec.engine == "surrogate" and spec.dataset == "digits"
    assert spec.n_trials == 30 and spec.sampler == "nsga2"
    assert spec.objectives == (("accuracy", "maximize"), ("memory_bits", "minimize"),
                               ("energy_45nm_j", "minimize"))


def test_defaults_and_normalisation() -> None:
    spec = parse_spec(spec_with(space={"hidden": {"choices": [[64], [128, 64]]},
                                       "pruning": {"low": 0, "high": 0.5}}))
    assert spec.sampler == "nsga2"  # several objectives
    hidden, pruning = spec.space
    assert hidden.choices == ((64,), (128, 64))
    assert (pruning.low, pruning.high, pruning.kind) == (0.0, 0.5, "float")
    assert spec.train["epochs"] == 10 and spec.dataset == "digits"
    single = parse_spec({"study": BASE["study"], "objectives": {"accuracy": "maximize"}})
    assert single.sampler == "tpe"


@pytest.mark.parametrize("sections, message", [
    ({"space": {"weight_bits": {"choices": [4, 64]}}},
     "x.toml: [space].weight_bits: expected integers 1..32, got 64"),
    ({"space": {"weight_bits": {"choices": ["8"]}}},
     'x.toml: [space].weight_bits: expected integers 1..32, got "8"'),
    ({"space": {"rounding": {"choices": ["up"]}}},
     'x.toml: [space].rounding: expected one of "truncate", "nearest", "stochastic", got "up"'),
    ({"space": {"pruning": {"low": 0.0, "high": 1.0}}},
     "x.toml: [space].pruning.high: expected numbers in [0, 1), got 1.0"),
    ({"space": {"timesteps": {"low": 8, "high": 2}}},
     "x.toml: [space].timesteps: low (8) must not exceed high (2)"),
    ({"space": {"timesteps": {"low": 0, "high": 8, "log": True}}},
     "x.toml: [space].timesteps.low: expected integers 1..100000, got 0"),
    ({"space": {"window": {"choices": [16]}}},
     'x.toml: [space].window: engine "surrogate" has no such key; valid keys: weight_bits'),
    ({"space": {"hidden": [64]}},
     "x.toml: [space].hidden: expected a table: { choices = [...] } or { low = ..., high = ... }"),
    ({"space": {"hidden": {"choices": [[]]}}},
     "x.toml: [space].hidden: expected lists of integers 1..65536, got []"),
    ({"space": {"rounding": {"low": 1, "high": 2}}},
     "x.toml: [space].rounding: a range needs a numeric key"),
    ({"objectives": {"acuracy": "maximize"}},
     'x.toml: [objectives].acuracy: unknown metric "acuracy"; valid metrics: accuracy, val_accuracy'),
    ({"objectives": {"accuracy": "max"}},
     'x.toml: [objectives].accuracy: expected "maximize" or "minimize", got "max"'),
    ({"constraints": {"memory_bits": {"max": 10, "min": 20}}},
     "x.toml: [constraints].memory_bits: impossible: min (20) exceeds max (10)"),
    ({"constraints": {"memory_bits": {"below": 10}}},
     "x.toml: [constraints].memory_bits: expected { max = number }, { min = number } or both"),
    ({"study": {"sampler": "annealing"}},
     'x.toml: [study].sampler: expected one of "nsga2", "nsga3", "tpe", "gp", "random", "grid", got "annealing"'),
    ({"study": {"engine": "loihi"}},
     'x.toml: [study].engine: expected one of "surrogate"'),
    ({"study": {"dataset": "imagenet"}},
     'x.toml: [study].dataset: expected one of "digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "cifar100-coarse", "speech-commands", got "imagenet"'),
    ({"study": {"n_trials": 0}}, "x.toml: [study].n_trials: expected integers 1..10000000, got 0"),
    ({"study": {"name": "my study!"}}, "x.toml: [study].name: expected letters, digits"),
    ({"train": {"epochs": 0}}, "x.toml: [train].epochs: expected integers 1..100000, got 0"),
    ({"train": {"epoch": 5}}, "x.toml: [train].epoch: unknown key; valid keys: epochs"),
    ({"hardware": {"models": ["memory", "abacus"]}},
     'x.toml: [hardware].models: unknown model "abacus"; available: memory, synops, energy45nm'),
    ({"hardware": {"sparse_format": "zip"}},
     "x.toml: [hardware].sparse_format: option 'sparse_format' of model 'memory': expected one of"),
    ({"hardware": {"colour": "red"}}, "x.toml: [hardware].colour: unknown option(s) 'colour'; valid:"),
    ({"hardware": {"models": ["memory"]}, "objectives": {"energy_45nm_j": "minimize"}},
     'x.toml: [objectives].energy_45nm_j: unknown metric "energy_45nm_j" (model "energy45nm" reports it: '
     'add it to [hardware].models)'),
    ({"study": {"sampler": "grid"}, "space": {"pruning": {"low": 0.0, "high": 0.5}}},
     "x.toml: [space].pruning: the grid sampler needs choices, or an integer range, or a step"),
    ({"study": {"pruner": "median"}},
     'x.toml: [study].pruner: Optuna prunes single-objective studies only; use "pareto" or "none" with several objectives'),
])
def test_bad_specs_are_refused_with_file_key_and_valid_values(sections, message) -> None:
    assert refused(spec_with(**sections)).startswith(message)


def infeasible(data) -> str:
    from dse.study import check_feasible

    with pytest.raises(SpecError) as info:
        check_feasible(parse_spec(data, "x.toml"))
    return str(info.value)


def test_impossible_constraint_is_found_before_anything_runs() -> None:
    message = infeasible(spec_with(constraints={"memory_bits": {"max": 100}},
                                space={"hidden": {"choices": [[64], [128]]},
                                       "weight_bits": {"choices": [4, 8]}}))
    assert message.startswith("x.toml: [constraints].memory_bits: impossible: no design in [space] meets "
                              "memory_bits <= 100")


def test_reachable_constraint_is_accepted() -> None:
    # hidden 16 at 2 bits is ~3 kbit; hidden 128 at 32 bits is ~300 kbit
    spec = parse_spec(spec_with(constraints={"memory_bits": {"max": 20000}},
                                space={"hidden": {"choices": [[16], [128]]}, "weight_bits": {"choices": [2, 32]}}))
    assert spec.constraints[0].max == 20000


def test_missing_sections_and_files() -> None:
    assert refused({"study": {"engine": "surrogate"}}) == "x.toml: [study].name: missing; it is required"
    assert refused({"study": {"name": "s", "engine": "surrogate"}}).startswith(
        "x.toml: [objectives]: missing; give at least one metric")
    assert refused({**BASE, "spaces": {}}).startswith("x.toml: [spaces]: unknown section; valid sections: study")
    with pytest.raises(SpecError, match="nope.toml: no such file"):
        load_spec("nope.toml")


def test_malformed_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[study\nname = 1\n")
    with pytest.raises(SpecError, match=r"bad.toml: not valid TOML: .*line 1"):
        load_spec(path)


def test_cli_bad_spec_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[study]\nname = "s"\nengine = "surrogate"\n[objectives]\naccuracy = "maximize"\n'
                    '[space]\nweight_bits = { choices = [64] }\n')
    result = subprocess.run([sys.executable, "-m", "dse", "run", str(path)], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {path}: [space].weight_bits: expected integers 1..32, got 64"
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]  # no dse.db, no reports/


@pytest.mark.parametrize("data, message", [
    ({"study": {"name": "s", "engine": "stdp"}, "objectives": {"accuracy": "maximize"},
      "space": {"timesteps": {"choices": [50, 250]}, "update_interval": {"low": 10, "high": 100}}},
     "x.toml: [space].update_interval, [space].timesteps: update_interval = 51 exceeds timesteps = 50: "
     "tinySNN would never update its weights; use update_interval <= timesteps "
     "(the space holds update_interval = 51, timesteps = 50)"),  # every combination of a small space
    ({"study": {"name": "s", "engine": "stdp"}, "objectives": {"accuracy": "maximize"},
      "space": {"timesteps": {"choices": [20, 40]}}},  # the default update interval is 50
     "x.toml: [space].update_interval, [space].timesteps: update_interval = 50 exceeds timesteps = 20: "
     "tinySNN would never update its weights; use update_interval <= timesteps "
     "(the space holds update_interval = 50 (default), timesteps = 20)"),
    ({"study": {"name": "s", "engine": "ttfs"}, "objectives": {"accuracy": "maximize"},
      "space": {"conv": {"choices": [[8, 0], [0, 8]]}}},
     "x.toml: [space].conv: conv [0, 8]: a 0 (2x2 max-pool) must follow a convolution (position 0) "
     "(the space holds conv = [0, 8])"),
])
def test_rules_across_keys_are_checked_over_the_space_at_load_time(data, message) -> None:
    assert refused(data) == message


def test_a_space_whose_every_design_keeps_the_rules_loads() -> None:
    spec = parse_spec({"study": {"name": "s", "engine": "stdp"}, "objectives": {"accuracy": "maximize"},
                       "space": {"network": {"choices": ["diehl-cook"]}, "timesteps": {"choices": [20]}}})
    assert spec.engines == ("stdp",)  # the baseline updates every step: its default interval is no rule break


def test_overrides_are_checked_like_the_file() -> None:
    with pytest.raises(SpecError, match=r"x.toml: --n-trials: expected integers 1..10000000, got 0"):
        parse_spec(BASE, "x.toml", n_trials=0)
    assert parse_spec(BASE, "x.toml", n_trials=7).n_trials == 7


def test_nan_and_infinity_are_refused_anywhere() -> None:
    assert refused(spec_with(train={"lr": float("nan")})) == "x.toml: [train].lr: expected numbers 1e-12..100, got nan"
    assert refused(spec_with(space={"pruning": {"low": 0.0, "high": float("nan")}})).startswith(
        "x.toml: [space].pruning.high: expected numbers in [0, 1), got nan")
    assert refused(spec_with(constraints={"memory_bits": {"max": float("inf")}})) == \
        "x.toml: [constraints].memory_bits.max: expected a number, got inf"


def test_an_oversized_spec_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * 1_100_000 + "\n")
    with pytest.raises(SpecError, match=r"big.toml: 1100003 bytes is too large for a study spec \(at most 1000000\)"):
        load_spec(path)


def test_the_spec_package_evaluates_no_cost_model_and_builds_no_profile() -> None:
    code = ("import sys, dse.spec, hwmodels\n"
            "hwmodels.evaluate = None\n"  # a spec check that scored a design would fail here
            "from dse.engines import get\n"
            "for e in ('surrogate', 'stdp', 'ttfs'):\n"
            "    object.__setattr__(get(e), 'static_profile', None)\n"
            "dse.spec.load_spec(sys.argv[1])\n"
            "assert 'torch' not in sys.modules\n")
    for path in sorted((ROOT / "studies").glob("*.toml")):
        result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_the_grid_sampler_refuses_keys_that_expand_per_item() -> None:
    data = {"study": {"name": "g", "engine": "surrogate", "sampler": "grid"}, "objectives": {"accuracy": "maximize"},
            "space": {"cells": {"choices": [1]}, "ops": {"choices": ["conv3x3", "skip"]}}}
    assert refused(data).startswith("x.toml: [space].ops: the grid sampler cannot search ops: it becomes one "
                                    "parameter per item (e.g. op_c0_n0_e0)")
    dense = {**data, "space": {"hidden": {"choices": [[8], [16]]}, "weight_bits": {"choices": [4, 8]}}}
    assert parse_spec(dense, "x.toml").sampler == "grid"  # a dense space's keys are each one parameter
