"""
==========================================
Long recordings: emotion over time
==========================================

A fitted pipeline gives one label per file. Calls, interviews and therapy
sessions need an answer per stretch of time, and an hour of audio does not
fit in memory as one waveform. :func:`sklearn_ser.predict_segments` reads a
recording of any length block by block, marks the stretches without speech
(they are not classified), cuts the speech into overlapping windows, runs
the pipeline on batches of windows and returns one row per window.
:func:`sklearn_ser.plotting.plot_segments` draws the result as a timeline.

Here the "recording" is built from clips of a speaker the model has never
heard, joined by 1-2 s pauses, so that we know what the answer should be:
RAVDESS clips when ``SKLEARN_SER_RAVDESS`` names its folder (as in the
documentation build), otherwise synthetic speech-like clips (a
source-filter simulation, *not* real speech). The model is the default
``make_ser_pipeline()``; any fitted pipeline of this package works the same
way.

``--quick`` (or ``SKLEARN_SER_EXAMPLE_QUICK=1``) trains on fewer speakers.
"""

# %%
# Imports and short settings for CI
# ---------------------------------
import os
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf

from sklearn_ser import make_ser_pipeline, predict_segments
from sklearn_ser.datasets import load_ravdess, make_emotional_speech
from sklearn_ser.plotting import plot_segments

QUICK = "--quick" in sys.argv or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
RAVDESS = os.environ.get("SKLEARN_SER_RAVDESS")
workdir = Path(tempfile.mkdtemp(prefix="sklearn_ser_long_"))

# %%
# The model, and clips of a speaker it has never heard
# -----------------------------------------------------
if RAVDESS and os.path.isdir(RAVDESS):
    data = load_ravdess(RAVDESS, drop_labels="calm")
    actors = np.unique(data.speaker)
    train = np.isin(data.speaker, actors[:8 if QUICK else -1])
    X_train, y_train = data.filenames[train], data.target[train]
    # One clip per emotion of the last actor, in a fixed order.
    first = {}
    for i in np.flatnonzero(data.speaker == actors[-1]):
        first.setdefault(data.target[i], i)
    clip_labels = sorted(first)
    clip_paths = [data.filenames[first[label]] for label in clip_labels]
    corpus = f"RAVDESS, actor {actors[-1]} (not in training)"
else:
    train = make_emotional_speech(
        n_speakers=6, n_clips_per_emotion=4 if QUICK else 6, duration=2.0,
        out_dir=workdir / "train", random_state=0,
    )
    X_train, y_train = train.filenames, train.target
    clips = make_emotional_speech(
        n_speakers=1, n_clips_per_emotion=1 if QUICK else 2, duration=3.0,
        out_dir=workdir / "clips", random_state=1,
    )
    clip_paths, clip_labels = list(clips.filenames), list(clips.target)
    corpus = "synthetic speech (not human), a new speaker"
model = make_ser_pipeline(random_state=0)
model.fit(X_train, y_train)

# %%
# A long recording with known answers
# -----------------------------------
# The clips, each preceded by 1-2 s of near-silence (a noise floor at about
# -80 dB), written as one file.
rng = np.random.default_rng(0)
parts, spans, position, SR = [], [], 0, sf.info(clip_paths[0]).samplerate
for path in clip_paths:
    pause = int(rng.uniform(1.0, 2.0) * SR)
    parts.append((1e-4 * rng.standard_normal(pause)).astype(np.float32))
    position += pause
    clip, rate = sf.read(path, dtype="float32")
    assert rate == SR, "the clips of one recording share a sample rate"
    clip = clip if clip.ndim == 1 else clip.mean(axis=1)
    parts.append(clip)
    spans.append((position / SR, (position + len(clip)) / SR))
    position += len(clip)
recording = workdir / "recording.flac"
sf.write(recording, np.concatenate(parts), SR)
print(f"recording: {position / SR:.0f} s, {len(clip_paths)} utterances ({corpus})")

# %%
# Emotion over time
# -----------------
# 2 s windows every 0.5 s within the speech; ``smooth=3`` averages each
# window's probabilities with its neighbours. Only one block of the file,
# one window plus one hop and one batch of windows are in memory at a time.
segments = predict_segments(model, recording, window=2.0, hop=0.5, smooth=3)
print(segments.head(12).round(2).to_string())

# %%
# Per utterance, the majority label of the windows inside it, next to the
# model's prediction for the whole clip and the truth.
centre = (segments["start"] + segments["end"]) / 2
whole_clip = model.predict(clip_paths)
hits = []
for (a, b), truth, whole in zip(spans, clip_labels, whole_clip):
    inside = segments[segments["speech"] & (centre >= a) & (centre <= b)]
    majority = inside["label"].mode().iloc[0] if len(inside) else "-"
    hits.append(majority == truth)
    print(f"{a:6.1f}-{b:5.1f} s  true {truth:8s} whole clip {whole:8s} windows {majority}")
chance = 1 / len(model.classes_)
print(f"accuracy {np.mean(hits):.3f} (chance {chance:.3f}) of the windows' majority label, "
      f"{len(hits)} utterances")

# %%
# The timeline
# ------------
# Lines: each class' probability at the centre of each window. Bands: the
# label of each window's share of the time. Grey: no speech.
fig = plot_segments(segments, title=f"make_ser_pipeline() over time: {corpus}")
plt.show()
