"""What an upload may be: size, count and duration limits, and the checks made before decoding.

Every upload is copied into a private temporary folder (mode 0700, removed
when the request ends) under a name the server chooses (``upload-0``,
``upload-1``, ...): a client's file name is only ever echoed back as a
label, never used as a path. Content is judged by decoding, never by the
name's extension: the header is read first (duration, from the declared
sample count and rate, before a sample is decoded, so a header that claims
hours cannot make the server resample them), then the model's own
:class:`~sklearn_ser.AudioLoader` decodes the clip and refuses what the
library refuses (empty, not audio, NaN, silent, too short).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["UploadLimits", "clip_name", "header_problem", "make_private_folder", "remove_folder",
           "save_upload"]

# Longest client file name echoed back (characters).
_NAME_CHARS = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class UploadLimits:
    """Limits on what one request may upload.

    Parameters
    ----------
    max_request_mb : float, default=50.0
        Largest request body in MiB (all files and fields together); a
        larger one is refused with 413 before it is read to the end.
    max_files : int, default=16
        Most clips in one ``POST /predict``.
    max_clip_seconds : float, default=30.0
        Longest clip ``POST /predict`` accepts (seconds, from the header).
    max_recording_seconds : float, default=600.0
        Longest recording ``POST /segments`` accepts (seconds, from the header).
    """

    max_request_mb: float = 50.0
    max_files: int = 16
    max_clip_seconds: float = 30.0
    max_recording_seconds: float = 600.0

    def __post_init__(self) -> None:
        for name in ("max_request_mb", "max_clip_seconds", "max_recording_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        if isinstance(self.max_files, bool) or not isinstance(self.max_files, int) \
                or self.max_files < 1:
            raise ValueError(f"max_files must be an integer >= 1, got {self.max_files!r}")

    @property
    def max_request_bytes(self) -> int:
        """``max_request_mb`` in bytes."""
        return int(self.max_request_mb * 2**20)

    def to_dict(self) -> dict[str, Any]:
        """The limits as plain JSON values (``GET /model`` reports them to the page)."""
        return asdict(self)


def make_private_folder() -> Path:
    """A new temporary folder only this process' user can enter (remove it with rmtree)."""
    return Path(tempfile.mkdtemp(prefix="sklearn_ser_serve_"))  # mkdtemp: mode 0700


def remove_folder(folder: Path) -> None:
    """Remove a folder of :func:`make_private_folder` and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)


def save_upload(source: BinaryIO, folder: Path, index: int) -> Path:
    """Copy one uploaded file into ``folder`` under a server-chosen name; return its path."""
    path = folder / f"upload-{index}"
    source.seek(0)
    # O_EXCL: never follow or overwrite anything already at that name.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    return path


def clip_name(filename: str | None, index: int) -> str:
    """The label a clip is reported under: the client's base name, cleaned, or ``clip N``."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip()[:_NAME_CHARS]
    return name or f"clip {index + 1}"


def header_problem(path: Path, max_seconds: float) -> str | None:
    """Why ``path`` cannot be accepted, judged from its header alone; None if it can.

    Parameters
    ----------
    path : pathlib.Path
        An uploaded file.
    max_seconds : float
        Longest accepted duration, as the header declares it.

    Returns
    -------
    str or None
        ``"too long: ..."`` for audio longer than ``max_seconds``, a decoding
        problem for a file that is empty or not audio or whose header declares
        a sample rate too low to be real, else None.
    """
    import soundfile as sf

    from sklearn_ser.audio import check_audio_file, check_sample_rate
    from sklearn_ser.exceptions import AudioFileError

    try:
        check_audio_file(path)
        info = sf.info(str(path))
        # The same refusal as the library's readers: a lying rate would cost far too much.
        check_sample_rate(path, info.samplerate)
    except AudioFileError as exc:
        return next(iter(exc.problems.values()))
    except Exception:  # noqa: BLE001 - soundfile's errors name our private path: not shown
        return "cannot be decoded as audio (not a format libsndfile reads)"
    if not (info.samplerate > 0 and info.frames >= 0):
        return "cannot be decoded as audio (the header declares no sample rate)"
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        return f"too long: {seconds:.1f} s, the limit is {max_seconds:g} s"
    return None
