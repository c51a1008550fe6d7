"""SAVEE, the Surrey Audio-Visual Expressed Emotion database.

The naming scheme, label map and texts of the corpus; the registry
(:mod:`sklearn_ser.datasets._registry`) turns them into ``load_savee`` and
``fetch_savee``. Standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..exceptions import FileNameError

# Native code -> common label, in the order the corpus documents them.
LABEL_MAP: dict[str, str] = {
    "n": "neutral",
    "h": "happy",
    "sa": "sad",
    "a": "angry",
    "f": "fear",
    "d": "disgust",
    "su": "surprise",
}

_SPEAKERS = ("DC", "JE", "JK", "KL")

# Neutral has 30 sentences per speaker, every other emotion 15.
_N_SENTENCES = {"n": 30}

_FLAT = re.compile(r"^([a-z]{2})_(sa|su|a|d|f|h|n)(\d{1,2})$")
_NESTED = re.compile(r"^(sa|su|a|d|f|h|n)(\d{1,2})$")

SCHEME = "Speaker_EmotionNN.wav or Speaker/EmotionNN.wav (e.g. DC_a01.wav, DC/sa03.wav)"

DESCR = """\
SAVEE: Surrey Audio-Visual Expressed Emotion database
-----------------------------------------------------

Four male native English speakers (DC, JE, JK, KL, postgraduate students and
researchers at the University of Surrey, aged 27-31) reading TIMIT sentences
in seven emotions: anger (a), disgust (d), fear (f), happiness (h), neutral
(n), sadness (sa) and surprise (su). 120 clips per speaker (30 neutral, 15 per
other emotion), 480 in all.

Layouts: the official AudioData/DC/a01.wav and the flat re-upload DC_a01.wav.

Download: http://kahlan.eps.surrey.ac.uk/savee/ -- registration is required
(the database is released for research after filling in a form), so there
is no fetcher.

License: free of charge for research purposes (see the registration page).

Citation: Haq S, Jackson PJB (2009). Speaker-dependent audio-visual emotion
recognition. Proc. Int. Conf. on Auditory-Visual Speech Processing (AVSP'09),
Norwich, UK, pp. 53-58.
"""


def parse(file: Path, root: Path) -> dict[str, Any]:
    """Decode one file name; raises :class:`FileNameError` when it does not fit."""
    stem = file.stem.strip().lower()
    folders = [p.name.upper() for p in file.relative_to(root).parents if p.name]
    folder = next((f for f in folders if f in _SPEAKERS), None)
    flat = _FLAT.match(stem)
    if flat is not None:
        speaker, code, number = flat.groups()
        speaker = speaker.upper()
        if speaker not in _SPEAKERS:
            raise FileNameError(f"unknown speaker {speaker} (SAVEE has {'/'.join(_SPEAKERS)})")
        if folder is not None and folder != speaker:
            raise FileNameError(f"speaker {speaker} in the name but stored in folder {folder}")
    else:
        nested = _NESTED.match(stem)
        if nested is None:
            raise FileNameError("not of the form Speaker_EmotionNN or Speaker/EmotionNN")
        if folder is None:
            raise FileNameError("name without speaker outside a DC/JE/JK/KL folder")
        speaker = folder
        code, number = nested.groups()
    n_max = _N_SENTENCES.get(code, 15)
    if not 1 <= int(number) <= n_max:
        raise FileNameError(f"sentence number {number} out of range for {code!r} (1-{n_max})")
    return {
        "native": code,
        "speaker": speaker,
        "gender": "male",
        "key": (speaker, code, int(number)),
        "utterance": int(number),
    }


#: Columns beyond the common ones, in the order the loader returns them.
EXTRA_COLUMNS: tuple[str, ...] = ("utterance",)

# Corpus-specific parts of load_savee's docstring.
DOC_INTRO = """\
Finds files recursively, in the official layout
(``AudioData/DC/a01.wav``) or the flat re-upload (``ALL/DC_a01.wav``).
SAVEE needs registration at http://kahlan.eps.surrey.ac.uk/savee/ and
so has no fetcher."""

DOC_DROP_LABELS = 'Labels to leave out (common names or SAVEE codes such as ``"su"``).'

DOC_NATIVE_LABELS = """\
Use the SAVEE codes (``n``, ``h``, ``sa``, ``a``, ``f``, ``d``,
``su``) instead of the common label set."""

DOC_RETURNS = """\
``filenames``, ``target``, ``speaker``/``groups`` (``"savee_DC"``
...), ``gender`` (always ``"male"``), ``corpus`` (``"savee"``),
``utterance`` (sentence number within the emotion), ``target_names``,
``DESCR`` and, with ``as_frame=True``, ``frame``. See
:func:`load_ravdess` for the common keys."""
