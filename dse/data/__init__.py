"""Data sets: the bundled digits, and MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100 and Google
Speech Commands (MFCC features, :mod:`.speech`) from --data-dir.

Every data set comes as float32 images in [0, 1] of shape [N, C, H, W] and int64
labels, split into train / validation / test. The split is fixed (seed 0) and
stratified, so every trial and every study of a data set sees the same test set.
Data sets with an official test set keep it and carve validation from train.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DataError

SPLIT_SEED = 0
VAL_FRACTION = 0.1
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def summary(self) -> str:
        return (f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} validation / "
                f"{len(self.y_test)} test, {'x'.join(map(str, self.shape))}, {self.n_classes} classes")


@dataclass(frozen=True)
class DatasetInfo:
    shape: tuple[int, int, int]
    n_classes: int
    needs_dir: bool
    help: str
    n_train: int = 0
    """Training samples of the full data set after the validation split (``dse run --dry-run``'s
    time estimate without the files)."""


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo((1, 8, 8), 10, False, "scikit-learn's 8x8 digits, 1797 images (bundled)", 1257),
    "mnist": DatasetInfo((1, 28, 28), 10, True, "MNIST IDX files (gzipped or not) in --data-dir", 54_000),
    "fashion-mnist": DatasetInfo((1, 28, 28), 10, True, "Fashion-MNIST IDX files in --data-dir", 54_000),
    "cifar10": DatasetInfo((3, 32, 32), 10, True, "CIFAR-10 python pickle batches in --data-dir", 45_000),
    "cifar100": DatasetInfo((3, 32, 32), 100, True, "CIFAR-100 python pickles (cifar-100-python/train, test) "
                            "in --data-dir, 100 fine labels", 45_000),
    "cifar100-coarse": DatasetInfo((3, 32, 32), 20, True, "CIFAR-100 with its 20 coarse labels (superclasses)",
                                   45_000),
    "speech-commands": DatasetInfo((1, 98, 40), 12, True, "Google Speech Commands v0.02 WAV folder in "
                                   "--data-dir: 12 classes, 40 MFCCs x 98 frames", 85_158),
}


def _split(x: np.ndarray, y: np.ndarray, fraction: float) -> list[np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=fraction, stratify=y, random_state=SPLIT_SEED)


def _finish(name: str, x_train, y_train, x_test, y_test, n_classes: int,
            val_fraction: float = VAL_FRACTION) -> Dataset:
    """Carve the validation set out of train."""
    x_train, x_val, y_train, y_val = _split(x_train, y_train, val_fraction)
    return _dataset(name, x_train, y_train, x_val, y_val, x_test, y_test, n_classes)


def _dataset(name: str, x_train, y_train, x_val, y_val, x_test, y_test, n_classes: int) -> Dataset:
    """Make arrays contiguous float32 / int64."""
    x = [np.ascontiguousarray(a, dtype=np.float32) for a in (x_train, x_val, x_test)]
    y = [np.ascontiguousarray(a, dtype=np.int64) for a in (y_train, y_val, y_test)]
    return Dataset(name, x[0], y[0], x[1], y[1], x[2], y[2], n_classes)


def _digits(_: Path | None) -> Dataset:
    """scikit-learn's digits and their fixed split, shipped as digits.npz (made and checked
    against scikit-learn by benchmarks/make_digits.py): no scikit-learn at run time."""
    with resources.files(__name__).joinpath("digits.npz").open("rb") as f, np.load(f) as z:
        x, y = (z["images"] / 16.0).reshape(-1, 1, 8, 8), z["labels"]
        parts = [z[f"{part}_index"] for part in ("train", "val", "test")]
    x_train, x_val, x_test = (x[i] for i in parts)
    y_train, y_val, y_test = (y[i] for i in parts)
    return _dataset("digits", x_train, y_train, x_val, y_val, x_test, y_test, 10)


def _idx(name: str) -> Callable[[Path | None], Dataset]:
    def load(data_dir: Path | None) -> Dataset:
        from .idx import load_idx_set

        x_train, y_train, x_test, y_test = load_idx_set(data_dir, name)  # type: ignore[arg-type]
        return _finish(name, x_train, y_train, x_test, y_test, 10)

    return load


def _cifar10(data_dir: Path | None) -> Dataset:
    from .cifar import load_cifar10

    x_train, y_train, x_test, y_test = load_cifar10(data_dir)  # type: ignore[arg-type]
    return _finish("cifar10", x_train, y_train, x_test, y_test, 10)


def _cifar100(labels: str) -> Callable[[Path | None], Dataset]:
    name = "cifar100" if labels == "fine" else "cifar100-coarse"

    def load(data_dir: Path | None) -> Dataset:
        from .cifar import load_cifar100

        x_train, y_train, x_test, y_test = load_cifar100(data_dir, labels)  # type: ignore[arg-type]
        return _finish(name, x_train, y_train, x_test, y_test, DATASETS[name].n_classes)

    return load


def _speech(data_dir: Path | None) -> Dataset:
    from .speech import load_speech_commands

    return _dataset("speech-commands", *load_speech_commands(data_dir), 12)  # type: ignore[arg-type]


_LOADERS: dict[str, Callable[[Path | None], Dataset]] = {
    "digits": _digits,
    "mnist": _idx("mnist"),
    "fashion-mnist": _idx("fashion-mnist"),
    "cifar10": _cifar10,
    "cifar100": _cifar100("fine"),
    "cifar100-coarse": _cifar100("coarse"),
    "speech-commands": _speech,
}


def check_data_dir(name: str, data_dir: str | Path | None) -> Path | None:
    """The data folder as a Path, or DataError when the data set needs one that is missing."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; available: {', '.join(DATASETS)}")
    if not DATASETS[name].needs_dir:
        return Path(data_dir) if data_dir else None
    if data_dir is None:
        raise DataError(f"data set {name!r} is read from a folder: pass --data-dir DIR "
                        f"({DATASETS[name].help})")
    path = Path(data_dir)
    if not path.is_dir():
        raise DataError(f"--data-dir {data_dir}: no such folder")
    return path


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """Load a data set, split and scaled; DataError if missing or malformed."""
    path = check_data_dir(name, data_dir)
    return _LOADERS[name](path)


def find_file(data_dir: Path, subdirs: tuple[str, ...], names: tuple[str, ...]) -> Path | None:
    """The first of `names` found in data_dir or one of its `subdirs`."""
    for folder in (data_dir, *(data_dir / s for s in subdirs)):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None
