"""One trial of each seed-scale study, on synthetic files in the real formats; one JSON line each.

    PYTHONPATH=. python benchmarks/seed_trials.py tinysnn_mnist:100 litesnn_cifar10:128 ttfs_cifar10:512

Each argument is ``STUDY:SAMPLES``: the study's costliest corner (most dense work, as
``dse run --dry-run`` picks it) trains for one epoch on SAMPLES samples of MNIST / Fashion-MNIST
IDX files or CIFAR-10 batches written by the tests' writers (random pixels: the real data sets
are not needed, and the time does not depend on the values), then is evaluated on 100 test
samples. ``projected_train_hours`` = training seconds per sample x the full training set x the
study's epochs (per-epoch validation on 100 samples included in the per-sample time).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from dse import engines
from dse.data import DATASETS, load_dataset
from dse.engines import DataShape
from dse.spec import designs, load_spec
from dse.study.dry_run import dense_work
from dse.study.scoring import budget
from tests.test_data import make_cifar, make_mnist

STUDIES = Path(__file__).resolve().parents[1] / "studies"


def write_data(root: Path) -> dict[str, Path]:
    make_mnist(root / "mnist", n_train=1000, n_test=100)
    make_mnist(root / "fashion" / "FashionMNIST" / "raw", n_train=1000, n_test=100)
    make_cifar(root / "cifar" / "cifar-10-batches-py", per_batch=200, n_test=100)
    return {"mnist": root / "mnist", "fashion-mnist": root / "fashion", "cifar10": root / "cifar"}


def one_trial(study: str, samples: int, folders: dict[str, Path]) -> dict:
    spec = load_spec(STUDIES / f"{study}.toml")
    data = load_dataset(spec.dataset, folders[spec.dataset])
    shape = DataShape(data.shape, data.n_classes)
    design = max(designs(spec, corners=True), key=lambda d: dense_work(d, shape))
    run = replace(budget(spec, seed=0), epochs=1, max_train_samples=samples, variants=())
    started = time.perf_counter()
    out = engines.get(design.engine).run(design, data, run, lambda step, accuracy: None)
    full = budget(spec).max_train_samples or DATASETS[spec.dataset].n_train
    epochs = spec.train.get("epochs", 1)
    return {"study": study, "max_train_samples": samples, "train_seconds": round(out.train_seconds, 2),
            "eval_seconds": round(out.eval_seconds, 2), "test_samples": len(data.y_test),
            "wall_seconds": round(time.perf_counter() - started, 2), "epochs": epochs,
            "projected_train_hours": round(out.train_seconds / samples * full * epochs / 3600, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="STUDY:SAMPLES")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = write_data(Path(tmp))
        for item in args.runs:
            study, samples = item.split(":")
            print(json.dumps(one_trial(study, int(samples), folders)), flush=True)


if __name__ == "__main__":
    main()
