"""Every file the package writes, and every untrusted file it reads, goes through here.

Writing: a file is written under a temporary name in its own folder, flushed to
disk, then moved over the target with :func:`os.replace`, which is atomic on
POSIX and Windows. A reader, a concurrent writer or a save interrupted at any
moment (Ctrl-C, ``kill -9``, power loss) therefore leaves the old file or the
new one, never a mix. A folder (a model export) is built as a temporary
sibling and swapped in the same way.

Reading: a file named by someone else (a model folder from the internet) is
read only when it is a regular file (not a FIFO that would block, not a
symbolic link to ``/dev/zero`` whose size says 0, not a folder), and never
more than ``limit + 1`` bytes of it, whatever its size claims.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "atomic_folder",
    "atomic_path",
    "check_writable_file",
    "check_writable_folder",
    "copy_bounded",
    "dump_joblib",
    "quiet_cache_reload",
    "read_bounded",
    "save_figure",
    "write_bytes",
    "write_text",
]

_CHUNK = 1 << 20


def _temp_sibling(path: Path, kind: str = "tmp") -> Path:
    """A fresh hidden name next to ``path`` that keeps its suffix (writers go by it)."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(6)}.{kind}{path.suffix}")


def _fsync(path: Path, directory: bool = False) -> None:
    """Flush a file (or a folder's entries) to disk; best effort where not supported."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # e.g. folders cannot be opened on Windows
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it over ``path`` when the block succeeds.

    Parent folders are created. If the block raises (or is interrupted), the
    temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path : str or path-like
        The file to (re)write.

    Yields
    ------
    pathlib.Path
        Where to write: a hidden name in the same folder with the same suffix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "cannot write a file over a folder", str(path))
    tmp = _temp_sibling(path)
    try:
        yield tmp
        _fsync(tmp)
        if path.exists():  # a replaced file keeps its permissions (e.g. chmod 600)
            with contextlib.suppress(OSError):
                shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync(path.parent, directory=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); return the path."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`); return the path."""
    return write_bytes(path, text.encode(encoding))


def dump_joblib(value: Any, path: str | os.PathLike, compress: int = 3) -> Path:
    """:func:`joblib.dump` to ``path`` atomically (see :func:`atomic_path`); return the path."""
    import joblib

    with atomic_path(path) as tmp:
        joblib.dump(value, tmp, compress=compress)
    return Path(path)


def save_figure(figure: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """``figure.savefig(path, **kwargs)`` atomically (see :func:`atomic_path`).

    As with ``savefig``, the file's suffix sets the format, and a name without
    one gets matplotlib's default format's suffix (``.png``).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    import matplotlib

    path = Path(path)
    if not path.suffix:
        path = path.with_name(f"{path.name}.{matplotlib.rcParams['savefig.format']}")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=kwargs.pop("format", path.suffix[1:]), **kwargs)
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system cannot (then the caller renames twice).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``path``; swap it in when the block succeeds.

    On Linux the swap is one ``renameat2(RENAME_EXCHANGE)``: a reader sees the
    old folder or the new one. Elsewhere the old folder is renamed away and the
    new one renamed in (a reader may find no folder for that instant, never a
    half-written one). The old folder is then deleted. If the block raises, the
    temporary folder is deleted and ``path`` is untouched.

    Parameters
    ----------
    path : str or path-like
        The folder to (re)write.

    Yields
    ------
    pathlib.Path
        The folder to fill.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "cannot write a folder over a file", str(path))
    tmp = _temp_sibling(path)
    tmp.mkdir()
    try:
        yield tmp
        for child in tmp.iterdir():
            _fsync(child)
        old = None
        if path.is_dir() and _exchange(tmp, path):
            old = tmp  # holds the previous folder now
        else:
            if path.is_dir():
                old = _temp_sibling(path, "old")
                os.replace(path, old)
            os.replace(tmp, path)
        _fsync(path.parent, directory=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- reading untrusted files ------------------------------------------------------------------
def _open_regular(path: Path, error: Callable[[str], Exception]) -> int:
    """Open ``path`` for reading if it is a regular file (checked before and after opening)."""
    try:
        before = os.stat(path)  # follows links: a link to /dev/zero is a character device
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(before.st_mode):
        raise error(f"{path} is not a regular file ({_kind(before.st_mode)})")
    # O_NONBLOCK: a FIFO swapped in after the check cannot block the open.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{path} is not a regular file")
    return fd


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def _limit_text(limit: int) -> str:
    return f"{limit / (1 << 20):g} MB" if limit >= 1 << 20 else f"{limit} bytes"


def read_bounded(path: str | os.PathLike, limit: int,
                 error: Callable[[str], Exception] = ValueError) -> bytes:
    """The bytes of an untrusted regular file of at most ``limit`` bytes.

    The file must be a regular file (a symbolic link to one is followed);
    FIFOs, devices and folders are refused without being read. At most
    ``limit + 1`` bytes are read, whatever ``stat`` reports.

    Parameters
    ----------
    path : str or path-like
        The file.
    limit : int
        Largest accepted size in bytes.
    error : callable, default=ValueError
        Makes the exception raised from a message (e.g. the model folder's own).

    Returns
    -------
    bytes

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    Exception
        ``error(message)`` if it is not a regular file, cannot be read or is larger
        than ``limit``.
    """
    path = Path(path)
    fd = _open_regular(path, error)
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{path} is larger than {_limit_text(limit)}")
    return data


def copy_bounded(path: str | os.PathLike, destination: BinaryIO, limit: int,
                 error: Callable[[str], Exception] = ValueError) -> int:
    """Copy an untrusted regular file of at most ``limit`` bytes into an open file.

    As :func:`read_bounded`, in chunks (nothing larger than 1 MB is held in memory).

    Parameters
    ----------
    path : str or path-like
        The file.
    destination : binary file object
        Where the bytes go.
    limit : int
        Largest accepted size in bytes.
    error : callable, default=ValueError
        Makes the exception raised from a message.

    Returns
    -------
    int
        The number of bytes copied.
    """
    path = Path(path)
    fd = _open_regular(path, error)
    copied = 0
    with os.fdopen(fd, "rb") as fh:
        while True:
            try:
                chunk = fh.read(min(_CHUNK, limit + 1 - copied))
            except OSError as exc:
                raise error(f"cannot read {path}: {exc.strerror or exc}") from None
            if not chunk:
                return copied
            copied += len(chunk)
            if copied > limit:
                raise error(f"{path} is larger than {_limit_text(limit)}")
            destination.write(chunk)


# -- output locations -------------------------------------------------------------------------
def _why(exc: OSError) -> str:
    """An OSError's reason; for a path through a file, which part is not a folder."""
    if isinstance(exc, FileExistsError | NotADirectoryError) and exc.filename:
        for parent in [Path(exc.filename), *Path(exc.filename).parents]:
            if parent.exists() and not parent.is_dir():
                return f"{parent} is a file, not a folder"
    return exc.strerror or str(exc)


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``: the only sure test that it can be written."""
    probe = folder / f".write-test-{secrets.token_hex(6)}"
    probe.open("xb").close()
    probe.unlink()


def check_writable_file(path: str | os.PathLike) -> Path:
    """Make sure a file can be written at ``path`` (its folder is created); nothing is left.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OSError
        Naming the path, if its folder cannot be created or written, or if
        ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder, not a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _probe(path.parent)
    except OSError as exc:
        raise type(exc)(f"cannot write {path}: {_why(exc)}") from None
    return path


def check_writable_folder(path: str | os.PathLike) -> Path:
    """Make sure the folder ``path`` exists (it is created) and files can be written in it.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OSError
        Naming the folder, if it cannot be created or written, or is a file.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        _probe(path)
    except OSError as exc:
        raise type(exc)(f"cannot write into the folder {path}: {_why(exc)}") from None
    return path


# -- caches -----------------------------------------------------------------------------------
class _DropReloadNotice(logging.Filter):
    """Drop joblib's traceback about an unreadable cache entry (the caller recomputes it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Exception while loading results" not in record.getMessage()


@contextlib.contextmanager
def quiet_cache_reload() -> Iterator[None]:
    """Silence joblib's log of a cache entry it cannot read, while this block runs.

    joblib then recomputes the entry (or, for a cache that only stores, the caller
    does); the traceback it logs would only alarm. Other joblib messages pass.
    """
    logger, notice = logging.getLogger("joblib"), _DropReloadNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)
