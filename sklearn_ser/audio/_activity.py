"""Where the speech is: trimming that holds up in noise.

Trimming "everything more than 30 dB below the peak" (``librosa.effects.trim``)
works on studio clips with digital silence around the speech. In a noisy
recording the noise floor sits 5-20 dB below the speech, nothing is 30 dB
down, and the leading and trailing noise stay in: a clip of 1 s of speech
inside 3 s of noise then looks to a model nothing like the trimmed training
clips. :func:`trim_to_speech` also cuts what is not clearly above the
recording's own noise floor (a low percentile of its frame energies), so a
noisy copy of a clip is cut to about the same speech as the clean one.
"""

from __future__ import annotations

import numpy as np

# Frames of 32 ms every 8 ms: short enough to find the edges of a word.
_FRAME_SECONDS = 0.032
_HOP_SECONDS = 0.008
# The noise floor: this percentile of the frame energies (speech rarely fills 90%).
_FLOOR_PERCENTILE = 10.0
# However noisy, keep what is within this many dB of the loudest frame.
_KEEP_NEAR_PEAK_DB = 3.0


def frame_energies_db(y: np.ndarray, *, sr: int) -> tuple[np.ndarray, int, int]:
    """Energy in dB of each 32 ms frame, every 8 ms.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sr : int

    Returns
    -------
    db : ndarray of shape (n_frames,)
    frame, hop : int
        Frame and hop length in samples.
    """
    frame = max(1, int(round(_FRAME_SECONDS * sr)))
    hop = max(1, int(round(_HOP_SECONDS * sr)))
    y = np.asarray(y, dtype=np.float64)
    if len(y) < frame:
        y = np.pad(y, (0, frame - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, frame)[::hop]
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12), frame, hop


def trim_to_speech(y: np.ndarray, *, sr: int, top_db: float, floor_db: float) -> np.ndarray:
    """Cut leading and trailing parts that are silence *or* the recording's noise.

    A frame counts as speech when it is within ``top_db`` of the loudest frame
    and more than ``floor_db`` above the noise floor (the 10th percentile of
    frame energies); frames within 3 dB of the loudest always count. The
    result runs from the first to the last speech frame. On a clean clip the
    floor is far down and this is ``librosa.effects.trim(y, top_db=top_db)``
    up to the frame size.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sr : int
    top_db : float
        Decibels below the peak frame that count as silence.
    floor_db : float
        Decibels above the noise floor a frame needs to count as speech.

    Returns
    -------
    y_trimmed : ndarray
        A view of ``y``; empty when ``y`` is all zeros.
    """
    db, frame, hop = frame_energies_db(y, sr=sr)
    peak = db.max()
    floor = np.percentile(db, _FLOOR_PERCENTILE)
    threshold = min(max(peak - top_db, floor + floor_db), peak - _KEEP_NEAR_PEAK_DB)
    speech = np.flatnonzero(db > threshold)
    if speech.size == 0 or peak <= -119.0:  # all zeros: 1e-12 floor is -120 dB
        return y[:0]
    return y[int(speech[0]) * hop: min(len(y), int(speech[-1]) * hop + frame)]
