"""Audio loading: file paths in, mono waveforms at one sample rate out."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from sklearn.base import BaseEstimator, TransformerMixin

from sklearn_ser._parallel import parallel_map
from sklearn_ser.exceptions import AudioFileError

#: Peak amplitude under which a clip counts as silent (-100 dBFS).
SILENCE_PEAK = 1e-5


def load_audio(
    path: str | os.PathLike,
    *,
    sr: int = 22050,
    offset: float = 0.0,
    duration: float | None = None,
    pad: bool = True,
    min_duration: float = 0.0,
    trim_db: float | None = None,
) -> np.ndarray:
    """Read one audio file as a mono float32 waveform at ``sr`` Hz.

    Any format libsndfile reads (wav, flac, ogg/vorbis, ...) at any sample
    rate; channels are averaged; the signal is resampled with soxr
    (``librosa.resample``).

    Parameters
    ----------
    path : str or path-like
        The audio file.
    sr : int, default=22050
        Target sample rate in Hz.
    offset : float, default=0.0
        Seconds to skip at the start of the file.
    duration : float or None, default=None
        Seconds to keep. With ``pad=True`` a shorter clip is zero-padded at
        the end so every clip has exactly ``round(duration * sr)`` samples.
    pad : bool, default=True
        Zero-pad clips shorter than ``duration``.
    min_duration : float, default=0.0
        Clips shorter than this (after ``offset``, before padding) are
        rejected as too short.
    trim_db : float or None, default=None
        Trim leading and trailing parts quieter than ``trim_db`` decibels below
        the peak (``librosa.effects.trim``) before cropping to ``duration``.

    Returns
    -------
    y : ndarray of shape (n_samples,), float32

    Raises
    ------
    AudioFileError
        Naming the file and the problem: missing, a directory, empty (0 bytes),
        not decodable, no samples, NaN/inf samples, silent, or too short.
    """
    y = _read(Path(path), sr=sr, offset=offset, duration=None if trim_db else duration)
    problem = _signal_problem(y, sr=sr, min_duration=min_duration)
    if problem:
        raise AudioFileError({str(path): problem})
    if trim_db is not None:
        y = librosa.effects.trim(y, top_db=trim_db)[0]
        if duration is not None:
            y = y[: int(round(duration * sr))]
    if duration is not None and pad:
        y = librosa.util.fix_length(y, size=int(round(duration * sr)))
    return y


def _read(path: Path, *, sr: int, offset: float, duration: float | None) -> np.ndarray:
    """Decode, downmix and resample; raise AudioFileError for file-level problems."""
    if not path.exists():
        raise AudioFileError({str(path): "file not found"})
    if path.is_dir():
        raise AudioFileError({str(path): "is a directory, not an audio file"})
    if path.stat().st_size == 0:
        raise AudioFileError({str(path): "file is empty (0 bytes)"})
    try:
        with sf.SoundFile(path) as f:
            native_sr = f.samplerate
            start = int(round(offset * native_sr))
            frames = -1 if duration is None else int(round(duration * native_sr))
            if start:
                f.seek(min(start, f.frames))
            data = f.read(frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError({str(path): f"cannot be decoded as audio ({exc})"}) from None
    y = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if native_sr != sr and y.size:
        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr)
    return np.ascontiguousarray(y, dtype=np.float32)


def _signal_problem(y: np.ndarray, *, sr: int, min_duration: float) -> str | None:
    """Return a description of what makes ``y`` unusable, or None."""
    if y.size == 0:
        return "contains no audio samples"
    if not np.all(np.isfinite(y)):
        return f"contains {int(np.sum(~np.isfinite(y)))} NaN or infinite samples"
    if np.max(np.abs(y)) < SILENCE_PEAK:
        return "is silent (peak amplitude below -100 dBFS)"
    seconds = y.size / sr
    if seconds < min_duration:
        return f"is too short: {seconds:.3f} s, the minimum is {min_duration} s (min_duration)"
    return None


def check_paths(X: object) -> list[str]:
    """Validate a 1-D collection of file paths and return them as strings.

    Accepts a list/tuple/ndarray/pandas Series of ``str`` or ``Path``, or a
    one-column DataFrame / (n, 1) array.
    """
    if isinstance(X, str | os.PathLike):
        raise TypeError(
            "X must be a list of audio file paths, got a single path; wrap it in a list: [path]"
        )
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # one-column DataFrame
        if X.shape[1] != 1:
            raise ValueError(f"X must hold one column of paths, got {X.shape[1]} columns")
        X = X.iloc[:, 0]
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"X must be a 1-D list of paths, got an array of shape {arr.shape}")
    bad = [repr(p) for p in arr if not isinstance(p, str | os.PathLike)]
    if bad:
        raise TypeError(f"X must contain file paths (str or Path); got {', '.join(bad[:3])}")
    return [os.fspath(p) for p in arr]


def as_waveform_array(waveforms: Iterable[np.ndarray]) -> np.ndarray:
    """Pack waveforms of varying length into a 1-D object ndarray (no copies)."""
    waveforms = list(waveforms)
    out = np.empty(len(waveforms), dtype=object)
    out[:] = waveforms
    return out


class AudioLoader(TransformerMixin, BaseEstimator):
    """Load audio files as mono waveforms at one sample rate.

    The first step of the SER pipeline. Stateless: ``fit`` only validates
    the parameters. Every file is checked before anything is returned, and
    all bad files are reported together in one :class:`AudioFileError`.

    Parameters
    ----------
    sr : int, default=22050
        Sample rate of the output waveforms (Hz).
    offset : float, default=0.0
        Seconds skipped at the start of every file.
    duration : float or None, default=None
        If set, crop every clip to this many seconds and zero-pad shorter ones
        (fixed-duration input); ``None`` keeps each clip's full length.
    min_duration : float, default=0.1
        Clips shorter than this many seconds raise :class:`AudioFileError`
        (one FFT frame of the reference features is 2048 / 22050 = 0.093 s).
        Set 0 to accept any length: feature extraction then zero-pads.
    trim_db : float or None, default=None
        Trim leading/trailing silence quieter than this many dB below the
        clip's peak before cropping to ``duration`` (``None``: no trimming).
    n_jobs : int or None, default=None
        Files decoded in parallel with joblib.
    verbose : int, default=0
        Show a progress bar when > 0.

    Examples
    --------
    >>> from sklearn_ser import AudioLoader
    >>> waves = AudioLoader(sr=16000).fit_transform(["a.wav", "b.flac"])  # doctest: +SKIP
    >>> waves.shape, waves[0].dtype  # doctest: +SKIP
    ((2,), dtype('float32'))
    """

    def __init__(
        self,
        sr: int = 22050,
        *,
        offset: float = 0.0,
        duration: float | None = None,
        min_duration: float = 0.1,
        trim_db: float | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.sr = sr
        self.offset = offset
        self.duration = duration
        self.min_duration = min_duration
        self.trim_db = trim_db
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y=None):
        """Validate parameters and paths; nothing is learned.

        Parameters
        ----------
        X : list of str or Path
            Audio file paths.
        y : ignored

        Returns
        -------
        self : AudioLoader
        """
        self._check_params()
        check_paths(X)
        self.n_features_in_ = 1
        return self

    def transform(self, X) -> np.ndarray:
        """Load every file.

        Parameters
        ----------
        X : list, ndarray or pandas Series of str or Path
            Audio file paths.

        Returns
        -------
        waveforms : ndarray of shape (n_clips,), dtype object
            Each element a float32 mono waveform at ``sr`` Hz.

        Raises
        ------
        AudioFileError
            Listing every file that cannot be used and why.
        """
        self._check_params()
        paths = check_paths(X)
        results = parallel_map(
            _load_or_problem,
            paths,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc="loading audio",
            args=[(self.sr, self.offset, self.duration, self.min_duration, self.trim_db)]
            * len(paths),
        )
        problems = {p: r for p, r in zip(paths, results) if isinstance(r, str)}
        if problems:
            raise AudioFileError(problems)
        return as_waveform_array(results)

    def _check_params(self) -> None:
        if not (isinstance(self.sr, int | np.integer) and self.sr > 0):
            raise ValueError(f"sr must be a positive integer (Hz), got {self.sr!r}")
        if self.offset < 0:
            raise ValueError(f"offset must be >= 0 seconds, got {self.offset!r}")
        if self.duration is not None and not self.duration > 0:
            raise ValueError(f"duration must be None or > 0 seconds, got {self.duration!r}")
        if self.min_duration < 0:
            raise ValueError(f"min_duration must be >= 0 seconds, got {self.min_duration!r}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def _load_or_problem(
    path: str, sr: int, offset: float, duration: float | None, min_duration: float,
    trim_db: float | None,
) -> np.ndarray | str:
    """Load one file; return the problem text instead of raising (so all are reported)."""
    try:
        return load_audio(
            path, sr=sr, offset=offset, duration=duration, min_duration=min_duration,
            trim_db=trim_db,
        )
    except AudioFileError as exc:
        return exc.problems[str(path)]


def check_waveform_views(X: object) -> np.ndarray:
    """Validate waveforms and return them as an object array of shape (n_clips, n_views).

    Accepts what :class:`AudioLoader` and :class:`~sklearn_ser.WaveformAugmenter`
    return (1-D or 2-D object arrays of 1-D float arrays), a list of 1-D
    arrays, or a float array of shape (n_clips, n_samples) or
    (n_clips, n_views, n_samples).
    """
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            X = X[:, None, :]
        if X.ndim != 3:
            raise ValueError(
                "numeric waveform input must have shape (n_clips, n_samples) or "
                f"(n_clips, n_views, n_samples), got {X.shape}"
            )
        out = np.empty(X.shape[:2], dtype=object)
        for i, j in np.ndindex(*X.shape[:2]):
            out[i, j] = X[i, j]
        return out
    if not isinstance(X, np.ndarray):
        X = as_waveform_array(X)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"waveforms must be a 1-D or 2-D object array, got shape {X.shape}")
    for w in X.flat:
        if not (isinstance(w, np.ndarray) and w.ndim == 1):
            raise TypeError(
                "each waveform must be a 1-D numpy array (did you pass file paths to a step "
                "that expects audio? Put AudioLoader first)"
            )
    return X
