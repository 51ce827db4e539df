"""CIFAR-10 from its "python version" pickle batches.

The batches are pickled dicts with ``b"data"`` (uint8 [N, 3072], channel-major)
and ``b"labels"``. Unpickling can run any code a file names, so the batches are
read by :class:`BatchUnpickler`, which admits only the globals a numpy array
needs (those of the distribution's Python 2 pickles and of Python 3 re-saves up
to protocol 4) and refuses any other before it is called. Read by hand because
torchvision cannot be installed beside this torch.
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


def _reconstruct() -> object:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy 2
    except ImportError:  # pragma: no cover: numpy 1
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


ADMITTED = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # the distribution (numpy 1, Python 2)
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # re-saved by numpy 2
            ("numpy", "ndarray"): lambda: np.ndarray,
            ("numpy", "dtype"): lambda: np.dtype}
"""The only globals a CIFAR-10 batch may name: what pickled numpy arrays need, nothing callable beyond."""


class Refused(pickle.UnpicklingError):
    """A global outside :data:`ADMITTED`: the file is not a plain CIFAR-10 batch."""


class BatchUnpickler(pickle.Unpickler):
    """Unpickles a batch without importing or calling anything but :data:`ADMITTED`."""

    def find_class(self, module: str, name: str) -> object:
        found = ADMITTED.get((module, name))
        if found is None:
            raise Refused(f"{module}.{name}")
        return found()


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as f:
            batch = BatchUnpickler(f, encoding="bytes").load()
    except Refused as exc:
        raise DataError(f"{path}: refused to unpickle the global {exc}: a CIFAR-10 batch holds only numpy "
                        f"arrays, lists, bytes and ints; nothing from the file was run") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError) as exc:
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
