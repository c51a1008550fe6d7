"""Where the speech is: trimming that holds up in noise.

Trimming "everything more than 30 dB below the peak" (``librosa.effects.trim``)
works on studio clips with digital silence around the speech. In a noisy
recording the noise floor sits 5-20 dB below the speech, nothing is 30 dB
down, and the leading and trailing noise stay in: a clip of 1 s of speech
inside 3 s of noise then looks to a model nothing like the trimmed training
clips. :func:`trim_to_speech` notices that a recording is noisy (its noise
floor, a low percentile of its frame energies, is close to the peak) and then
splits the frames into a loud and a quiet class by their smoothed energy. Other
voices in the background (babble) rise and fall, so a fixed margin above the
floor lets their loud syllables pass; the split between the two classes, and
dropping bursts shorter than a syllable, keeps the foreground talker only.
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
# In noise, energies are averaged over 25 frames (200 ms, about a syllable) before the
# split, and a loud burst shorter than 12 frames (about 100 ms) is another voice's peak.
_SMOOTH_FRAMES = 25
_MIN_RUN_FRAMES = 12
# The split looks at frames within this many dB below top_db (the rest is silence).
_SPLIT_RANGE_DB = 10.0


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

    On a clean recording (its noise floor, the 10th percentile of frame
    energies, lies more than ``top_db - floor_db`` below the loudest frame) a
    frame is speech when it is within ``top_db`` of the loudest frame: this is
    ``librosa.effects.trim(y, top_db=top_db)`` up to the frame size. On a noisy
    one, energies are averaged over 200 ms and split into a loud and a quiet
    class (Otsu's threshold over the averages within ``top_db`` + 10 dB of
    their peak); loud runs shorter than 100 ms (other talkers' syllables) do
    not count, and what is within 3 dB of the loudest always does. The result runs
    from the first to the last speech frame.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sr : int
    top_db : float
        Decibels below the peak frame that count as silence.
    floor_db : float
        A recording is noisy when its noise floor is within ``top_db - floor_db``
        of the peak, i.e. when a frame ``floor_db`` above the floor would still
        be within ``top_db`` of the peak.

    Returns
    -------
    y_trimmed : ndarray
        A view of ``y``; empty when ``y`` is all zeros.
    """
    db, frame, hop = frame_energies_db(y, sr=sr)
    peak = db.max()
    if peak <= -119.0:  # all zeros: the 1e-12 floor is -120 dB
        return y[:0]
    floor = np.percentile(db, _FLOOR_PERCENTILE)
    if floor + floor_db <= peak - top_db:
        speech = np.flatnonzero(db > peak - max(top_db, _KEEP_NEAR_PEAK_DB))
        first, last = int(speech[0]), int(speech[-1])
    else:
        first, last = _foreground_span(db, top_db=top_db)
    return y[first * hop: min(len(y), last * hop + frame)]


def _foreground_span(db: np.ndarray, *, top_db: float) -> tuple[int, int]:
    """First and last frame of the loud, lasting part of a noisy recording."""
    width = min(_SMOOTH_FRAMES, len(db))  # "same" is as long as the longer input
    power = np.convolve(10.0 ** (db / 10.0), np.ones(width) / width, mode="same")
    smooth = 10.0 * np.log10(power + 1e-12)
    peak = smooth.max()
    split = otsu_threshold(smooth[smooth > peak - top_db - _SPLIT_RANGE_DB])
    threshold = min(max(peak - top_db, split), peak - _KEEP_NEAR_PEAK_DB)
    edges = np.diff(np.concatenate([[0], (smooth > threshold).astype(np.int8), [0]]))
    runs = [(a, b) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
            if b - a >= _MIN_RUN_FRAMES or smooth[a:b].max() >= peak - _KEEP_NEAR_PEAK_DB]
    return int(runs[0][0]), int(runs[-1][1]) - 1


def otsu_threshold(values: np.ndarray, *, bins: int = 64) -> float:
    """The value that best splits ``values`` into two classes (Otsu, 1979).

    Parameters
    ----------
    values : ndarray of shape (n,)
    bins : int, default=64

    Returns
    -------
    threshold : float
        The upper edge of the last bin of the lower class: the split that
        maximises the between-class variance of the histogram.
    """
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)[:-1].astype(float)
    above = counts.sum() - below
    mass = np.cumsum(counts * centres)[:-1]
    mean_below = mass / np.maximum(below, 1)
    mean_above = (np.sum(counts * centres) - mass) / np.maximum(above, 1)
    between = below * above * (mean_below - mean_above) ** 2
    return float(edges[1:][int(np.argmax(between))])
