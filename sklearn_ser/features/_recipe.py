"""The reference feature recipe: the blocks of one waveform, stacked and resized.

:func:`feature_blocks` computes the blocks from one shared STFT, through the
exact librosa mirrors of :mod:`sklearn_ser._librosa_mirror`;
:func:`feature_image` stacks them and resizes them along time with
:func:`resize_time`. The layout and the two modes are described in
:mod:`sklearn_ser.features`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import librosa
import numpy as np

from sklearn_ser import _librosa_mirror as mirror

#: Feature blocks of the reference recipe, top to bottom.
REFERENCE_FEATURES = ("mel", "chroma", "mfcc_delta2", "contrast", "tonnetz")
#: All known blocks (reference ones plus static MFCCs).
KNOWN_FEATURES = (*REFERENCE_FEATURES, "mfcc")
#: Ways of computing the blocks: ``"faithful"`` reproduces the reference recipe,
#: ``"fast"`` trades a measured accuracy cost in the tonnetz block for speed.
MODES = ("faithful", "fast")
# librosa.feature.delta's default window: a delta needs at least this many frames.
_DELTA_WIDTH = 9
# librosa.decompose.hpss' default median kernel (frames along time, bins along frequency).
_HPSS_KERNEL = 31


def block_rows(
    feature: str, *, n_mfcc: int = 50, n_mels: int = 128, mel_pool: int = 4,
    mel_groups: int | None = 31,
) -> int:
    """Number of image rows that a feature block contributes.

    Parameters
    ----------
    feature : str
        A block name of ``KNOWN_FEATURES``.
    n_mfcc, n_mels, mel_pool, mel_groups : int
        As in :func:`feature_blocks`.

    Returns
    -------
    rows : int
    """
    if feature == "mel":
        return _mel_groups(n_mels, mel_pool, mel_groups)
    return {"chroma": 12, "mfcc_delta2": n_mfcc, "mfcc": n_mfcc, "contrast": 7,
            "tonnetz": 6}[feature]


def _mel_groups(n_mels: int, mel_pool: int, mel_groups: int | None) -> int:
    """Pooled mel rows kept; raise when they do not fit in ``n_mels`` bands."""
    groups = n_mels // mel_pool if mel_groups is None else mel_groups
    if groups < 1 or groups * mel_pool > n_mels:
        raise ValueError(
            f"mel_groups={mel_groups} groups of mel_pool={mel_pool} bands do not fit in "
            f"n_mels={n_mels} bands"
        )
    return groups


def check_features(features: Sequence[str]) -> None:
    """Raise ValueError naming the first block of ``features`` that is not known."""
    unknown = [f for f in features if f not in KNOWN_FEATURES]
    if unknown:
        raise ValueError(f"unknown feature {unknown[0]!r}; known: {', '.join(KNOWN_FEATURES)}")


def check_mode(mode: str) -> None:
    """Raise ValueError unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def feature_blocks(
    y: np.ndarray,
    *,
    sr: int = 22050,
    features: Sequence[str] = REFERENCE_FEATURES,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    mel_pool: int = 4,
    mel_groups: int | None = 31,
    mel_db: bool = False,
    n_mfcc: int = 50,
    mode: str = "faithful",
) -> dict[str, np.ndarray]:
    """Compute the feature blocks of one waveform at its native frame rate.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono waveform. Clips shorter than 9 hops are zero-padded to 9 hops
        (the delta filter needs 9 frames).
    sr : int, default=22050
        Sample rate of ``y``.
    features : sequence of str, default=REFERENCE_FEATURES
        Blocks to compute, in output order: any of ``"mel"``, ``"chroma"``,
        ``"mfcc_delta2"``, ``"mfcc"``, ``"contrast"``, ``"tonnetz"``.
    n_fft, hop_length : int
        STFT size and hop (librosa's defaults 2048 and 512).
    n_mels : int, default=128
        Mel bands before pooling (and for the MFCCs).
    mel_pool : int, default=4
        Consecutive mel bands averaged into one row.
    mel_groups : int or None, default=31
        Pooled rows kept, from the lowest band up (``None``: all
        ``n_mels // mel_pool``). The reference keeps 31 of 32.
    mel_db : bool, default=False
        Express the mel block in decibels (``power_to_db``, ``ref=1``)
        instead of raw power. Raw power spans many orders of magnitude.
    n_mfcc : int, default=50
        Number of MFCCs for ``mfcc`` and ``mfcc_delta2``.
    mode : {"faithful", "fast"}, default="faithful"
        ``"faithful"`` gives the reference recipe's blocks (the same numbers
        as calling each librosa feature on the waveform, to float rounding)
        from one shared STFT. ``"fast"`` computes every block but tonnetz the
        same way, and tonnetz from the CQT chroma of the waveform itself (no
        harmonic/percussive separation, no inverse STFT, no tuning estimate);
        see the benchmarks page for its measured accuracy cost.

    Returns
    -------
    blocks : dict of str to ndarray of shape (rows, n_frames)
        In the order of ``features``; all blocks share ``n_frames``.
    """
    check_features(features)
    check_mode(mode)
    y = np.asarray(y, dtype=np.float32)
    min_samples = (_DELTA_WIDTH - 1) * hop_length
    if y.shape[0] < min_samples:
        y = np.pad(y, (0, min_samples - y.shape[0]))

    with warnings.catch_warnings():
        # The CQT inside tonnetz downsamples the signal and librosa then warns that its
        # FFT is longer than the (downsampled) signal; silence or pure tones give an
        # empty tuning set. Both are expected for short or simple clips and harmless.
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
        warnings.filterwarnings("ignore", message="Trying to estimate tuning", category=UserWarning)
        return _blocks(y, sr=sr, features=features, n_fft=n_fft, hop_length=hop_length,
                       n_mels=n_mels, mel_pool=mel_pool, mel_groups=mel_groups, mel_db=mel_db,
                       n_mfcc=n_mfcc, mode=mode)


def _blocks(
    y: np.ndarray, *, sr: int, features: Sequence[str], n_fft: int, hop_length: int,
    n_mels: int, mel_pool: int, mel_groups: int | None, mel_db: bool, n_mfcc: int, mode: str,
) -> dict[str, np.ndarray]:
    """The work of :func:`feature_blocks` on a validated, padded waveform."""
    # One STFT for every block: librosa computes exactly this one inside each feature.
    stft = librosa.stft(y, n_fft=n_fft, hop_length=hop_length)
    magnitude = np.abs(stft)
    power = magnitude**2
    need_mel = {"mel", "mfcc", "mfcc_delta2"} & set(features)
    mel = mirror.mel_power(power, sr=sr, n_fft=n_fft, n_mels=n_mels) if need_mel else None

    blocks: dict[str, np.ndarray] = {}
    for name in features:
        if name == "mel":
            groups = _mel_groups(n_mels, mel_pool, mel_groups)
            pooled = mel[: groups * mel_pool].reshape(groups, mel_pool, -1).mean(axis=1)
            blocks[name] = librosa.power_to_db(pooled, ref=1.0, top_db=None) if mel_db else pooled
        elif name == "chroma":
            tuning = mirror.estimate_tuning(power, sr=sr, bins_per_octave=12)
            blocks[name] = mirror.chroma_stft(power, sr=sr, n_fft=n_fft, tuning=tuning)
        elif name in ("mfcc", "mfcc_delta2"):
            mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), sr=sr, n_mfcc=n_mfcc)
            blocks[name] = mfcc if name == "mfcc" else librosa.feature.delta(mfcc, order=2)
        elif name == "contrast":
            blocks[name] = librosa.feature.spectral_contrast(S=magnitude, sr=sr, n_fft=n_fft)
        elif name == "tonnetz" and mode == "faithful":
            blocks[name] = _tonnetz_faithful(stft, n_samples=y.shape[0], sr=sr,
                                             hop_length=hop_length)
        elif name == "tonnetz":
            blocks[name] = _tonnetz_fast(y, sr=sr, hop_length=hop_length)
    return blocks


def _tonnetz_faithful(
    stft: np.ndarray, *, n_samples: int, sr: int, hop_length: int
) -> np.ndarray:
    """``tonnetz(y=librosa.effects.harmonic(y))`` from ``y``'s STFT: HPSS, inverse STFT, CQT.

    ``effects.harmonic`` is HPSS of this very STFT followed by an inverse
    STFT. Only the harmonic mask is needed, and its two median filters are
    exact and an order of magnitude faster than scipy's
    (:func:`~sklearn_ser._librosa_mirror.harmonic_mask`). The CQT reuses its
    filter basis across octaves and clips
    (:func:`~sklearn_ser._librosa_mirror.cqt_plan`).
    """
    magnitude, phase = librosa.magphase(stft)
    mask = mirror.harmonic_mask(magnitude, kernel=_HPSS_KERNEL)
    harmonic = librosa.istft((magnitude * mask) * phase, hop_length=hop_length,
                             n_fft=2 * (stft.shape[0] - 1), length=n_samples)
    # estimate_tuning(y=harmonic) inside librosa.cqt: librosa's default STFT, not ours.
    tuning = mirror.estimate_tuning(np.abs(librosa.stft(harmonic)), sr=sr,
                                    bins_per_octave=mirror.CQT_BINS_PER_OCTAVE)
    return mirror.cqt_tonnetz(harmonic, sr=sr, hop_length=hop_length, tuning=tuning)


def _tonnetz_fast(y: np.ndarray, *, sr: int, hop_length: int) -> np.ndarray:
    """Tonnetz of the CQT chroma of ``y`` itself.

    What differs from the faithful path, together the measured accuracy
    cost: no harmonic/percussive separation and no inverse STFT (percussive
    energy stays in the chroma), no tuning estimate (the CQT bins sit on
    A440; the reference shifts them by at most 1/6 semitone), and the CQT
    starts at half the sample rate. One filter basis serves every clip.
    """
    return mirror.cqt_tonnetz(y, sr=sr, hop_length=hop_length, tuning=0.0, early=1)


def resize_time(image: np.ndarray, n_columns: int) -> np.ndarray:
    """Resize along the last axis by linear interpolation (OpenCV ``INTER_LINEAR``).

    Output column ``j`` samples the input at ``(j + 0.5) * n_in / n_columns - 0.5``,
    clamped to the first and last column (pixel-centre convention, no
    anti-aliasing), like ``cv2.resize(image, (n_columns, rows))``.

    Parameters
    ----------
    image : ndarray of shape (..., n_in)
    n_columns : int
        Width of the result.

    Returns
    -------
    ndarray of shape (..., n_columns), the dtype of ``image``
    """
    n_in = image.shape[-1]
    x = (np.arange(n_columns) + 0.5) * (n_in / n_columns) - 0.5
    x = np.clip(x, 0, n_in - 1)
    left = np.floor(x).astype(int)
    right = np.minimum(left + 1, n_in - 1)
    weight = (x - left).astype(image.dtype)
    return image[..., left] * (1 - weight) + image[..., right] * weight


def feature_image(
    y: np.ndarray,
    *,
    sr: int = 22050,
    features: Sequence[str] = REFERENCE_FEATURES,
    n_columns: int = 160,
    **block_params,
) -> np.ndarray:
    """Stack the feature blocks of one waveform into a (rows, ``n_columns``) float32 image.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono waveform at ``sr`` Hz.
    sr : int, default=22050
        Sample rate.
    features : sequence of str, default=REFERENCE_FEATURES
        Blocks, top to bottom (see :func:`feature_blocks`).
    n_columns : int, default=160
        Width of the image after resizing along time.
    **block_params
        Passed to :func:`feature_blocks` (``n_fft``, ``hop_length``, ``n_mfcc``, ...).

    Returns
    -------
    image : ndarray of shape (n_rows, n_columns), float32
        106 x 160 for the reference recipe.
    """
    blocks = feature_blocks(y, sr=sr, features=features, **block_params)
    stacked = np.concatenate(list(blocks.values()), axis=0)
    return resize_time(stacked, n_columns).astype(np.float32)
