"""
=====================================
What the network sees: feature images
=====================================

Each clip becomes one 2-D image: blocks of spectral features stacked on top
of each other (mel spectrogram, chroma, second-order MFCC deltas, spectral
contrast, tonnetz), every block resampled to the same number of time
columns: the input of the CNN presets (``make_ser_pipeline("reference")``
and ``"cnn"``). This example draws the image of one clip per emotion, from
RAVDESS when ``SKLEARN_SER_RAVDESS`` names its folder, otherwise from
synthetic speech-like audio.

Run with ``--quick`` (or ``SKLEARN_SER_EXAMPLE_QUICK=1``) to skip tonnetz,
the slowest block.
"""

# %%
import os
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from sklearn_ser import AudioLoader, FeatureImageExtractor
from sklearn_ser.datasets import load_ravdess, make_emotional_speech
from sklearn_ser.plotting import plot_feature_image

QUICK = "--quick" in sys.argv or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"

emotions = ("neutral", "happy", "sad", "angry")
RAVDESS = os.environ.get("SKLEARN_SER_RAVDESS")
if RAVDESS and os.path.isdir(RAVDESS):
    corpus = load_ravdess(RAVDESS)
    actor = np.unique(corpus.speaker)[0]
    paths = [corpus.filenames[(corpus.speaker == actor) & (corpus.target == label)][0]
             for label in emotions]
    source = f"RAVDESS actor {actor}"
else:
    data = make_emotional_speech(
        n_speakers=1, n_clips_per_emotion=1, emotions=emotions, duration=2.0,
        out_dir=tempfile.mkdtemp(prefix="sklearn_ser_features_"), random_state=0,
    )
    paths = list(data.filenames)
    source = "synthetic speech (not human)"

# %%
# Extract the images
# ------------------
# The extractor is the pipeline's ``features`` step. With the default
# ``standardize=None`` the blocks keep their raw scales (mel power spans many
# orders of magnitude, chroma lies in [0, 1]); the plot therefore scales
# each block to its own range.
features = ("mel", "chroma", "mfcc_delta2", "contrast")
if not QUICK:
    features += ("tonnetz",)
# Two seconds of each clip (after trimming leading silence) keep the images
# comparable.
waves = AudioLoader(trim_db=30.0, duration=2.0).fit_transform(paths)
extractor = FeatureImageExtractor(features=features, mel_db=True)
images = extractor.fit_transform(waves)
print("image shape (clips, rows, columns):", images.shape)
print("rows of each block:", {k: (v.start, v.stop) for k, v in extractor.block_slices_.items()})

# %%
# One image per emotion
# ---------------------
# Angry and happy clips are louder, brighter and higher in pitch than sad
# ones; look at the upper mel rows and the contrast block.
fig, axes = plt.subplots(2, 2, figsize=(14, 9), layout="constrained")
for ax, image, label in zip(axes.flat, images, emotions):
    plot_feature_image(image, block_slices=extractor.block_slices_, duration=2.0, ax=ax,
                       title=f"{label} ({source})")
plt.show()
