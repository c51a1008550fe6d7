"""The one table of the corpora sklearn_ser can read.

Every corpus -- the four real ones and the ``"synthetic"`` folders written by
:func:`~sklearn_ser.datasets.make_emotional_speech` -- is one :class:`Corpus`
entry of :data:`CORPUS_TABLE`: its names, naming scheme, label map, loader
options and texts, and (for the real corpora) where to download it. The
loaders (``load_<name>``), :func:`~sklearn_ser.datasets.load_corpora`, the
fetchers, :data:`~sklearn_ser.datasets.CORPORA` and
:func:`~sklearn_ser.datasets.list_corpora` are all made from it.

This module and the corpus modules it imports use the standard library only,
so the command line can list and check corpus names without importing numpy,
pandas or scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _crema_d, _ravdess, _savee, _synthetic_files, _tess
from ._common import AUDIO_EXTENSIONS

__all__ = [
    "CORPUS_TABLE",
    "Corpus",
    "FetchInfo",
    "LoaderDoc",
    "LoaderOption",
    "corpus_names",
    "get_corpus",
    "resolve_corpus_name",
]


@dataclass(frozen=True)
class LoaderOption:
    """A keyword-only boolean option of one corpus' loader (e.g. ``include_song``).

    Attributes
    ----------
    name : str
        Parameter name.
    doc : str
        Its numpydoc description (unindented).
    default : bool, default=False
        Default value.
    """

    name: str
    doc: str
    default: bool = False


@dataclass(frozen=True)
class LoaderDoc:
    """The corpus-specific parts of a loader's docstring (unindented text).

    Attributes
    ----------
    intro : str
        Paragraph after the summary line: layouts found, where to get it.
    drop_labels : str
        Description of ``drop_labels``.
    native_labels : str
        Description of ``native_labels``.
    returns : str
        Description of the returned Bunch's keys.
    path : str, default="Folder holding the corpus."
        Description of ``path``.
    """

    intro: str
    drop_labels: str
    native_labels: str
    returns: str
    path: str = "Folder holding the corpus."


@dataclass(frozen=True)
class FetchInfo:
    """Where and how a real corpus is obtained.

    Attributes
    ----------
    url, known_hash, archive, homepage, licence, needs_registration
        As in :class:`~sklearn_ser.datasets.CorpusInfo`, which shows them.
    size : str
        What there is to download, for the fetcher's docstring.
    how_to_get : str
        With ``url``: where the archive comes from. Without: why there is no
        fetcher and how to get the corpus instead (the text of
        :class:`~sklearn_ser.datasets.ManualDownloadError`).
    """

    homepage: str
    licence: str
    needs_registration: bool
    size: str
    how_to_get: str
    # None for the corpora without a public archive (no fetcher of their own).
    url: str | None = None
    known_hash: str | None = None
    archive: str | None = None


@dataclass(frozen=True)
class Corpus:
    """One corpus: how its files are named and read, and where it comes from.

    Attributes
    ----------
    name : str
        Canonical name: the ``corpus`` column value, the ``load_<name>`` and
        ``fetch_<name>`` suffix and the ``--corpus NAME=DIR`` key.
    title : str
        Short name for messages and docstrings (``"RAVDESS"``).
    full_title : str
        Full name (:attr:`CorpusInfo.title`, :func:`list_corpora`).
    parse : callable
        ``parse(file, root) -> dict`` with keys ``native`` (the corpus' own
        emotion name), ``speaker``, ``gender``, ``key`` (identity of the
        recording, for duplicate detection) and the ``extra_columns``;
        raises :class:`~sklearn_ser.exceptions.FileNameError` with a reason
        when the name does not fit the scheme.
    label_map : mapping
        Native emotion name -> common label; its order is the native order.
    scheme : str
        The naming scheme, for error messages.
    descr : str
        ``DESCR`` text.
    doc : LoaderDoc
        Corpus-specific parts of the loader's docstring.
    aliases : tuple of str, default=()
        Further accepted spellings (compared like the name, see
        :func:`resolve_corpus_name`).
    extra_columns : tuple of str, default=()
        Corpus-specific columns taken from the parsed records.
    prefix_speakers : bool, default=True
        Prefix speaker ids with ``"<name>_"`` so they are unique across
        corpora; False where the ids already are (``synth_spk01``).
    extensions : tuple of str, default=(".wav", ".flac")
        File suffixes the loader picks up by default.
    options : tuple of LoaderOption, default=()
        The loader's own keyword-only options.
    keep : callable or None, default=None
        ``keep(record, options) -> bool``: records it rejects are left out
        quietly because an option asked for it (RAVDESS song files).
    filtered_hint : str, default=""
        Appended to the error when ``keep`` left nothing.
    fetch : FetchInfo or None, default=None
        Download information; None for the synthetic set, which has no
        fetcher and is not listed in :data:`CORPORA`.
    """

    name: str
    title: str
    full_title: str
    parse: Callable[[Path, Path], dict[str, Any]]
    label_map: Mapping[str, str]
    scheme: str
    descr: str
    doc: LoaderDoc
    aliases: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    prefix_speakers: bool = True
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS
    options: tuple[LoaderOption, ...] = ()
    keep: Callable[[dict[str, Any], Mapping[str, Any]], bool] | None = None
    filtered_hint: str = ""
    fetch: FetchInfo | None = None


def _from_module(module: Any) -> dict[str, Any]:
    """The fields every corpus module defines under the same names."""
    extra = {"path": module.DOC_PATH} if hasattr(module, "DOC_PATH") else {}
    return {
        "parse": module.parse,
        "label_map": module.LABEL_MAP,
        "scheme": module.SCHEME,
        "descr": module.DESCR,
        "extra_columns": module.EXTRA_COLUMNS,
        "doc": LoaderDoc(
            intro=module.DOC_INTRO,
            drop_labels=module.DOC_DROP_LABELS,
            native_labels=module.DOC_NATIVE_LABELS,
            returns=module.DOC_RETURNS,
            **extra,
        ),
    }


#: Every corpus, in the order listings and help texts show them.
CORPUS_TABLE: tuple[Corpus, ...] = (
    Corpus(
        name="ravdess",
        title="RAVDESS",
        full_title="Ryerson Audio-Visual Database of Emotional Speech and Song (speech)",
        **_from_module(_ravdess),  # parse, label_map, scheme, descr, extra_columns, doc
        options=tuple(LoaderOption(name, doc) for name, doc in _ravdess.OPTIONS),
        keep=_ravdess.keep,
        filtered_hint=_ravdess.FILTERED_HINT,
        fetch=FetchInfo(
            # Pooch resolves Zenodo DOIs through the Zenodo API, which keeps
            # working when Zenodo changes its download URLs.
            url="doi:10.5281/zenodo.1188976/Audio_Speech_Actors_01-24.zip",
            # MD5 Zenodo lists for Audio_Speech_Actors_01-24.zip (208.5 MB).
            known_hash="md5:bc696df654c87fed845eb13823edef8a",
            archive="Audio_Speech_Actors_01-24.zip",
            homepage="https://zenodo.org/records/1188976",
            licence="CC BY-NC-SA 4.0",
            needs_registration=False,
            size="1440 clips, about 200 MB",
            how_to_get="Zenodo record 1188976 (no registration)",
        ),
    ),
    Corpus(
        name="crema_d",
        title="CREMA-D",
        full_title="Crowd-sourced Emotional Multimodal Actors Dataset",
        aliases=("cremad", "crema"),
        **_from_module(_crema_d),  # parse, label_map, scheme, descr, extra_columns, doc
        fetch=FetchInfo(
            homepage="https://github.com/CheyneyComputerScience/CREMA-D",
            licence="ODbL 1.0 (contents: DbCL 1.0)",
            needs_registration=False,
            size="7442 clips; AudioWAV/ is about 600 MB",
            how_to_get=(
                "CREMA-D has no single download archive: the audio lives in Git LFS "
                "in https://github.com/CheyneyComputerScience/CREMA-D. Get it with "
                "'git lfs install; git clone "
                "https://github.com/CheyneyComputerScience/CREMA-D.git' (about 10 GB "
                "with video; AudioWAV/ alone is about 600 MB) or from a re-upload."
            ),
        ),
    ),
    Corpus(
        name="tess",
        title="TESS",
        full_title="Toronto emotional speech set",
        **_from_module(_tess),  # parse, label_map, scheme, descr, extra_columns, doc
        fetch=FetchInfo(
            homepage="https://doi.org/10.5683/SP2/E8H2MF",
            licence="CC BY-NC-ND 4.0",
            needs_registration=False,
            size="2800 clips",
            how_to_get=(
                "TESS is free without registration at "
                "https://doi.org/10.5683/SP2/E8H2MF, but offered file by file, not "
                "as one archive with a published checksum."
            ),
        ),
    ),
    Corpus(
        name="savee",
        title="SAVEE",
        full_title="Surrey Audio-Visual Expressed Emotion database",
        **_from_module(_savee),  # parse, label_map, scheme, descr, extra_columns, doc
        fetch=FetchInfo(
            homepage="http://kahlan.eps.surrey.ac.uk/savee/",
            licence="free for research use, on registration",
            needs_registration=True,
            size="480 clips",
            how_to_get=(
                "SAVEE needs registration: fill in the form at "
                "http://kahlan.eps.surrey.ac.uk/savee/ to get the download password."
            ),
        ),
    ),
    Corpus(
        name="synthetic",
        title="synthetic corpus",
        full_title="Synthetic emotional speech (make_emotional_speech)",
        **_from_module(_synthetic_files),  # parse, label_map, scheme, descr, extra_columns, doc
        # Generated ids (synth_spk01) cannot clash with "<corpus>_..." ids,
        # and the command line has always shown them as they are.
        prefix_speakers=False,
        extensions=_synthetic_files.EXTENSIONS,
    ),
)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


_BY_NAME: dict[str, Corpus] = {corpus.name: corpus for corpus in CORPUS_TABLE}

# Every accepted spelling, normalised -> canonical name.
_NAMES: dict[str, str] = {
    _normalise(spelling): corpus.name
    for corpus in CORPUS_TABLE
    for spelling in (corpus.name, *corpus.aliases)
}


def corpus_names() -> tuple[str, ...]:
    """Return the canonical names of the corpora the loaders read.

    Returns
    -------
    tuple of str
        ``("ravdess", "crema_d", "tess", "savee", "synthetic")``: the keys
        :func:`load_corpora` and ``sklearn-ser --corpus NAME=DIR`` accept
        (besides the aliases :func:`resolve_corpus_name` knows), in the order
        listings show them.
    """
    return tuple(_BY_NAME)


def resolve_corpus_name(name: str) -> str:
    """Return the canonical name of a corpus from any accepted spelling.

    Case does not matter, ``"-"`` equals ``"_"``, surrounding blanks are
    ignored, and the aliases ``"cremad"`` and ``"crema"`` mean ``"crema_d"``.

    Parameters
    ----------
    name : str
        A corpus name as a user wrote it, e.g. ``"CREMA-D"``.

    Returns
    -------
    str
        One of :func:`corpus_names`.

    Raises
    ------
    ValueError
        If ``name`` is no known corpus; the message lists the known ones.

    Examples
    --------
    >>> from sklearn_ser.datasets import resolve_corpus_name
    >>> resolve_corpus_name("CREMA-D")
    'crema_d'
    """
    key = _NAMES.get(_normalise(name)) if isinstance(name, str) else None
    if key is None:
        raise ValueError(f"unknown corpus {name!r}; known corpora: {', '.join(_BY_NAME)}")
    return key


def get_corpus(name: str) -> Corpus:
    """Return the table entry of a corpus, by any name :func:`resolve_corpus_name` accepts."""
    return _BY_NAME[resolve_corpus_name(name)]
