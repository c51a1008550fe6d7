"""
==========================================
Quickstart: audio files in, emotions out
==========================================

Train the default pipeline, ``make_ser_pipeline()``, test it on speakers it
has never heard, and plot the confusion matrix.

The pipeline is an ordinary :class:`sklearn.pipeline.Pipeline` whose input
is a list of audio file paths: it loads the audio, describes each clip with
a pretrained speech encoder (:class:`~sklearn_ser.GE2EEncoder`) and reads the
emotion from that description with a logistic regression. It is the
``"recommended"`` preset, the best model measured on voices it was not
trained on (see the accuracy page); its weights come with
``pip install --no-deps "resemblyzer==0.1.4"``.

The clips are RAVDESS when ``SKLEARN_SER_RAVDESS`` names its folder (as in
the documentation build), otherwise synthetic speech-like audio. ``--quick``
(or ``SKLEARN_SER_EXAMPLE_QUICK=1``) uses fewer speakers.
"""

# %%
# The data
# --------
# :func:`~sklearn_ser.datasets.load_ravdess` returns file paths, labels and
# speaker ids. Without the corpus,
# :func:`~sklearn_ser.datasets.make_emotional_speech` writes speech-like
# audio files (a source-filter simulation, *not* real speech) whose pitch,
# tempo, loudness and voice quality depend on the emotion; it needs no
# download.
import os
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import load_ravdess, make_emotional_speech
from sklearn_ser.evaluation import speaker_split
from sklearn_ser.plotting import plot_confusion_matrix
from sklearn_ser.reporting import classification_summary

QUICK = "--quick" in sys.argv or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
RAVDESS = os.environ.get("SKLEARN_SER_RAVDESS")

if RAVDESS and os.path.isdir(RAVDESS):
    data = load_ravdess(RAVDESS, drop_labels="calm")
    if QUICK:  # 10 of the actors keep the documentation build short
        keep = np.isin(data.speaker, np.unique(data.speaker)[:10])
        data = {key: data[key][keep] for key in ("filenames", "target", "speaker")}
    corpus = "RAVDESS"
else:
    data = make_emotional_speech(
        n_speakers=6 if QUICK else 8, n_clips_per_emotion=4 if QUICK else 6,
        duration=1.5 if QUICK else 2.0,
        out_dir=tempfile.mkdtemp(prefix="sklearn_ser_quickstart_"), random_state=0,
    )
    corpus = "synthetic speech (not human)"
print(f"{corpus}: {len(data['filenames'])} clips, {len(set(data['speaker']))} speakers, "
      f"labels {', '.join(sorted(set(data['target'])))}")

# %%
# Hold out whole speakers
# -----------------------
# Clips of one speaker resemble each other, so a random clip split would
# test on voices the model was trained on. Split by speaker instead.
train, test = speaker_split(data["target"], data["speaker"], test_size=0.25, random_state=0)
X_train, y_train = data["filenames"][train], data["target"][train]
X_test, y_test = data["filenames"][test], data["target"][test]
n_test_speakers = len(set(data["speaker"][test]))

# %%
# Build and fit the pipeline
# --------------------------
# One line. Step parameters go in the usual ``step__param`` form, e.g.
# ``make_ser_pipeline(classifier__estimator__C=0.1)``;
# ``make_ser_pipeline("reference")`` is the published CNN recipe.
pipe = make_ser_pipeline(random_state=0)
pipe.fit(X_train, y_train)
print([name for name, _ in pipe.steps])

# %%
# Predict and score
# -----------------
y_pred = pipe.predict(X_test)
summary = classification_summary(y_test, y_pred)
chance = 1 / len(summary["labels"])
print(f"accuracy {summary['accuracy']:.3f} (chance {chance:.3f}), "
      f"UAR {summary['uar']:.3f} (chance {chance:.3f}) on {len(y_test)} clips of "
      f"{n_test_speakers} speakers never heard in training")
print(summary["classification_report_text"])

# %%
# Confusion matrix
# ----------------
# Rows are the true emotions, normalised: the diagonal is each class' recall.
fig = plot_confusion_matrix(
    y_test, y_pred, labels=summary["labels"],
    title=f"make_ser_pipeline() on {corpus}\n{n_test_speakers} unseen speakers, "
          f"accuracy {summary['accuracy']:.2f} (chance {chance:.2f})",
)
plt.show()
