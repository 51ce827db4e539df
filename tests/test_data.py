"""Data sets: the bundled digits, and loaders tested on small files written in the real formats."""

import gzip
import io
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dse.data import load_dataset
from dse.errors import DataError

RNG = np.random.default_rng(0)


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)


def make_mnist(folder: Path, n_train: int = 100, n_test: int = 30, gz: bool = True) -> tuple:
    folder.mkdir(parents=True, exist_ok=True)
    x_train = RNG.integers(0, 256, (n_train, 28, 28))
    y_train = np.arange(n_train) % 10
    x_test = RNG.integers(0, 256, (n_test, 28, 28))
    y_test = np.arange(n_test) % 10
    write_idx(folder / "train-images-idx3-ubyte", x_train, gz)
    write_idx(folder / "train-labels-idx1-ubyte", y_train, gz)
    write_idx(folder / "t10k-images-idx3-ubyte", x_test, gz)
    write_idx(folder / "t10k-labels-idx1-ubyte", y_test, gz)
    return x_train, y_train, x_test, y_test


class Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote for the CIFAR-10 distribution (protocol 2, numpy 1):
    every str and bytes as a py2 ``str`` (BINSTRING, read back as bytes with encoding="bytes"),
    arrays through ``numpy.core.multiarray._reconstruct``; no ``_codecs.encode`` as Python 3 writes."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj) -> None:
        data = obj if isinstance(obj, bytes) else obj.encode("ascii")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def py2_pickle(obj) -> bytes:
    """``cPickle.dumps(obj, 2)`` as Python 2 with numpy 1 wrote it."""
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n_reconstruct\n",
                                     b"cnumpy.core.multiarray\n_reconstruct\n")


def make_cifar(folder: Path, per_batch: int = 20, n_test: int = 20, py2: bool = True) -> tuple:
    """The distribution's cifar-10-batches-py (py2=True), or batches re-saved by Python 3."""
    folder.mkdir(parents=True, exist_ok=True)
    dump = py2_pickle if py2 else pickle.dumps
    batches = []
    for i in range(1, 6):
        data = RNG.integers(0, 256, (per_batch, 3072)).astype(np.uint8)
        labels = [int(v) for v in np.arange(per_batch) % 10]
        (folder / f"data_batch_{i}").write_bytes(dump({
            b"batch_label": b"training batch %d of 5" % i, b"labels": labels, b"data": data,
            b"filenames": [b"img_%d.png" % j for j in range(per_batch)]}))
        batches.append((data, labels))
    test = RNG.integers(0, 256, (n_test, 3072)).astype(np.uint8)
    (folder / "test_batch").write_bytes(dump({b"batch_label": b"testing batch 1 of 1", b"data": test,
                                              b"labels": [int(v) for v in np.arange(n_test) % 10]}))
    return batches, test


def test_digits_split_is_fixed_stratified_and_scaled() -> None:
    a, b = load_dataset("digits"), load_dataset("digits")
    assert (len(a.y_train), len(a.y_val), len(a.y_test)) == (1257, 180, 360)
    assert a.shape == (1, 8, 8) and a.n_classes == 10
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)
    assert 0.0 <= a.x_train.min() and a.x_train.max() == 1.0 and a.x_train.dtype == np.float32
    assert np.bincount(a.y_test).min() >= 35  # stratified: every class ~36 times


def test_packaged_digits_equal_sklearn_digits_and_split() -> None:
    """digits.npz (benchmarks/make_digits.py) gives exactly what loading scikit-learn's
    digits and splitting them with its train_test_split gave: same arrays, same order."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from dse.data import SPLIT_SEED, TEST_FRACTION, VAL_FRACTION

    bunch = load_digits()
    x, y = (bunch.data / 16.0).reshape(-1, 1, 8, 8), bunch.target
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=TEST_FRACTION, stratify=y,
                                                      random_state=SPLIT_SEED)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=VAL_FRACTION / (1 - TEST_FRACTION),
                                                      stratify=y_rest, random_state=SPLIT_SEED)
    expected = {"x_train": x_train.astype(np.float32), "x_val": x_val.astype(np.float32),
                "x_test": x_test.astype(np.float32), "y_train": y_train.astype(np.int64),
                "y_val": y_val.astype(np.int64), "y_test": y_test.astype(np.int64)}
    data = load_dataset("digits")
    for name, want in expected.items():
        got = getattr(data, name)
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous, name
        assert got.tobytes() == want.tobytes(), name


def test_digits_load_without_sklearn() -> None:
    code = ("import sys; from dse.data import load_dataset; load_dataset('digits'); "
            "print(sorted(m for m in ('sklearn', 'scipy', 'torch', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name, sub", [("mnist", ""), ("fashion-mnist", "FashionMNIST/raw")])
def test_idx_loader(tmp_path: Path, gz: bool, name: str, sub: str) -> None:
    x_train, y_train, x_test, y_test = make_mnist(tmp_path / sub, gz=gz)
    data = load_dataset(name, tmp_path)
    assert data.shape == (1, 28, 28)
    assert len(data.y_train) + len(data.y_val) == 100 and len(data.y_test) == 30
    assert np.allclose(data.x_test[:, 0], x_test / 255.0)  # official test set kept in order
    assert np.array_equal(data.y_test, y_test)
    assert np.bincount(data.y_val).tolist() == [1] * 10  # 10% of train, stratified


@pytest.mark.parametrize("py2", [True, False], ids=["distribution", "python3"])
def test_cifar10_loader(tmp_path: Path, py2: bool) -> None:
    batches, test = make_cifar(tmp_path / "cifar-10-batches-py", py2=py2)
    data = load_dataset("cifar10", tmp_path)
    assert data.shape == (3, 32, 32)
    assert len(data.y_train) + len(data.y_val) == 100 and len(data.y_test) == 20
    assert np.allclose(data.x_test[3], test[3].reshape(3, 32, 32) / 255.0)  # channel-major


def test_missing_and_malformed_data_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="pass --data-dir DIR"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="no such folder"):
        load_dataset("mnist", tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"no train-images-idx3-ubyte\[.gz\] for mnist"):
        load_dataset("mnist", tmp_path)
    make_mnist(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x0c\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="not an IDX file of unsigned bytes"):
        load_dataset("mnist", tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(29), gz=False)
    with pytest.raises(DataError, match=r"test images \(30, 28, 28\) and labels \(29,\) do not match"):
        load_dataset("mnist", tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">BBBBiii", 0, 0, 8, 3, 100, 28, 28) + b"\x00" * 10)
    with pytest.raises(DataError, match="header declares"):
        load_dataset("mnist", tmp_path)
    cifar = tmp_path / "c"
    cifar.mkdir()
    (cifar / "data_batch_1").write_bytes(b"not a pickle")
    (cifar / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a CIFAR-10 pickle batch"):
        load_dataset("cifar10", cifar)


def test_cli_missing_data_dir_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "m.toml"
    spec.write_text('[study]\nname = "m"\nengine = "surrogate"\ndataset = "mnist"\n'
                    '[objectives]\naccuracy = "maximize"\n')
    result = subprocess.run([sys.executable, "-m", "dse", "run", str(spec), "--data-dir", str(tmp_path / "x")],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: --data-dir {tmp_path / 'x'}: no such folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.toml"]


class Exploit:
    """A pickle whose loading would run code: create `marker` through `how`."""

    def __init__(self, how: str, marker: Path) -> None:
        self.how, self.marker = how, marker

    def __reduce__(self):
        import os

        if self.how == "os.system":
            return os.system, (f"touch {self.marker}",)
        return open, (str(self.marker), "w")


@pytest.mark.parametrize("how, refused", [("os.system", f"{__import__('os').system.__module__}.system"),
                                          ("builtins.open", "io.open")])
def test_crafted_cifar_pickle_is_refused_before_it_runs(tmp_path: Path, monkeypatch, capsys, how, refused) -> None:
    from dse.cli import main

    monkeypatch.chdir(tmp_path)
    data_dir, marker = tmp_path / "data", tmp_path / "pwned"
    make_cifar(data_dir)
    (data_dir / "data_batch_1").write_bytes(pickle.dumps({"data": Exploit(how, marker)}, protocol=2))
    spec = tmp_path / "c.toml"
    spec.write_text('[study]\nname = "c"\nengine = "surrogate"\ndataset = "cifar10"\nn_trials = 1\n'
                    '[objectives]\naccuracy = "maximize"\n[train]\nepochs = 1\n')
    with pytest.raises(SystemExit) as info:
        main(["run", str(spec), "--data-dir", str(data_dir), "--quiet"])
    assert info.value.code == 2 and not marker.exists()
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert errors == [(
        f"error: {data_dir / 'data_batch_1'}: refused to unpickle the global {refused}: a CIFAR-10 batch holds "
        f"only numpy arrays, lists, bytes and ints; nothing from the file was run")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "data"], "nothing written"
