"""CIFAR-100 and Google Speech Commands loaders on small files written in the real formats."""

import pickle
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from dse.data import DATASETS, load_dataset
from dse.data.mfcc import MfccParams, mfcc
from dse.data.speech import KEYWORDS, SILENCE, UNKNOWN, raw_features
from dse.errors import DataError

from .test_data import py2_pickle

RNG = np.random.default_rng(1)
RATE = 16_000


# ---- CIFAR-100 ------------------------------------------------------------------------------------

def make_cifar100(folder: Path, n_train: int = 1000, n_test: int = 40) -> dict:
    """cifar-100-python/{train,test} as the distribution pickles them (Python 2, protocol 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        data = RNG.integers(0, 256, (n, 3072)).astype(np.uint8)
        fine = [int(v) for v in np.arange(n) % 100]
        coarse = [v // 5 for v in fine]
        (folder / split).write_bytes(py2_pickle({
            b"filenames": [b"f_%d.png" % i for i in range(n)], b"batch_label": b"%s batch" % split.encode(),
            b"fine_labels": fine, b"coarse_labels": coarse, b"data": data}))
        out[split] = (data, fine, coarse)
    return out


def test_cifar100_fine_and_coarse_labels(tmp_path: Path) -> None:
    written = make_cifar100(tmp_path / "cifar-100-python")
    fine = load_dataset("cifar100", tmp_path)
    coarse = load_dataset("cifar100-coarse", tmp_path)
    assert (fine.shape, fine.n_classes, coarse.n_classes) == ((3, 32, 32), 100, 20)
    assert len(fine.y_train) + len(fine.y_val) == 1000 and len(fine.y_test) == 40
    data, fine_labels, coarse_labels = written["test"]
    assert np.allclose(fine.x_test[7], data[7].reshape(3, 32, 32) / 255.0)  # official test set, in order
    assert fine.y_test.tolist() == fine_labels and coarse.y_test.tolist() == coarse_labels
    assert np.bincount(fine.y_val, minlength=100).tolist() == [1] * 100  # 10 % of train, stratified
    assert np.bincount(coarse.y_val, minlength=20).tolist() == [5] * 20


def test_malformed_cifar100_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no CIFAR-100 train file in cifar-100-python"):
        load_dataset("cifar100", tmp_path)
    folder = tmp_path / "cifar-100-python"
    make_cifar100(folder)
    (folder / "test").write_bytes(b"\x80\x02}q\x00(truncated")
    with pytest.raises(DataError, match=rf"^{folder / 'test'}: not a CIFAR-100 pickle batch"):
        load_dataset("cifar100", tmp_path)
    (folder / "test").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataError, match=rf"^{folder / 'test'}: CIFAR-100 batch without 'data' and 'coarse_labels'"):
        load_dataset("cifar100-coarse", tmp_path)


# ---- Speech Commands -----------------------------------------------------------------------------

def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1 - 2**-15) * 32768).astype("<i2").tobytes())


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return 0.5 * np.sin(2 * np.pi * freq * t)


def make_speech(root: Path) -> None:
    """yes, no, stop (keywords), cat, bird (unknown): 3 clips each, the first train, the second
    validation, the third test; 'no' clips last 0.5 s; 12 s of noise."""
    val, test = [], []
    for w, word in enumerate(("yes", "no", "stop", "cat", "bird")):
        for i in range(3):
            name = f"{word}/{i:08x}_nohash_0.wav"
            write_wav(root / name, tone(200 + 100 * w + 30 * i, 0.5 if word == "no" else 1.0))
            (val if i == 1 else test if i == 2 else []).append(name)
    write_wav(root / "_background_noise_" / "white_noise.wav", 0.1 * RNG.standard_normal(12 * RATE))
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    (root / "README.md").write_text("speech commands")


@pytest.fixture
def speech(tmp_path: Path) -> Path:
    make_speech(tmp_path / "speech_commands_v0.02")
    return tmp_path


def test_speech_commands_twelve_classes_and_splits(speech: Path) -> None:
    data = load_dataset("speech-commands", speech)
    assert data.shape == DATASETS["speech-commands"].shape == (1, 98, 40) and data.n_classes == 12
    yes, no, stop = (KEYWORDS.index(w) for w in ("yes", "no", "stop"))
    # word clips by the list files; noise clips k % 10 == 0 test (k = 0, 10), == 1 validation (1, 11)
    # (word folders in name order: bird, cat, no, stop, yes)
    assert data.y_train.tolist() == [UNKNOWN, UNKNOWN, no, stop, yes] + [SILENCE] * 8
    assert data.y_val.tolist() == [UNKNOWN, UNKNOWN, no, stop, yes, SILENCE, SILENCE]
    assert data.y_test.tolist() == [UNKNOWN, UNKNOWN, no, stop, yes, SILENCE, SILENCE]
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0 and data.x_train.dtype == np.float32
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0


def test_mfcc_parameters_and_values(speech: Path) -> None:
    import librosa

    params = MfccParams()
    assert (params.win_length, params.hop_length, params.frames) == (480, 160, 1 + (16000 - 480) // 160)
    root = speech / "speech_commands_v0.02"
    raw = raw_features(root, params)
    # the first test clip is bird's third: a 0.5 * sin tone at 200 + 400 + 60 Hz, as written (16-bit)
    clip = np.trunc(np.clip(tone(660.0), -1, 1 - 2**-15) * 32768) / 32768
    want = librosa.feature.mfcc(y=clip.astype(np.float32), sr=16000, n_mfcc=40, n_fft=480, hop_length=160,
                                win_length=480, n_mels=40, center=False).T
    assert raw["x_test"][0] == pytest.approx(want, abs=1e-3)
    # a 0.5 s clip is zero-padded: its frames past 0.5 s are all the same (the 80 dB floor below the
    # clip's peak), far quieter than the tone's
    no_clip = raw["x_train"][2]
    assert np.allclose(no_clip[50:], no_clip[97]) and not np.allclose(no_clip[:47], no_clip[97])
    assert no_clip[97, 0] < no_clip[10, 0] - 20
    # features do not depend on the clips computed with them
    assert mfcc(clip[None].astype(np.float32), params)[0] == pytest.approx(raw["x_test"][0], abs=1e-3)


def test_features_are_cached_beside_the_data(speech: Path, monkeypatch) -> None:
    first = load_dataset("speech-commands", speech)
    root = speech / "speech_commands_v0.02"
    assert len(list(root.glob(".dse-mfcc-*.npz"))) == 1

    def no_compute(*_):
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr("dse.data.speech.raw_features", no_compute)
    again = load_dataset("speech-commands", speech)
    assert np.array_equal(first.x_train, again.x_train) and np.array_equal(first.y_test, again.y_test)
    write_wav(root / "yes" / "ffffffff_nohash_0.wav", tone(900.0))  # new content: a new key
    with pytest.raises(AssertionError, match="recomputed"):
        load_dataset("speech-commands", speech)


@pytest.mark.parametrize("damage, message", [
    ("truncate", r"yes/00000000_nohash_0.wav: truncated WAV file: the header declares 16000 samples"),
    ("garbage", r"yes/00000000_nohash_0.wav: not a PCM WAV file"),
    ("stereo", r"yes/00000000_nohash_0.wav: expected a mono 16-bit 16000 Hz WAV file, got 1 channel\(s\), 16-bit, "
               r"8000 Hz"),
    ("no list", r"no testing_list.txt \(the Speech Commands v0.02 test list\)"),
    ("no noise", r"no _background_noise_/\*.wav"),
])
def test_malformed_speech_commands_name_the_file(speech: Path, damage: str, message: str) -> None:
    root = speech / "speech_commands_v0.02"
    wav = root / "yes" / "00000000_nohash_0.wav"
    if damage == "truncate":
        wav.write_bytes(wav.read_bytes()[:20_000])
    elif damage == "garbage":
        wav.write_bytes(b"RIFF....not a wave file")
    elif damage == "stereo":
        write_wav(wav, tone(300.0, 0.5), rate=8000)
    elif damage == "no list":
        (root / "testing_list.txt").unlink()
    else:
        (root / "_background_noise_" / "white_noise.wav").unlink()
    with pytest.raises(DataError, match=message):
        load_dataset("speech-commands", speech)


def test_cli_truncated_wav_exits_2_naming_the_file(speech: Path, tmp_path: Path) -> None:
    wav = speech / "speech_commands_v0.02" / "no" / "00000001_nohash_0.wav"
    wav.write_bytes(wav.read_bytes()[:3000])
    spec = tmp_path / "s.toml"
    spec.write_text('[study]\nname = "s"\nengine = "surrogate"\ndataset = "speech-commands"\nn_trials = 1\n'
                    '[objectives]\naccuracy = "maximize"\n[train]\nepochs = 1\n')
    result = subprocess.run([sys.executable, "-m", "dse", "run", str(spec), "--data-dir", str(speech), "--quiet"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {wav}: truncated WAV file: the header declares 8000 samples, the file holds 1478")
    assert "Traceback" not in result.stderr and not (tmp_path / "dse.db").exists()


@pytest.mark.parametrize("engine, keys", [
    ("surrogate", {"cells": 1, "nodes": 2, "channels": 4, "timesteps": 2}),
    ("surrogate", {"hidden": (16,), "timesteps": 2}),
    ("ttfs", {"conv": (4, 0), "hidden": (16,)}),
    ("stdp", {"n_neurons": 10, "timesteps": 20, "update_interval": 10}),
])
def test_every_engine_takes_mfcc_images(speech: Path, engine: str, keys: dict) -> None:
    from dse.design import make_design
    from dse.engines import Budget, DataShape, get

    data = load_dataset("speech-commands", speech)
    design = make_design(engine, keys)
    out = get(engine).run(design, data, Budget(epochs=1, lr=1e-3, seed=0), lambda step, accuracy: None)
    static = get(engine).static_profile(design, DataShape((1, 98, 40), 12))
    assert out.profile.layers[0].n_inputs == static.layers[0].n_inputs == 98 * 40
    assert 0.0 <= out.accuracy <= 1.0 and len(data.y_test) == 7
