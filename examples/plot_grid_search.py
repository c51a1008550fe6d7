"""
=====================================================
Grid search with speaker-independent folds
=====================================================

Tune an augmentation parameter and a network parameter together with
:class:`~sklearn.model_selection.GridSearchCV`, using
:class:`~sklearn.model_selection.GroupKFold` on the speakers so that no
speaker is in both the training and the validation part of a fold.

Because augmentation is a pipeline step that acts only in ``fit``, every
fold augments its own training clips: no augmented copy of a validation clip
is ever trained on. A feature cache (``memory=``) lets candidates that share
the audio settings reuse the feature images.

Run with ``--quick`` (or ``SKLEARN_SER_EXAMPLE_QUICK=1``) for a tiny grid.
"""

# %%
import os
import sys
import tempfile

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import make_emotional_speech

QUICK = "--quick" in sys.argv or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"

data = make_emotional_speech(
    n_speakers=4 if QUICK else 6,
    n_clips_per_emotion=2 if QUICK else 5,
    duration=1.0 if QUICK else 2.0,
    out_dir=tempfile.mkdtemp(prefix="sklearn_ser_grid_"),
    random_state=0,
)

# %%
# The pipeline and the grid
# -------------------------
cache = tempfile.mkdtemp(prefix="sklearn_ser_grid_cache_")
params = {
    "features__features": ("mel", "mfcc_delta2"),
    "features__n_mfcc": 13,
    "features__mel_db": True,
    "features__standardize": "block",
    "features__n_columns": 32 if QUICK else 64,
    "cnn__architecture": "compact",
    "cnn__conv_filters": (8, 16) if QUICK else (16, 32, 64),
    "cnn__dense_units": (16,) if QUICK else (32,),
    "cnn__epochs": 2 if QUICK else 20,
    "cnn__batch_size": 16,
}
pipe = make_ser_pipeline(random_state=0, memory=cache, **params)
grid = {
    # Which augmented views each training clip gets.
    "augment__views": [("clean",), ("clean", "noise", "noise+pitch+stretch")],
    "cnn__learning_rate": [0.005] if QUICK else [0.001, 0.005],
}

# %%
# Speaker-independent folds
# -------------------------
# ``groups`` goes to ``fit`` and from there to the splitter.
search = GridSearchCV(
    pipe, grid, cv=GroupKFold(n_splits=2 if QUICK else 3), scoring="balanced_accuracy",
    refit=True,
)
search.fit(data.filenames, data.target, groups=data.speaker)

results = pd.DataFrame(search.cv_results_)
columns = ["param_augment__views", "param_cnn__learning_rate", "mean_test_score",
           "std_test_score", "rank_test_score"]
print(results[columns].to_string(index=False))
print("best:", search.best_params_, f"UAR {search.best_score_:.3f}")

# %%
# Compare the candidates
# ----------------------
labels = [
    f"{len(views)} view{'s' if len(views) > 1 else ''}, lr {lr}"
    for views, lr in zip(results["param_augment__views"], results["param_cnn__learning_rate"])
]
fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"], color="tab:blue")
ax.axvline(1 / len(set(data.target)), color="0.4", linestyle=":", label="chance")
ax.set_xlabel("UAR (balanced accuracy), speaker-independent folds")
ax.set_xlim(0, 1)
ax.legend(loc="lower right")
plt.show()
