"""The reference feature recipe, stated straight: the oracle for tests and benchmarks.

This module is deliberately naive and independent of :mod:`sklearn_ser.features`:
every feature calls librosa on the waveform itself (so the STFT is computed
several times, and tonnetz runs on ``librosa.effects.harmonic``), and the
time resize is written from OpenCV's ``INTER_LINEAR`` formula with an
explicit loop over output columns. It is the one place, besides
``sklearn_ser/features/_recipe.py``, where the recipe is computed (the
package's version going through the exact librosa mirrors of
``sklearn_ser/_librosa_mirror.py``), and it must stay this plain:
it is what "faithful" is measured against, and what the benchmarks time as
"the straight implementation".
"""

from __future__ import annotations

import warnings

import librosa
import numpy as np

#: Rows of each block of the reference image, top to bottom.
BLOCK_ROWS = {"mel": 31, "chroma": 12, "mfcc_delta2": 50, "contrast": 7, "tonnetz": 6}


def straight_blocks(y: np.ndarray, sr: int = 22050) -> dict[str, np.ndarray]:
    """The five reference blocks at the native frame rate (librosa defaults)."""
    y = np.asarray(y, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mel = librosa.feature.melspectrogram(y=y, sr=sr)  # 128 bands, power 2
        pooled = np.stack([mel[4 * i : 4 * i + 4].mean(axis=0) for i in range(31)])
        chroma = librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)) ** 2, sr=sr)
        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=50)
        delta2 = librosa.feature.delta(mfcc, order=2)
        contrast = librosa.feature.spectral_contrast(S=np.abs(librosa.stft(y)), sr=sr)
        harmonic = librosa.effects.harmonic(y)
        tonnetz = librosa.feature.tonnetz(y=harmonic, sr=sr)
    return {"mel": pooled, "chroma": chroma, "mfcc_delta2": delta2, "contrast": contrast,
            "tonnetz": tonnetz}


def straight_resize(image: np.ndarray, n_columns: int) -> np.ndarray:
    """OpenCV ``INTER_LINEAR`` along columns, one output column at a time."""
    n_in = image.shape[1]
    out = np.empty((image.shape[0], n_columns), dtype=np.float64)
    for dst in range(n_columns):
        src = (dst + 0.5) * n_in / n_columns - 0.5
        src = min(max(src, 0.0), n_in - 1.0)
        left = int(np.floor(src))
        right = min(left + 1, n_in - 1)
        frac = src - left
        out[:, dst] = (1.0 - frac) * image[:, left] + frac * image[:, right]
    return out


def straight_image(y: np.ndarray, sr: int = 22050, n_columns: int = 160) -> np.ndarray:
    """The 106 x ``n_columns`` reference image."""
    stacked = np.concatenate(list(straight_blocks(y, sr).values()), axis=0)
    return straight_resize(stacked, n_columns).astype(np.float32)
