"""Reading a long recording block by block, in bounded memory (for long recordings)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from sklearn_ser._librosa_mirror import fix_length
from sklearn_ser.audio._file import (
    DECODE_ERRORS,
    ESTIMATED_LENGTH_FORMATS,
    check_audio_file,
    check_sample_rate,
    downmix,
    undecodable,
    warn_if_short,
)
from sklearn_ser.exceptions import AudioFileError


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
        When the file is missing, a directory, empty, not audio, holds no
        samples or its header declares a sample rate below
        :data:`~sklearn_ser.audio.MIN_SAMPLE_RATE` (as :func:`~sklearn_ser.load_audio`
        refuses it), and - naming the time in seconds - when a stretch of it
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
    except DECODE_ERRORS as exc:
        raise undecodable(path, exc) from None
    with handle as f:
        native_sr = f.samplerate
        check_sample_rate(path, native_sr)
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
        if f.seekable() and f.format not in ESTIMATED_LENGTH_FORMATS:
            # A file that ends before its header says is warned about and what is
            # there is used, as load_audio does (AudioFileWarning).
            warn_if_short(path, f, start=0, frames=-1, n_read=n_read)
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
