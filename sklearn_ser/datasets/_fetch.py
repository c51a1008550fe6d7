"""Download-and-load functions and the registry view of the real corpora.

:data:`CORPORA` and the ``fetch_<name>`` functions are made from the entries
of :data:`~sklearn_ser.datasets._registry.CORPUS_TABLE` that carry download
information (every corpus but the synthetic set).

Downloads go through :func:`pooch.retrieve`: the archive is fetched once into
``<data_home>/sklearn_ser/<corpus>/`` (scikit-learn's
:func:`~sklearn.datasets.get_data_home` convention), its checksum verified,
progress shown, and it is unpacked next to it; the loader then reads the
unpacked folder.

Archives are unpacked by this module, not by pooch: every member is checked
first, and an archive with an absolute member, a ``..`` component, a link or
a special file is refused (:class:`UnsafeArchiveError`) before anything is
written; tar members then go through the standard library's ``"data"``
filter too. What is unpacked is counted as it is written and limited in
bytes and members (an archive bomb is refused and its partial output
deleted). pooch downloads to a temporary file and moves it into place. An
archive that cannot be read to its end (a download cut short) is deleted, so
the next call downloads it again.
"""

from __future__ import annotations

import gzip
import lzma
import os
import stat
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pooch

from .._io import atomic_folder
from .._parallel import shows_progress
from ..exceptions import DatasetWarning, ManualDownloadError, UnsafeArchiveError
from ._base import find_audio_files, get_data_home
from ._loaders import LOADERS
from ._registry import CORPUS_TABLE, Corpus, get_corpus

__all__ = [
    "CORPORA",
    "CorpusInfo",
    "ManualDownloadError",
    "UnsafeArchiveError",
    "fetch_crema_d",
    "fetch_ravdess",
    "fetch_savee",
    "fetch_tess",
    "list_corpora",
]

# Name of the folder, next to the archive, that archives are unpacked into.
_EXTRACT_DIR = "audio"


@dataclass(frozen=True)
class CorpusInfo:
    """What is known about one corpus.

    Attributes
    ----------
    name : str
        Registry key and ``corpus`` column value.
    title : str
        Full name.
    loader : callable
        ``load_<name>(path, ...)``.
    url : str or None
        Archive the fetcher downloads; None when there is no stable public
        archive.
    known_hash : str or None
        Checksum of that archive as ``"<alg>:<hex>"``.
    archive : str or None
        File name the archive is stored under in the cache.
    homepage : str
        Where to read about and obtain the corpus.
    licence : str
        Licence of the corpus.
    needs_registration : bool
        Whether the owners require registration before download.
    """

    name: str
    title: str
    loader: Callable[..., Any]
    url: str | None
    known_hash: str | None
    archive: str | None
    homepage: str
    licence: str
    needs_registration: bool

    @property
    def fetchable(self) -> bool:
        """Whether ``fetch_<name>()`` can download the corpus by itself."""
        return self.url is not None


def _corpus_info(corpus: Corpus) -> CorpusInfo:
    fetch = corpus.fetch
    assert fetch is not None  # only called for the entries that have it
    return CorpusInfo(
        name=corpus.name,
        title=corpus.full_title,
        loader=LOADERS[corpus.name],
        url=fetch.url,
        known_hash=fetch.known_hash,
        archive=fetch.archive,
        homepage=fetch.homepage,
        licence=fetch.licence,
        needs_registration=fetch.needs_registration,
    )


#: Registry of the corpora sklearn_ser knows, keyed by corpus name.
CORPORA: dict[str, CorpusInfo] = {
    corpus.name: _corpus_info(corpus) for corpus in CORPUS_TABLE if corpus.fetch is not None
}


def _cache_dir(name: str, data_home: str | os.PathLike | None) -> Path:
    return get_data_home(data_home) / name


def _cached_folder(name: str, data_home: str | os.PathLike | None) -> Path | None:
    folder = _cache_dir(name, data_home) / _EXTRACT_DIR
    if folder.is_dir() and find_audio_files(folder):
        return folder
    return None


def _archive_kind(fname: str) -> str:
    """``"zip"`` or ``"tar"``, from the archive's file name."""
    lower = fname.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz")):
        return "tar"
    raise ValueError(f"cannot unpack {fname!r}: expected a .zip or .tar(.gz/.bz2/.xz)")


def _unsafe_name(name: str) -> str | None:
    """Why a member name could escape the extraction folder, or None."""
    if "\x00" in name:
        return "has a NUL byte in its name"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or PureWindowsPath(name).drive or PureWindowsPath(name).root:
        return "is an absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "has a '..' component (it would be written outside the data folder)"
    return None


def _check_tar_members(members: list[tarfile.TarInfo], archive: Path) -> None:
    for member in members:
        why = _unsafe_name(member.name)
        if why is None and (member.issym() or member.islnk()):
            why = f"is a link (to {member.linkname!r}); corpus archives hold plain files only"
        elif why is None and not (member.isfile() or member.isdir()):
            why = "is a device, FIFO or other special file"
        elif why is None and member.issparse():
            why = "is a sparse file; corpus archives hold plain files only"
        if why:
            raise UnsafeArchiveError(
                f"refusing to unpack {archive}: member {member.name!r} {why}"
            )


def _check_zip_members(infos: list[zipfile.ZipInfo], archive: Path) -> None:
    for info in infos:
        why = _unsafe_name(info.filename)
        mode = info.external_attr >> 16
        if why is None and stat.S_ISLNK(mode):
            why = "is a symbolic link; corpus archives hold plain files only"
        if why:
            raise UnsafeArchiveError(
                f"refusing to unpack {archive}: member {info.filename!r} {why}"
            )


#: Default limits of what an archive may unpack to (``fetch_*(max_unpacked_bytes=,
#: max_members=)``): far above any corpus (RAVDESS' speech audio is 0.6 GB in 1440
#: files, CREMA-D's 7442 files), far below what fills a disk.
MAX_UNPACKED_BYTES = 32 << 30
MAX_MEMBERS = 1_000_000
#: Unpacked size allowed per byte of archive. Audio compresses about 1.1-3 times; an
#: archive bomb (a few kilobytes of zeros deflate 1000 times) is refused long before
#: it fills anything.
MAX_RATIO = 100

_CHUNK = 1 << 20


class _Budget:
    """Counts what extraction writes and stops it at the limits (never trusting headers)."""

    def __init__(self, archive: Path, max_bytes: int, max_members: int):
        self.archive = archive
        self.max_bytes = min(max_bytes, MAX_RATIO * max(archive.stat().st_size, 1))
        self.max_members = max_members
        self.written = 0

    def refuse(self, what: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(
            f"refusing to unpack {self.archive}: {what} (an archive bomb?). Limits: "
            f"{self.max_members} members, {self.max_bytes} bytes unpacked (the smaller of "
            f"max_unpacked_bytes and {MAX_RATIO} times the archive's size); pass larger "
            "max_unpacked_bytes= or max_members= to the fetcher if you trust the archive"
        )

    def check_declared(self, n_members: int, declared: int) -> None:
        """Refuse before writing anything when the headers already exceed a limit."""
        if n_members > self.max_members:
            raise self.refuse(f"it has {n_members} members")
        if declared > self.max_bytes:
            raise self.refuse(f"its members declare {declared} bytes")

    def copy(self, source, target: Path) -> None:
        """Copy one member's data, counting every byte actually written."""
        with open(target, "wb") as out:
            while chunk := source.read(_CHUNK):
                self.written += len(chunk)
                if self.written > self.max_bytes:
                    raise self.refuse(f"it unpacks to more than {self.max_bytes} bytes")
                out.write(chunk)


def _write_member(root: Path, name: str, is_dir: bool, open_data, budget: _Budget) -> None:
    """Create one checked member (a folder, or a file whose data ``open_data()`` gives)."""
    target = root.joinpath(*PurePosixPath(name.replace("\\", "/")).parts)
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_data() as source:
        budget.copy(source, target)


def _safe_extract(archive: Path, destination: Path, *, max_bytes: int = MAX_UNPACKED_BYTES,
                  max_members: int = MAX_MEMBERS) -> None:
    """Unpack ``archive`` into ``destination`` (replaced), refusing unsafe members and bombs.

    Every member is checked before anything is written; tar members also pass
    the standard library's ``"data"`` filter. Files are written by this function,
    counting the bytes actually unpacked (headers can lie), and extraction
    stops at ``max_bytes`` (or :data:`MAX_RATIO` times the archive's size, if
    smaller) or ``max_members``. The archive is unpacked into a temporary sibling
    folder that is swapped in at the end, so an interrupted or refused
    extraction never leaves a half-filled folder that a later call would take
    for the corpus.

    Raises
    ------
    UnsafeArchiveError
        If a member is absolute, has a ``..`` component, is a link or a
        special file, or the archive exceeds a limit.
    tarfile.TarError, zipfile.BadZipFile, EOFError, OSError
        If the archive is corrupt or truncated.
    """
    budget = _Budget(archive, max_bytes, max_members)
    with atomic_folder(destination) as partial:
        if _archive_kind(archive.name) == "zip":
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                _check_zip_members(infos, archive)
                budget.check_declared(len(infos), sum(i.file_size for i in infos))
                bad = zf.testzip()  # reads every member: a truncated file fails here
                if bad is not None:
                    raise zipfile.BadZipFile(f"member {bad!r} fails its CRC check")
                for info in infos:
                    _write_member(partial, info.filename, info.is_dir(),
                                  lambda info=info: zf.open(info), budget)
        else:
            with tarfile.open(archive) as tf:
                members = tf.getmembers()  # reads to the end: a truncated file fails here
                _check_tar_members(members, archive)
                budget.check_declared(len(members), sum(m.size for m in members))
                for member in members:
                    # The standard library's "data" filter as a second line of defence.
                    member = tarfile.data_filter(member, str(partial))
                    _write_member(partial, member.name, member.isdir(),
                                  lambda member=member: tf.extractfile(member), budget)


#: What a truncated or corrupt archive raises while it is opened and read.
_CORRUPT = (zipfile.BadZipFile, tarfile.ReadError, tarfile.CompressionError, EOFError,
            zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def _network_error(exc: BaseException) -> bool:
    """Whether ``exc`` (from pooch/requests) means the server could not be reached."""
    import requests

    return isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout)


def _fetch(
    name: str,
    *,
    data_home: str | os.PathLike | None,
    url: str | None,
    known_hash: str | None,
    download_if_missing: bool,
    progressbar: bool,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
    max_members: int = MAX_MEMBERS,
    load_kwargs: dict[str, Any],
):
    info = CORPORA[name]
    cache = _cache_dir(name, data_home)
    if url is None:
        # No public archive: still load a copy the user unpacked into the cache.
        cached = _cached_folder(name, data_home)
        if cached is not None:
            return info.loader(cached, **load_kwargs)
        raise ManualDownloadError(
            f"{get_corpus(name).fetch.how_to_get} Then load it with "
            f"sklearn_ser.datasets.load_{name}(path), or unpack it into "
            f"{cache / _EXTRACT_DIR} for fetch_{name}() to find it, or pass "
            "url= (and known_hash=) of an archive you host."
        )
    fname = info.archive if info.archive and url == info.url else Path(urlparse(url).path).name
    if not fname:
        raise ValueError(f"cannot tell the archive's file name from url={url!r}")
    archive = cache / fname
    extract = cache / _EXTRACT_DIR
    if not archive.exists() and not download_if_missing:
        raise OSError(f"{info.title} not found in {cache} and download_if_missing is False")
    if known_hash is None:
        warnings.warn(
            f"downloading {url} without a known checksum: the archive is not "
            "verified. Pass known_hash='sha256:...' (pooch prints the hash "
            "of the downloaded file in its log) to verify it.",
            DatasetWarning,
            stacklevel=3,
        )
    before = archive.stat().st_mtime_ns if archive.exists() else None
    try:
        # pooch's bar only on a terminal: in a log or a pipe its \r frames pile up.
        pooch.retrieve(url, known_hash=known_hash, fname=fname, path=cache,
                       progressbar=progressbar and shows_progress())
    except Exception as exc:
        if _network_error(exc):
            raise ConnectionError(
                f"cannot download {info.title}: the network is unreachable ({_host(url)}). "
                f"If you have a copy, load it with sklearn_ser.datasets.load_{name}(path) "
                f"(command line: --corpus {name}=DIR), or unpack it into "
                f"{cache / _EXTRACT_DIR} for fetch_{name}() to find"
            ) from None
        raise
    fresh = not archive.exists() or archive.stat().st_mtime_ns != before
    if fresh or _cached_folder(name, data_home) is None:
        try:
            _safe_extract(archive, extract, max_bytes=max_unpacked_bytes,
                          max_members=max_members)
        except _CORRUPT as exc:
            # A download cut short (without a hash to catch it) would otherwise
            # fail on every later call: delete it so the next call downloads again.
            archive.unlink(missing_ok=True)
            raise OSError(
                f"the downloaded archive {archive} is incomplete or corrupt "
                f"({type(exc).__name__}: {exc}); it was deleted, run the fetch again to "
                "download it again"
            ) from None
    return info.loader(extract, **load_kwargs)


def _host(url: str) -> str:
    return urlparse(url).netloc or url


_FETCH_PARAMS = """
    Parameters
    ----------
    data_home : str or path-like, default=None
        Root cache folder; the corpus goes to
        ``<data_home>/sklearn_ser/{name}/``. Default: scikit-learn's
        :func:`~sklearn.datasets.get_data_home` (``SCIKIT_LEARN_DATA`` or
        ``~/scikit_learn_data``).
    url : str or None, default={url!r}
        Archive (``.zip`` or ``.tar*``) to download. Any URL pooch supports:
        ``https://``, ``http://``, ``ftp://`` or ``doi:``.
    known_hash : str or None, default=``{known_hash!r}``
        Checksum of the archive, ``"md5:..."``/``"sha256:..."``. None skips
        the check (with a warning). When you change ``url``, pass the hash of
        your archive too.
    download_if_missing : bool, default=True
        If False, raise :class:`OSError` when the archive is not cached.
    progressbar : bool, default=True
        Show a progress bar (tqdm) while downloading, when stderr is a
        terminal (never in a log or a pipe).
    max_unpacked_bytes : int, default={max_bytes}
        Most bytes the archive may unpack to (also at most {ratio} times the
        archive's own size); counted while unpacking, whatever the archive's
        headers say. Beyond it the partial output is deleted and
        :class:`UnsafeArchiveError` is raised (an archive bomb).
    max_members : int, default={max_members}
        Most files and folders the archive may hold.
    **load_kwargs
        Passed to :func:`load_{name}`, e.g. ``drop_labels``, ``as_frame``.

    Returns
    -------
    Bunch or tuple
        What :func:`load_{name}` returns for the unpacked folder.
"""


def fetch_docstring(name: str) -> str:
    """The numpydoc docstring of ``fetch_<name>``."""
    info, fetch = CORPORA[name], get_corpus(name).fetch
    if info.fetchable:
        head = f"""Download (once) and load the {get_corpus(name).title} corpus.

    Fetches ``{info.archive}`` ({fetch.size})
    from {fetch.how_to_get}, verifies its checksum, unpacks it and
    calls :func:`load_{name}` on it. Later calls reuse the cached copy.
"""
    else:
        head = f"""Load {info.title} from the cache, or download an archive you name.

    {fetch.how_to_get} So by default this raises :class:`ManualDownloadError` saying how to
    get it, unless a copy was unpacked into
    ``<data_home>/sklearn_ser/{name}/audio/``, which it then loads. With
    ``url=`` it downloads, verifies and unpacks that archive like
    :func:`fetch_ravdess`. Size of the corpus: {fetch.size}.
"""
    return head + _FETCH_PARAMS.format(name=name, url=info.url, known_hash=info.known_hash,
                                       max_bytes=MAX_UNPACKED_BYTES, ratio=MAX_RATIO,
                                       max_members=MAX_MEMBERS)


def _make_fetcher(name: str) -> Callable[..., Any]:
    info = CORPORA[name]

    def fetch(
        *,
        data_home: str | os.PathLike | None = None,
        url: str | None = info.url,
        known_hash: str | None = info.known_hash,
        download_if_missing: bool = True,
        progressbar: bool = True,
        max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
        max_members: int = MAX_MEMBERS,
        **load_kwargs: Any,
    ):
        return _fetch(
            name,
            data_home=data_home,
            url=url,
            known_hash=known_hash,
            download_if_missing=download_if_missing,
            progressbar=progressbar,
            max_unpacked_bytes=max_unpacked_bytes,
            max_members=max_members,
            load_kwargs=load_kwargs,
        )

    fetch.__name__ = fetch.__qualname__ = f"fetch_{name}"
    fetch.__doc__ = fetch_docstring(name)
    return fetch


fetch_ravdess = _make_fetcher("ravdess")
fetch_crema_d = _make_fetcher("crema_d")
fetch_tess = _make_fetcher("tess")
fetch_savee = _make_fetcher("savee")


def list_corpora(data_home: str | os.PathLike | None = None) -> pd.DataFrame:
    """Describe the known corpora and what of them is cached.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Root cache folder, as for the fetchers.

    Returns
    -------
    pandas.DataFrame
        One row per corpus with columns ``name``, ``title``, ``loader``
        (function name), ``fetchable`` (a fetcher can download it by itself),
        ``needs_registration``, ``licence``, ``homepage`` and ``cached_path``
        (the unpacked folder in the cache, or None).
    """
    rows = []
    for info in CORPORA.values():
        cached = _cached_folder(info.name, data_home)
        rows.append(
            {
                "name": info.name,
                "title": info.title,
                "loader": f"load_{info.name}",
                "fetchable": info.fetchable,
                "needs_registration": info.needs_registration,
                "licence": info.licence,
                "homepage": info.homepage,
                "cached_path": None if cached is None else str(cached),
            }
        )
    frame = pd.DataFrame(rows)
    # Keep None (not NaN) for "not cached", whatever pandas infers.
    frame["cached_path"] = pd.Series([r["cached_path"] for r in rows], dtype=object)
    return frame
