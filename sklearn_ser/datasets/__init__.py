"""Emotional speech corpora as scikit-learn style datasets.

Each loader turns a corpus folder into a :class:`~sklearn.utils.Bunch` with
the audio file paths (``filenames``, the ``X`` of an SER pipeline), the
emotion labels (``target``) on the common label set :data:`LABELS`, speaker
ids unique across corpora (``speaker``, also as ``groups`` for
:class:`~sklearn.model_selection.GroupKFold`), ``gender``, ``corpus`` and the
other fields the file names encode.

>>> from sklearn_ser.datasets import load_ravdess  # doctest: +SKIP
>>> data = load_ravdess("~/data/ravdess", drop_labels="calm")  # doctest: +SKIP
>>> data.filenames[:1], data.target[:1], data.speaker[:1]  # doctest: +SKIP
"""

from ._base import (
    AUDIO_EXTENSIONS,
    LABELS,
    DatasetWarning,
    SkippedFilesWarning,
    find_audio_files,
    get_data_home,
    load_corpora,
)
from ._crema_d import CREMA_D_SENTENCES, load_crema_d
from ._fetch import (
    CORPORA,
    CorpusInfo,
    ManualDownloadError,
    UnsafeArchiveError,
    fetch_crema_d,
    fetch_ravdess,
    fetch_savee,
    fetch_tess,
    list_corpora,
)
from ._ravdess import RAVDESS_EMOTIONS, load_ravdess
from ._savee import load_savee
from ._tess import load_tess

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
    "load_tess",
    "make_emotional_speech",
]


def __getattr__(name: str):
    # Imported on first use: the synthetic generator is a separate module
    # whose audio synthesis is not needed to load corpora.
    if name == "make_emotional_speech":
        from ._synthetic import make_emotional_speech

        return make_emotional_speech
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
