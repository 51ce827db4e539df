"""`python -m hwmodels PROFILE.json`: every metric with its unit; bad input is one line and exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import hwmodels
from hwmodels.__main__ import main

from .conftest import dense, profile_of
from .test_hwmodels_values import CONV


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "profile.json"
    profile = profile_of(dense(fan_out=2.0, input_events=5.0, output_spikes=3.0), dense(**CONV),
                         timesteps=4, accuracy=0.75)
    path.write_text(json.dumps(profile.to_dict()))
    return path


def run(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err.splitlines()


def test_prints_every_metric_of_every_model_with_its_unit(profile_file, capsys) -> None:
    code, out, err = run(capsys, profile_file)
    assert code == 0 and err == []
    rows = {line.split()[0]: line.split()[1:] for line in out}
    units = hwmodels.units()
    assert list(rows) == list(units)
    for metric, (model, unit) in units.items():
        assert rows[metric][1:] == [unit, model]
    assert rows["memory_bits"][0] == str(12 * 8 + 54 * 4 + 64 * 8 + 8 + 8)


def test_models_gpu_targets_and_options(profile_file, capsys) -> None:
    code, out, _ = run(capsys, profile_file, "--models", "memory,gpu", "--gpu-targets", "rtx2080ti",
                       "--option", "sparse_format=dense")
    assert code == 0
    assert [line.split()[0] for line in out] == ["memory_bits", "memory_bytes", "latency_rtx2080ti_s",
                                                 "energy_rtx2080ti_j"]
    assert out[0].split()[1] == str(12 * 8 + 72 * 4 + 64 * 8 + 8 + 8)
    code, out, _ = run(capsys, profile_file, "--models", "neuromorphic", "synops", "--option", "s_ref=1000",
                       "--json")
    data = json.loads("\n".join(out))
    assert data["energy_truenorth"] == {"value": pytest.approx(0.4 * (3 + 25) / 1000 + 0.6 * 4 / 512),
                                        "unit": "1", "model": "neuromorphic"}
    assert data["synops"]["value"] == pytest.approx(2 * 5 + 40 * 6.75)


def test_a_value_that_is_not_a_number_is_null_in_json(tmp_path, capsys) -> None:
    path = tmp_path / "no_accuracy.json"
    path.write_text(json.dumps(profile_of(dense()).to_dict()))
    code, out, _ = run(capsys, path, "--models", "reward", "--json")
    assert code == 0 and json.loads("\n".join(out))["reward"]["value"] is None


@pytest.mark.parametrize("content, args, message", [
    (None, [], "absent.json: cannot read: No such file or directory"),
    ("{", [], "not valid JSON: Expecting property name"),
    ("[1, 2]", [], "expected a JSON object (Profile.to_dict()), got list"),
    ('{"layers": [{"name": "a", "kind": "dense", "n_inputs": 1, "n_neurons": 1, "n_weights": 1, '
     '"n_nonzero": 2, "weight_bits": 8}], "timesteps": 1}', [], "layer 'a': n_nonzero (2) exceeds n_weights (1)"),
    ('{"layers": [], "timesteps": 1}', [], "profile: needs at least one layer"),
    ('{"timesteps": 1}', [], "profile: needs 'layers' and 'timesteps'"),
    ("GOOD", ["--models", "abacus"], "unknown model(s) 'abacus'; available: memory, synops"),
    ("GOOD", ["--gpu-targets", "tx2"], "unknown GPU target(s) 'tx2'; valid: jetson-nano, jetson-nano-5w, rtx2080ti"),
    ("GOOD", ["--option", "colour=red"], "unknown option(s) 'colour'; valid: arithmetic"),
    ("GOOD", ["--option", "sparse_format"], "--option sparse_format: expected KEY=VALUE"),
    ("GOOD", ["--models", ","], "--models: name at least one model; available: memory, synops"),
    ("GOOD", ["--option", "mu=-1"], "option 'mu' of model 'reward': expected numbers >= 0, got -1"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, profile_file, capsys, content, args, message) -> None:
    path = tmp_path / "absent.json"
    if content == "GOOD":
        path = profile_file
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, path, *args)
    assert code == 2 and out == []
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_a_usage_error_is_one_line_and_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: the following arguments are required: PROFILE.json (see python -m hwmodels --help)"]


def test_runs_as_a_module_without_torch_or_the_explorer(profile_file) -> None:
    code = ("import runpy, sys\n"
            f"sys.argv = ['hwmodels', {str(profile_file)!r}, '--models', 'memory']\n"
            "try:\n    runpy.run_module('hwmodels', run_name='__main__')\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "assert 'torch' not in sys.modules and 'dse' not in sys.modules, 'imported torch or dse'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["memory_bits", str(12 * 8 + 54 * 4 + 64 * 8 + 8 + 8), "bit"]
