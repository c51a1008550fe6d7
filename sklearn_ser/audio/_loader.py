"""``AudioLoader``: the pipeline step that turns file paths into waveforms."""

from __future__ import annotations

import os
from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from sklearn_ser._parallel import parallel_map
from sklearn_ser._validation import N_JOBS, VERBOSE
from sklearn_ser.audio._file import MAX_DURATION, load_audio
from sklearn_ser.exceptions import AudioFileError


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
    trim_floor_db : float or None, default=None
        With ``trim_db``, a recording whose noise floor (the 10th percentile of
        its frame energies) lies within ``trim_db - trim_floor_db`` of its peak
        counts as noisy, and is cut to its loud, lasting foreground speech
        (:func:`~sklearn_ser.audio.trim_to_speech`), so that a noisy recording,
        other voices in the background included, is cut to its speech like a
        clean one.
    max_duration : float or None, default=600.0
        Files with more than this many seconds to decode are refused with an
        :class:`AudioFileError`, checked from the file header before anything
        is decoded or resampled (``None``: no limit). One clip becomes one
        image and one label: classify long recordings window by window with
        ``sklearn_ser.segments.predict_segments``.
    n_jobs : int or None, default=None
        Files decoded in parallel with joblib (capped at the machine's cores).
    verbose : int, default=0
        Show a progress bar when > 0.

    Examples
    --------
    >>> from sklearn_ser import AudioLoader
    >>> waves = AudioLoader(sr=16000).fit_transform(["a.wav", "b.flac"])  # doctest: +SKIP
    >>> waves.shape, waves[0].dtype  # doctest: +SKIP
    ((2,), dtype('float32'))
    """

    _parameter_constraints: dict = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "offset": [Interval(Real, 0, None, closed="left")],
        "duration": [Interval(Real, 0, None, closed="neither"), None],
        "min_duration": [Interval(Real, 0, None, closed="left")],
        "trim_db": [Interval(Real, 0, None, closed="neither"), None],
        "trim_floor_db": [Interval(Real, 0, None, closed="neither"), None],
        "max_duration": [Interval(Real, 0, None, closed="neither"), None],
        "n_jobs": N_JOBS,
        "verbose": VERBOSE,
    }

    def __init__(
        self,
        sr: int = 22050,
        *,
        offset: float = 0.0,
        duration: float | None = None,
        min_duration: float = 0.1,
        trim_db: float | None = None,
        trim_floor_db: float | None = None,
        max_duration: float | None = MAX_DURATION,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.sr = sr
        self.offset = offset
        self.duration = duration
        self.min_duration = min_duration
        self.trim_db = trim_db
        self.trim_floor_db = trim_floor_db
        self.max_duration = max_duration
        self.n_jobs = n_jobs
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
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
            args=[(self.sr, self.offset, self.duration, self.min_duration, self.trim_db,
                   self.max_duration, self.trim_floor_db)] * len(paths),
        )
        problems = {p: r for p, r in zip(paths, results) if isinstance(r, str)}
        if problems:
            raise AudioFileError(problems)
        return as_waveform_array(results)

    def _check_params(self) -> None:
        # transform works without fit (the loader is stateless): validate here too.
        self._validate_params()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def _load_or_problem(
    path: str, sr: int, offset: float, duration: float | None, min_duration: float,
    trim_db: float | None, max_duration: float | None = MAX_DURATION,
    trim_floor_db: float | None = None,
) -> np.ndarray | str:
    """Load one file; return the problem text instead of raising (so all are reported)."""
    try:
        return load_audio(
            path, sr=sr, offset=offset, duration=duration, min_duration=min_duration,
            trim_db=trim_db, max_duration=max_duration, trim_floor_db=trim_floor_db,
        )
    except AudioFileError as exc:
        return exc.problems[str(path)]
