"""What the search benchmarks share: the objectives, the command line, the reference point."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVES = ("accuracy", "memory_bits", "energy_45nm_j")
DIRECTIONS = ["maximize", "minimize", "minimize"]


def arguments(doc: str, n_trials: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "studies" / "quickstart.toml"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-trials", type=int, default=n_trials)
    parser.add_argument("--epochs", type=int, default=15)
    return parser.parse_args()


def reference(points: np.ndarray, directions: list[str] = DIRECTIONS) -> list[float]:
    """0 for a maximised objective (accuracy), 1.1 x the worst value any run reached for a minimised
    one (a cost): one point per benchmark run."""
    return [0.0 if d == "maximize" else 1.1 * points[:, i].max() for i, d in enumerate(directions)]
