"""Shared machinery of the corpus loaders.

Every loader is :func:`build_corpus` applied to a registry entry
(:class:`~sklearn_ser.datasets._registry.Corpus`) and follows the same steps:
check the folder, find the audio files recursively, parse each file name with
the corpus' naming scheme, report the files that do not fit (never guess a
label), map the corpus' emotion names onto the common label set
:data:`LABELS` and return a scikit-learn style :class:`~sklearn.utils.Bunch`.
:func:`load_corpora` merges several corpora into one Bunch and
:func:`corpus_weights` gives the per-clip weights that keep a large one from
drowning the others.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import get_data_home as _sk_get_data_home
from sklearn.utils import Bunch

from ..exceptions import DatasetWarning, FileNameError, SkippedFilesWarning
from ._common import AUDIO_EXTENSIONS, LABELS
from ._registry import Corpus, get_corpus, resolve_corpus_name

__all__ = [
    "AUDIO_EXTENSIONS",
    "LABELS",
    "DatasetWarning",
    "SkippedFilesWarning",
    "corpus_weights",
    "find_audio_files",
    "get_data_home",
    "load_corpora",
]

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
    corpus: Corpus,
    path: str | os.PathLike,
    *,
    options: Mapping[str, Any],
    drop_labels: Iterable[str] | str | None,
    native_labels: bool, extensions: Iterable[str] | None, strict: bool,
    as_frame: bool, return_X_y: bool,
):
    """Turn a corpus folder into a dataset Bunch (the body of every loader).

    Parameters
    ----------
    corpus : Corpus
        The corpus' registry entry: naming scheme, label map, texts.
    path : str or path-like
        Corpus folder.
    options : mapping
        Values of the corpus' own loader options (``corpus.options``), for
        ``corpus.keep``.
    drop_labels, native_labels, strict, as_frame, return_X_y
        See the public loaders.
    extensions : iterable of str or None
        Audio file suffixes to pick up; None: ``corpus.extensions``.

    Returns
    -------
    Bunch or tuple
        See the public loaders.
    """
    title, scheme, label_map = corpus.title, corpus.scheme, corpus.label_map
    root = _check_folder(path, title)
    exts = _normalise_extensions(corpus.extensions if extensions is None else extensions)
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
            rec = corpus.parse(file, root)
        except FileNameError as exc:
            rejected.append(f"{_rel(file, root)}: {exc}")
            continue
        if corpus.keep is not None and not corpus.keep(rec, options):
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
            f"by the loader's options. {corpus.filtered_hint}"
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
    frame["speaker"] = frame["speaker"].astype(str)
    if corpus.prefix_speakers:
        frame["speaker"] = corpus.name + "_" + frame["speaker"]
    frame["corpus"] = corpus.name
    frame = frame[list(BASE_COLUMNS) + list(corpus.extra_columns)]
    frame = frame.sort_values("filename", kind="stable").reset_index(drop=True)
    return make_bunch(
        frame,
        target_names=target_names,
        descr=corpus.descr,
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


# (name, annotation, default) of the parameters every loader takes after its
# own options; ``extensions`` defaults to the corpus' own suffixes.
_COMMON_PARAMETERS: tuple[tuple[str, str, Any], ...] = (
    ("drop_labels", "Iterable[str] | str | None", None),
    ("native_labels", "bool", False),
    ("extensions", "Iterable[str]", AUDIO_EXTENSIONS),
    ("strict", "bool", False),
    ("as_frame", "bool", False),
    ("return_X_y", "bool", False),
)


def loader_signature(corpus: Corpus) -> inspect.Signature:
    """The signature of ``load_<corpus.name>``.

    ``load_<name>(path, *, <corpus options>, drop_labels=None,
    native_labels=False, extensions=<corpus.extensions>, strict=False,
    as_frame=False, return_X_y=False)``; annotations are strings, as in the
    modules that use ``from __future__ import annotations``.
    """
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter(
            "path", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str | os.PathLike"
        )
    ]
    params += [
        inspect.Parameter(option.name, keyword, default=option.default, annotation="bool")
        for option in corpus.options
    ]
    own_defaults = {"extensions": corpus.extensions}
    params += [
        inspect.Parameter(name, keyword, default=own_defaults.get(name, default), annotation=note)
        for name, note, default in _COMMON_PARAMETERS
    ]
    return inspect.Signature(params)


def bind_loader_arguments(
    corpus: Corpus, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Check a loader call against its signature; keyword arguments for :func:`build_corpus`.

    Raises
    ------
    TypeError
        For missing, unknown or surplus arguments, as a ``def`` would.
    """
    try:
        bound = loader_signature(corpus).bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"load_{corpus.name}() {exc}") from None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments["options"] = {option.name: arguments.pop(option.name) for option in corpus.options}
    return arguments


def load_corpora(
    paths: Mapping[str, str | os.PathLike | Mapping[str, Any]],
    *,
    drop_labels: Iterable[str] | str | None = None,
    native_labels: bool = False,
    extensions: Iterable[str] | None = None,
    strict: bool = False,
    as_frame: bool = False,
    return_X_y: bool = False,
):
    """Load several corpora into one dataset.

    Parameters
    ----------
    paths : mapping
        Corpus name (``"ravdess"``, ``"crema_d"``, ``"tess"``, ``"savee"`` or
        ``"synthetic"``, a folder written by :func:`make_emotional_speech`;
        any spelling :func:`resolve_corpus_name` accepts) -> its folder, or
        -> a dict with the folder under ``"path"`` and further keyword
        arguments for that corpus' loader (e.g. ``{"path": p,
        "include_song": True}``).
    drop_labels : str or iterable of str, default=None
        Labels to leave out, e.g. ``("calm",)`` which only RAVDESS has.
    native_labels : bool, default=False
        Keep each corpus' own emotion names instead of the common
        :data:`LABELS` (the targets of different corpora then do not match).
    extensions : iterable of str, default=None
        Audio file suffixes to pick up. None: each loader's default,
        ``(".wav", ".flac")``, and for ``"synthetic"`` also ``.ogg`` and
        ``.mp3``.
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
        Rows come corpus by corpus in the order of ``paths``. Speaker ids
        are unique across corpora: ``"<corpus>_<id>"`` (``"ravdess_01"``),
        and the synthetic ids as they are (``"synth_spk01"``).

    Raises
    ------
    ValueError
        If a corpus name is unknown or given twice, a label to drop is
        unknown, a folder holds no file of its corpus' naming scheme, or no
        file is left after dropping labels.
    FileNotFoundError
        If a folder does not exist or holds no audio files.
    """
    if not paths:
        raise ValueError("paths must name at least one corpus")
    specs: dict[str, dict[str, Any]] = {}
    for name, spec in paths.items():
        key = resolve_corpus_name(name)
        if key in specs:
            raise ValueError(f"corpus {key!r} given twice")
        kwargs = dict(spec) if isinstance(spec, Mapping) else {"path": spec}
        if "path" not in kwargs:
            raise ValueError(f"no 'path' given for corpus {name!r}")
        specs[key] = kwargs
    corpora = {key: get_corpus(key) for key in specs}
    # A label to drop may be one corpus' own name ("ps"): check it against
    # all of them, and hand each loader only the names it knows.
    drop = _resolve_drop_labels(
        drop_labels, [name for corpus in corpora.values() for name in corpus.label_map]
    )

    frames, descrs, names = [], [], []
    for key, kwargs in specs.items():
        corpus = corpora[key]
        kwargs.setdefault("drop_labels", sorted(drop & (set(LABELS) | set(corpus.label_map))))
        kwargs.setdefault("native_labels", native_labels)
        kwargs.setdefault("extensions", extensions)
        kwargs.setdefault("strict", strict)
        arguments = bind_loader_arguments(corpus, (kwargs.pop("path"),), kwargs)
        # The frames are merged below, whatever the per-corpus dict asked for.
        arguments.update(as_frame=True, return_X_y=False)
        bunch = build_corpus(corpus, **arguments)
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


#: What :func:`corpus_weights` can balance.
WEIGHT_MODES: tuple[str, ...] = ("corpus", "corpus_class")


def corpus_weights(
    corpus: Any,
    y: Any = None,
    *,
    by: str = "corpus",
) -> np.ndarray:
    """Per-clip ``sample_weight`` that gives every corpus the same total weight.

    Trained on 2,800 TESS clips and 1,080 RAVDESS clips unweighted, a
    classifier mostly learns TESS. These weights make each corpus (with
    ``by="corpus_class"``: each corpus x class cell present) count as much
    as any other, whatever its size. They are scaled to average 1 over the
    clips, so a classifier's regularisation strength (``C``) means what it
    means without weights.

    Pass them to the classifier as ``sample_weight``: in a pipeline of this
    package ``pipe.fit(X, y, classifier__sample_weight=w)``, or with metadata
    routing (``sklearn.set_config(enable_metadata_routing=True)``) after
    ``pipe.named_steps["classifier"].set_fit_request(sample_weight=True)``
    as ``pipe.fit(X, y, sample_weight=w)``. :func:`sklearn_ser.evaluation.evaluate`
    takes ``sample_weight="corpus"`` and computes them from each fold's
    training clips.

    Parameters
    ----------
    corpus : array-like of shape (n_clips,) or Bunch
        The corpus of each clip (``data.corpus``), or a dataset Bunch whose
        ``corpus`` and ``target`` are used.
    y : array-like of shape (n_clips,), default=None
        Labels; needed by ``by="corpus_class"`` unless ``corpus`` is a Bunch.
    by : {"corpus", "corpus_class"}, default="corpus"
        ``"corpus"``: equal total weight per corpus (within a corpus every
        clip weighs the same). ``"corpus_class"``: equal total weight per
        (corpus, class) pair that occurs, which also balances the classes
        inside each corpus (RAVDESS has half as many neutral clips).

    Returns
    -------
    ndarray of shape (n_clips,), float64
        Positive weights with mean 1.

    Raises
    ------
    ValueError
        For an unknown ``by``, a missing or mis-sized ``y``, or no clips.

    Examples
    --------
    >>> from sklearn_ser.datasets import corpus_weights
    >>> corpus_weights(["a", "a", "a", "b"])
    array([0.66666667, 0.66666667, 0.66666667, 2.        ])
    """
    if hasattr(corpus, "corpus") and not isinstance(corpus, np.ndarray):
        if y is None:
            y = corpus.get("target") if by == "corpus_class" else None
        corpus = corpus.corpus
    if by not in WEIGHT_MODES:
        raise ValueError(f"by must be one of {list(WEIGHT_MODES)}, got {by!r}")
    corpus = np.asarray(corpus, dtype=object).astype(str)
    if corpus.ndim != 1 or corpus.size == 0:
        raise ValueError(
            f"corpus must be a non-empty 1-D array of corpus names, got shape {corpus.shape}"
        )
    if by == "corpus_class":
        if y is None:
            raise ValueError('by="corpus_class" needs the labels: pass y (e.g. data.target)')
        y = np.asarray(y, dtype=object).astype(str)
        if y.shape != corpus.shape:
            raise ValueError(f"y has {len(y)} entries for {len(corpus)} corpus names")
        # "\x1f" cannot occur in a corpus name or label read from files: cells stay apart.
        cells = np.char.add(np.char.add(corpus, "\x1f"), y)
    else:
        cells = corpus
    _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    # Each cell gets total weight n / n_cells: the weights then average 1.
    return len(cells) / (len(counts) * counts[inverse].astype(np.float64))
