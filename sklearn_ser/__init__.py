"""sklearn_ser: scikit-learn compatible speech emotion recognition.

One :class:`sklearn.pipeline.Pipeline` goes from audio file paths to emotion
labels::

    from sklearn_ser import make_ser_pipeline
    pipe = make_ser_pipeline(random_state=0)
    pipe.fit(train_paths, train_labels)
    pipe.predict(["clip.wav"])

The steps are ordinary estimators: :class:`AudioLoader` (``load``),
:class:`WaveformAugmenter` (``augment``), :class:`FeatureImageExtractor`
(``features``) and :class:`SERClassifier` (``cnn``).
"""

from sklearn_ser._quiet import quiet_tensorflow_logs

quiet_tensorflow_logs()

from sklearn_ser.audio import AudioLoader, load_audio  # noqa: E402
from sklearn_ser.augment import WaveformAugmenter  # noqa: E402
from sklearn_ser.exceptions import AudioFileError  # noqa: E402
from sklearn_ser.features import FeatureImageExtractor, feature_image  # noqa: E402

__version__ = "0.1.0"

# The Keras-backed parts import TensorFlow (seconds); load them on first use so
# that `import sklearn_ser` and the command line's --help stay fast.
_LAZY = {
    "SERClassifier": "sklearn_ser.models",
    "build_cnn": "sklearn_ser.models",
    "make_ser_pipeline": "sklearn_ser.pipeline",
    "PRESETS": "sklearn_ser.pipeline",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sklearn_ser' has no attribute {name!r}")


__all__ = [
    "AudioFileError",
    "AudioLoader",
    "FeatureImageExtractor",
    "PRESETS",
    "SERClassifier",
    "WaveformAugmenter",
    "build_cnn",
    "feature_image",
    "load_audio",
    "make_ser_pipeline",
]
