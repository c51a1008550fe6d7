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

Here the "recording" is built from synthetic clips (a source-filter
simulation, *not* real speech) of speakers the model has never heard,
joined by 1-2 s pauses, so that we know what the answer should be. Any
fitted pipeline of this package works the same way, for example
``make_ser_pipeline("recommended")`` trained on RAVDESS.

Run ``python plot_long_recording.py --quick`` (or set
``SKLEARN_SER_EXAMPLE_QUICK=1``) for a run of a few seconds.
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
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.plotting import plot_segments

QUICK = "--quick" in sys.argv or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
workdir = Path(tempfile.mkdtemp(prefix="sklearn_ser_long_"))
SR = 22050

# %%
# A small model
# -------------
# Small feature images and a compact network keep the training to seconds.
train = make_emotional_speech(
    n_speakers=4, n_clips_per_emotion=3 if QUICK else 6, duration=2.0,
    out_dir=workdir / "train", random_state=0,
)
model = make_ser_pipeline(
    random_state=0, augment__views=("clean",),
    features__features=("mel", "mfcc_delta2"), features__n_mfcc=13, features__mel_db=True,
    features__standardize="row", features__n_columns=32, cnn__conv_filters=(8, 16),
    cnn__dense_units=(32, 16), cnn__epochs=15 if QUICK else 30, cnn__batch_size=16,
)
model.fit(train.filenames, train.target)

# %%
# A long recording with known answers
# -----------------------------------
# Clips of two new speakers, each preceded by 1-2 s of near-silence (a
# noise floor at about -80 dB), written as one file.
clips = make_emotional_speech(
    n_speakers=2, n_clips_per_emotion=1 if QUICK else 3, duration=4.0,
    out_dir=workdir / "clips", random_state=1,
)
rng = np.random.default_rng(0)
parts, spans, position = [], [], 0
for path in clips.filenames:
    pause = int(rng.uniform(1.0, 2.0) * SR)
    parts.append((1e-4 * rng.standard_normal(pause)).astype(np.float32))
    position += pause
    clip, _ = sf.read(path, dtype="float32")
    parts.append(clip)
    spans.append((position / SR, (position + len(clip)) / SR))
    position += len(clip)
recording = workdir / "recording.flac"
sf.write(recording, np.concatenate(parts), SR)
print(f"recording: {position / SR:.0f} s, {len(clips.filenames)} utterances")

# %%
# Emotion over time
# -----------------
# 3 s windows every 1 s within the speech; ``smooth=3`` averages each
# window's probabilities with its neighbours. Only one block of the file,
# one window plus one hop and one batch of windows are in memory at a time.
segments = predict_segments(model, recording, window=3.0, hop=1.0, smooth=3)
print(segments.head(12).round(2).to_string())

# %%
# Per utterance, the majority label of the windows inside it, next to the
# model's prediction for the whole clip and the truth.
centre = (segments["start"] + segments["end"]) / 2
clip_labels = model.predict(clips.filenames)
for (a, b), truth, whole in zip(spans, clips.target, clip_labels):
    inside = segments[segments["speech"] & (centre >= a) & (centre <= b)]
    majority = inside["label"].mode().iloc[0] if len(inside) else "-"
    print(f"{a:6.1f}-{b:5.1f} s  true {truth:8s} whole clip {whole:8s} windows {majority}")

# %%
# The timeline
# ------------
# Lines: each class' probability at the centre of each window. Bands: the
# label of each window's share of the time. Grey: no speech.
fig = plot_segments(segments, title="A synthetic recording: emotion over time")
plt.show()
