"""
=================================================================
A pretrained speech encoder, a CNN and eGeMAPS, on unseen voices
=================================================================

Three ways to describe a clip, each read by a classifier, compared on
speakers that are in no training fold:

* ``make_ser_pipeline()`` (the ``"recommended"`` preset): two frozen
  pretrained speech encoders - Whisper base (:class:`~sklearn_ser.WhisperEncoder`,
  trained on 680,000 hours of speech) and GE2E
  (:class:`~sklearn_ser.GE2EEncoder`, trained on thousands of voices) - and a
  logistic regression;
* ``make_ser_pipeline("cnn")``: feature images and a CNN trained from
  scratch (:class:`~sklearn_ser.SERClassifier`);
* the field's classical baseline: openSMILE's eGeMAPS functionals
  (:class:`~sklearn_ser.OpenSmileFunctionals`, optional extra
  ``sklearn-ser[opensmile]``) with a logistic regression.

The clips are RAVDESS when ``SKLEARN_SER_RAVDESS`` (or ``--data``) names its
folder, otherwise synthetic speech-like audio, whose "voices" are not human
speech. ``--quick`` (or ``SKLEARN_SER_EXAMPLE_QUICK=1``, as in the
documentation build) uses fewer speakers and trains the CNN for 10 epochs
on clean clips only. The full comparison on RAVDESS is on the
:doc:`/accuracy` page.
"""

# %%
import argparse
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from sklearn_ser import AudioLoader, OpenSmileFunctionals, SERClassifier, make_ser_pipeline
from sklearn_ser.datasets import load_ravdess, make_emotional_speech
from sklearn_ser.evaluation import evaluate
from sklearn_ser.plotting import plot_training_history

parser = argparse.ArgumentParser(description="Encoder vs CNN vs eGeMAPS on unseen speakers")
parser.add_argument("--data", type=Path, default=os.environ.get("SKLEARN_SER_RAVDESS"))
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
workdir = Path(tempfile.mkdtemp(prefix="sklearn_ser_encoder_"))

if args.data is not None and Path(args.data).is_dir():
    data = load_ravdess(args.data, drop_labels="calm")
    if QUICK:  # 6 actors keep the documentation build short
        keep = np.isin(data.speaker, np.unique(data.speaker)[:6])
        data = Bunch(**{key: data[key][keep] for key in ("filenames", "target", "speaker")})
    corpus = "RAVDESS"
else:
    data = make_emotional_speech(n_speakers=6, n_clips_per_emotion=3 if QUICK else 6,
                                 duration=1.5 if QUICK else 2.0,
                                 out_dir=workdir / "synthetic", random_state=0)
    corpus = "synthetic speech (not human)"
n_speakers = len(set(data["speaker"]))
print(f"{corpus}: {len(data['filenames'])} clips, {n_speakers} speakers")

# %%
# Three pipelines, one protocol
# -----------------------------
# All are ordinary scikit-learn pipelines from audio paths to labels; only
# the middle differs. ``evaluate`` keeps every speaker on one side of each
# split (``protocol="speaker_kfold"``).
# openSMILE runs in two worker processes (``n_jobs=2``): inside a process
# that has imported TensorFlow it can crash.
pipelines = {
    "recommended: Whisper + GE2E encoders + logistic regression": make_ser_pipeline(
        random_state=0, memory=str(workdir / "cache")),
}
try:  # the optional openSMILE extra
    import opensmile  # noqa: F401

    pipelines["eGeMAPS functionals + logistic regression"] = make_pipeline(
        AudioLoader(sr=16000, trim_db=30.0), OpenSmileFunctionals("eGeMAPSv02", n_jobs=2),
        StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
except ImportError:
    print("openSMILE is not installed (pip install 'sklearn-ser[opensmile]'): skipping eGeMAPS")
cnn_settings = {"cnn__epochs": 10, "augment__views": ("clean",)} if QUICK else {}
pipelines["cnn: feature images + CNN from scratch"] = make_ser_pipeline(
    "cnn", random_state=0, memory=str(workdir / "cache"), **cnn_settings)

n_splits = 3 if QUICK else 6
results = {name: evaluate(pipe, data, protocol="speaker_kfold", n_splits=n_splits,
                          random_state=0)
           for name, pipe in pipelines.items()}
chance = 1 / len(set(data["target"]))
for name, result in results.items():
    summary = result.summary()
    print(f"{name}: accuracy {summary.loc['accuracy', 'mean']:.3f} (chance {chance:.3f}) "
          f"+- {summary.loc['accuracy', 'std']:.3f} over {n_splits} speaker folds")

# %%
# Per fold
# --------
# Each fold tests speakers the model has never heard.
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
width = 0.8 / len(results)
for i, (name, result) in enumerate(results.items()):
    folds = result.fold_scores
    offset = (i - (len(results) - 1) / 2) * width
    ax.bar(np.arange(len(folds)) + offset, folds["accuracy"], width, label=name.split(":")[0])
ax.axhline(chance, color="grey", linestyle=":", label="chance")
ax.set_xticks(np.arange(n_splits), [str(k + 1) for k in range(n_splits)])
ax.set_xlabel("speaker fold")
ax.set_ylabel("accuracy on unseen speakers")
ax.set_ylim(0, 1)
epochs = pipelines["cnn: feature images + CNN from scratch"]["cnn"].epochs
ax.set_title(f"{corpus}, {n_speakers} speakers, {n_splits} folds by speaker "
             f"(CNN: {epochs} epochs)", fontsize=10)
ax.legend(fontsize=8, loc="lower right")

# %%
# The CNN's training
# ------------------
# The ``cnn`` step is a :class:`~sklearn_ser.SERClassifier`: a Keras network
# behind the scikit-learn API, with its per-epoch ``history_``. Here it is
# fitted once more on all clips.
cnn_pipe = pipelines["cnn: feature images + CNN from scratch"].fit(
    data["filenames"], data["target"])
network = cnn_pipe["cnn"]
assert isinstance(network, SERClassifier)
print(f"CNN: {network.model_.count_params():,} parameters, {len(network.history_['loss'])} "
      "epochs")
fig = plot_training_history(network.history_)

# %%
# What the encoder gives
# ----------------------
# 2,816 numbers per clip: GE2E's second LSTM layer averaged over time, with
# its spread and how fast it changes (768), and Whisper's second and third
# transformer blocks averaged over time with their spread (2,048). No
# TensorFlow and no torch are needed to compute them or to load a fitted
# ``recommended`` pipeline.
encoder = pipelines["recommended: Whisper + GE2E encoders + logistic regression"].fit(
    data["filenames"], data["target"])["encoder"]
names = encoder.get_feature_names_out()
print(len(names), names[[0, 256, 512, 768, 1792]])
