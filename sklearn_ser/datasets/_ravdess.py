"""RAVDESS, the Ryerson Audio-Visual Database of Emotional Speech and Song.

The naming scheme, label map and texts of the corpus; the registry
(:mod:`sklearn_ser.datasets._registry`) turns them into ``load_ravdess`` and
``fetch_ravdess``. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import FileNameError

__all__ = ["RAVDESS_EMOTIONS"]

#: RAVDESS emotion codes -> the corpus' own emotion names.
RAVDESS_EMOTIONS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}

# Native name -> common label; insertion order is the corpus' code order.
LABEL_MAP: dict[str, str] = {
    "neutral": "neutral",
    "calm": "calm",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fear",
    "disgust": "disgust",
    "surprised": "surprise",
}

_MODALITY = {"01": "full-AV", "02": "video-only", "03": "audio-only"}
_VOCAL_CHANNEL = {"01": "speech", "02": "song"}
_INTENSITY = {"01": "normal", "02": "strong"}
_STATEMENT = {
    "01": "Kids are talking by the door",
    "02": "Dogs are sitting by the door",
}
# The song recordings only cover these emotions.
_SONG_EMOTIONS = {"neutral", "calm", "happy", "sad", "angry", "fearful"}

_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_ACTOR_DIR = re.compile(r"^actor_(\d{1,2})$", re.IGNORECASE)

SCHEME = "MM-VV-EE-II-SS-RR-AA.wav (e.g. Actor_12/03-01-05-01-02-01-12.wav)"

DESCR = """\
RAVDESS: The Ryerson Audio-Visual Database of Emotional Speech and Song
-----------------------------------------------------------------------

24 professional actors (12 female, 12 male) vocalising two lexically matched
statements in a neutral North American accent. Speech: calm, happy, sad,
angry, fearful, surprise and disgust expressions plus neutral, each at normal
and strong intensity (neutral only at normal intensity), two repetitions:
60 clips per actor, 1440 audio-only speech clips (48 kHz, 16 bit). The song
part (1012 clips, 23 actors) and the video files are skipped by default.

File names: modality-vocal channel-emotion-intensity-statement-repetition-actor,
e.g. 03-01-05-02-01-01-12 = audio-only, speech, angry, strong, "Kids are talking
by the door", first repetition, actor 12. Odd-numbered actors are male,
even-numbered female.

Download: https://zenodo.org/records/1188976 (Audio_Speech_Actors_01-24.zip,
no registration; see sklearn_ser.datasets.fetch_ravdess).

License: Creative Commons Attribution-NonCommercial-ShareAlike 4.0 (CC BY-NC-SA 4.0).

Citation: Livingstone SR, Russo FA (2018) The Ryerson Audio-Visual Database of
Emotional Speech and Song (RAVDESS): A dynamic, multimodal set of facial and
vocal expressions in North American English. PLoS ONE 13(5): e0196391.
https://doi.org/10.1371/journal.pone.0196391
"""


def _code(table: dict[str, str], value: str, what: str) -> str:
    try:
        return table[value]
    except KeyError:
        raise FileNameError(f"unknown {what} code {value} (expected {'/'.join(table)})") from None


def parse(file: Path, root: Path) -> dict[str, Any]:
    """Decode one file name; raises :class:`FileNameError` when it does not fit."""
    match = _NAME.match(file.stem)
    if match is None:
        raise FileNameError("not of the form MM-VV-EE-II-SS-RR-AA")
    mod, voc, emo, inten, stmt, rep, actor = match.groups()
    modality = _code(_MODALITY, mod, "modality")
    channel = _code(_VOCAL_CHANNEL, voc, "vocal channel")
    native = _code(RAVDESS_EMOTIONS, emo, "emotion")
    intensity = _code(_INTENSITY, inten, "intensity")
    statement = _code(_STATEMENT, stmt, "statement")
    if rep not in ("01", "02"):
        raise FileNameError(f"unknown repetition code {rep} (expected 01/02)")
    if not 1 <= int(actor) <= 24:
        raise FileNameError(f"unknown actor {actor} (RAVDESS has actors 01-24)")
    if native == "neutral" and intensity == "strong":
        raise FileNameError("RAVDESS has no strong-intensity neutral clips")
    if channel == "song" and native not in _SONG_EMOTIONS:
        raise FileNameError(f"RAVDESS song has no {native} clips")
    # An Actor_XX folder that disagrees with the name means files were moved
    # around; the speaker id (and so the CV groups) would be in doubt.
    for parent in file.relative_to(root).parents:
        folder = _ACTOR_DIR.match(parent.name)
        if folder and int(folder.group(1)) != int(actor):
            raise FileNameError(f"actor {actor} in the name but stored in folder {parent.name}")
    return {
        "native": native,
        "speaker": actor,
        "gender": "male" if int(actor) % 2 else "female",
        "key": file.stem,
        "modality": modality,
        "vocal_channel": channel,
        "emotion_intensity": intensity,
        "statement": statement,
        "repetition": int(rep),
    }


#: Columns beyond the common ones, in the order the loader returns them.
EXTRA_COLUMNS: tuple[str, ...] = (
    "modality",
    "vocal_channel",
    "emotion_intensity",
    "statement",
    "repetition",
)

#: The loader's own options (all default False) and their numpydoc text.
OPTIONS: tuple[tuple[str, str], ...] = (
    ("include_song", "Also load the song recordings (vocal channel 02)."),
    (
        "include_video",
        "Also load audio tracks whose name says they come from the\n"
        "audio-video or video-only files (modality 01/02), e.g. audio extracted\n"
        "from the ``.mp4`` files. The ``.mp4`` files themselves are never read.",
    ),
)


def keep(rec: dict[str, Any], options: Mapping[str, Any]) -> bool:
    """Whether the loader's options ask for a parsed record (song, video)."""
    if rec["vocal_channel"] == "song" and not options["include_song"]:
        return False
    return rec["modality"] == "audio-only" or options["include_video"]


FILTERED_HINT = (
    "They are song or video recordings; pass include_song=True or "
    "include_video=True to load them."
)

# Corpus-specific parts of load_ravdess' docstring.
DOC_INTRO = """\
Finds files recursively, so the official archives
(``Audio_Speech_Actors_01-24.zip`` unpacks to ``Actor_XX/*.wav``), the
song archive and the common re-uploads all work."""

DOC_PATH = "Folder holding the corpus, e.g. the unpacked speech archive."

DOC_DROP_LABELS = """\
Labels to leave out, e.g. ``"calm"`` (only RAVDESS has it). Common or
RAVDESS names both work."""

DOC_NATIVE_LABELS = """\
Use the RAVDESS names (``fearful``, ``surprised``) instead of the
common label set :data:`sklearn_ser.datasets.LABELS`."""

DOC_RETURNS = """\
filenames : ndarray of str
    Absolute paths, sorted.
target : ndarray of str
    Emotion labels.
speaker, groups : ndarray of str
    ``"ravdess_01"`` ... ``"ravdess_24"``; pass as ``groups=`` to
    :class:`~sklearn.model_selection.GroupKFold`.
gender : ndarray of str
    ``"male"`` (odd actors) or ``"female"``.
corpus : ndarray of str
    ``"ravdess"``.
modality, vocal_channel, emotion_intensity, statement : ndarray of str
    Decoded file name fields.
repetition : ndarray of int
    1 or 2.
target_names : list of str
    Labels present.
DESCR : str
    Corpus description, licence and citation.
frame : pandas.DataFrame
    Only with ``as_frame=True``."""
