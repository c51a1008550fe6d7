"""
====================================================
Speaker adaptation: what it needs, what it gives
====================================================

Voices differ from each other more than one voice differs between its
emotions. With ``speaker_adaptation=True`` the ``recommended`` pipeline
standardises each speaker's encoder vectors with statistics of that
speaker's own clips (:class:`~sklearn_ser.SpeakerStandardizer`). It needs no
labels, but it needs **several clips of each new speaker**, passed together
with their speaker ids through scikit-learn's metadata routing.

It is a different protocol from speaker-independent prediction and is
reported separately. This example shows the gain, how it depends on the
number of clips, and the case where it must not be used.

The corpus comes from ``--data DIR`` or ``SKLEARN_SER_RAVDESS`` (as in the
documentation build); without either, synthetic speech-like audio (not
human speech). ``--quick`` (or ``SKLEARN_SER_EXAMPLE_QUICK=1``) uses fewer
speakers.
"""

# %%
import argparse
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.utils import Bunch

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import load_ravdess, make_emotional_speech
from sklearn_ser.evaluation import evaluate, speaker_split

parser = argparse.ArgumentParser(description="Speaker adaptation")
parser.add_argument("--data", type=Path, default=os.environ.get("SKLEARN_SER_RAVDESS"))
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
workdir = Path(tempfile.mkdtemp(prefix="sklearn_ser_adaptation_"))
if args.data is not None and Path(args.data).is_dir():
    data = load_ravdess(args.data, drop_labels="calm")
    if QUICK:  # 8 actors keep the documentation build short
        keep = np.isin(data.speaker, np.unique(data.speaker)[:8])
        data = Bunch(**{key: data[key][keep] for key in ("filenames", "target", "speaker")})
    corpus = "RAVDESS"
else:
    data = make_emotional_speech(n_speakers=6, n_clips_per_emotion=4, duration=1.5,
                                 out_dir=workdir / "synthetic", random_state=0)
    corpus = "synthetic speech (not human)"
chance = 1 / len(set(data.target))
print(f"{corpus}: {len(data.filenames)} clips, {len(set(data.speaker))} speakers")
cache = str(workdir / "cache")
min_clips = 4 if QUICK else 10

# %%
# Both protocols on the same speaker folds
# ----------------------------------------
# ``evaluate`` sees that the adaptive pipeline uses speaker ids and routes
# each side's ids to ``fit`` and ``predict``; its result is marked
# ``speaker_adaptive``.
plain = make_ser_pipeline(random_state=0, memory=cache)
adaptive = make_ser_pipeline("recommended", speaker_adaptation=True, random_state=0,
                             memory=cache, scale__min_clips=min_clips)
n_splits = 2 if QUICK else 6
for pipe in (plain, adaptive):
    result = evaluate(pipe, data, protocol="speaker_kfold", n_splits=n_splits, random_state=0)
    print(f"{result.protocol:38s} accuracy {result.summary().loc['accuracy', 'mean']:.3f} "
          f"(chance {chance:.3f})")

# %%
# In your own code
# ----------------
# Turn metadata routing on, then pass ``groups`` to ``fit`` and ``predict``.
# A new speaker's clips are predicted together, so that their statistics come
# from all of them.
train, test = speaker_split(data.target, data.speaker, test_size=0.34, random_state=0)
with sklearn.config_context(enable_metadata_routing=True):
    adaptive.fit(data.filenames[train], data.target[train], groups=data.speaker[train])
    adapted = adaptive.predict(data.filenames[test], groups=data.speaker[test])
plain.fit(data.filenames[train], data.target[train])
independent = np.mean(plain.predict(data.filenames[test]) == data.target[test])
print(f"speaker-independent: accuracy {independent:.3f} (chance {chance:.3f})")
print(f"speaker-adaptive:    accuracy {np.mean(adapted == data.target[test]):.3f} "
      f"(chance {chance:.3f})")

# %%
# How many clips of a new speaker?
# --------------------------------
# Statistics from fewer clips are noisier. Here each test speaker's clips are
# predicted in batches of ``k`` (the statistics come from each batch); with
# fewer than ``min_clips`` clips the pipeline falls back to the training
# statistics and warns.
ks = [2, 4, 8, 16] if QUICK else [5, 10, 20, 60]
scores = []
rng = np.random.RandomState(0)
with sklearn.config_context(enable_metadata_routing=True):
    adaptive.set_params(scale__min_clips=2)
    for k in ks:
        correct = []
        for speaker in np.unique(data.speaker[test]):
            clips = rng.permutation(test[data.speaker[test] == speaker])
            for start in range(0, len(clips), k):
                batch = clips[start:start + k]
                if len(batch) < 2:
                    continue
                pred = adaptive.predict(data.filenames[batch], groups=data.speaker[batch])
                correct.extend(pred == data.target[batch])
        scores.append(np.mean(correct))
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(ks, scores, marker="o")
ax.set_xscale("log")
ax.minorticks_off()
ax.set_xticks(ks, [str(k) for k in ks])
ax.set_xlabel("clips of the new speaker per batch")
ax.set_ylabel("accuracy")
ax.axhline(chance, color="grey", linestyle=":", label="chance")
ax.legend(loc="lower right")
ax.set_title(f"Speaker adaptation needs several clips ({corpus})", fontsize=10)
fig.tight_layout()

# %%
# When not to use it
# ------------------
# The statistics assume each speaker's batch spans several emotions. If a
# batch holds one emotion only (one angry phone call, say), standardising
# removes the very difference the model looks for:
angry_only = test[data.target[test] == data.target[test][0]]
with sklearn.config_context(enable_metadata_routing=True):
    pred = adaptive.predict(data.filenames[angry_only], groups=data.speaker[angry_only])
print(f"one-emotion batches ({data.target[test][0]}): accuracy "
      f"{np.mean(pred == data.target[angry_only]):.2f}")
# Use the speaker-independent pipeline there, or adapt with statistics from
# other recordings of the same speaker.
