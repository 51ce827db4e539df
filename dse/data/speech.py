"""Google Speech Commands v0.02 as LitE-SNN uses it: the 12-class keyword task, MFCC features.

The folder is the extracted ``speech_commands_v0.02.tar.gz`` (in ``--data-dir`` or its
``speech_commands_v0.02`` subfolder): one folder of 16 kHz mono 16-bit WAV clips per word,
``_background_noise_/`` (a few minutes of noise per file), ``validation_list.txt`` and
``testing_list.txt`` (``word/file.wav`` per line). The 12 classes (Warden 2018's task, which
LitE-SNN takes from Yang et al. 2022): the 10 keywords of :data:`KEYWORDS` (labels 0-9),
``unknown`` (10: every other word) and ``silence`` (11: 1 s clips cut from the noise files).

Splits: the distribution's own, a clip listed in ``testing_list.txt`` is test, in
``validation_list.txt`` validation, any other train. The noise files are cut into
consecutive, non-overlapping 1 s clips; clip k of a file goes to test if k % 10 == 0, to
validation if k % 10 == 1, else to train (*our choice*: the distribution does not split them).

Features (:class:`MfccParams`, :mod:`.mfcc`): each clip zero-padded or cut to 1 s, 40 MFCCs
of 30 ms frames every 10 ms, from 40 mel filters, so 98 frames; presented as an image of
(1 channel, 98 frames, 40 coefficients), each coefficient scaled to [0, 1] by its minimum
and maximum over the training split (validation and test clipped to that range).

Read by hand: ``wave`` (the standard library) reads the clips, so a truncated or non-PCM
file is a DataError naming it; torchaudio cannot be installed beside this torch.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from ..errors import DataError
from .mfcc import MfccParams, features

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN, SILENCE = 10, 11
CLASSES = (*KEYWORDS, "unknown", "silence")
NOISE = "_background_noise_"
LISTS = {"validation": "validation_list.txt", "test": "testing_list.txt"}
SUBDIRS = ("speech_commands_v0.02", "speech-commands", "speech_commands")
SPLITS = ("train", "validation", "test")


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """A mono 16-bit PCM clip as float32 in [-1, 1); DataError naming the file otherwise."""
    try:
        with wave.open(str(path), "rb") as w:
            shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
            if shape != (1, 2, sample_rate):
                raise DataError(f"{path}: expected a mono 16-bit {sample_rate} Hz WAV file, got "
                                f"{shape[0]} channel(s), {8 * shape[1]}-bit, {shape[2]} Hz")
            n = w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError) as exc:
        raise DataError(f"{path}: not a PCM WAV file ({exc})") from None
    if len(raw) != 2 * n:
        raise DataError(f"{path}: truncated WAV file: the header declares {n} samples, the file holds "
                        f"{len(raw) // 2}")
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def one_second(clip: np.ndarray, length: int) -> np.ndarray:
    """The clip zero-padded or cut to `length` samples."""
    return clip[:length] if len(clip) >= length else np.pad(clip, (0, length - len(clip)))


def find_root(data_dir: Path) -> Path:
    """The folder holding the word folders and the two list files."""
    for folder in (data_dir, *(data_dir / s for s in SUBDIRS)):
        if (folder / LISTS["test"]).is_file() or (folder / LISTS["validation"]).is_file():
            return folder
    return data_dir


def read_list(root: Path, split: str) -> set[str]:
    path = root / LISTS[split]
    if not path.is_file():
        raise DataError(f"--data-dir {root}: no {LISTS[split]} (the Speech Commands v0.02 {split} list)")
    try:
        return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: unreadable list file ({exc})") from None


def label_of(word: str) -> int:
    return KEYWORDS.index(word) if word in KEYWORDS else UNKNOWN


def spoken_clips(root: Path) -> dict[str, list[tuple[Path, int]]]:
    """Every word clip with its label, by split."""
    held = {split: read_list(root, split) for split in LISTS}
    words = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
    if not words:
        raise DataError(f"--data-dir {root}: no word folders (yes/, no/, ...) of Speech Commands v0.02")
    clips: dict[str, list[tuple[Path, int]]] = {split: [] for split in SPLITS}
    for folder in words:
        for path in sorted(folder.glob("*.wav")):
            name = f"{folder.name}/{path.name}"
            split = "test" if name in held["test"] else "validation" if name in held["validation"] else "train"
            clips[split].append((path, label_of(folder.name)))
    return clips


def noise_files(root: Path) -> list[Path]:
    files = sorted((root / NOISE).glob("*.wav")) if (root / NOISE).is_dir() else []
    if not files:
        raise DataError(f"--data-dir {root}: no {NOISE}/*.wav (the noise the silence class is cut from)")
    return files


def silence_clips(files: list[Path], params: MfccParams) -> dict[str, list[np.ndarray]]:
    """1 s clips cut from each noise file, split by their index (k % 10: 0 test, 1 validation)."""
    out: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    n = params.sample_rate
    for path in files:
        noise = read_wav(path, params.sample_rate)
        for k in range(len(noise) // n):
            split = "test" if k % 10 == 0 else "validation" if k % 10 == 1 else "train"
            out[split].append(noise[k * n:(k + 1) * n])
    return out


def raw_features(root: Path, params: MfccParams) -> dict[str, np.ndarray]:
    """Unscaled MFCCs [N, frames, n_mfcc] and labels of every split (``x_<split>``, ``y_<split>``)."""
    clips = spoken_clips(root)
    silence = silence_clips(noise_files(root), params)
    out = {}
    for split in SPLITS:
        waves = (one_second(read_wav(p, params.sample_rate), params.sample_rate) for p, _ in clips[split])
        spoken = features(waves, len(clips[split]), params)
        quiet = features(iter(silence[split]), len(silence[split]), params)
        out[f"x_{split}"] = np.concatenate([spoken, quiet])
        out[f"y_{split}"] = np.array([label for _, label in clips[split]] + [SILENCE] * len(quiet), dtype=np.int64)
    return out


def scale(parts: dict[str, np.ndarray]) -> list[np.ndarray]:
    """x_train, y_train, x_val, y_val, x_test, y_test as (1, frames, n_mfcc) images in [0, 1]."""
    train = parts["x_train"]
    low = train.min(axis=(0, 1)) if len(train) else np.zeros(train.shape[2], np.float32)
    span = np.maximum((train.max(axis=(0, 1)) if len(train) else low + 1) - low, 1e-12)
    out = []
    for split in SPLITS:
        x = np.clip((parts[f"x_{split}"] - low) / span, 0.0, 1.0).astype(np.float32)
        out += [x[:, None], parts[f"y_{split}"]]
    return out


def load_speech_commands(data_dir: Path, params: MfccParams | None = None) -> list[np.ndarray]:
    """The 12-class task's six arrays (train, validation, test), MFCCs cached beside the data."""
    from .mfcc import cached

    params = params or MfccParams()
    root = find_root(data_dir)
    return scale(cached(root, params, lambda: raw_features(root, params)))
