"""Loader for CREMA-D, the Crowd-sourced Emotional Multimodal Actors Dataset."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from ._base import AUDIO_EXTENSIONS, FileNameError, build_corpus

__all__ = ["load_crema_d", "CREMA_D_SENTENCES"]

#: CREMA-D sentence codes -> the sentence spoken.
CREMA_D_SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}

# Native code -> common label, in the order the corpus documents them.
_LABEL_MAP = {
    "NEU": "neutral",
    "HAP": "happy",
    "SAD": "sad",
    "ANG": "angry",
    "FEA": "fear",
    "DIS": "disgust",
}

# "X" is accepted for "XX": a one-letter variant of the unspecified level.
_LEVELS = {
    "LO": "low",
    "MD": "medium",
    "HI": "high",
    "XX": "unspecified",
    "X": "unspecified",
}

_NAME = re.compile(r"^(\d{4})_([A-Za-z]{3})_([A-Za-z]{3})_([A-Za-z]{1,2})$")

SCHEME = "ActorID_Sentence_Emotion_Level.wav (e.g. AudioWAV/1001_DFA_ANG_XX.wav)"

DESCR = """\
CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset
----------------------------------------------------------

7442 clips from 91 actors (48 male, 43 female, aged 20-74, of several races
and ethnicities) speaking 12 sentences in six emotions (anger, disgust, fear,
happy, neutral, sad) at four emotion levels (low, medium, high, unspecified).

File names: ActorID_Sentence_Emotion_Level, e.g. 1001_DFA_ANG_XX. The actor's
sex is not in the file name: it comes from the corpus' VideoDemographics.csv,
of which sklearn_ser ships the ActorID, Age and Sex columns.

Download: https://github.com/CheyneyComputerScience/CREMA-D (AudioWAV/, stored
with Git LFS; there is no single official archive, so there is no fetcher).
No registration is needed.

License: Open Database License (ODbL) v1.0; the contents under the Database
Contents License (DbCL) v1.0.

Citation: Cao H, Cooper DG, Keutmann MK, Gur RC, Nenkova A, Verma R (2014).
CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset. IEEE Transactions
on Affective Computing 5(4): 377-390. https://doi.org/10.1109/TAFFC.2014.2336244
"""


@lru_cache(maxsize=1)
def _demographics() -> dict[str, str]:
    """Actor id -> ``"male"``/``"female"`` from the shipped table."""
    table = resources.files("sklearn_ser.datasets").joinpath("data/crema_d_demographics.csv")
    with table.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str)
    return dict(zip(frame["actor_id"], frame["sex"]))


def _parse(file: Path, root: Path) -> dict[str, Any]:
    match = _NAME.match(file.stem)
    if match is None:
        raise FileNameError("not of the form ActorID_Sentence_Emotion_Level")
    actor, sentence, emotion, level = (g.upper() for g in match.groups())
    sexes = _demographics()
    if actor not in sexes:
        raise FileNameError(f"unknown actor {actor} (CREMA-D has actors 1001-1091)")
    if sentence not in CREMA_D_SENTENCES:
        raise FileNameError(f"unknown sentence code {sentence}")
    if emotion not in _LABEL_MAP:
        raise FileNameError(f"unknown emotion code {emotion} (expected {'/'.join(_LABEL_MAP)})")
    if level not in _LEVELS:
        raise FileNameError(f"unknown level code {level} (expected LO/MD/HI/XX)")
    return {
        "native": emotion,
        "speaker": actor,
        "gender": sexes[actor],
        # The level is left out of the key so "X" and "XX" copies collide.
        "key": (actor, sentence, emotion, _LEVELS[level]),
        "sentence": sentence,
        "level": _LEVELS[level],
    }


def load_crema_d(
    path: str | os.PathLike,
    *,
    drop_labels: Iterable[str] | str | None = None,
    native_labels: bool = False,
    extensions: Iterable[str] = AUDIO_EXTENSIONS,
    strict: bool = False,
    as_frame: bool = False,
    return_X_y: bool = False,
):
    """Load the CREMA-D audio files found below a folder.

    Finds files recursively: a clone of the official repository (files in
    ``AudioWAV/``), the common re-uploads (a flat folder of
    ``1001_DFA_ANG_XX.wav``) and FLAC conversions all work. The MP3 copies
    (``AudioMP3/``) are not picked up unless ``extensions`` asks for them.
    CREMA-D has no single download archive and so no fetcher: clone
    https://github.com/CheyneyComputerScience/CREMA-D with Git LFS.

    Parameters
    ----------
    path : str or path-like
        Folder holding the corpus.
    drop_labels : str or iterable of str, default=None
        Labels to leave out (common names or CREMA-D codes such as ``"NEU"``).
    native_labels : bool, default=False
        Use the CREMA-D codes (``NEU``, ``HAP``, ``SAD``, ``ANG``, ``FEA``,
        ``DIS``) instead of the common label set.
    extensions : iterable of str, default=(".wav", ".flac")
        Audio file suffixes to pick up (case-insensitive).
    strict : bool, default=False
        Raise instead of warning about files that do not follow the naming
        scheme and about duplicate recordings.
    as_frame : bool, default=False
        Also return the data as a :class:`pandas.DataFrame` in ``frame``.
    return_X_y : bool, default=False
        Return ``(filenames, target)`` instead of the Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``filenames``, ``target``, ``speaker``/``groups`` (``"crema_d_1001"``
        ...), ``gender`` (from the corpus' demographics table), ``corpus``
        (``"crema_d"``), ``sentence`` (code, see :data:`CREMA_D_SENTENCES`),
        ``level`` (``low``/``medium``/``high``/``unspecified``),
        ``target_names``, ``DESCR`` and, with ``as_frame=True``, ``frame``.
        See :func:`load_ravdess` for the common keys.
    (filenames, target) : tuple of ndarray
        With ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist or holds no audio files.
    ValueError
        If no audio file follows the naming scheme, or with ``strict=True``
        if any does not.

    Warns
    -----
    SkippedFilesWarning
        Listing the files whose names do not follow the scheme.
    DatasetWarning
        For duplicate copies of one recording (only the first is kept).
    """
    return build_corpus(
        path,
        corpus="crema_d",
        title="CREMA-D",
        parse=_parse,
        label_map=_LABEL_MAP,
        scheme=SCHEME,
        extra_columns=("sentence", "level"),
        descr=DESCR,
        extensions=extensions,
        drop_labels=drop_labels,
        native_labels=native_labels,
        strict=strict,
        as_frame=as_frame,
        return_X_y=return_X_y,
    )
