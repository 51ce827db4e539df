"""Write (or check) dse/data/digits.npz, the digits data set `dse` ships as package data.

The file holds scikit-learn's 8x8 digits as sklearn ships them (uint8 pixels 0..16,
labels 0..9) and the fixed train / validation / test split as row indices, computed
once here with the split `dse` has always used: scikit-learn's stratified
``train_test_split`` with random_state SPLIT_SEED, test first (TEST_FRACTION of the
whole set), then validation out of the rest. Loading it needs numpy only, so a
study on digits does not import scikit-learn.

    python benchmarks/make_digits.py           # rewrite the file
    python benchmarks/make_digits.py --check   # exit 1 unless the file matches sklearn

Needs scikit-learn. tests/test_data.py checks the shipped file the same way.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dse.data import SPLIT_SEED, TEST_FRACTION, VAL_FRACTION  # noqa: E402

PATH = ROOT / "dse" / "data" / "digits.npz"


def arrays() -> dict[str, np.ndarray]:
    """What digits.npz holds, computed from scikit-learn."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)
    assert np.array_equal(images.reshape(len(images), -1), bunch.data), "pixels are not whole numbers"
    y, index = bunch.target, np.arange(len(bunch.target))
    rest, test = train_test_split(index, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED)
    train, val = train_test_split(rest, test_size=VAL_FRACTION / (1 - TEST_FRACTION), stratify=y[rest],
                                  random_state=SPLIT_SEED)
    return {"images": images, "labels": y.astype(np.uint8),
            **{f"{part}_index": idx.astype(np.uint16) for part, idx in
               (("train", train), ("val", val), ("test", test))}}


def encode(data: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **data)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    data = arrays()
    if args.check:
        with np.load(PATH) as stored:
            same = sorted(stored.files) == sorted(data) and all(
                stored[k].dtype == v.dtype and np.array_equal(stored[k], v) for k, v in data.items())
        print(f"{PATH.relative_to(ROOT)}: {'matches' if same else 'DIFFERS FROM'} scikit-learn")
        return 0 if same else 1
    PATH.write_bytes(encode(data))
    print(f"wrote {PATH.relative_to(ROOT)} ({PATH.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
