"""
=====================================================
Grid search with speaker-independent folds
=====================================================

Tune the augmentation and the classifier of the default pipeline together
with :class:`~sklearn.model_selection.GridSearchCV`, using
:class:`~sklearn.model_selection.GroupKFold` on the speakers so that no
speaker is in both the training and the validation part of a fold.

Augmentation is a pipeline step (:class:`~sklearn_ser.WaveformAugmenter`)
that acts only in ``fit``: every fold augments its own training clips, so no
augmented copy of a validation clip is ever trained on. The augmented clips
travel as one :class:`~sklearn_ser.Views` object, and
:class:`~sklearn_ser.ViewsClassifier` lets any scikit-learn classifier train
on all of them. A cache (``memory=``) lets candidates that share the audio
settings reuse the encoder vectors.

The clips are RAVDESS when ``SKLEARN_SER_RAVDESS`` names its folder,
otherwise synthetic speech-like audio. ``--quick`` (or
``SKLEARN_SER_EXAMPLE_QUICK=1``) uses fewer speakers.
"""

# %%
import os
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.svm import SVC

from sklearn_ser import AudioLoader, Views, ViewsClassifier, WaveformAugmenter, make_ser_pipeline
from sklearn_ser.datasets import load_ravdess, make_emotional_speech

QUICK = "--quick" in sys.argv or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
RAVDESS = os.environ.get("SKLEARN_SER_RAVDESS")

if RAVDESS and os.path.isdir(RAVDESS):
    data = load_ravdess(RAVDESS, drop_labels="calm")
    keep = np.isin(data.speaker, np.unique(data.speaker)[:6 if QUICK else 24])
    data = {key: data[key][keep] for key in ("filenames", "target", "speaker")}
    corpus = "RAVDESS"
else:
    data = make_emotional_speech(
        n_speakers=6, n_clips_per_emotion=3 if QUICK else 5, duration=1.5 if QUICK else 2.0,
        out_dir=tempfile.mkdtemp(prefix="sklearn_ser_grid_"), random_state=0,
    )
    corpus = "synthetic speech (not human)"
X, y, speakers = data["filenames"], data["target"], data["speaker"]
print(f"{corpus}: {len(X)} clips, {len(set(speakers))} speakers")

# %%
# What the augmenter gives a classifier
# -------------------------------------
# ``fit_transform`` (what ``Pipeline.fit`` calls) returns several views of
# each clip, named; ``transform`` (what ``predict`` calls) only the clean
# clips.
waves = AudioLoader(sr=16000).fit_transform(X[:3])
augmenter = WaveformAugmenter(sr=16000, views=("clean", "noise"), random_state=0)
views = augmenter.fit_transform(waves)
assert isinstance(views, Views)
print(views.names, "views of", len(views), "clips;", len(augmenter.transform(waves)),
      "clean clips at predict time")

# %%
# The pipeline and the grid
# -------------------------
# Two augmentation settings times two classifiers. Each classifier is wrapped
# in :class:`~sklearn_ser.ViewsClassifier`, which trains it on every view
# with its clip's label (so ``y`` keeps one entry per clip).
cache = tempfile.mkdtemp(prefix="sklearn_ser_grid_cache_")
pipe = make_ser_pipeline(random_state=0, memory=cache)
grid = {
    "augment__views": [("clean",), ("clean", "noise")],
    "classifier": [
        ViewsClassifier(LogisticRegression(C=0.01, max_iter=5000)),
        ViewsClassifier(SVC(C=1.0)),
    ],
}

# %%
# Speaker-independent folds
# -------------------------
# ``groups`` goes to ``fit`` and from there to the splitter.
n_splits = 3
search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=n_splits),
                      scoring="balanced_accuracy", refit=True)
search.fit(X, y, groups=speakers)

results = pd.DataFrame(search.cv_results_)
chance = 1 / len(set(y))
labels = [f"{'+'.join(views)}, {type(clf.estimator).__name__}"
          for views, clf in zip(results["param_augment__views"], results["param_classifier"])]
for label, mean, std in zip(labels, results["mean_test_score"], results["std_test_score"]):
    print(f"{label:38s} UAR {mean:.3f} (chance {chance:.3f}) +- {std:.3f}")
best = labels[search.best_index_]
print(f"best: {best}, UAR {search.best_score_:.3f} (chance {chance:.3f})")

# %%
# Compare the candidates
# ----------------------
fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"], color="tab:blue")
ax.axvline(chance, color="0.4", linestyle=":", label="chance")
ax.set_xlabel(f"UAR (balanced accuracy), {n_splits} folds by speaker")
ax.set_xlim(0, 1)
ax.set_title(f"Grid search of make_ser_pipeline() on {corpus}, "
             f"{len(set(speakers))} speakers", fontsize=10)
ax.legend(loc="lower right")
plt.show()
