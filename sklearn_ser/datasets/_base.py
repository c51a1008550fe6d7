"""Shared machinery of the corpus loaders.

Every loader follows the same steps: check the folder, find the audio files
recursively, parse each file name with the corpus' naming scheme, report the
files that do not fit (never guess a label), map the corpus' emotion names
onto the common label set :data:`LABELS` and return a scikit-learn style
:class:`~sklearn.utils.Bunch`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import get_data_home as _sk_get_data_home
from sklearn.utils import Bunch

from ..exceptions import DatasetWarning, FileNameError, SkippedFilesWarning

__all__ = [
    "AUDIO_EXTENSIONS",
    "LABELS",
    "DatasetWarning",
    "SkippedFilesWarning",
    "find_audio_files",
    "get_data_home",
    "load_corpora",
]

#: The common label set every corpus is mapped onto, in RAVDESS code order.
LABELS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fear",
    "disgust",
    "surprise",
)

#: File extensions the loaders pick up by default (compared case-insensitively).
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac")

#: Columns every dataset frame starts with; corpus-specific extras follow.
BASE_COLUMNS: tuple[str, ...] = ("filename", "target", "speaker", "gender", "corpus")

# How many offending files a warning or error message lists before "...".
_MAX_LISTED = 10


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder where fetched corpora are cached.

    This is scikit-learn's :func:`sklearn.datasets.get_data_home` (so the
    ``SCIKIT_LEARN_DATA`` environment variable and ``~/scikit_learn_data``
    default apply) with a ``sklearn_ser`` sub-folder, so our archives do not
    mix with scikit-learn's own.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Root cache folder; see :func:`sklearn.datasets.get_data_home`.

    Returns
    -------
    pathlib.Path
        ``<data_home>/sklearn_ser`` (created if missing).
    """
    path = Path(_sk_get_data_home(data_home)) / "sklearn_ser"
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_audio_files(
    path: str | os.PathLike,
    *,
    extensions: Iterable[str] = AUDIO_EXTENSIONS,
) -> list[Path]:
    """Find audio files below ``path`` recursively.

    Hidden files and folders and macOS archive residue (``__MACOSX`` folders,
    ``._*`` resource forks, which re-uploaded zips often contain and which
    carry the same names as real clips) are ignored. Symbolic links are
    followed, each real folder is visited once.

    Parameters
    ----------
    path : str or path-like
        Folder to search.
    extensions : iterable of str, default=(".wav", ".flac")
        Accepted suffixes, compared case-insensitively.

    Returns
    -------
    list of pathlib.Path
        Absolute paths, sorted.
    """
    exts = _normalise_extensions(extensions)
    found: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # symlink loop or two links to one folder
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in exts:
                found.append(Path(dirpath, name).absolute())
    return sorted(found)


def _normalise_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    exts = tuple((e if e.startswith(".") else "." + e).lower() for e in extensions)
    if not exts:
        raise ValueError("extensions must name at least one file suffix")
    return exts


def _check_folder(path: str | os.PathLike, title: str) -> Path:
    if path is None:
        raise TypeError(f"a {title} folder path is required, got None")
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"{title} folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"{title} path is not a folder: {root}")
    return root.resolve()


def _list_lines(items: Sequence[str], total: int | None = None) -> str:
    total = len(items) if total is None else total
    lines = [f"  {item}" for item in items[:_MAX_LISTED]]
    if total > _MAX_LISTED:
        lines.append(f"  ... and {total - _MAX_LISTED} more")
    return "\n".join(lines)


def _report(
    message: str,
    items: Sequence[str],
    *,
    strict: bool,
    category: type[Warning],
    stacklevel: int = 4,
) -> None:
    """Warn about (or, with ``strict``, raise on) a list of problem files."""
    text = f"{message}\n{_list_lines(items)}"
    if strict:
        raise ValueError(text)
    # The default stacklevel points at the caller of the public loader.
    warnings.warn(text, category, stacklevel=stacklevel)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _resolve_drop_labels(
    drop_labels: Iterable[str] | str | None, native_names: Iterable[str]
) -> set[str]:
    if drop_labels is None:
        return set()
    if isinstance(drop_labels, str):
        drop_labels = [drop_labels]
    drop = set(drop_labels)
    known = set(LABELS) | set(native_names)
    unknown = sorted(drop - known)
    if unknown:
        # A typo here would silently keep a class the user meant to remove.
        raise ValueError(
            f"unknown label(s) in drop_labels: {unknown}; "
            f"known labels are {list(LABELS)} and the corpus' own names "
            f"{sorted(set(native_names))}"
        )
    return drop


def build_corpus(
    path: str | os.PathLike,
    *,
    corpus: str,
    title: str,
    parse: Callable[[Path, Path], dict[str, Any]],
    label_map: Mapping[str, str],
    scheme: str,
    extra_columns: Sequence[str],
    descr: str,
    extensions: Iterable[str],
    drop_labels: Iterable[str] | str | None,
    native_labels: bool,
    strict: bool,
    as_frame: bool,
    return_X_y: bool,
    keep: Callable[[dict[str, Any]], bool] | None = None,
    filtered_hint: str = "",
):
    """Turn a corpus folder into a dataset Bunch (the shared loader body).

    Parameters
    ----------
    path : str or path-like
        Corpus folder.
    corpus : str
        Corpus name written to the ``corpus`` column and used as speaker prefix.
    title : str
        Human-readable corpus name for messages.
    parse : callable
        ``parse(file, root) -> dict`` with keys ``native`` (the corpus' own
        emotion name), ``speaker`` (without prefix), ``gender``, ``key``
        (identity of the recording, for duplicate detection) and the
        ``extra_columns``; raises :class:`FileNameError` with a reason when
        the name does not fit the scheme.
    label_map : mapping
        Native emotion name -> common label; its order is the native order.
    scheme : str
        Description of the naming scheme for error messages.
    extra_columns : sequence of str
        Corpus-specific columns taken from the parsed records.
    descr : str
        ``DESCR`` text.
    extensions, drop_labels, native_labels, strict, as_frame, return_X_y
        See the public loaders.
    keep : callable, default=None
        Predicate on a parsed record; records it rejects are left out quietly
        because an option asked for it (e.g. RAVDESS song files).
    filtered_hint : str, default=""
        Appended to the error when ``keep`` left nothing.

    Returns
    -------
    Bunch or tuple
        See the public loaders.
    """
    root = _check_folder(path, title)
    exts = _normalise_extensions(extensions)
    drop = _resolve_drop_labels(drop_labels, label_map)
    files = find_audio_files(root, extensions=exts)
    if not files:
        others = [_rel(p, root) for p in find_audio_files(root, extensions=_OTHER_MEDIA)]
        hint = (
            f"\nFound other media files, pass extensions= to load them:\n{_list_lines(others)}"
            if others
            else ""
        )
        raise FileNotFoundError(
            f"no audio files with extension {'/'.join(exts)} found under {root} "
            f"(searched recursively); expected {title} files named {scheme}{hint}"
        )

    records: list[dict[str, Any]] = []
    rejected: list[str] = []
    n_filtered = 0
    for file in files:
        try:
            rec = parse(file, root)
        except FileNameError as exc:
            rejected.append(f"{_rel(file, root)}: {exc}")
            continue
        if keep is not None and not keep(rec):
            n_filtered += 1
            continue
        # Cheap to spot now; it would otherwise fail deep inside a fit.
        if file.stat().st_size == 0:
            rejected.append(f"{_rel(file, root)}: empty file (0 bytes)")
            continue
        rec["filename"] = str(file)
        records.append(rec)

    if rejected and not records and not n_filtered:
        raise ValueError(
            f"none of the {len(files)} audio files under {root} follow the "
            f"{title} naming scheme {scheme}:\n{_list_lines(rejected)}"
        )
    if rejected:
        _report(
            f"{title}: skipped {len(rejected)} of {len(files)} audio files under "
            f"{root} whose names do not follow the naming scheme {scheme}:",
            rejected,
            strict=strict,
            category=SkippedFilesWarning,
        )
    if not records:
        raise ValueError(
            f"{title}: all {n_filtered} audio files under {root} were left out "
            f"by the loader's options. {filtered_hint}"
        )

    records = _drop_duplicates(records, root, title=title, strict=strict)

    frame = pd.DataFrame.from_records(records)
    frame["target"] = frame["native"].map(label_map)
    if drop:
        frame = frame[~(frame["target"].isin(drop) | frame["native"].isin(drop))].copy()
        if frame.empty:
            raise ValueError(f"{title}: no files left under {root} after dropping {sorted(drop)}")
    if native_labels:
        frame["target"] = frame["native"]
        order = list(label_map)
    else:
        order = list(LABELS)
    present = set(frame["target"])
    target_names = [name for name in dict.fromkeys(order) if name in present]
    frame["speaker"] = corpus + "_" + frame["speaker"].astype(str)
    frame["corpus"] = corpus
    frame = frame[list(BASE_COLUMNS) + list(extra_columns)]
    frame = frame.sort_values("filename", kind="stable").reset_index(drop=True)
    return make_bunch(
        frame,
        target_names=target_names,
        descr=descr,
        as_frame=as_frame,
        return_X_y=return_X_y,
    )


# Suffixes worth mentioning when a folder has no audio of the accepted kinds.
_OTHER_MEDIA = (".mp3", ".mp4", ".m4a", ".ogg", ".opus", ".aac", ".wma", ".aiff")


def _drop_duplicates(
    records: list[dict[str, Any]], root: Path, *, title: str, strict: bool
) -> list[dict[str, Any]]:
    # Re-uploads often hold the corpus twice (a nested copy, or wav next to a
    # flac conversion); keeping both would put one recording on both sides of
    # a split.
    first: dict[Any, dict[str, Any]] = {}
    dupes: list[str] = []
    for rec in records:
        key = rec["key"]
        if key in first:
            dupes.append(
                f"{_rel(Path(rec['filename']), root)} "
                f"(same recording as {_rel(Path(first[key]['filename']), root)})"
            )
        else:
            first[key] = rec
    if dupes:
        _report(
            f"{title}: {len(dupes)} files under {root} are further copies of a "
            "recording already found; keeping only the first copy of each:",
            dupes,
            strict=strict,
            category=DatasetWarning,
            stacklevel=5,
        )
    return list(first.values())


def make_bunch(
    frame: pd.DataFrame,
    *,
    target_names: list[str],
    descr: str,
    as_frame: bool = False,
    return_X_y: bool = False,
):
    """Build the dataset Bunch every loader returns from its frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``filename``, ``target``, ``speaker``, ``gender``, ``corpus``
        and then the corpus-specific extras.
    target_names : list of str
        Label names present, in display order.
    descr : str
        ``DESCR`` text.
    as_frame : bool, default=False
        Add the frame as ``frame``.
    return_X_y : bool, default=False
        Return ``(filenames, target)`` instead of the Bunch.

    Returns
    -------
    Bunch or tuple of ndarray
    """
    filenames = frame["filename"].to_numpy(dtype=str)
    target = frame["target"].to_numpy(dtype=str)
    if return_X_y:
        return filenames, target
    speaker = frame["speaker"].to_numpy(dtype=str)
    bunch = Bunch(
        filenames=filenames,
        target=target,
        speaker=speaker,
        # Same array under the name scikit-learn's CV splitters take.
        groups=speaker,
        gender=frame["gender"].to_numpy(dtype=str),
        corpus=frame["corpus"].to_numpy(dtype=str),
    )
    for column in frame.columns[len(BASE_COLUMNS) :]:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values.dtype):
            bunch[column] = values.to_numpy()
        elif values.notna().all():
            bunch[column] = values.to_numpy(dtype=str)
        else:  # a column some of several corpora lack: None there
            bunch[column] = values.to_numpy(dtype=object)
    bunch.target_names = list(target_names)
    bunch.DESCR = descr
    if as_frame:
        bunch.frame = frame
    return bunch


def _corpus_modules() -> dict[str, Any]:
    # Imported here: the corpus modules import this one.
    from . import _crema_d, _ravdess, _savee, _tess

    return {
        "ravdess": (_ravdess.load_ravdess, _ravdess._LABEL_MAP),
        "crema_d": (_crema_d.load_crema_d, _crema_d._LABEL_MAP),
        "tess": (_tess.load_tess, _tess._LABEL_MAP),
        "savee": (_savee.load_savee, _savee._LABEL_MAP),
    }


def _corpus_key(name: str, known: Iterable[str]) -> str:
    key = name.lower().replace("-", "_")
    key = {"cremad": "crema_d", "crema": "crema_d"}.get(key, key)
    if key not in known:
        raise ValueError(f"unknown corpus {name!r}; known corpora: {list(known)}")
    return key


def load_corpora(
    paths: Mapping[str, str | os.PathLike | Mapping[str, Any]],
    *,
    drop_labels: Iterable[str] | str | None = None,
    native_labels: bool = False,
    extensions: Iterable[str] = AUDIO_EXTENSIONS,
    strict: bool = False,
    as_frame: bool = False,
    return_X_y: bool = False,
):
    """Load several corpora into one dataset.

    Parameters
    ----------
    paths : mapping
        Corpus name (``"ravdess"``, ``"crema_d"``, ``"tess"``, ``"savee"``)
        -> its folder, or -> a dict with the folder under ``"path"`` and
        further keyword arguments for that corpus' loader (e.g.
        ``{"path": p, "include_song": True}``).
    drop_labels : str or iterable of str, default=None
        Labels to leave out, e.g. ``("calm",)`` which only RAVDESS has.
    native_labels : bool, default=False
        Keep each corpus' own emotion names instead of the common
        :data:`LABELS` (the targets of different corpora then do not match).
    extensions : iterable of str, default=(".wav", ".flac")
        Audio file suffixes to pick up.
    strict : bool, default=False
        Raise instead of warning about skipped or duplicate files.
    as_frame : bool, default=False
        Also return the data as a DataFrame in ``frame``.
    return_X_y : bool, default=False
        Return ``(filenames, target)``.

    Returns
    -------
    Bunch or tuple of ndarray
        Same keys as the single-corpus loaders; the corpus-specific columns
        of all corpora are present, with ``None`` where a corpus lacks them.
        Rows come corpus by corpus in the order of ``paths``.
    """
    if not paths:
        raise ValueError("paths must name at least one corpus")
    modules = _corpus_modules()
    specs: dict[str, dict[str, Any]] = {}
    for name, spec in paths.items():
        key = _corpus_key(name, modules)
        if key in specs:
            raise ValueError(f"corpus {key!r} given twice")
        kwargs = dict(spec) if isinstance(spec, Mapping) else {"path": spec}
        if "path" not in kwargs:
            raise ValueError(f"no 'path' given for corpus {name!r}")
        specs[key] = kwargs
    # A label to drop may be one corpus' own name ("ps"): check it against
    # all of them, and hand each loader only the names it knows.
    all_native = [n for key in specs for n in modules[key][1]]
    drop = _resolve_drop_labels(drop_labels, all_native)

    frames, descrs, names = [], [], []
    for key, kwargs in specs.items():
        loader, label_map = modules[key]
        kwargs.setdefault("drop_labels", sorted(drop & (set(LABELS) | set(label_map))))
        kwargs.setdefault("native_labels", native_labels)
        kwargs.setdefault("extensions", extensions)
        kwargs.setdefault("strict", strict)
        bunch = loader(kwargs.pop("path"), as_frame=True, **kwargs)
        frames.append(bunch.frame.astype(object))
        descrs.append(bunch.DESCR)
        names.extend(bunch.target_names)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.astype(object).where(frame.notna(), None)
    frame[list(BASE_COLUMNS)] = frame[list(BASE_COLUMNS)].astype(str)
    order = list(dict.fromkeys(names)) if native_labels else list(LABELS)
    present = set(frame["target"])
    target_names = [n for n in order if n in present]
    # Keep integer-valued extras numeric where every corpus has them.
    for column in frame.columns[len(BASE_COLUMNS) :]:
        if frame[column].notna().all():
            frame[column] = frame[column].infer_objects()
    return make_bunch(
        frame,
        target_names=target_names,
        descr="\n\n".join(descrs),
        as_frame=as_frame,
        return_X_y=return_X_y,
    )
