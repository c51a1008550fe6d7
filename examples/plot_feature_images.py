"""
=====================================
What the network sees: feature images
=====================================

Each clip becomes one 2-D image: blocks of spectral features stacked on top
of each other (mel spectrogram, chroma, second-order MFCC deltas, spectral
contrast, tonnetz), every block resampled to the same number of time
columns. This example draws the image of one clip per emotion.

Run with ``--quick`` (or ``SKLEARN_SER_EXAMPLE_QUICK=1``) to skip tonnetz,
the slowest block.
"""

# %%
import os
import sys
import tempfile

import matplotlib.pyplot as plt

from sklearn_ser import AudioLoader, FeatureImageExtractor
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.plotting import plot_feature_image

QUICK = "--quick" in sys.argv or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"

emotions = ("neutral", "happy", "sad", "angry")
data = make_emotional_speech(
    n_speakers=1, n_clips_per_emotion=1, emotions=emotions, duration=2.0,
    out_dir=tempfile.mkdtemp(prefix="sklearn_ser_features_"), random_state=0,
)

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
waves = AudioLoader().fit_transform(data.filenames)
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
for ax, image, label in zip(axes.flat, images, data.target):
    plot_feature_image(image, block_slices=extractor.block_slices_, duration=2.0, ax=ax,
                       title=f"{label}")
plt.show()
