"""``dse run --dry-run``: design counts, corner costs, the time estimate, and nothing written."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from dse.spec import load_spec, parse_spec
from dse.study.dry_run import design_count, dry_run, lines

from .test_data import make_cifar, make_mnist

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"


def cell_spec(cells):
    return parse_spec({"study": {"name": "c", "engine": "surrogate", "n_trials": 1},
                       "objectives": {"accuracy": "maximize"},
                       "space": {"cells": {"choices": cells}, "nodes": {"choices": [2]},
                                 "ops": {"choices": ["conv3x3", "conv1x1", "skip"]}}}, "c.toml")


def test_design_counts_by_hand() -> None:
    # 2 t_d x 2 relaxation x 2 kernel_reg x 3 kernel_bn
    assert design_count(load_spec(STUDIES / "ttfs_digits.toml")) == 24
    # 2 networks x 4 weight_bits x 3 roundings x 2 quantisations
    assert design_count(load_spec(STUDIES / "tinysnn_mnist.toml")) == 48
    assert design_count(load_spec(STUDIES / "ttfs_cifar10.toml")) == 2
    assert math.isinf(design_count(load_spec(STUDIES / "litesnn_cifar10.toml")))
    # each of a cell's 2 nodes is fed by 2 edges, each edge one of 3 operations: 3^4 per cell
    assert design_count(cell_spec([1])) == 3**4
    assert design_count(cell_spec([1, 2])) == 3**4 + 3**8


@pytest.mark.parametrize("study, designs, corners, data_note", [
    ("tinysnn_mnist", "designs: 48", 48, "mnist's known shape 1x28x28, 10 classes, 54,000 training samples"),
    ("tinysnn_fashion_mnist", "designs: 48", 48, "fashion-mnist's known shape 1x28x28"),
    ("litesnn_cifar10", "designs: infinitely many (continuous ranges: pruning)", 24,
     "cifar10's known shape 3x32x32, 10 classes, 45,000 training samples"),
    ("ttfs_cifar10", "designs: 2", 2, "cifar10's known shape 3x32x32"),
])
def test_seed_studies_without_their_data(study, designs, corners, data_note) -> None:
    result = dry_run(load_spec(STUDIES / f"{study}.toml"), None, timed=False)
    text = lines(result)
    assert designs in text and len(result.corners) == corners
    assert data_note in text[1]
    assert any(line.startswith("  memory_bits: ") for line in text)


def test_vgg16_corner_costs(tmp_path: Path) -> None:
    make_cifar(tmp_path / "cifar-10-batches-py")
    result = dry_run(load_spec(STUDIES / "ttfs_cifar10.toml"), tmp_path, timed=False)
    assert result.data_note == "data: cifar10: 90 train / 10 validation / 20 test, 3x32x32, 10 classes"
    for _, metrics in result.corners:
        # 15,239,872 weights (14,710,464 conv + 2 x 262,144 + 5,120) at 32 bits, plus the neurons' state:
        # v_mem of 280,586 neurons, 5,258 folded biases (4,224 conv channels + 512 + 512 + 10), 16 kernels
        # (2 values each), 16 thresholds (the input population's and 15 hidden layers')
        weights = 14_710_464 + 2 * 262_144 + 5_120
        assert metrics["memory_bits"] == 32 * (weights + 280_586 + (4_224 + 1_034) + 2 * 16 + 16) == 496_824_448
        assert metrics["macs"] == 0  # every layer's input is spikes


def run_cli(*args, cwd: Path):
    return subprocess.run([sys.executable, "-m", "dse", "run", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_cli_dry_run_times_batches_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "small.toml"
    spec.write_text('[study]\nname = "small"\nengine = "ttfs"\nn_trials = 5\n[objectives]\naccuracy = "maximize"\n'
                    '[space]\nhidden = { choices = [[16], [32]] }\n[train]\nepochs = 7\nbatch_size = 128\n'
                    'max_train_samples = 500\n[hardware]\nmodels = ["memory"]\n')
    result = run_cli(spec, "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "dry run of study small (engine ttfs, data set digits, 5 trials): nothing trained, nothing written"
    assert out[2] == "designs: 2"
    assert out[4].startswith("  memory_bits: ") and "(ttfs: hidden=(16,))" in out[4] and "(ttfs: hidden=(32,))" in out[4]
    # min(1257, 500) samples in batches of 128: 4 batches per epoch, 7 epochs, the larger design timed
    (timing,) = [line for line in out if line.startswith("training time per trial")]
    assert "costliest corner (ttfs: hidden=(32,))" in timing and " s per batch x 4 batches x 7 epochs = " in timing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"], "nothing written"


def test_cli_dry_run_checks_the_data_folder(tmp_path: Path) -> None:
    result = run_cli(STUDIES / "tinysnn_mnist.toml", "--dry-run", "--data-dir", tmp_path / "nowhere", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == (
        f"error: --data-dir {tmp_path / 'nowhere'}: no such folder")
    make_mnist(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"broken")
    result = run_cli(STUDIES / "tinysnn_mnist.toml", "--dry-run", "--data-dir", tmp_path / "m", cwd=tmp_path)
    assert result.returncode == 2 and "t10k-labels-idx1-ubyte.gz" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr and not (tmp_path / "dse.db").exists()
