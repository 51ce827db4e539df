"""CIFAR-10 and CIFAR-100 from their "python version" pickle batches.

The batches are pickled dicts with ``b"data"`` (uint8 [N, 3072], channel-major)
and ``b"labels"`` (CIFAR-10's ``data_batch_1..5``, ``test_batch``) or
``b"fine_labels"`` (100 classes) and ``b"coarse_labels"`` (20 superclasses)
(CIFAR-100's ``train``, ``test`` in ``cifar-100-python``). Unpickling can run any code a file names, so the batches are
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


CIFAR100_SUBDIRS = ("cifar-100-python", "cifar100", "cifar-100")
CIFAR100_LABELS = {"fine": b"fine_labels", "coarse": b"coarse_labels"}
"""CIFAR-100's two labelings: 100 classes, or their 20 superclasses."""


def read_batch(path: Path, labels_key: bytes = b"labels", what: str = "CIFAR-10") -> tuple[np.ndarray, np.ndarray]:
    """A batch's images [N, 3, 32, 32] (uint8) and its labels under `labels_key`; DataError naming
    the file for anything but a dict of numpy arrays and lists."""
    try:
        with path.open("rb") as f:
            batch = BatchUnpickler(f, encoding="bytes").load()
    except Refused as exc:
        raise DataError(f"{path}: refused to unpickle the global {exc}: a {what} batch holds only numpy "
                        f"arrays, lists, bytes and ints; nothing from the file was run") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError, MemoryError) as exc:
        raise DataError(f"{path}: not a {what} pickle batch ({exc})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: not a {what} pickle batch (a {type(batch).__name__}, expected a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(labels_key, batch.get(labels_key.decode()))
    if data is None or labels is None:
        raise DataError(f"{path}: {what} batch without 'data' and '{labels_key.decode()}'")
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


def load_cifar100(data_dir: Path, labels: str = "fine") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-100's ``train`` and ``test`` files, labelled by `labels` (``fine`` or ``coarse``)."""
    parts = []
    for split in ("train", "test"):
        path = find_file(data_dir, CIFAR100_SUBDIRS, (split,))
        if path is None:
            raise DataError(f"--data-dir {data_dir}: no CIFAR-100 {split} file in {', '.join(CIFAR100_SUBDIRS)} "
                            f"or the folder itself (the extracted cifar-100-python.tar.gz)")
        x, y = read_batch(path, CIFAR100_LABELS[labels], "CIFAR-100")
        classes = 100 if labels == "fine" else 20
        if len(y) and (y.min() < 0 or y.max() >= classes):
            raise DataError(f"{path}: {labels} labels must be 0..{classes - 1}, found {y.min()}..{y.max()}")
        parts += [x.astype(np.float32) / 255.0, y]
    return parts[0], parts[1], parts[2], parts[3]
