"""Emotion over time in long recordings, in bounded memory: :func:`predict_segments`.

A fitted pipeline of this package answers one label per file. A call, an
interview or a therapy session needs an answer per stretch of time, and it
does not fit in memory as one waveform (a 1-hour file is 58 M samples at
16 kHz, and the features of the whole file many times that). Here the file
is read block by block, resampled as a stream, cut by an energy-based
speech detector into speech and non-speech stretches, and every speech
stretch is cut into overlapping windows that the pipeline classifies in
batches. Only the current window (plus one hop and the speech detector's
look-ahead) is held in memory, whatever the length of the file.

The blocks come from :func:`sklearn_ser.audio.stream_audio` (also importable
from here); this module holds the speech detection and windowing
(``_Segmenter``) and :func:`predict_segments`.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np
import soundfile as sf

# stream_audio lives with the other readers; it is also importable from here, as before.
from sklearn_ser.audio import (
    AudioLoader,
    SampleBuffer,
    as_waveform_array,
    condition_waveform,
    stream_audio,
)
from sklearn_ser.pipeline import LOAD

__all__ = ["NO_SPEECH", "predict_segments", "stream_audio"]

#: The ``label`` of segments without speech (they are not classified).
NO_SPEECH = "<no speech>"

# Lowest frame level (dB): the floor of the level histogram of 1 dB bins (-120 to 0).
_LEVEL_FLOOR_DB = -120.0


class _Segmenter:
    """Energy-based speech detection and windowing of one streamed signal.

    Feed blocks with :meth:`feed`, then call :meth:`finish`; windows of speech
    arrive through ``on_window(start, end, waveform, stretch)`` (sample indices;
    ``stretch`` is the start of the stretch of speech the window belongs to) and
    non-speech stretches through ``on_silence(start, end)``.
    """

    def __init__(self, *, sr, window, hop, frame, threshold_db, noise_margin_db,
                 min_silence, min_speech, pad, on_window, on_silence):
        self.sr = sr
        self.W = max(1, int(round(window * sr)))
        self.H = max(1, int(round(hop * sr)))
        self.F = max(1, int(round(frame * sr)))
        self.threshold_db = threshold_db
        self.noise_margin_db = noise_margin_db
        self.min_silence = int(round(min_silence * sr))
        self.min_speech = int(round(min_speech * sr))
        # Margin added around each stretch of speech (at most the silence look-ahead,
        # so that the audio is still there when the stretch ends).
        self.pad = min(int(round(pad * sr)), self.min_silence)
        self.on_window = on_window
        self.on_silence = on_silence
        self.buffer = SampleBuffer(self.W + self.H + self.min_silence + self.pad + self.F)
        self.levels = np.zeros(int(-_LEVEL_FLOOR_DB) + 1, dtype=np.int64)  # level histogram
        self.next_frame = 0           # absolute index of the next frame to classify
        self.region: int | None = None  # start of the speech stretch in progress
        self.first_active = 0         # start of its first speech frame
        self.last_active = 0          # end of its last speech frame
        self.win_start = 0            # start of its next window
        self.last_full: int | None = None  # start of its last full-length window
        self.speech_end = 0           # end of the last speech stretch kept

    # -- input ---------------------------------------------------------------------
    def feed(self, y: np.ndarray) -> None:
        # Small pieces, so that the buffer never holds more than a window, a hop,
        # the silence look-ahead and one piece, whatever the size of the blocks.
        step = max(self.H, self.F)
        for i in range(0, len(y), step):
            self.buffer.append(y[i : i + step])
            self._frames(final=False)

    def finish(self) -> int:
        """Classify the last (partial) frame, close the open stretch; return the length."""
        self._frames(final=True)
        total = self.buffer.end
        if self.region is not None:
            self._end_region(min(self.last_active + self.pad, total))
        if total > self.speech_end:
            self.on_silence(self.speech_end, total)
        return total

    # -- speech detection ------------------------------------------------------------
    def _threshold(self) -> float:
        threshold = self.threshold_db
        seen = int(self.levels.sum())
        if self.noise_margin_db is not None and seen >= 100:  # 2 s of history at 20 ms
            floor_bin = int(np.searchsorted(np.cumsum(self.levels), 0.1 * seen))
            threshold = max(threshold, _LEVEL_FLOOR_DB + floor_bin + self.noise_margin_db)
        return threshold

    def _frames(self, *, final: bool) -> None:
        F = self.F
        avail = self.buffer.end - self.next_frame
        n_full = avail // F
        bounds = [(self.next_frame + k * F, self.next_frame + (k + 1) * F)
                  for k in range(n_full)]
        if final and avail % F:
            bounds.append((self.next_frame + n_full * F, self.buffer.end))
        if not bounds:
            return
        a = self.next_frame - self.buffer.start
        x = self.buffer.data[a : a + n_full * F].astype(np.float64).reshape(n_full, F)
        power = list(np.einsum("ij,ij->i", x, x) / F)
        if len(bounds) > n_full:  # the last, partial frame
            x = self.buffer.data[a + n_full * F : self.buffer.n].astype(np.float64)
            power.append(float(np.dot(x, x)) / len(x))
        db = 10.0 * np.log10(np.maximum(np.asarray(power), 1e-12))
        for (t0, t1), level in zip(bounds, db):
            active = level > self._threshold()
            self.levels[int(np.clip(level - _LEVEL_FLOOR_DB, 0, len(self.levels) - 1))] += 1
            self._frame(t0, t1, active)
            self.next_frame = t1
            keep = self.win_start if self.region is not None else t1 - self.pad
            self.buffer.drop_before(keep)

    def _frame(self, t0: int, t1: int, active: bool) -> None:
        if active:
            if self.region is None:
                self.region = self.win_start = max(t0 - self.pad, self.speech_end,
                                                   self.buffer.start)
                self.first_active = t0
                self.last_full = None
            self.last_active = t1
            while self.win_start + self.W <= self.last_active:
                self.on_window(self.win_start, self.win_start + self.W,
                               self.buffer.get(self.win_start, self.win_start + self.W),
                               self.region)
                self.last_full = self.win_start
                self.win_start += self.H
        elif self.region is not None and t1 - self.last_active >= self.min_silence:
            self._end_region(self.last_active + self.pad)

    def _end_region(self, end: int) -> None:
        start = self.region
        self.region = None
        if self.last_active - self.first_active < self.min_speech:
            return  # a click, not speech: part of the surrounding silence
        while self.win_start + self.W <= end:  # full windows that the padding completes
            self.on_window(self.win_start, self.win_start + self.W,
                           self.buffer.get(self.win_start, self.win_start + self.W), start)
            self.last_full = self.win_start
            self.win_start += self.H
        if self.last_full is None:
            self.on_window(start, end, self.buffer.get(start, end), start)
        elif end > self.last_full + self.W:
            self.on_window(self.win_start, end, self.buffer.get(self.win_start, end), start)
        if start > self.speech_end:
            self.on_silence(self.speech_end, start)
        self.speech_end = end


def _groups_requested(pipeline) -> bool:
    """Whether a step of ``pipeline`` asks for ``groups`` when predicting (metadata routing)."""
    import sklearn
    from sklearn.utils.metadata_routing import get_routing_for_object

    try:
        with sklearn.config_context(enable_metadata_routing=True):
            routing = get_routing_for_object(pipeline)
            return bool(routing.consumes(method="predict_proba", params=["groups"]))
    except Exception:  # noqa: BLE001 - a step without routing support requests nothing
        return False


def _check_model(model) -> AudioLoader:
    from sklearn.pipeline import Pipeline

    if not (isinstance(model, Pipeline) and len(model.steps) >= 2
            and model.steps[0][0] == LOAD and isinstance(model.steps[0][1], AudioLoader)):
        raise TypeError(
            "model must be a fitted Pipeline of sklearn_ser whose first step is the "
            f"AudioLoader named {LOAD!r} (as make_ser_pipeline builds), got "
            f"{type(model).__name__}"
        )
    if not hasattr(model, "classes_"):
        raise ValueError("model is not fitted: call model.fit(paths, labels) first")
    return model.steps[0][1]


def _check_options(window, hop, batch_size, smooth, min_silence, min_speech) -> None:
    if not (np.isfinite(window) and window > 0):
        raise ValueError(f"window must be > 0 seconds, got {window!r}")
    if not (np.isfinite(hop) and 0 < hop <= window):
        raise ValueError(f"hop must be > 0 and <= window ({window}) seconds, got {hop!r}")
    if not (isinstance(batch_size, int | np.integer) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if smooth is not None and not (isinstance(smooth, int | np.integer) and smooth >= 1):
        raise ValueError(f"smooth must be None or an integer >= 1 (windows), got {smooth!r}")
    if not min_silence >= 0:
        raise ValueError(f"min_silence must be >= 0 seconds, got {min_silence!r}")
    if not 0 <= min_speech <= window:
        raise ValueError(f"min_speech must be >= 0 and <= window seconds, got {min_speech!r}")


def predict_segments(
    model,
    path: str | os.PathLike,
    *,
    window: float = 3.0,
    hop: float = 1.0,
    speech_threshold_db: float = -55.0,
    noise_margin_db: float | None = None,
    min_silence: float = 0.5,
    min_speech: float = 0.2,
    speech_pad: float = 0.2,
    smooth: int | None = None,
    speaker: Any = None,
    batch_size: int = 32,
    block_duration: float = 10.0,
    verbose: int = 0,
):
    """Predict emotion over time in one recording of any length, in bounded memory.

    The file is read in blocks, downmixed and resampled as a stream to the
    model's rate. An energy-based detector splits it into speech and
    non-speech stretches (frame level in dB against a threshold, pauses
    shorter than ``min_silence`` bridged, bursts shorter than ``min_speech``
    ignored, each stretch of speech widened by ``speech_pad``). Non-speech
    stretches become one row each, marked and not classified. Each speech
    stretch is cut into windows of ``window`` seconds every ``hop``
    seconds, starting where the (widened) speech starts; the last window of
    a stretch ends where it ends (a stretch shorter than ``window`` is one
    shorter window). Every window gets the per-clip
    processing of the model's :class:`~sklearn_ser.AudioLoader` (silence
    trimming, fixed duration) and goes through the rest of the pipeline,
    ``batch_size`` windows at a time.

    Memory holds one block of the file, one window plus one hop and the
    detector's ``min_silence`` look-ahead, one batch of windows and the
    result table (a row per hop of speech): it does not grow with the
    length of the file otherwise.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        A fitted pipeline of this package whose first step is the
        :class:`~sklearn_ser.AudioLoader` named ``"load"``, e.g. from
        :func:`~sklearn_ser.make_ser_pipeline` or
        :func:`~sklearn_ser.persistence.load_model`; the later steps take
        waveforms (``model[1:]``).
    path : str or path-like
        The recording, any length and any format libsndfile reads.
    window : float, default=3.0
        Length of the analysed windows in seconds (RAVDESS clips, the usual
        training data, are 3-5 s long).
    hop : float, default=1.0
        Seconds between the starts of consecutive windows (at most
        ``window``); the time resolution of the result.
    speech_threshold_db : float, default=-55.0
        A 20 ms frame is speech when its mean power exceeds this level in dB
        relative to full scale (a full-scale square wave is 0 dB, a
        full-scale sine -3 dB).
    noise_margin_db : float or None, default=None
        If set, the threshold adapts to the recording: it becomes at least
        the noise floor (the 10th percentile of the frame levels seen so far)
        plus this many dB. Use it for recordings with background noise above
        ``speech_threshold_db`` (e.g. 10-15 dB); ``None`` keeps the fixed
        threshold.
    min_silence : float, default=0.5
        Pauses shorter than this many seconds do not end a speech stretch.
    min_speech : float, default=0.2
        Speech stretches shorter than this many seconds are treated as noise.
    speech_pad : float, default=0.2
        Seconds added before and after each stretch of speech (at most
        ``min_silence``): an energy threshold misses soft onsets and endings,
        and the loader's ``trim_db`` then trims each window as it trims a
        clip. Chosen on RAVDESS validation actors (``benchmarks/bench_segments.py``).
    smooth : int or None, default=None
        If set, each window's probabilities are replaced by their centred
        moving average over ``smooth`` consecutive windows of the same
        speech stretch, and the label is the most probable class of the
        average: fewer label flips, coarser time resolution.
    speaker : hashable or None, default=None
        The speaker of the recording, for a pipeline with a speaker
        adaptation step that requests ``groups`` through scikit-learn's
        metadata routing: every window is predicted with ``groups`` equal
        to this speaker. Ignored (with a warning) by pipelines without such
        a step.
    batch_size : int, default=32
        Windows passed to the pipeline at a time.
    block_duration : float, default=10.0
        Seconds of the file decoded per read.
    verbose : int, default=0
        Show a progress bar (seconds of audio) on stderr when > 0.

    Returns
    -------
    segments : pandas.DataFrame
        One row per window of speech and per stretch without speech, sorted
        by time, with columns ``start`` and ``end`` (seconds from the start
        of the file; speech windows overlap by ``window - hop``), ``speech``
        (bool), ``label`` (the predicted class, or :data:`NO_SPEECH` for rows
        without speech) and one probability column per class of
        ``model.classes_`` (NaN for rows without speech).

    Raises
    ------
    AudioFileError
        When the file is missing, empty or not audio, and - with the time in
        seconds - when a stretch of it cannot be decoded, holds NaN or
        infinite samples, or it is truncated. A problem found in the middle
        of the file stops the run: nothing is skipped silently.
    TypeError
        When ``model`` is not a pipeline starting with the ``"load"`` AudioLoader.

    See Also
    --------
    sklearn_ser.plotting.plot_segments : The result as a timeline.

    Examples
    --------
    >>> from sklearn_ser import predict_segments
    >>> segments = predict_segments(model, "interview.flac", window=3.0, hop=1.0,
    ...                             smooth=3)  # doctest: +SKIP
    >>> segments[segments.speech].groupby("label").size()  # doctest: +SKIP
    """
    import pandas as pd
    import sklearn

    from sklearn_ser._parallel import progress_bar

    loader = _check_model(model)
    _check_options(window, hop, batch_size, smooth, min_silence, min_speech)
    sr = int(loader.sr)
    classes = [str(c) for c in model.classes_]
    rest = model[1:]
    route = {}
    if speaker is not None:
        if _groups_requested(rest):
            route = {"groups": speaker}
        else:
            warnings.warn(
                "speaker is ignored: no step of the pipeline requests 'groups' "
                "(a speaker adaptation step does)", UserWarning, stacklevel=2,
            )

    starts: list[int] = []
    ends: list[int] = []
    speech: list[bool] = []
    regions: list[int] = []
    proba: list[np.ndarray | None] = []
    pending: list[tuple[int, np.ndarray]] = []  # (row index, waveform)

    def flush() -> None:
        if not pending:
            return
        waves = as_waveform_array([
            condition_waveform(w, sr=sr, duration=loader.duration, trim_db=loader.trim_db,
                               trim_floor_db=getattr(loader, "trim_floor_db", None))
            for _, w in pending
        ])
        if route:
            with sklearn.config_context(enable_metadata_routing=True):
                p = rest.predict_proba(waves, groups=[route["groups"]] * len(waves))
        else:
            p = rest.predict_proba(waves)
        for (row, _), values in zip(pending, np.asarray(p, dtype=float)):
            proba[row] = values
        pending.clear()

    def on_window(a: int, b: int, wave: np.ndarray, stretch: int) -> None:
        starts.append(a)
        ends.append(b)
        speech.append(True)
        regions.append(stretch)
        proba.append(None)
        pending.append((len(starts) - 1, wave))
        if len(pending) >= batch_size:
            flush()

    def on_silence(a: int, b: int) -> None:
        if b > a:
            starts.append(a)
            ends.append(b)
            speech.append(False)
            regions.append(-1)
            proba.append(None)

    segmenter = _Segmenter(
        sr=sr, window=window, hop=hop, frame=0.02, threshold_db=speech_threshold_db,
        noise_margin_db=noise_margin_db, min_silence=min_silence, min_speech=min_speech,
        pad=speech_pad, on_window=on_window, on_silence=on_silence,
    )
    try:
        total_s = sf.info(str(path)).duration
    except Exception:  # noqa: BLE001 - stream_audio reports the problem below
        total_s = None
    with progress_bar(total=None if total_s is None else round(total_s, 1), unit="s",
              desc="segments", disable=not verbose, leave=False, file=sys.stderr,
              bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s [{elapsed}<{remaining}]") as bar:
        for block in stream_audio(path, sr=sr, block_duration=block_duration):
            segmenter.feed(block)
            bar.update(len(block) / sr)
        segmenter.finish()
        flush()

    order = np.argsort(np.asarray(starts, dtype=np.int64), kind="stable")
    n_classes = len(classes)
    P = np.full((len(starts), n_classes), np.nan)
    for i, p in enumerate(proba):
        if p is not None:
            P[i] = p
    is_speech = np.asarray(speech, dtype=bool)
    region = np.asarray(regions, dtype=np.int64)
    P, is_speech, region = P[order], is_speech[order], region[order]
    if smooth is not None and smooth > 1:
        P = _smooth(P, region, is_speech, smooth)
    labels = np.full(len(order), NO_SPEECH, dtype=object)
    if is_speech.any():
        labels[is_speech] = np.asarray(classes, dtype=object)[P[is_speech].argmax(axis=1)]
    frame = pd.DataFrame({
        "start": np.asarray(starts, dtype=float)[order] / sr,
        "end": np.asarray(ends, dtype=float)[order] / sr,
        "speech": is_speech,
        "label": labels,
    })
    for j, name in enumerate(classes):
        frame[name] = P[:, j]
    return frame


def _smooth(P: np.ndarray, region: np.ndarray, is_speech: np.ndarray, size: int) -> np.ndarray:
    """Centred moving average of the probabilities over ``size`` windows of one stretch."""
    import pandas as pd

    out = P.copy()
    for r in np.unique(region[is_speech]):
        rows = np.flatnonzero(region == r)
        out[rows] = (pd.DataFrame(P[rows]).rolling(size, center=True, min_periods=1)
                     .mean().to_numpy())
    return out
