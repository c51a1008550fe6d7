"""Emotional speech corpora as scikit-learn style datasets.

Each loader turns a corpus folder into a :class:`~sklearn.utils.Bunch` with
the audio file paths (``filenames``, the ``X`` of an SER pipeline), the
emotion labels (``target``) on the common label set :data:`LABELS`, speaker
ids unique across corpora (``speaker``, also as ``groups`` for
:class:`~sklearn.model_selection.GroupKFold`), ``gender``, ``corpus`` and the
other fields the file names encode.

Every corpus -- RAVDESS, CREMA-D, TESS, SAVEE and folders written by
:func:`make_emotional_speech` (``"synthetic"``) -- is one entry of a single
registry, from which the loaders, :func:`load_corpora`, the fetchers,
:data:`CORPORA` and :func:`list_corpora` are made; :func:`corpus_names` and
:func:`resolve_corpus_name` give and check its names. :func:`corpus_weights`
gives per-clip ``sample_weight`` so that, trained on several corpora at once,
each corpus counts the same.

>>> from sklearn_ser.datasets import load_ravdess  # doctest: +SKIP
>>> data = load_ravdess("~/data/ravdess", drop_labels="calm")  # doctest: +SKIP
>>> data.filenames[:1], data.target[:1], data.speaker[:1]  # doctest: +SKIP
"""

from ..exceptions import (
    DatasetWarning,
    ManualDownloadError,
    SkippedFilesWarning,
    UnsafeArchiveError,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "CORPORA",
    "CREMA_D_SENTENCES",
    "LABELS",
    "RAVDESS_EMOTIONS",
    "CorpusInfo",
    "DatasetWarning",
    "ManualDownloadError",
    "UnsafeArchiveError",
    "SkippedFilesWarning",
    "corpus_names",
    "corpus_weights",
    "fetch_crema_d",
    "fetch_ravdess",
    "fetch_savee",
    "fetch_tess",
    "find_audio_files",
    "get_data_home",
    "list_corpora",
    "load_corpora",
    "load_crema_d",
    "load_ravdess",
    "load_savee",
    "load_synthetic",
    "load_tess",
    "make_emotional_speech",
    "resolve_corpus_name",
]

# Everything else is imported on first use: the loaders need pandas and
# scikit-learn, the fetchers pooch, the generator numpy/scipy/soundfile, while
# the command line's --help only needs the corpus names (``._registry``,
# standard library only).
_LAZY = {
    "AUDIO_EXTENSIONS": "._common",
    "LABELS": "._common",
    "corpus_names": "._registry",
    "resolve_corpus_name": "._registry",
    "CREMA_D_SENTENCES": "._crema_d",
    "RAVDESS_EMOTIONS": "._ravdess",
    "find_audio_files": "._base",
    "get_data_home": "._base",
    "load_corpora": "._base",
    "corpus_weights": "._base",
    "load_crema_d": "._loaders",
    "load_ravdess": "._loaders",
    "load_savee": "._loaders",
    "load_synthetic": "._loaders",
    "load_tess": "._loaders",
    "CORPORA": "._fetch",
    "CorpusInfo": "._fetch",
    "fetch_crema_d": "._fetch",
    "fetch_ravdess": "._fetch",
    "fetch_savee": "._fetch",
    "fetch_tess": "._fetch",
    "list_corpora": "._fetch",
    "make_emotional_speech": "._synthetic",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
