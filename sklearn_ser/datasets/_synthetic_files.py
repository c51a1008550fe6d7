"""Reading back a folder of synthetic clips written by ``make_emotional_speech``.

The naming scheme, label map and texts of the ``"synthetic"`` corpus; the
registry (:mod:`sklearn_ser.datasets._registry`) turns them into
``load_synthetic``. The generator itself is :mod:`._synthetic` (numpy, scipy,
soundfile); this module is standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..exceptions import FileNameError
from ._common import LABELS

# make_emotional_speech writes <speaker>_<emotion>_<index>, e.g.
# synth_spk01_angry_001, with speakers synth_spk01, synth_spk02, ...
_NAME = re.compile(r"^(?P<speaker>.+_spk(?P<number>\d+))_(?P<emotion>[a-z]+)_(?P<clip>\d+)$")

#: The generator uses the common labels as they are.
LABEL_MAP: dict[str, str] = {label: label for label in LABELS}

#: Suffixes read by default: what the command line has always read from a
#: synthetic folder (make_emotional_speech writes wav, flac or ogg).
EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".mp3")

SCHEME = (
    "speaker_emotion_index.wav (e.g. synth_spk01_angry_001.wav, the names "
    "make_emotional_speech writes)"
)

DESCR = """\
Synthetic emotional speech (a folder written by make_emotional_speech)
----------------------------------------------------------------------

**This is SYNTHETIC audio, not recordings of human speech.** The clips were
written by ``sklearn_ser.datasets.make_emotional_speech`` (for example the
``data/`` folder of ``sklearn-ser demo``) and are read back by their file
names, speaker_emotion_index, e.g. synth_spk01_angry_001. Odd-numbered
speakers are female, even-numbered male, as the generator makes them.

Emotions are separable by construction: use the data ONLY for unit tests,
examples, benchmarks and demos. Scores on it say nothing about performance
on real emotional speech.
"""


def parse(file: Path, root: Path) -> dict[str, Any]:
    """Decode one file name; raises :class:`FileNameError` when it does not fit."""
    match = _NAME.match(file.stem)
    if match is None:
        raise FileNameError("not of the form synth_spkNN_emotion_NNN")
    emotion = match["emotion"]
    if emotion not in LABEL_MAP:
        raise FileNameError(f"unknown emotion {emotion!r} (expected {'/'.join(LABELS)})")
    return {
        "native": emotion,
        "speaker": match["speaker"],
        # make_emotional_speech alternates female (odd ids) and male voices.
        "gender": "female" if int(match["number"]) % 2 else "male",
        # Each file counts: one name in two folders is two generator runs
        # (the demo's data/ and unseen_speaker/ both have synth_spk01), not
        # two copies of one recording.
        "key": file.relative_to(root).as_posix(),
    }


#: Columns beyond the common ones: the file names encode nothing more.
EXTRA_COLUMNS: tuple[str, ...] = ()

# Corpus-specific parts of load_synthetic's docstring.
DOC_INTRO = """\
Reads back a folder written by :func:`make_emotional_speech` (such as the
``data/`` folder of ``sklearn-ser demo``): the labels and speakers come
from the file names, e.g. ``synth_spk01_angry_001.wav``. The audio is
SYNTHETIC, not human speech: use it for tests, examples and demos only."""

DOC_PATH = "Folder of clips written by :func:`make_emotional_speech` (searched recursively)."

DOC_DROP_LABELS = 'Labels to leave out, e.g. ``"sad"``.'

DOC_NATIVE_LABELS = """\
The synthetic set uses the common label set as its own names, so this
changes nothing; accepted so that every loader takes the same options."""

DOC_RETURNS = """\
``filenames``, ``target``, ``speaker``/``groups`` (the ids of the file
names, ``"synth_spk01"`` ..., already unique across corpora, so not
prefixed), ``gender`` (odd speaker numbers ``"female"``, even
``"male"``), ``corpus`` (``"synthetic"``), ``target_names``, ``DESCR`` and,
with ``as_frame=True``, ``frame``. See :func:`load_ravdess` for the common
keys."""
