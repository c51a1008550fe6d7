"""Reading one audio file whole: checks, decoding, downmix, resampling, per-clip processing."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

# resample and trim_silence are librosa's, computed without importing librosa.
from sklearn_ser._librosa_mirror import fix_length, resample, trim_silence
from sklearn_ser.audio._activity import trim_to_speech
from sklearn_ser.exceptions import AudioFileError, AudioFileWarning

#: Peak amplitude under which a clip counts as silent (-100 dBFS).
SILENCE_PEAK = 1e-5
#: Default longest audio (seconds) that the loader decodes: ten minutes, far more
#: than an utterance, far less than the gigabytes an hour-long file costs once resampled.
MAX_DURATION = 600.0
#: Lowest sample rate (Hz) accepted from a file header. Telephone speech is 8 kHz and
#: old formats go down to 4 kHz; a header claiming less is wrong or hostile (1 Hz turns
#: an 8 KB file into 66 minutes, 88 million samples once resampled to 22050 Hz).
MIN_SAMPLE_RATE = 4000
#: Long-recording API named in the max_duration error.
LONG_RECORDING_API = "sklearn_ser.segments.predict_segments"
# libsndfile's frame count is an estimate for MPEG files; a shortfall there is no error.
ESTIMATED_LENGTH_FORMATS = frozenset({"MPEG"})


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
    trim_floor_db: float | None = None,
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
        *before* anything is decoded or resampled (a large file at a low
        rate becomes hours once resampled). Counts what would be read, i.e. after
        ``offset`` and, without ``trim_db``, up to ``duration``. ``None``: no
        limit. Long recordings go through
        ``sklearn_ser.segments.predict_segments`` instead.
    trim_floor_db : float or None, default=None
        With ``trim_db``, a recording whose noise floor lies within
        ``trim_db - trim_floor_db`` of its peak counts as noisy and is cut to
        its loud, lasting foreground speech instead
        (:func:`~sklearn_ser.audio.trim_to_speech`): noisy recordings, other
        voices in the background included, are then cut to their speech as
        clean ones are. ``None``: peak-relative trimming only.

    Returns
    -------
    y : ndarray of shape (n_samples,), float32

    Raises
    ------
    AudioFileError
        Naming the file and the problem: missing, a directory, empty (0 bytes),
        not decodable, a header sample rate below :data:`MIN_SAMPLE_RATE`,
        longer than ``max_duration``, no samples, NaN/inf samples, silent, or
        too short.
    """
    y = _read(Path(path), sr=sr, offset=offset, duration=None if trim_db else duration,
              max_duration=max_duration)
    problem = _signal_problem(y, sr=sr, min_duration=min_duration)
    if problem:
        raise AudioFileError({str(path): problem})
    return condition_waveform(y, sr=sr, duration=duration, pad=pad, trim_db=trim_db,
                              trim_floor_db=trim_floor_db)


def condition_waveform(
    y: np.ndarray,
    *,
    sr: int,
    duration: float | None = None,
    pad: bool = True,
    trim_db: float | None = None,
    trim_floor_db: float | None = None,
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
    trim_floor_db : float or None, default=None
        With ``trim_db``, cut a noisy recording to its foreground speech
        (:func:`~sklearn_ser.audio.trim_to_speech`).

    Returns
    -------
    y : ndarray of shape (n_samples_out,)
    """
    if trim_db is not None and trim_floor_db is not None:
        y = trim_to_speech(y, sr=sr, top_db=trim_db, floor_db=trim_floor_db)
    elif trim_db is not None:
        y = trim_silence(y, top_db=trim_db)
    if duration is not None:
        size = int(round(duration * sr))
        y = fix_length(y, size) if pad else y[:size]
    return y


def _read(path: Path, *, sr: int, offset: float, duration: float | None,
          max_duration: float | None = None) -> np.ndarray:
    """Decode, downmix and resample; raise AudioFileError for file-level problems."""
    check_audio_file(path)
    try:
        with sf.SoundFile(path) as f:
            native_sr = f.samplerate
            check_sample_rate(path, native_sr)
            start = int(round(offset * native_sr))
            frames = -1 if duration is None else int(round(duration * native_sr))
            _check_length(path, f, start=start, frames=frames, max_duration=max_duration)
            if start:
                f.seek(min(start, f.frames))
            data = f.read(frames=frames, dtype="float32", always_2d=True)
            warn_if_short(path, f, start=start, frames=frames, n_read=data.shape[0])
    except DECODE_ERRORS as exc:
        raise undecodable(path, exc) from None
    y = downmix(data)
    if native_sr != sr and y.size:
        y = resample(y, orig_sr=native_sr, target_sr=sr)
    return np.ascontiguousarray(y, dtype=np.float32)


# What soundfile raises for a file it cannot open or decode.
DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError)


def undecodable(path: Path, exc: Exception) -> AudioFileError:
    return AudioFileError({str(path): f"cannot be decoded as audio ({exc})"})


def check_sample_rate(path: str | os.PathLike, samplerate: int) -> None:
    """Refuse a header sample rate below :data:`MIN_SAMPLE_RATE`, before anything is decoded.

    Shared by the whole-clip and the block readers, so that both refuse such a
    file with the same message (resampling it up would cost time and memory
    out of all proportion to the file's size).

    Parameters
    ----------
    path : str or path-like
        The audio file, named in the error.
    samplerate : int
        The sample rate its header declares (Hz).

    Raises
    ------
    AudioFileError
        When ``samplerate`` is below :data:`MIN_SAMPLE_RATE`.
    """
    if samplerate < MIN_SAMPLE_RATE:
        raise AudioFileError({str(path): (
            f"has a sample rate of {samplerate} Hz in its header, below the minimum of "
            f"{MIN_SAMPLE_RATE} Hz: the header is wrong or this is not a recording of speech"
        )})


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


def warn_if_short(path: Path, f: sf.SoundFile, *, start: int, frames: int,
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
