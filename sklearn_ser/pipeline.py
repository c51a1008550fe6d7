"""``make_ser_pipeline``: the whole audio-to-emotion Pipeline, with named presets."""

from __future__ import annotations

import copy
from typing import Any

from sklearn.pipeline import Pipeline

from sklearn_ser.audio import AudioLoader
from sklearn_ser.augment import WaveformAugmenter
from sklearn_ser.features import FeatureImageExtractor
from sklearn_ser.models import SERClassifier

#: Step parameters of each preset (``step__param``), applied before the user's.
PRESETS: dict[str, dict[str, Any]] = {
    # The published recipe, unchanged: 3 views per clip, raw 106x160 images,
    # the 3.5M-parameter CNN, 100 epochs of Adam with batch 25.
    "reference": {},
    # Best measured on speaker-independent RAVDESS (docs/accuracy.rst): silence
    # trimmed; clean, noisy and pitch-shifted (+-1.5 semitones) views; log-mel (64
    # bands) + 20 MFCCs + chroma + contrast (no tonnetz: slow), standardised per row,
    # 128 columns; the reference CNN for 25 epochs.
    "recommended": {
        "load__trim_db": 30.0,
        "augment__views": ("clean", "noise", "pitch"),
        "augment__pitch_steps": (-1.5, 1.5),
        "features__features": ("mel", "mfcc", "chroma", "contrast"),
        "features__mel_pool": 2,
        "features__mel_groups": None,
        "features__mel_db": True,
        "features__n_mfcc": 20,
        "features__n_columns": 128,
        "features__standardize": "row",
        "cnn__epochs": 25,
    },
}


def make_ser_pipeline(
    preset: str = "reference",
    *,
    sr: int = 22050,
    random_state: int | None = None,
    n_jobs: int | None = None,
    memory: Any = None,
    verbose: int = 0,
    **params: Any,
) -> Pipeline:
    """Build the Pipeline that maps audio file paths to emotion labels.

    Steps: ``load`` (:class:`~sklearn_ser.AudioLoader`), ``augment``
    (:class:`~sklearn_ser.WaveformAugmenter`, active only in ``fit``),
    ``features`` (:class:`~sklearn_ser.FeatureImageExtractor`) and ``cnn``
    (:class:`~sklearn_ser.SERClassifier`).

    Parameters
    ----------
    preset : str, default="reference"
        Named configuration, see :data:`PRESETS`.
    sr : int, default=22050
        Sample rate used by every step (kept consistent across them).
    random_state : int or None, default=None
        Seeds augmentation and the network; the same seed and data give the
        same predictions.
    n_jobs : int or None, default=None
        joblib workers for loading, augmentation and features.
    memory : None, str or joblib.Memory, default=None
        Feature cache (see :class:`~sklearn_ser.FeatureImageExtractor`).
    verbose : int, default=0
        Progress bars for the audio steps and Keras' per-epoch lines when > 0.
    **params
        Step parameters in Pipeline syntax, e.g. ``cnn__epochs=30`` or
        ``augment__noise_amplitude=0.01``; they override the preset.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline

    Examples
    --------
    >>> from sklearn_ser import make_ser_pipeline
    >>> pipe = make_ser_pipeline(random_state=0, cnn__epochs=30)
    >>> [name for name, _ in pipe.steps]
    ['load', 'augment', 'features', 'cnn']
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    pipeline = Pipeline([
        ("load", AudioLoader(sr=sr, n_jobs=n_jobs, verbose=verbose)),
        ("augment", WaveformAugmenter(sr=sr, random_state=random_state, n_jobs=n_jobs,
                                      verbose=verbose)),
        ("features", FeatureImageExtractor(sr=sr, memory=memory, n_jobs=n_jobs,
                                           verbose=verbose)),
        ("cnn", SERClassifier(random_state=random_state, verbose=2 if verbose else 0)),
    ])
    settings = {**copy.deepcopy(PRESETS[preset]), **params}
    unknown = sorted(k for k in settings if k not in pipeline.get_params())
    if unknown:
        raise ValueError(
            f"unknown pipeline parameter {unknown[0]!r}; parameters look like "
            "'cnn__epochs' or 'augment__noise_amplitude' (see pipeline.get_params())"
        )
    return pipeline.set_params(**settings)
