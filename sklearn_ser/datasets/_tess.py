"""TESS, the Toronto emotional speech set.

The naming scheme, label map and texts of the corpus; the registry
(:mod:`sklearn_ser.datasets._registry`) turns them into ``load_tess`` and
``fetch_tess``. Standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..exceptions import FileNameError

# Native name -> common label; "ps" is TESS' own code for pleasant surprise.
LABEL_MAP: dict[str, str] = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fear": "fear",
    "disgust": "disgust",
    "ps": "surprise",
}

# Spellings seen in file and folder names of the corpus and its re-uploads
# (compared lower-case, with spaces and hyphens read as "_").
_EMOTION_ALIASES = {
    "neutral": "neutral",
    "happy": "happy",
    "happiness": "happy",
    "sad": "sad",
    "sadness": "sad",
    "angry": "angry",
    "anger": "angry",
    "fear": "fear",
    "fearful": "fear",
    "disgust": "disgust",
    "disgusted": "disgust",
    "ps": "ps",
    "pleasant_surprise": "ps",
    "pleasant_surprised": "ps",
    "pleasantsurprise": "ps",
    "pleasant_surprize": "ps",
    "surprise": "ps",
    "surprised": "ps",
}

# Speaker prefixes; "OA"/"YA" cover the published misnaming
# OAF_neutral/OA_bite_neutral.wav, which is otherwise read as a third speaker.
_SPEAKERS = {"oaf": "OAF", "yaf": "YAF", "oa": "OAF", "ya": "YAF"}

_NAME = re.compile(r"^(oaf|yaf|oa|ya)_([a-z]+)_([a-z_]+)$")
_FOLDER = re.compile(r"^(oaf|yaf)_(.+)$")

SCHEME = "Speaker_word_emotion.wav (e.g. OAF_angry/OAF_back_angry.wav, YAF_dog_ps.wav)"

DESCR = """\
TESS: Toronto emotional speech set
----------------------------------

200 target words spoken in the carrier phrase "Say the word _" by two
actresses, aged 26 (YAF, "younger adult female") and 64 (OAF, "older adult
female"), in seven emotions: anger, disgust, fear, happiness, pleasant
surprise ("ps"), sadness and neutral. 2800 clips.

File names: Speaker_word_emotion, e.g. OAF_back_angry, YAF_dog_ps; the common
re-uploads put them in folders such as OAF_angry, YAF_pleasant_surprised or
OAF_Pleasant_surprise. The file name decides the label; a folder name that
contradicts it makes the file skipped with a warning. One file of the
published corpus is misnamed OA_bite_neutral.wav and is read as speaker OAF.

Download: https://doi.org/10.5683/SP2/E8H2MF (Borealis, the University of
Toronto dataverse): no registration, but files are offered one by one, not
as one archive with a published checksum, so there is no default fetcher
(fetch_tess accepts url= and known_hash= of an archive you host).

License: Creative Commons Attribution-NonCommercial-NoDerivatives 4.0
(CC BY-NC-ND 4.0).

Citation: Pichora-Fuller MK, Dupuis K (2020). Toronto emotional speech set
(TESS). Borealis, V1. https://doi.org/10.5683/SP2/E8H2MF
"""


def _emotion(text: str) -> str | None:
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    return _EMOTION_ALIASES.get(key)


def parse(file: Path, root: Path) -> dict[str, Any]:
    """Decode one file name; raises :class:`FileNameError` when it does not fit."""
    stem = re.sub(r"[\s\-]+", "_", file.stem.strip().lower())
    match = _NAME.match(stem)
    if match is None:
        raise FileNameError("not of the form Speaker_word_emotion (OAF/YAF)")
    speaker = _SPEAKERS[match.group(1)]
    word = match.group(2)
    native = _emotion(match.group(3))
    if native is None:
        raise FileNameError(f"unknown emotion {match.group(3)!r}")
    # The nearest OAF_*/YAF_* folder must agree with the name: a clip filed
    # under another emotion or speaker is ambiguous, so it is reported.
    for parent in file.relative_to(root).parents:
        folder = _FOLDER.match(parent.name.strip().lower())
        if folder is None:
            continue
        if folder.group(1).upper() != speaker:
            raise FileNameError(f"speaker {speaker} in the name but stored in folder {parent.name}")
        folder_emotion = _emotion(folder.group(2))
        if folder_emotion is not None and folder_emotion != native:
            raise FileNameError(
                f"emotion {native!r} in the name but stored in folder {parent.name}"
            )
        break
    return {
        "native": native,
        "speaker": speaker,
        "gender": "female",
        "key": (speaker, word, native),
        "word": word,
    }


#: Columns beyond the common ones, in the order the loader returns them.
EXTRA_COLUMNS: tuple[str, ...] = ("word",)

# Corpus-specific parts of load_tess' docstring.
DOC_INTRO = """\
Finds files recursively, flat or in per-speaker-emotion folders
(``OAF_angry/OAF_back_angry.wav``, ``YAF_pleasant_surprised/YAF_dog_ps.wav``).
Names are read case-insensitively; "ps", "pleasant_surprise(d)" and
"surprise(d)" all mean pleasant surprise. The published misnaming
``OA_bite_neutral.wav`` is read as speaker OAF. The label always comes
from the file name; files whose folder names another emotion or speaker
are skipped with a warning rather than guessed. Re-uploads that hold the
corpus twice (a nested copy) give a warning and each clip once.
TESS is free to download without registration from
https://doi.org/10.5683/SP2/E8H2MF, file by file."""

DOC_DROP_LABELS = 'Labels to leave out (common names or TESS names such as ``"ps"``).'

DOC_NATIVE_LABELS = """\
Use the TESS names (``ps`` for pleasant surprise) instead of the
common label set."""

DOC_RETURNS = """\
``filenames``, ``target``, ``speaker``/``groups`` (``"tess_OAF"``,
``"tess_YAF"``), ``gender`` (always ``"female"``), ``corpus``
(``"tess"``), ``word`` (the target word), ``target_names``, ``DESCR``
and, with ``as_frame=True``, ``frame``. See :func:`load_ravdess` for
the common keys. With two speakers only, speaker-independent
evaluation on TESS alone is leave-one-speaker-out."""
