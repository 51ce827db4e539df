"""MNIST and Fashion-MNIST in LeCun's IDX format, gzipped or not.

Written by hand because the format is 20 lines and the usual reader
(torchvision) is not installable beside this CPU torch. Format: two zero bytes,
a type code (0x08 = unsigned byte), the number of dimensions, each dimension as
a big-endian int32, then the data in C order.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import find_file

SUBDIRS = {
    "mnist": ("mnist", "MNIST", "MNIST/raw", "mnist/raw"),
    "fashion-mnist": ("fashion-mnist", "FashionMNIST", "FashionMNIST/raw", "fashion-mnist/raw",
                      "fashion_mnist"),
}
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file as a numpy array of its declared shape."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex() or 'empty'}, "
                        f"expected 0000080N)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    size = int(np.prod(dims)) if dims else 0
    if len(raw) - header != size:
        raise DataError(f"{path}: header declares {dims} = {size} bytes, file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_idx_set(data_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = {}
    for key, base in FILES.items():
        path = find_file(data_dir, SUBDIRS[name], (base, base + ".gz", base.replace("-idx", ".idx")))
        if path is None:
            raise DataError(f"--data-dir {data_dir}: no {base}[.gz] for {name} "
                            f"(looked in the folder and in {', '.join(SUBDIRS[name])}); expected the four "
                            f"IDX files {', '.join(FILES.values())}")
        arrays[key] = read_idx(path)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"--data-dir {data_dir}: {split} images {images.shape} and labels "
                            f"{labels.shape} do not match (expected [N, H, W] and [N])")
        if labels.max(initial=0) > 9:
            raise DataError(f"--data-dir {data_dir}: {split} labels go up to {labels.max()}, expected 0..9")
    to_float = lambda a: (a.astype(np.float32) / 255.0)[:, None]  # noqa: E731
    return (to_float(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
            to_float(arrays["test_images"]), arrays["test_labels"].astype(np.int64))
