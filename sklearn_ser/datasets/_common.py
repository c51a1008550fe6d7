"""Constants shared by the corpus modules, the registry and the loaders.

Standard library only: the registry (and so the command line's ``--help``)
imports this module without numpy, pandas or scikit-learn.
"""

from __future__ import annotations

__all__ = ["AUDIO_EXTENSIONS", "LABELS"]

#: The common label set every corpus is mapped onto, in RAVDESS code order.
LABELS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fear",
    "disgust",
    "surprise",
)

#: File extensions the loaders pick up by default (compared case-insensitively).
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac")
