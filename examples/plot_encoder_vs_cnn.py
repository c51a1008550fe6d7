"""
===============================================================
A pretrained speech encoder vs a CNN, on voices never heard
===============================================================

A CNN trained from scratch on a few hundred acted clips learns the voices it
was trained on as much as their emotions. The ``recommended`` preset instead
describes each clip with a speech encoder pretrained on thousands of voices
(GE2E, :class:`~sklearn_ser.GE2EEncoder`) and reads the emotion from that
description with a logistic regression. This example compares the two on
speakers that are in no training fold.

The corpus comes from ``--data DIR`` or ``SKLEARN_SER_RAVDESS``; without
either (and in the documentation build, ``SKLEARN_SER_EXAMPLE_QUICK=1``) it
uses the synthetic corpus, whose "voices" are not human speech: the numbers
shown on the rendered page then only check the wiring. The full comparison
on RAVDESS is on the :doc:`/accuracy` page.
"""

# %%
import argparse
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import load_ravdess, make_emotional_speech
from sklearn_ser.evaluation import evaluate

parser = argparse.ArgumentParser(description="Pretrained encoder vs CNN on unseen speakers")
parser.add_argument("--data", type=Path, default=os.environ.get("SKLEARN_SER_RAVDESS"))
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
workdir = Path(tempfile.mkdtemp(prefix="sklearn_ser_encoder_"))

if args.data is not None and not QUICK:
    data = load_ravdess(args.data)
else:
    data = make_emotional_speech(n_speakers=4, n_clips_per_emotion=3, duration=1.0,
                                 out_dir=workdir / "synthetic", random_state=0)
print(f"{len(data.filenames)} clips, {len(set(data.speaker))} speakers")

# %%
# Two pipelines, one protocol
# ---------------------------
# Both are ordinary scikit-learn pipelines from audio paths to labels; only
# the middle differs. ``evaluate`` keeps every speaker on one side of each
# split (``protocol="speaker_kfold"``).
pipelines = {
    "recommended (encoder + logistic regression)": make_ser_pipeline(
        "recommended", random_state=0, memory=str(workdir / "cache")),
    "cnn (trained from scratch)": make_ser_pipeline(
        "cnn", random_state=0, memory=str(workdir / "cache"),
        **({"cnn__epochs": 3, "augment__views": ("clean",)} if QUICK else {})),
}
n_splits = 2 if QUICK else 6
results = {name: evaluate(pipe, data, protocol="speaker_kfold", n_splits=n_splits,
                          random_state=0)
           for name, pipe in pipelines.items()}
for name, result in results.items():
    summary = result.summary()
    print(f"{name}: accuracy {summary.loc['accuracy', 'mean']:.3f} "
          f"+- {summary.loc['accuracy', 'std']:.3f} over {n_splits} speaker folds")

# %%
# Per fold
# --------
# Each fold tests speakers the model has never heard.
fig, ax = plt.subplots(figsize=(6, 3.5))
width = 0.38
for i, (name, result) in enumerate(results.items()):
    folds = result.fold_scores
    ax.bar(np.arange(len(folds)) + (i - 0.5) * width, folds["accuracy"], width, label=name)
ax.axhline(1 / len(set(data.target)), color="grey", linestyle=":", label="chance")
ax.set_xlabel("speaker fold")
ax.set_ylabel("accuracy on unseen speakers")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# What the encoder gives
# ----------------------
# 768 numbers per clip: the encoder's second LSTM layer, averaged over time,
# with its spread and how fast it changes. No TensorFlow and no torch are
# needed to compute them or to load a fitted ``recommended`` pipeline.
encoder = pipelines["recommended (encoder + logistic regression)"].fit(
    data.filenames, data.target)["encoder"]
print(encoder.get_feature_names_out()[[0, 256, 512]])
