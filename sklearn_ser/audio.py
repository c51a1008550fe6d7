"""Audio loading: file paths in, mono waveforms at one sample rate out.

:func:`load_audio` and the :class:`AudioLoader` read whole clips;
:func:`stream_audio` reads a long recording block by block in bounded memory
(for :func:`sklearn_ser.segments.predict_segments`). Resampling and silence
trimming are librosa's, computed by :mod:`sklearn_ser._librosa_mirror`
without importing librosa (its import costs about a second per process).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

# resample and trim_silence are also importable from here, as before they moved.
from sklearn_ser._librosa_mirror import fix_length, resample, trim_silence
from sklearn_ser._parallel import parallel_map
from sklearn_ser._validation import N_JOBS, VERBOSE
from sklearn_ser.exceptions import AudioFileError, AudioFileWarning

#: Peak amplitude under which a clip counts as silent (-100 dBFS).
SILENCE_PEAK = 1e-5
#: Default longest audio (seconds) that the loader decodes: ten minutes, far more
#: than an utterance, far less than the gigabytes an hour-long file costs once resampled.
MAX_DURATION = 600.0
#: Long-recording API named in the max_duration error.
LONG_RECORDING_API = "sklearn_ser.segments.predict_segments"
# libsndfile's frame count is an estimate for MPEG files; a shortfall there is no error.
_ESTIMATED_LENGTH_FORMATS = frozenset({"MPEG"})


def load_audio(
    path: str | os.PathLike,
    *,
    sr: int = 22050,
    offset: float = 0.0,
    duration: float | None = None,
    pad: bool = True,
    min_duration: float = 0.0,
    trim_db: float | None = None,
    max_duration: float | None = MAX_DURATION,
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
    max_duration : float or None, default=600.0
        Longest audio, in seconds, that is decoded: the file header is checked
        *before* anything is decoded or resampled (a header claiming 1 Hz
        turns 8 KB into hours). Counts what would be read, i.e. after
        ``offset`` and, without ``trim_db``, up to ``duration``. ``None``: no
        limit. Long recordings go through
        ``sklearn_ser.segments.predict_segments`` instead.

    Returns
    -------
    y : ndarray of shape (n_samples,), float32

    Raises
    ------
    AudioFileError
        Naming the file and the problem: missing, a directory, empty (0 bytes),
        not decodable, no samples, NaN/inf samples, silent, or too short.
    """
    y = _read(Path(path), sr=sr, offset=offset, duration=None if trim_db else duration,
              max_duration=max_duration)
    problem = _signal_problem(y, sr=sr, min_duration=min_duration)
    if problem:
        raise AudioFileError({str(path): problem})
    return condition_waveform(y, sr=sr, duration=duration, pad=pad, trim_db=trim_db)


def condition_waveform(
    y: np.ndarray,
    *,
    sr: int,
    duration: float | None = None,
    pad: bool = True,
    trim_db: float | None = None,
) -> np.ndarray:
    """Apply the per-clip processing of :func:`load_audio` to an in-memory waveform.

    Trim leading and trailing silence, crop to ``duration`` and zero-pad to
    it: what :func:`load_audio` does after decoding, so that a window cut
    from a long recording (:func:`sklearn_ser.predict_segments`) is
    prepared like a clip read from a file.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono waveform at ``sr`` Hz.
    sr : int
        Sample rate of ``y`` in Hz.
    duration : float or None, default=None
        Seconds to keep; with ``pad=True`` shorter waveforms are zero-padded
        to exactly ``round(duration * sr)`` samples.
    pad : bool, default=True
        Zero-pad waveforms shorter than ``duration``.
    trim_db : float or None, default=None
        Trim leading and trailing parts quieter than ``trim_db`` decibels
        below the peak (``librosa.effects.trim``) before cropping.

    Returns
    -------
    y : ndarray of shape (n_samples_out,)
    """
    if trim_db is not None:
        y = trim_silence(y, top_db=trim_db)
    if duration is not None:
        size = int(round(duration * sr))
        y = fix_length(y, size) if pad else y[:size]
    return y


def stream_audio(
    path: str | os.PathLike,
    *,
    sr: int | None = None,
    block_duration: float = 10.0,
) -> Iterator[np.ndarray]:
    """Read an audio file as consecutive mono float32 blocks, resampled as a stream.

    The concatenated blocks equal :func:`sklearn_ser.load_audio` of the whole
    file (same soxr resampler, same length), but only one block is in
    memory at a time. Resampling is done by one streaming soxr resampler
    (``soxr.ResampleStream``, the "HQ" quality that ``librosa.resample``
    uses), so block boundaries leave no edge artefacts.

    Parameters
    ----------
    path : str or path-like
        The audio file (any format libsndfile reads).
    sr : int or None, default=None
        Output sample rate in Hz; ``None`` keeps the file's rate.
    block_duration : float, default=10.0
        Seconds of the file decoded per block (the yielded blocks are about
        this long; the resampler holds back a few milliseconds).

    Yields
    ------
    block : ndarray of shape (n_samples,), float32
        The next stretch of the mono signal at ``sr`` Hz.

    Raises
    ------
    AudioFileError
        When the file is missing, a directory, empty, not audio or holds no
        samples, and - naming the time in seconds - when a stretch of it
        cannot be decoded, holds NaN or infinite samples, or the file ends
        before the length its header announces (truncated).
    """
    if not block_duration > 0:
        raise ValueError(f"block_duration must be > 0 seconds, got {block_duration!r}")
    if sr is not None and not (isinstance(sr, int | np.integer) and sr > 0):
        raise ValueError(f"sr must be None or a positive integer (Hz), got {sr!r}")
    path = Path(path)
    name = str(path)
    check_audio_file(path)
    try:
        handle = sf.SoundFile(path)
    except _DECODE_ERRORS as exc:
        raise _undecodable(path, exc) from None
    with handle as f:
        native_sr = f.samplerate
        out_sr = native_sr if sr is None else int(sr)
        resampler = (
            soxr.ResampleStream(native_sr, out_sr, 1, dtype="float32", quality="HQ")
            if out_sr != native_sr else None
        )
        blocksize = max(1, int(round(block_duration * native_sr)))
        n_read = n_out = 0
        while True:
            try:
                data = f.read(blocksize, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                try:  # where the decoder stopped, inside the block it was reading
                    failed_at = max(n_read, int(f.tell()))
                except (sf.LibsndfileError, RuntimeError):
                    failed_at = n_read
                raise AudioFileError({name: (
                    f"cannot be decoded after {failed_at / native_sr:.2f} s ({exc}): the file "
                    "is corrupt or truncated from there"
                )}) from None
            if not len(data):
                break
            y = downmix(data)
            finite = np.isfinite(y)
            if not finite.all():
                first = n_read + int(np.argmin(finite))
                raise AudioFileError({name: (
                    f"contains {int(y.size - finite.sum())} NaN or infinite samples from "
                    f"{first / native_sr:.2f} s"
                )})
            n_read += len(y)
            if resampler is not None:
                y = resampler.resample_chunk(y)
            if len(y):
                n_out += len(y)
                yield np.ascontiguousarray(y, dtype=np.float32)
        if n_read == 0:
            raise AudioFileError({name: "contains no audio samples"})
        if f.seekable() and f.format not in _ESTIMATED_LENGTH_FORMATS:
            # A file that ends before its header says is warned about and what is
            # there is used, as load_audio does (AudioFileWarning).
            _warn_if_short(path, f, start=0, frames=-1, n_read=n_read)
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            # librosa.resample returns ceil(n * ratio) samples: pad (or cut) to match.
            expected = int(np.ceil(n_read * out_sr / native_sr))
            tail = fix_length(tail, max(expected - n_out, 0))
            if len(tail):
                yield np.ascontiguousarray(tail, dtype=np.float32)


class SampleBuffer:
    """The recent stretch of a streamed signal: samples ``start`` to ``end`` (absolute indices).

    A preallocated float32 array of ``capacity`` samples that old samples are
    dropped from; it grows only if a single incoming block is larger. It holds
    what the speech detector of :func:`~sklearn_ser.segments.predict_segments`
    still needs of the blocks that :func:`stream_audio` yields.
    """

    def __init__(self, capacity: int):
        self.data = np.zeros(max(capacity, 1), dtype=np.float32)
        self.start = 0
        self.n = 0

    @property
    def end(self) -> int:
        """Absolute index one past the last sample held."""
        return self.start + self.n

    def append(self, x: np.ndarray) -> None:
        """Add samples at the end (growing the array if they do not fit)."""
        if self.n + len(x) > len(self.data):
            grown = np.zeros(max(2 * len(self.data), self.n + len(x)), dtype=np.float32)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : self.n + len(x)] = x
        self.n += len(x)

    def drop_before(self, index: int) -> None:
        """Forget the samples before absolute index ``index``."""
        k = min(max(index - self.start, 0), self.n)
        if k:
            self.data[: self.n - k] = self.data[k : self.n]
            self.n -= k
            self.start += k

    def get(self, a: int, b: int) -> np.ndarray:
        """A copy of absolute samples ``a`` to ``b`` (which must still be held)."""
        return self.data[a - self.start : b - self.start].copy()


def _read(path: Path, *, sr: int, offset: float, duration: float | None,
          max_duration: float | None = None) -> np.ndarray:
    """Decode, downmix and resample; raise AudioFileError for file-level problems."""
    check_audio_file(path)
    try:
        with sf.SoundFile(path) as f:
            native_sr = f.samplerate
            start = int(round(offset * native_sr))
            frames = -1 if duration is None else int(round(duration * native_sr))
            _check_length(path, f, start=start, frames=frames, max_duration=max_duration)
            if start:
                f.seek(min(start, f.frames))
            data = f.read(frames=frames, dtype="float32", always_2d=True)
            _warn_if_short(path, f, start=start, frames=frames, n_read=data.shape[0])
    except _DECODE_ERRORS as exc:
        raise _undecodable(path, exc) from None
    y = downmix(data)
    if native_sr != sr and y.size:
        y = resample(y, orig_sr=native_sr, target_sr=sr)
    return np.ascontiguousarray(y, dtype=np.float32)


# What soundfile raises for a file it cannot open or decode.
_DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError)


def _undecodable(path: Path, exc: Exception) -> AudioFileError:
    return AudioFileError({str(path): f"cannot be decoded as audio ({exc})"})


def _header_frames(f: sf.SoundFile, *, start: int, frames: int) -> int:
    """Samples that reading ``frames`` (-1: all) from ``start`` yields, as the header says."""
    available = max(f.frames - start, 0)
    return available if frames < 0 else min(frames, available)


def _check_length(path: Path, f: sf.SoundFile, *, start: int, frames: int,
                  max_duration: float | None) -> None:
    """Refuse, from the header alone, audio longer than ``max_duration`` seconds."""
    if max_duration is None:
        return
    seconds = _header_frames(f, start=start, frames=frames) / f.samplerate
    if seconds > max_duration:
        raise AudioFileError({str(path): (
            f"is too long: {seconds:.1f} s to decode (header: {f.frames} samples at "
            f"{f.samplerate} Hz), more than max_duration={max_duration:g} s; for long "
            f"recordings use {LONG_RECORDING_API}, or raise max_duration"
        )})


_DECLARED_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _warn_if_short(path: Path, f: sf.SoundFile, *, start: int, frames: int,
                   n_read: int) -> None:
    """Warn when the header promised more samples than the file holds (a truncated file)."""
    expected = _header_frames(f, start=start, frames=frames)
    declared = _DECLARED_DATA.search(f.extra_info or "")
    if n_read < expected:
        detail = f"{expected} samples promised by the header, {n_read} read"
    elif declared and int(declared[1]) > int(declared[2]):
        # libsndfile shrinks a WAV's sample count to the bytes present, and logs it.
        detail = (f"the header declares {int(declared[1])} bytes of audio, the file holds "
                  f"{int(declared[2])}")
    else:
        return
    warnings.warn(
        f"{path}: the file holds less audio than its header says ({detail}); it is probably "
        "truncated, only what is there is used",
        AudioFileWarning,
        stacklevel=5,
    )


def check_audio_file(path: str | os.PathLike) -> None:
    """Raise :class:`AudioFileError` if ``path`` is missing, a directory or 0 bytes.

    Parameters
    ----------
    path : str or path-like
        The audio file.
    """
    path = Path(path)
    if not path.exists():
        raise AudioFileError({str(path): "file not found"})
    if path.is_dir():
        raise AudioFileError({str(path): "is a directory, not an audio file"})
    if path.stat().st_size == 0:
        raise AudioFileError({str(path): "file is empty (0 bytes)"})


def downmix(data: np.ndarray) -> np.ndarray:
    """Average the channels of ``data`` (shape (n_frames, n_channels)) into one."""
    return data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]


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
        max_duration: float | None = MAX_DURATION,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.sr = sr
        self.offset = offset
        self.duration = duration
        self.min_duration = min_duration
        self.trim_db = trim_db
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
                   self.max_duration)] * len(paths),
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
) -> np.ndarray | str:
    """Load one file; return the problem text instead of raising (so all are reported)."""
    try:
        return load_audio(
            path, sr=sr, offset=offset, duration=duration, min_duration=min_duration,
            trim_db=trim_db, max_duration=max_duration,
        )
    except AudioFileError as exc:
        return exc.problems[str(path)]
