"""MFCC features of 1 s clips (librosa), and their cache beside the data.

LitE-SNN (IJCAI 2024, section 5) extracts MFCCs at 16 kHz "following Yang et al. (2022)";
the frame length, shift and filter count were lost from the seed's text. *Assumed*
(:class:`MfccParams`): 30 ms frames (480 samples, Hann window, a 480-point FFT) every 10 ms
(160 samples), 40 mel filters and 40 coefficients, no centring, so a 1 s clip gives
``1 + (16000 - 480) // 160 = 98`` frames. librosa (``librosa.feature.mfcc``: power mel
spectrogram, dB with an 80 dB floor below each clip's peak, DCT-II orthonormal) computes them: it is maintained and installs beside
torch 2.13, which torchaudio (2.11 on PyPI) does not; python_speech_features has had no
release since 2017.

Computing them for the 105,829 clips of v0.02 takes minutes, so the unscaled features and
labels are cached in the data folder as ``.dse-mfcc-<key>.npz``, the key a hash of the
parameters and of every WAV and list file's path and size: another parameter or another
folder content computes afresh. A cache that cannot be written (read-only folder) is skipped;
one that cannot be read is recomputed. ``np.load`` runs with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import DataError

CACHE_VERSION = 1
CHUNK = 256


@dataclass(frozen=True)
class MfccParams:
    sample_rate: int = 16_000
    frame_ms: float = 30.0
    shift_ms: float = 10.0
    n_mels: int = 40
    n_mfcc: int = 40

    @property
    def win_length(self) -> int:
        return round(self.sample_rate * self.frame_ms / 1000)

    @property
    def hop_length(self) -> int:
        return round(self.sample_rate * self.shift_ms / 1000)

    @property
    def frames(self) -> int:
        """Frames of a 1 s clip (no centring: every frame lies inside the clip)."""
        return 1 + (self.sample_rate - self.win_length) // self.hop_length


def mfcc(clips: np.ndarray, params: MfccParams) -> np.ndarray:
    """[N, samples] -> [N, frames, n_mfcc]."""
    try:
        import librosa
    except ImportError:
        raise DataError("the speech-commands data set needs librosa for its MFCCs: "
                        "pip install 'snn-dse[audio]'") from None

    mel = librosa.feature.melspectrogram(y=clips, sr=params.sample_rate, n_fft=params.win_length,
                                         hop_length=params.hop_length, win_length=params.win_length,
                                         n_mels=params.n_mels, center=False)
    # dB clip by clip: power_to_db's 80 dB floor is relative to the loudest value of its input,
    # so a batch at once would make a clip's features depend on the clips batched with it
    db = np.stack([librosa.power_to_db(m) for m in mel])
    out = librosa.feature.mfcc(S=db, n_mfcc=params.n_mfcc)
    return np.ascontiguousarray(np.swapaxes(out, -1, -2), dtype=np.float32)


def features(clips: Iterator[np.ndarray], n: int, params: MfccParams) -> np.ndarray:
    """MFCCs of `n` 1 s clips, computed CHUNK clips at a time (the clips never all in memory)."""
    out = np.empty((n, params.frames, params.n_mfcc), dtype=np.float32)
    for start in range(0, n, CHUNK):
        batch = np.stack([next(clips) for _ in range(min(CHUNK, n - start))])
        out[start:start + len(batch)] = mfcc(batch, params)
    return out


def cache_key(root: Path, params: MfccParams) -> str:
    """A hash of the parameters and of the path and size of every .wav and .txt under root."""
    listing = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*")
                     if p.suffix in (".wav", ".txt") and p.is_file())
    blob = json.dumps([CACHE_VERSION, asdict(params), listing]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cached(root: Path, params: MfccParams, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays from root's cache for these parameters, or computed and cached."""
    path = root / f".dse-mfcc-{cache_key(root, params)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
            pass  # unreadable: compute it again
    arrays = compute()
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
    return arrays
