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
   :func:`~sklearn_ser.persistence.export_model`: a folder with the network
   in Keras' ``.keras`` format and the pipeline's parameters as JSON, read
   back by :func:`~sklearn_ser.persistence.import_model` without pickle.

Pass ``--model PATH`` to load your own model (e.g. from ``sklearn-ser
train``) instead of training a small one here. ``--quick`` (or
``SKLEARN_SER_EXAMPLE_QUICK=1``) keeps the training short.
"""

# %%
import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import make_emotional_speech
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
data = make_emotional_speech(
    n_speakers=4, n_clips_per_emotion=2 if QUICK else 5, duration=1.0 if QUICK else 2.0,
    out_dir=workdir / "audio", random_state=0,
)
if args.model is None:
    pipe = make_ser_pipeline(
        random_state=0, features__features=("mel", "mfcc_delta2"), features__n_mfcc=13,
        features__mel_db=True, features__standardize="block", features__n_columns=32,
        cnn__architecture="compact", cnn__conv_filters=(8, 16), cnn__dense_units=(16,),
        cnn__epochs=2 if QUICK else 15, cnn__batch_size=16,
    )
    pipe.fit(data.filenames, data.target)
    model_path = save_model(pipe, workdir / "model.joblib",
                            metadata={"trained_on": "synthetic example data"})
else:
    model_path = args.model
print("model file:", model_path)

# %%
# Load it and predict
# -------------------
# ``load_model`` returns the fitted pipeline: give it audio file paths.
model = load_model(model_path)
new_clips = make_emotional_speech(
    n_speakers=1, n_clips_per_emotion=1, duration=1.0 if QUICK else 2.0,
    out_dir=workdir / "new", random_state=1,
)
proba = model.predict_proba(new_clips.filenames)
for path, truth, p in zip(new_clips.filenames, new_clips.target, proba):
    best = model.classes_[np.argmax(p)]
    print(f"{Path(path).name:32s} true {truth:8s} predicted {best:8s} p={p.max():.2f}")

# %%
# Share it without pickle
# -----------------------
# The export folder holds ``network.keras``, ``pipeline.json`` and
# ``metadata.json``; importing it rebuilds the same pipeline.
export_dir = export_model(model, workdir / "shared_model")
print(sorted(p.name for p in export_dir.iterdir()))
same = import_model(export_dir)
np.testing.assert_allclose(same.predict_proba(new_clips.filenames), proba, rtol=1e-5, atol=1e-6)
print("the imported model predicts the same probabilities")
