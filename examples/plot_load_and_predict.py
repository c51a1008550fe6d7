"""
==========================================
Save, load and share a model, then predict
==========================================

A fitted pipeline is saved with :func:`sklearn_ser.persistence.save_model`,
which records the versions of sklearn_ser, scikit-learn, Keras and librosa
and the label set; :func:`~sklearn_ser.persistence.load_model` warns when
they differ.

.. warning::

   A ``.joblib`` file is a pickle: loading it can run any code. Load only
   files from a source you trust. To share a model, use
   :func:`~sklearn_ser.persistence.export_model`: a folder of JSON files
   (the pipeline's parameters and fitted numbers; for a CNN also the network
   in Keras' ``.keras`` format), read back by
   :func:`~sklearn_ser.persistence.import_model` without pickle.

Pass ``--model PATH`` to load your own model (e.g. from ``sklearn-ser
train``) instead of training one here: on RAVDESS when
``SKLEARN_SER_RAVDESS`` names its folder, otherwise on synthetic
speech-like audio. ``--quick`` (or ``SKLEARN_SER_EXAMPLE_QUICK=1``) uses
fewer speakers.
"""

# %%
import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import load_ravdess, make_emotional_speech
from sklearn_ser.persistence import export_model, import_model, load_model, save_model

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--model", type=Path, help="a model saved with save_model")
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKLEARN_SER_EXAMPLE_QUICK") == "1"
workdir = Path(tempfile.mkdtemp(prefix="sklearn_ser_persist_"))

# %%
# A model to save
# ---------------
# The model learns from some speakers; the clips it predicts below are of
# another one.
RAVDESS = os.environ.get("SKLEARN_SER_RAVDESS")
if RAVDESS and os.path.isdir(RAVDESS):
    data = load_ravdess(RAVDESS, drop_labels="calm")
    actors = np.unique(data.speaker)
    train = np.isin(data.speaker, actors[:6 if QUICK else -1])
    new = data.speaker == actors[-1]
    X_train, y_train = data.filenames[train], data.target[train]
    X_new, y_new = data.filenames[new], data.target[new]
    corpus = "RAVDESS"
else:
    data = make_emotional_speech(
        n_speakers=5, n_clips_per_emotion=4 if QUICK else 6, duration=1.5 if QUICK else 2.0,
        out_dir=workdir / "audio", random_state=0,
    )
    train = data.speaker != "synth_spk05"
    X_train, y_train = data.filenames[train], data.target[train]
    X_new, y_new = data.filenames[~train], data.target[~train]
    corpus = "synthetic speech (not human)"
if args.model is None:
    pipe = make_ser_pipeline(random_state=0)  # the "recommended" preset
    pipe.fit(X_train, y_train)
    model_path = save_model(pipe, workdir / "model.joblib",
                            metadata={"trained_on": f"{corpus}, {len(X_train)} clips"})
else:
    model_path = args.model
print("model file:", Path(model_path).name)

# %%
# Load it and predict
# -------------------
# ``load_model`` returns the fitted pipeline: give it audio file paths, here
# the clips of a speaker the model has never heard.
model = load_model(model_path)
proba = model.predict_proba(X_new)
for path, truth, p in list(zip(X_new, y_new, proba))[::max(len(X_new) // 8, 1)]:
    best = model.classes_[np.argmax(p)]
    print(f"{Path(path).name:32s} true {truth:8s} predicted {best:8s} p={p.max():.2f}")
correct = np.mean(model.classes_[proba.argmax(axis=1)] == y_new)
print(f"accuracy {correct:.3f} (chance {1 / len(model.classes_):.3f}) on {len(y_new)} clips "
      f"of a new speaker ({corpus})")

# %%
# Share it without pickle
# -----------------------
# The export folder holds ``pipeline.json`` and ``metadata.json`` (and
# ``network.keras`` for a CNN); importing it rebuilds the same pipeline. The
# encoder's weights are not copied: the importing machine uses its installed
# ones, and the import checks that they are the same file.
export_dir = export_model(model, workdir / "shared_model")
print(sorted(p.name for p in export_dir.iterdir()))
same = import_model(export_dir)
np.testing.assert_allclose(same.predict_proba(X_new), proba, rtol=1e-5, atol=1e-6)
print("the imported model predicts the same probabilities")
