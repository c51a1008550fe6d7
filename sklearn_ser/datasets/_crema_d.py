"""CREMA-D, the Crowd-sourced Emotional Multimodal Actors Dataset.

The naming scheme, label map, speaker table and texts of the corpus; the
registry (:mod:`sklearn_ser.datasets._registry`) turns them into
``load_crema_d`` and ``fetch_crema_d``. Standard library only.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..exceptions import FileNameError

__all__ = ["CREMA_D_SENTENCES"]

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
LABEL_MAP: dict[str, str] = {
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
    # The csv module, not pandas: parsing a name must not import pandas.
    with table.open("r", encoding="utf-8", newline="") as fh:
        return {row["actor_id"]: row["sex"] for row in csv.DictReader(fh)}


def parse(file: Path, root: Path) -> dict[str, Any]:
    """Decode one file name; raises :class:`FileNameError` when it does not fit."""
    match = _NAME.match(file.stem)
    if match is None:
        raise FileNameError("not of the form ActorID_Sentence_Emotion_Level")
    actor, sentence, emotion, level = (g.upper() for g in match.groups())
    sexes = _demographics()
    if actor not in sexes:
        raise FileNameError(f"unknown actor {actor} (CREMA-D has actors 1001-1091)")
    if sentence not in CREMA_D_SENTENCES:
        raise FileNameError(f"unknown sentence code {sentence}")
    if emotion not in LABEL_MAP:
        raise FileNameError(f"unknown emotion code {emotion} (expected {'/'.join(LABEL_MAP)})")
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


#: Columns beyond the common ones, in the order the loader returns them.
EXTRA_COLUMNS: tuple[str, ...] = ("sentence", "level")

# Corpus-specific parts of load_crema_d's docstring.
DOC_INTRO = """\
Finds files recursively: a clone of the official repository (files in
``AudioWAV/``), the common re-uploads (a flat folder of
``1001_DFA_ANG_XX.wav``) and FLAC conversions all work. The MP3 copies
(``AudioMP3/``) are not picked up unless ``extensions`` asks for them.
CREMA-D has no single download archive and so no fetcher: clone
https://github.com/CheyneyComputerScience/CREMA-D with Git LFS."""

DOC_DROP_LABELS = 'Labels to leave out (common names or CREMA-D codes such as ``"NEU"``).'

DOC_NATIVE_LABELS = """\
Use the CREMA-D codes (``NEU``, ``HAP``, ``SAD``, ``ANG``, ``FEA``,
``DIS``) instead of the common label set."""

DOC_RETURNS = """\
``filenames``, ``target``, ``speaker``/``groups`` (``"crema_d_1001"``
...), ``gender`` (from the corpus' demographics table), ``corpus``
(``"crema_d"``), ``sentence`` (code, see :data:`CREMA_D_SENTENCES`),
``level`` (``low``/``medium``/``high``/``unspecified``),
``target_names``, ``DESCR`` and, with ``as_frame=True``, ``frame``.
See :func:`load_ravdess` for the common keys."""
