"""CIFAR-10 from its "python version" pickle batches.

The batches are pickled dicts with ``b"data"`` (uint8 [N, 3072], channel-major)
and ``b"labels"``; unpickling runs code from the file, so only load batches you
trust. Read by hand because torchvision cannot be installed beside this torch.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import find_file

SUBDIRS = ("cifar-10-batches-py", "cifar10", "cifar-10")
TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST = ("test_batch",)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: not a CIFAR-10 pickle batch ({exc})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: not a CIFAR-10 pickle batch (a {type(batch).__name__}, expected a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise DataError(f"{path}: CIFAR-10 batch without 'data' and 'labels'")
    data = np.asarray(data, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"{path}: data {data.shape} and labels {labels.shape} do not match "
                        f"(expected [N, 3072] and [N])")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    parts = {}
    for split, names in (("train", TRAIN), ("test", TEST)):
        found = [find_file(data_dir, SUBDIRS, (n,)) for n in names]
        if not any(found) or (split == "test" and not all(found)):
            raise DataError(f"--data-dir {data_dir}: no CIFAR-10 {split} batches "
                            f"({', '.join(names)}) in the folder or in {', '.join(SUBDIRS)}")
        batches = [read_batch(p) for p in found if p is not None]
        parts[split] = (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
    (xtr, ytr), (xte, yte) = parts["train"], parts["test"]
    return xtr.astype(np.float32) / 255.0, ytr, xte.astype(np.float32) / 255.0, yte
