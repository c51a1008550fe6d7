"""Save and load fitted pipelines, with the versions they were made with.

Two formats:

``save_model`` / ``load_model`` (one ``.joblib`` file)
    The whole fitted :class:`~sklearn.pipeline.Pipeline` pickled with joblib,
    wrapped in a small record of the package versions, the label set and the
    creation time. Loading under other versions warns
    (:class:`ModelVersionWarning`).

``export_model`` / ``import_model`` (a folder, no pickle)
    ``pipeline.json`` (the step parameters that define the model and its
    learned numbers, as plain JSON), ``metadata.json`` and, for the CNN
    presets, ``network.keras`` (the Keras network, saved by Keras itself).
    Importing rebuilds the pipeline with
    :func:`~sklearn_ser.make_ser_pipeline`, sets only allow-listed
    parameters (each type- and range-checked), takes runtime settings
    (cache, workers, verbosity) from the caller and checks every learned
    array's type, shape and values. CNN layout: the network is checked
    against the classes and the image shape and loaded with
    ``safe_mode=True``. Encoder layout (the ``"recommended"`` preset): the
    encoder always uses the installed package's weights, which must be those
    the model was exported with, and nothing imports TensorFlow. Nothing in
    the folder can run code, read a file it names or choose what the
    machine spends.

.. warning::

   A joblib (pickle) file runs arbitrary code when it is loaded. Load
   ``.joblib`` models only from sources you trust; to share a model with
   people who should not have to trust you, send the exported folder.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import warnings
from importlib import metadata as _metadata
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

from sklearn_ser._validation import IntSequence, RealOrRange, validate_pipeline
from sklearn_ser.exceptions import ModelFileError, ModelVersionWarning


def to_json_types(value: Any) -> Any:
    """:func:`sklearn_ser.evaluation.to_json_types`, imported when used.

    The evaluation module imports pandas; loading a model to predict does not need it.
    """
    from sklearn_ser.evaluation import to_json_types as convert

    return convert(value)

__all__ = [
    "FORMAT",
    "EXPORT_FORMAT",
    "ModelFileError",
    "ModelVersionWarning",
    "export_model",
    "import_model",
    "load_model",
    "save_model",
    "versions",
]

#: Format tag of a ``save_model`` file.
FORMAT = "sklearn_ser.model/1"
#: Format tag of an ``export_model`` folder.
EXPORT_FORMAT = "sklearn_ser.export/1"

# Distributions whose versions are recorded, and the names used in the record.
_DISTRIBUTIONS = {
    "sklearn_ser": "sklearn-ser",
    "scikit-learn": "scikit-learn",
    "keras": "keras",
    "tensorflow": "tensorflow",
    "librosa": "librosa",
    "numpy": "numpy",
    "scikeras": "scikeras",
}
# Any difference in these changes how a saved model is read or behaves.
_CHECKED = ("sklearn_ser", "scikit-learn", "keras", "tensorflow", "librosa", "numpy", "scikeras")

class _ClassWeights(Options):
    """Constraint: a dict of at most 10000 labels to finite weights in [0, 1e6]."""

    def __init__(self):
        super().__init__(dict, set())

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, dict) and len(val) <= 10_000 and all(
            isinstance(w, Real) and not isinstance(w, bool) and 0 <= w <= 1e6
            for w in val.values()
        )

    def __str__(self) -> str:
        return "a dict of labels to weights between 0 and 1e6"


class _Strings(Options):
    """Constraint: a non-empty list or tuple of at most ``max_len`` short strings."""

    def __init__(self, max_len: int):
        super().__init__(tuple, set())
        self.max_len = max_len

    def is_satisfied_by(self, val: Any) -> bool:
        return (isinstance(val, list | tuple) and 0 < len(val) <= self.max_len
                and all(isinstance(v, str) and len(v) <= 200 for v in val))

    def __str__(self) -> str:
        return f"a non-empty list or tuple of at most {self.max_len} strings"


class _Choices(Options):
    """Constraint: a non-empty list or tuple of distinct values from ``choices`` (no bools)."""

    def __init__(self, choices: tuple, max_len: int):
        super().__init__(tuple, set())
        self.choices = choices
        self.max_len = max_len

    def is_satisfied_by(self, val: Any) -> bool:
        return (isinstance(val, list | tuple) and 0 < len(val) <= self.max_len
                and len(set(val)) == len(val)
                and all(not isinstance(v, bool) and v in self.choices for v in val))

    def __str__(self) -> str:
        return (f"a non-empty list or tuple of at most {self.max_len} distinct values "
                f"from {self.choices}")


# The step layouts of make_ser_pipeline that the export format rebuilds: the CNN presets
# ("reference", "cnn") and the encoder preset ("recommended").
_STEPS = ("load", "augment", "features", "cnn")
_ENCODER_STEPS = ("load", "augment", "encoder", "scale", "classifier")
# Values of GE2EEncoder's layers and pooling (sklearn_ser.encoders.LAYERS / POOLINGS).
_ENCODER_LAYERS = (1, 2, 3, "projection", "embedding")
_ENCODER_POOLINGS = ("mean", "std", "max", "delta_std")

# -- what a model folder may set ------------------------------------------------------------
#: Runtime settings: they describe the machine and the session, not the model. They are
#: never written by export_model and never read by import_model (where the caller gives
#: them): a folder cannot point a cache at planted files, start thousands of workers,
#: lift the duration limit or attach callbacks.
_RUNTIME_PARAMS = frozenset({
    "memory", "n_jobs", "verbose", "callbacks", "max_duration", "predict_batch_size",
})

_RATE = [Interval(Integral, 1000, 384_000, closed="both")]
_COUNT = [Interval(Integral, 1, 4096, closed="both")]
_FLAG = ["boolean"]
_SEED = [Interval(Integral, 0, 2**32 - 1, closed="both"), None]

#: What a model folder may set, per estimator class: parameter -> constraints, in
#: scikit-learn's constraint language (sklearn.utils._param_validation). Only parameters
#: that change what the model computes are listed, each with a type and a range tight
#: enough that no value from a file can exhaust the machine (the estimators' own
#: ``_parameter_constraints`` are checked as well). A parameter found in pipeline.json
#: that is not listed here, and is not a runtime setting, is refused with
#: ModelFileError. To make another estimator exportable, add its class name here and
#: its step layout to ``_LAYOUTS``.
_IMPORTABLE: dict[str, dict[str, list]] = {
    "AudioLoader": {
        "sr": _RATE,
        "offset": [Interval(Real, 0, 3600, closed="both")],
        "duration": [Interval(Real, 0, 3600, closed="right"), None],
        "min_duration": [Interval(Real, 0, 60, closed="both")],
        "trim_db": [Interval(Real, 0, 200, closed="right"), None],
    },
    "WaveformAugmenter": {
        "views": [_Strings(max_len=16)],
        "noise_amplitude": [RealOrRange(0.0, 10.0)],
        "pitch_steps": [RealOrRange(-48.0, 48.0)],
        "stretch_rate": [RealOrRange(0.05, 20.0)],
        "gain_db": [RealOrRange(-120.0, 120.0)],
        "shift_seconds": [RealOrRange(-60.0, 60.0)],
        "sr": _RATE,
        "random_state": _SEED,
    },
    "FeatureImageExtractor": {
        "features": [_Strings(max_len=8)],
        "n_mfcc": [Interval(Integral, 1, 256, closed="both")],
        "n_mels": [Interval(Integral, 1, 1024, closed="both")],
        "mel_pool": [Interval(Integral, 1, 1024, closed="both")],
        "mel_groups": [Interval(Integral, 1, 1024, closed="both"), None],
        "mel_db": _FLAG,
        "n_columns": _COUNT,
        "standardize": [StrOptions({"block", "row"}), None],
        "mode": [StrOptions({"faithful", "fast"})],
        "sr": _RATE,
        "n_fft": [Interval(Integral, 16, 65536, closed="both")],
        "hop_length": [Interval(Integral, 1, 65536, closed="both")],
    },
    "SERClassifier": {
        # The network itself comes from network.keras; these are the recipe that a
        # refit (clone, cross-validation of the saved settings) trains again.
        "architecture": [StrOptions({"reference", "compact"})],
        "conv_filters": [IntSequence(1, 1024, max_len=16), None],
        "kernel_size": [Interval(Integral, 1, 64, closed="both")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dense_units": [IntSequence(1, 8192, max_len=16), None],
        "freq_mask": [Interval(Integral, 0, 4096, closed="both")],
        "time_mask": [Interval(Integral, 0, 4096, closed="both")],
        "clip_normalization": _FLAG,
        "learning_rate": [Interval(Real, 0, 10, closed="right")],
        "weight_decay": [Interval(Real, 0, 10, closed="both"), None],
        "epochs": [Interval(Integral, 1, 100_000, closed="both")],
        "batch_size": [Interval(Integral, 1, 65536, closed="both")],
        "reduce_lr": _FLAG,
        "lr_factor": [Interval(Real, 0, 1, closed="neither")],
        "lr_patience": [Interval(Integral, 0, 100_000, closed="both")],
        "min_lr": [Interval(Real, 0, 10, closed="both")],
        "early_stopping": _FLAG,
        "patience": [Interval(Integral, 0, 100_000, closed="both")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [StrOptions({"balanced"}), _ClassWeights(), None],
        "random_state": _SEED,
        "loss": [StrOptions({"sparse_categorical_crossentropy"})],
        # SciKeras' own parameters, fixed to what make_ser_pipeline uses.
        "model": [None],
        "build_fn": [None],
        "warm_start": _FLAG,
        "optimizer": [StrOptions({"rmsprop", "adam"})],
        "metrics": [None],
        "validation_batch_size": [Interval(Integral, 1, 65536, closed="both"), None],
        "shuffle": _FLAG,
        "run_eagerly": _FLAG,
    },
    "GE2EEncoder": {
        # Not "weights": a model folder never names a file to read; the encoder always
        # uses the installed package's weights, checked against fitted.encoder.
        "layers": [_Choices(_ENCODER_LAYERS, max_len=5)],
        "pooling": [_Choices(_ENCODER_POOLINGS, max_len=4)],
        "sr": _RATE,
        "batch_size": _COUNT,
    },
    "SpeakerStandardizer": {
        "per_speaker": _FLAG,
        "min_clips": [Interval(Integral, 2, 100_000, closed="both")],
        "with_std": _FLAG,
    },
    # No parameters of its own: its estimator is the LogisticRegression of _NESTED.
    "ViewsClassifier": {},
    "LogisticRegression": {
        "C": [Interval(Real, 0, 1e6, closed="right")],
        "penalty": [StrOptions({"l1", "l2", "elasticnet", "deprecated"}), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "dual": _FLAG,
        "tol": [Interval(Real, 0, 1, closed="right")],
        "fit_intercept": _FLAG,
        "intercept_scaling": [Interval(Real, 0, 1e6, closed="right")],
        "class_weight": [StrOptions({"balanced"}), _ClassWeights(), None],
        "random_state": _SEED,
        "solver": [StrOptions({"lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag",
                               "saga"})],
        "max_iter": [Interval(Integral, 1, 100_000, closed="both")],
    },
}

#: Estimators inside a step: step class -> {parameter: class of the estimator it holds}.
#: Their parameters are read as ``<step>__<parameter>__<param>`` (e.g.
#: ``classifier__estimator__C``), checked against that class's _IMPORTABLE entry; the
#: estimator itself is always the one make_ser_pipeline builds, never the file's choice.
_NESTED: dict[str, dict[str, str]] = {
    "ViewsClassifier": {"estimator": "LogisticRegression"},
}

#: Step layouts an export may have: name of each step -> estimator class name.
_LAYOUTS: dict[tuple[str, ...], dict[str, str]] = {
    _STEPS: {"load": "AudioLoader", "augment": "WaveformAugmenter",
             "features": "FeatureImageExtractor", "cnn": "SERClassifier"},
    _ENCODER_STEPS: {"load": "AudioLoader", "augment": "WaveformAugmenter",
                     "encoder": "GE2EEncoder", "scale": "SpeakerStandardizer",
                     "classifier": "ViewsClassifier"},
}

#: Refusal hints for parameters a folder may never set.
_REFUSAL_HINTS = {
    "weights": "a model folder cannot choose the encoder's weight file: the installed "
               "package's weights are always used",
}
#: Most training speakers with their own statistics in an imported SpeakerStandardizer.
_MAX_SPEAKERS = 100_000

#: Largest pipeline.json / metadata.json read (bytes): the feature statistics of the
#: largest allowed image fit many times over.
_MAX_JSON_BYTES = 64 << 20


def versions() -> dict[str, str | None]:
    """Versions of the package and the libraries a saved model depends on.

    Returns
    -------
    dict of str to str or None
        Keys ``sklearn_ser``, ``scikit-learn``, ``keras``, ``tensorflow``,
        ``librosa``, ``numpy``, ``scikeras`` and ``python``; None for a
        distribution that is not installed.
    """
    out: dict[str, str | None] = {}
    for key, dist in _DISTRIBUTIONS.items():
        try:
            out[key] = _metadata.version(dist)
        except _metadata.PackageNotFoundError:
            out[key] = None
    if out["sklearn_ser"] is None:  # running from a source tree that is not installed
        import sklearn_ser

        out["sklearn_ser"] = sklearn_ser.__version__
    out["python"] = platform.python_version()
    return out


def _check_versions(saved: dict[str, Any], source: str) -> None:
    """Warn once, naming each library whose version differs from the saved one."""
    current = versions()
    diffs = [
        f"{name} {saved.get(name)} (now {current.get(name)})"
        for name in _CHECKED
        if saved.get(name) is not None and saved.get(name) != current.get(name)
    ]
    if diffs:
        warnings.warn(
            f"{source} was saved with other library versions: {'; '.join(diffs)}. "
            "Predictions may differ or fail; retrain the model or install the saved versions.",
            ModelVersionWarning,
            stacklevel=3,
        )


def _classes(pipeline: Any) -> list:
    classes = getattr(pipeline, "classes_", None)
    if classes is None:
        raise ValueError("the pipeline is not fitted (it has no classes_); fit it before saving")
    return [to_json_types(c) for c in classes]


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# -- joblib format ---------------------------------------------------------------------
def save_model(
    pipeline: Any,
    path: str | os.PathLike,
    *,
    metadata: dict[str, Any] | None = None,
    compress: int = 3,
) -> Path:
    """Save a fitted pipeline to one joblib file with version metadata.

    The file holds a dict ``{"format", "versions", "classes", "created",
    "metadata", "pipeline"}``; :func:`load_model` checks it.

    Parameters
    ----------
    pipeline : estimator
        A fitted estimator with ``classes_``, normally the result of
        :func:`~sklearn_ser.make_ser_pipeline` after ``fit``.
    path : str or path-like
        File to write (parent folders are created). ``.joblib`` is customary.
    metadata : dict, default=None
        Your own notes (data used, scores, ...); must be picklable.
    compress : int, default=3
        joblib compression level (0-9).

    Returns
    -------
    pathlib.Path
        The written file.

    Warnings
    --------
    The file is a pickle: loading it runs code. Share it only with people who
    trust you, or use :func:`export_model` instead.
    """
    record = {
        "format": FORMAT,
        "versions": versions(),
        "classes": _classes(pipeline),
        "created": _now(),
        "metadata": dict(metadata or {}),
        "pipeline": pipeline,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(record, path, compress=compress)
    return path


def read_model_record(path: str | os.PathLike) -> dict[str, Any]:
    """Load a :func:`save_model` file and return its whole record (no version check).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    dict
        Keys ``format``, ``versions``, ``classes``, ``created``, ``metadata``
        and ``pipeline``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ModelFileError
        If it is not a sklearn_ser model file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; use import_model() for exported models")
    try:
        # joblib.load unpickles: this is the step that must only see trusted files.
        record = joblib.load(path)
    except Exception as exc:  # any unpickling failure means "not our file"
        raise ModelFileError(
            f"cannot read {path} as a sklearn_ser model ({type(exc).__name__}: {exc})"
        ) from None
    tag = str(record.get("format", "")) if isinstance(record, dict) else ""
    if not tag.startswith("sklearn_ser.model/"):
        kind = type(record).__name__
        raise ModelFileError(
            f"{path} is not a sklearn_ser model file (it holds a {kind}); "
            "save models with sklearn_ser.persistence.save_model"
        )
    if record["format"] != FORMAT:
        raise ModelFileError(
            f"{path} has model format {record['format']!r}; this version reads {FORMAT!r}"
        )
    return record


def load_model(path: str | os.PathLike) -> Pipeline:
    """Load a model saved by :func:`save_model` (or a folder from :func:`export_model`).

    Parameters
    ----------
    path : str or path-like
        A ``.joblib`` file from :func:`save_model`, or a folder written by
        :func:`export_model` (then :func:`import_model` reads it, without
        pickle).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The fitted pipeline.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        If ``path`` is not a sklearn_ser model.

    Warns
    -----
    ModelVersionWarning
        When the model was saved with other versions of sklearn_ser,
        scikit-learn, Keras, TensorFlow, librosa, NumPy or SciKeras.

    Warnings
    --------
    A ``.joblib`` file is a pickle and runs code when loaded: load only
    files from a trusted source.
    """
    path = Path(path)
    if path.is_dir():
        return import_model(path)
    record = read_model_record(path)
    _check_versions(record.get("versions", {}), f"model {path}")
    return record["pipeline"]


# -- export format (no pickle) ----------------------------------------------------------
def _encode(value: Any, where: str) -> Any:
    """Turn a parameter or fitted attribute into tagged JSON, or raise naming it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": value.shape}
    if isinstance(value, np.ndarray) and value.dtype.kind in "US":
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": value.shape}
    raise ValueError(
        f"cannot export {where}={value!r}: only numbers, strings, None, tuples, lists, "
        "dicts and numeric arrays can go into pipeline.json"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"].items()}
        if "__slice__" in value:
            return slice(*value["__slice__"])
        if "__ndarray__" in value:
            try:
                dtype = np.dtype(value["dtype"])
            except (TypeError, ValueError):
                dtype = None
            if dtype is None or dtype.kind not in "biuf":
                raise ModelFileError(f"unexpected array type in pipeline.json: {value['dtype']!r}")
            array = np.asarray(value["__ndarray__"], dtype=dtype)
            return array.reshape(value["shape"])
        raise ModelFileError(f"unexpected object in pipeline.json: {sorted(value)}")
    return value


def _fitted_state(step: Any, name: str) -> dict[str, Any]:
    """The fitted attributes (trailing underscore) of an audio step, JSON-encoded."""
    state = {}
    for attr, value in vars(step).items():
        if attr.endswith("_") and not attr.startswith("_"):
            state[attr] = _encode(value, f"{name}.{attr}")
    return state


def _check_layout(pipeline: Any) -> tuple[str, ...]:
    """The pipeline's step names, one of the layouts the export format rebuilds."""
    names = tuple(name for name, _ in getattr(pipeline, "steps", []))
    if names not in (_STEPS, _ENCODER_STEPS):
        raise ValueError(
            f"export_model handles pipelines made by make_ser_pipeline (steps {list(_STEPS)} "
            f"or {list(_ENCODER_STEPS)}), got steps {list(names)}; use save_model for other "
            "estimators"
        )
    return names


def _is_default(estimator: Any, key: str, value: Any) -> bool:
    """Whether ``value`` is the default of ``key`` in ``estimator``'s constructor."""
    import inspect

    param = inspect.signature(type(estimator).__init__).parameters.get(key)
    if param is None or param.default is inspect.Parameter.empty:
        return False
    default = param.default
    return value is default or (type(value) is type(default) and value == default)


def _export_params(estimator: Any, prefix: str, cls: str) -> dict[str, Any]:
    """The parameters of one estimator a model folder may set, JSON-encoded.

    Runtime settings are left out, as are parameters a folder may not set when they
    have their default value; such a parameter with another value cannot be exported.
    """
    params: dict[str, Any] = {}
    nested = _NESTED.get(cls, {})
    for key, value in estimator.get_params(deep=False).items():
        where = f"{prefix}__{key}"
        if key in _RUNTIME_PARAMS:
            continue  # settings of this machine, not of the model
        if key in nested:
            params.update(_export_params(value, where, nested[key]))
        elif key in _IMPORTABLE[cls]:
            params[where] = _encode(value, where)
        elif not _is_default(estimator, key, value):
            hint = _REFUSAL_HINTS.get(key, "a model folder may not set it")
            raise ValueError(f"cannot export {where}={value!r}: {hint}; use save_model")
    return params


def _export_encoder_layout(pipeline: Pipeline) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters and fitted state of a fitted ``make_ser_pipeline("recommended")``."""
    from sklearn.linear_model import LogisticRegression

    layout = _LAYOUTS[_ENCODER_STEPS]
    for name, step in pipeline.steps:
        if type(step).__name__ != layout[name]:
            raise ValueError(
                f"export_model: step {name!r} is a {type(step).__name__}; the encoder layout "
                f"has a {layout[name]} there. Use save_model for other estimators"
            )
    encoder = pipeline.named_steps["encoder"]
    scale = pipeline.named_steps["scale"]
    views = pipeline.named_steps["classifier"]
    for estimator in (views.estimator, getattr(views, "estimator_", None)):
        if estimator is not None and type(estimator) is not LogisticRegression:
            raise ValueError(
                "export_model exports an encoder pipeline whose classifier wraps a "
                f"LogisticRegression; this one wraps a {type(estimator).__name__}. "
                "Use save_model for other classifiers"
            )
    if not (hasattr(views, "estimator_") and hasattr(encoder, "weights_digest_")
            and hasattr(scale, "mean_")):
        raise ValueError("the pipeline is not fitted; fit it before exporting")
    params: dict[str, Any] = {}
    for name, step in pipeline.steps:
        params.update(_export_params(step, name, layout[name]))
    model = views.estimator_

    def floats(value: Any, where: str) -> Any:
        return _encode(np.asarray(value, dtype=np.float64), where)

    fitted = {
        "load": _fitted_state(pipeline.named_steps["load"], "load"),
        "augment": _fitted_state(pipeline.named_steps["augment"], "augment"),
        "encoder": {"weights_digest_": str(encoder.weights_digest_),
                    "n_features_out_": int(encoder.n_features_out_)},
        "scale": {
            "n_features_in_": int(scale.n_features_in_),
            "mean_": floats(scale.mean_, "scale.mean_"),
            "scale_": floats(scale.scale_, "scale.scale_"),
            "speakers_": [to_json_types(s) for s in np.asarray(scale.speakers_).tolist()],
            "speaker_mean_": floats(scale.speaker_mean_, "scale.speaker_mean_"),
            "speaker_scale_": floats(scale.speaker_scale_, "scale.speaker_scale_"),
        },
        "classifier": {
            "estimator": type(model).__name__,
            "classes_": [to_json_types(c) for c in np.asarray(views.classes_).tolist()],
            "n_views_": int(views.n_views_),
            "coef_": floats(model.coef_, "classifier.coef_"),
            "intercept_": floats(model.intercept_, "classifier.intercept_"),
        },
    }
    return params, fitted


def export_model(
    pipeline: Pipeline,
    directory: str | os.PathLike,
    *,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Export a fitted pipeline to a folder that can be loaded without pickle.

    Two step layouts of :func:`~sklearn_ser.make_ser_pipeline` can be
    exported. CNN presets (``"reference"``, ``"cnn"``): writes
    ``network.keras`` (the network, in Keras' own format), ``pipeline.json``
    (all step parameters plus the fitted state of the audio steps, e.g. the
    feature standardisation) and ``metadata.json`` (format, versions,
    classes, creation time, your ``metadata``). Encoder preset
    (``"recommended"``, with or without ``speaker_adaptation``): writes
    ``pipeline.json`` and ``metadata.json`` only. ``pipeline.json`` then
    holds the step parameters (the wrapped ``LogisticRegression``'s as
    ``classifier__estimator__<param>``), the SHA-256 of the encoder weights
    used, the standardisation statistics (global and per training speaker),
    the classes and the logistic regression's ``coef_`` and ``intercept_``,
    all as plain JSON numbers; an old ``network.keras`` in the folder is
    removed. The encoder's weights are not copied: the importing machine
    uses its installed ones, which must be the same file.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A fitted pipeline made by :func:`~sklearn_ser.make_ser_pipeline`.
    directory : str or path-like
        Folder to write into (created if missing; the files are
        overwritten).
    metadata : dict, default=None
        Your own JSON-serialisable notes.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ValueError
        If the pipeline is not fitted, does not have the
        ``make_ser_pipeline`` steps, or a parameter cannot be written as
        JSON (e.g. a random_state that is a RandomState). Encoder layout:
        also if the classifier wraps anything but a ``LogisticRegression``,
        or a parameter a model folder may not set has a non-default value
        (e.g. ``encoder__weights``, a weight file of your own, or
        ``classifier__estimator__warm_start=True``): use :func:`save_model`
        for those. Runtime settings (``memory``, ``n_jobs``, ``verbose``,
        ``callbacks``, ``max_duration``, ``predict_batch_size``) are not
        exported.
    """
    steps = _check_layout(pipeline)
    classes = _classes(pipeline)
    directory = Path(directory)
    if steps == _ENCODER_STEPS:
        params, fitted = _export_encoder_layout(pipeline)
        directory.mkdir(parents=True, exist_ok=True)
        # A network.keras left by an earlier export into this folder is not part of it.
        (directory / "network.keras").unlink(missing_ok=True)
        _write_export(directory, steps, params, fitted, classes, metadata)
        return directory
    cnn = pipeline.named_steps["cnn"]
    if not getattr(cnn, "initialized_", False):
        raise ValueError("the pipeline's network is not fitted; fit it before exporting")
    params = {}
    fitted = {}
    for name, step in pipeline.steps:
        for key, value in step.get_params(deep=False).items():
            if key in _RUNTIME_PARAMS:
                continue  # settings of this machine, not of the model
            params[f"{name}__{key}"] = _encode(value, f"{name}__{key}")
        if name != "cnn":
            fitted[name] = _fitted_state(step, name)
    history = getattr(cnn, "history_", None) or {}
    fitted["cnn"] = {
        "classes_": _encode(np.asarray(cnn.classes_), "cnn.classes_"),
        "X_shape_": _encode(tuple(int(n) for n in cnn.X_shape_), "cnn.X_shape_"),
        "history_": _encode({k: [float(v) for v in vals] for k, vals in history.items()},
                            "cnn.history_"),
    }
    directory.mkdir(parents=True, exist_ok=True)
    cnn.model_.save(directory / "network.keras")
    _write_export(directory, steps, params, fitted, classes, metadata)
    return directory


def _write_export(directory: Path, steps: tuple[str, ...], params: dict[str, Any],
                  fitted: dict[str, Any], classes: list, metadata: dict[str, Any] | None) -> None:
    """Write pipeline.json and metadata.json."""
    (directory / "pipeline.json").write_text(
        json.dumps({"format": EXPORT_FORMAT, "steps": list(steps), "params": params,
                    "fitted": fitted}, indent=1)
    )
    meta = {
        "format": EXPORT_FORMAT,
        "versions": versions(),
        "classes": classes,
        "created": _now(),
        "metadata": dict(metadata or {}),
    }
    (directory / "metadata.json").write_text(json.dumps(meta, indent=1, default=str))


def _refuse(directory: Path, message: str) -> ModelFileError:
    return ModelFileError(f"{directory}: {message}")


def _read_json(file: Path, directory: Path) -> dict[str, Any]:
    if file.stat().st_size > _MAX_JSON_BYTES:
        raise _refuse(directory, f"{file.name} is larger than {_MAX_JSON_BYTES >> 20} MB")
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read {directory}: {exc}") from None
    if not isinstance(data, dict):
        raise _refuse(directory, f"{file.name} does not hold a JSON object")
    return data


def _import_params(spec: dict[str, Any], layout: dict[str, str],
                   directory: Path) -> dict[str, dict[str, Any]]:
    """The allowed parameters of each step from pipeline.json, decoded and checked."""
    params = spec.get("params")
    if not isinstance(params, dict):
        raise _refuse(directory, "pipeline.json has no 'params' object")
    out: dict[str, dict[str, Any]] = {name: {} for name in layout}
    refused = []
    for key, raw in params.items():
        step, sep, param = str(key).partition("__")
        if not sep or step not in layout:
            refused.append(key)
            continue
        cls, name = layout[step], param
        inner, sep, sub = param.partition("__")
        if sep:  # a parameter of an estimator inside the step (classifier__estimator__C)
            cls = _NESTED.get(layout[step], {}).get(inner)
            if cls is None or "__" in sub:
                refused.append(key)
                continue
            name = sub
        if name in _RUNTIME_PARAMS:
            continue  # the caller's setting, never the file's
        constraints = _IMPORTABLE[cls].get(name)
        if constraints is None:
            refused.append(key)
            continue
        value = _decode_param(raw, key, directory)
        try:
            validate_parameter_constraints({name: constraints}, {name: value},
                                           caller_name=f"{cls} in a model folder")
        except InvalidParameterError as exc:
            raise _refuse(directory, f"pipeline.json sets {key}: {exc}") from None
        out[step][param] = value
    if refused:
        hints = sorted({hint for key in refused for name, hint in _REFUSAL_HINTS.items()
                        if str(key).endswith(f"__{name}")})
        raise _refuse(
            directory,
            f"pipeline.json sets parameters a model folder may not set: {', '.join(refused)} "
            "(a folder sets only parameters that change what the model computes; see "
            f"sklearn_ser.persistence){''.join(f'; {h}' for h in hints)}",
        )
    return out


def _decode_param(raw: Any, key: str, directory: Path) -> Any:
    """Decode a parameter: plain JSON values, tuples and string-keyed dicts only."""
    if raw is None or isinstance(raw, bool | int | float | str):
        return raw
    if isinstance(raw, list):
        return [_decode_param(v, key, directory) for v in raw]
    if isinstance(raw, dict) and set(raw) == {"__tuple__"} and isinstance(raw["__tuple__"], list):
        return tuple(_decode_param(v, key, directory) for v in raw["__tuple__"])
    if isinstance(raw, dict) and set(raw) == {"__dict__"} and isinstance(raw["__dict__"], dict):
        return {str(k): _decode_param(v, key, directory) for k, v in raw["__dict__"].items()}
    raise _refuse(directory, f"pipeline.json: unexpected value for {key}: {str(raw)[:80]}")


def _float_rows(raw: Any, n_rows: int, what: str, directory: Path,
                positive: bool = False) -> np.ndarray | None:
    """A standardisation vector: None or n_rows finite floats, shape (n_rows, 1)."""
    if raw is None:
        return None
    values = raw.get("__ndarray__") if isinstance(raw, dict) else None
    try:
        array = np.asarray(values, dtype=np.float32).reshape(n_rows, 1)
    except (TypeError, ValueError):
        raise _refuse(directory, f"pipeline.json: {what} is not {n_rows} numbers") from None
    if not np.all(np.isfinite(array)) or (positive and not np.all(array > 0)):
        raise _refuse(directory, f"pipeline.json: {what} holds non-finite or invalid values")
    return array


def _import_classes(state: dict[str, Any], meta: dict[str, Any], directory: Path,
                    where: str = "fitted.cnn.classes_") -> np.ndarray:
    """The class labels, checked against metadata.json, as full-length values."""
    raw = state.get("classes_")
    listed = raw.get("__ndarray__") if isinstance(raw, dict) else raw
    if not isinstance(listed, list) or not listed:
        raise _refuse(directory, f"pipeline.json has no class labels ({where})")
    kinds = {type(c) for c in listed}
    if not (kinds == {str} or kinds == {int}) or any(isinstance(c, bool) for c in listed):
        raise _refuse(directory, "class labels must be all strings or all integers")
    if len(set(listed)) != len(listed) or len(listed) < 2:
        raise _refuse(directory, f"class labels must be 2 or more distinct values, got {listed}")
    if any(isinstance(c, str) and len(c) > 1000 for c in listed):
        raise _refuse(directory, "a class label is longer than 1000 characters")
    if listed != sorted(listed):
        raise _refuse(directory, "class labels in pipeline.json are not in sorted order")
    if meta.get("classes") != listed:
        raise _refuse(
            directory,
            f"the classes in metadata.json ({meta.get('classes')}) differ from those in "
            f"pipeline.json ({listed})",
        )
    # From the list, never from the file's dtype: a fixed-width '<U7' would cut
    # 'surprise' to 'surpris'. Strings come back as Python str objects.
    return np.asarray(listed, dtype=object if kinds == {str} else np.int64)


def _numbers(raw: Any, shape: tuple[int, ...], what: str, directory: Path,
             positive: bool = False) -> np.ndarray:
    """A learned array: JSON numbers (no strings, no bools) of exactly ``shape``, finite."""
    values = raw.get("__ndarray__") if isinstance(raw, dict) else raw
    if not isinstance(values, list):
        raise _refuse(directory, f"pipeline.json: {what} is not an array of numbers")
    try:
        array = np.asarray(values, dtype=object)
    except ValueError:  # ragged nesting
        array = None
    if array is not None and array.size == 0 and 0 in shape:
        return np.empty(shape)  # e.g. no speaker statistics: [] for shape (0, n)
    if array is None or array.shape != shape:
        got = "a ragged list" if array is None else f"shape {array.shape}"
        raise _refuse(directory, f"pipeline.json: {what} has {got}, expected shape {shape}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in array.flat):
        raise _refuse(directory, f"pipeline.json: {what} holds values that are not numbers")
    out = array.astype(np.float64)
    if not np.all(np.isfinite(out)) or (positive and not np.all(out > 0)):
        bad = "non-finite or non-positive" if positive else "non-finite"
        raise _refuse(directory, f"pipeline.json: {what} holds {bad} values (NaN, infinity"
                                 f"{', zero or negative scales' if positive else ''})")
    return out


def _labels(raw: Any, what: str, directory: Path) -> np.ndarray:
    """Speaker ids: a list of distinct strings or of distinct integers, possibly empty."""
    if not isinstance(raw, list) or len(raw) > _MAX_SPEAKERS:
        raise _refuse(directory, f"pipeline.json: {what} is not a list of at most "
                                 f"{_MAX_SPEAKERS} ids")
    if not raw:
        return np.asarray([])
    kinds = {type(v) for v in raw}
    if not (kinds == {str} or kinds == {int}):
        raise _refuse(directory, f"pipeline.json: {what} must be all strings or all integers")
    if len(set(raw)) != len(raw) or any(isinstance(v, str) and len(v) > 1000 for v in raw):
        raise _refuse(directory, f"pipeline.json: {what} must be distinct ids of at most 1000 "
                                 "characters")
    return np.asarray(raw) if kinds == {str} else np.asarray(raw, dtype=np.int64)


def _check_network(network: Any, classes: np.ndarray, image_shape: tuple[int, int],
                   directory: Path) -> None:
    """The network must read this pipeline's images and give one probability per class."""
    expected_in = (None, *image_shape, 1)
    got_in = tuple(getattr(network, "input_shape", ()) or ())
    if got_in != expected_in:
        raise _refuse(directory, f"network.keras takes inputs of shape {got_in}, the feature "
                                 f"settings in pipeline.json make images of shape {expected_in}")
    got_out = tuple(getattr(network, "output_shape", ()) or ())
    if got_out != (None, len(classes)):
        raise _refuse(
            directory,
            f"network.keras has {got_out[-1] if got_out else '?'} outputs (output shape "
            f"{got_out}) for {len(classes)} classes ({', '.join(map(str, classes))})",
        )
    probe = np.asarray(network(np.zeros((1, *image_shape, 1), dtype=np.float32)))
    if not (np.all(np.isfinite(probe)) and np.all(probe >= 0)
            and abs(float(probe.sum()) - 1.0) < 1e-3):
        raise _refuse(directory, "network.keras does not output class probabilities (its "
                                 "outputs are not non-negative numbers summing to 1)")


def import_model(
    directory: str | os.PathLike,
    *,
    n_jobs: int | None = None,
    memory: Any = None,
    verbose: int = 0,
) -> Pipeline:
    """Rebuild a pipeline from a folder written by :func:`export_model`.

    Nothing is unpickled: the parameters come from JSON and the network is
    read with ``keras.saving.load_model(..., safe_mode=True)``, which refuses
    to deserialise Python code (``Lambda`` layers). A folder may set only
    the parameters that change what the model computes (an allow-list, each
    value type- and range-checked); runtime settings -- the feature cache,
    the number of workers, verbosity, callbacks, the loader's
    ``max_duration`` and the prediction batch size -- are never read from
    it: they are this function's arguments or the estimators' defaults.
    The network must take the images the feature settings make and output
    one probability per class; the classes of ``metadata.json`` and
    ``pipeline.json`` must agree.

    An encoder export (``make_ser_pipeline("recommended")``) is rebuilt with
    ``make_ser_pipeline("recommended", speaker_adaptation=<the folder's
    scale__per_speaker>)`` without importing TensorFlow. Its encoder always
    reads the installed package's weights (a folder cannot set
    ``encoder__weights``), whose SHA-256 must equal the exported one. Every
    learned array must hold finite JSON numbers of exactly the expected
    shape: the standardisation's ``mean_``/``scale_`` one per encoder output
    (scales positive), per-speaker statistics one row per listed speaker,
    ``coef_`` of shape (n_classes, n_features), or (1, n_features) for two
    classes, and a matching ``intercept_``. The classifier must be a
    ``LogisticRegression``.

    Parameters
    ----------
    directory : str or path-like
        The exported folder.
    n_jobs : int or None, default=None
        Workers for loading, augmentation and features or the encoder (your
        setting, not the file's).
    memory : None, str or joblib.Memory, default=None
        Feature (or encoder vector) cache of the rebuilt pipeline (your
        setting, not the file's).
    verbose : int, default=0
        Progress bars of the audio steps.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        A fitted pipeline that predicts exactly like the exported one.

    Raises
    ------
    FileNotFoundError
        If the folder or one of its files is missing.
    ModelFileError
        If the files are not an sklearn_ser export, set a parameter that is not
        allowed or out of range, or the network does not fit the classes or
        the feature settings; for an encoder export also if a learned array
        has the wrong shape or non-finite values, or the installed encoder
        weights are not those the model was exported with. The message names
        the folder and the problem.
    sklearn_ser.encoders.EncoderNotInstalledError
        For an encoder export when the encoder weights are not installed
        (``pip install --no-deps resemblyzer==0.1.4``).

    Warns
    -----
    ModelVersionWarning
        When it was exported with other library versions.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"exported model folder not found: {directory}")
    files = {name: directory / name for name in ("pipeline.json", "metadata.json", "network.keras")}
    missing = [name for name in ("pipeline.json", "metadata.json") if not files[name].exists()]
    if missing:
        raise FileNotFoundError(
            f"{directory} is not an exported sklearn_ser model: missing {', '.join(missing)}"
        )
    spec = _read_json(files["pipeline.json"], directory)
    meta = _read_json(files["metadata.json"], directory)
    steps = tuple(spec.get("steps", ())) if isinstance(spec.get("steps"), list) else ()
    if spec.get("format") != EXPORT_FORMAT or steps not in _LAYOUTS:
        raise ModelFileError(
            f"{directory} has format {spec.get('format')!r}; this version reads {EXPORT_FORMAT!r}"
        )
    if steps == _STEPS and not files["network.keras"].exists():
        raise FileNotFoundError(
            f"{directory} is not an exported sklearn_ser model: missing network.keras"
        )
    layout = _LAYOUTS[steps]
    versions_saved = meta.get("versions", {})
    _check_versions(versions_saved if isinstance(versions_saved, dict) else {},
                    f"exported model {directory}")
    params = _import_params(spec, layout, directory)
    if steps == _ENCODER_STEPS:
        return _import_encoder_layout(spec, meta, params, directory,
                                      n_jobs=n_jobs, memory=memory, verbose=verbose)
    fitted = spec.get("fitted")
    if not isinstance(fitted, dict) or not isinstance(fitted.get("cnn"), dict):
        raise _refuse(directory, "pipeline.json has no fitted state of the network")

    from sklearn_ser._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras

    from sklearn_ser.pipeline import make_ser_pipeline

    pipeline = make_ser_pipeline(n_jobs=n_jobs, memory=memory, verbose=verbose)
    pipeline.set_params(**{f"{step}__{k}": v for step, values in params.items()
                           for k, v in values.items()})
    try:
        validate_pipeline(pipeline)
        # The fitted state of the audio steps follows from the checked parameters;
        # only the feature standardisation is learned from data and read from the file.
        pipeline.named_steps["load"].n_features_in_ = 1
        pipeline.named_steps["augment"].fit(None)
        features = pipeline.named_steps["features"]
        features._check_params()
        features._set_layout()
    except ValueError as exc:  # InvalidParameterError is a ValueError
        raise _refuse(directory, f"pipeline.json: {exc}") from None
    state = fitted.get("features", {}) if isinstance(fitted.get("features"), dict) else {}
    features.mean_ = _float_rows(state.get("mean_"), features.n_rows_, "features.mean_",
                                 directory)
    features.scale_ = _float_rows(state.get("scale_"), features.n_rows_, "features.scale_",
                                  directory, positive=True)
    if (features.mean_ is None) != (features.standardize is None) or (
        (features.mean_ is None) != (features.scale_ is None)
    ):
        raise _refuse(directory, "pipeline.json: the feature standardisation does not match "
                                 f"features__standardize={features.standardize!r}")

    cnn = pipeline.named_steps["cnn"]
    state = fitted["cnn"]
    classes = _import_classes(state, meta, directory)
    image_shape = (features.n_rows_, features.n_columns)
    network = keras.saving.load_model(files["network.keras"], safe_mode=True)
    _check_network(network, classes, image_shape, directory)
    history = _decode(state.get("history_", {"__dict__": {}}))
    if not (isinstance(history, dict) and all(
            isinstance(v, list) and all(isinstance(x, int | float) for x in v)
            for v in history.values())):
        raise _refuse(directory, "pipeline.json: fitted.cnn.history_ is not lists of numbers")
    # initialize() fits SciKeras' label and feature encoders on one dummy image per
    # class (so the class order is the saved one) and takes the loaded network as its
    # model: nothing is built from the file's network parameters.
    dummy = np.zeros((len(classes), *image_shape, 1), dtype=np.float32)
    cnn._keras_build_fn = lambda meta, compile_kwargs: network
    try:
        cnn.initialize(dummy, classes)
    finally:
        del cnn._keras_build_fn
    cnn.history_ = {str(k): [float(x) for x in v] for k, v in history.items()}
    if list(cnn.classes_) != list(classes):
        raise ModelFileError(f"{directory}: the class order could not be restored")
    return pipeline


def _import_encoder_layout(spec: dict[str, Any], meta: dict[str, Any],
                           params: dict[str, dict[str, Any]], directory: Path, *,
                           n_jobs: int | None, memory: Any, verbose: int) -> Pipeline:
    """Rebuild a fitted ``make_ser_pipeline("recommended")`` from checked JSON (no TensorFlow)."""
    fitted = spec.get("fitted")
    if not (isinstance(fitted, dict) and all(
            isinstance(fitted.get(name), dict) for name in ("encoder", "scale", "classifier"))):
        raise _refuse(directory, "pipeline.json has no fitted state of the encoder, the "
                                 "standardisation and the classifier (fitted.encoder, "
                                 "fitted.scale, fitted.classifier)")
    state_clf = fitted["classifier"]
    if state_clf.get("estimator") != "LogisticRegression":
        raise _refuse(directory, f"pipeline.json: the classifier wraps "
                                 f"{str(state_clf.get('estimator'))[:80]!r}; a model folder "
                                 "can hold a LogisticRegression only (use save_model for others)")

    from sklearn_ser.pipeline import make_ser_pipeline

    per_speaker = params["scale"].get("per_speaker", False)
    pipeline = make_ser_pipeline("recommended", speaker_adaptation=per_speaker, n_jobs=n_jobs,
                                 memory=memory, verbose=verbose)
    pipeline.set_params(**{f"{step}__{k}": v for step, values in params.items()
                           for k, v in values.items()})
    encoder = pipeline.named_steps["encoder"]
    scale = pipeline.named_steps["scale"]
    views = pipeline.named_steps["classifier"]
    try:
        validate_pipeline(pipeline)
        views.estimator._validate_params()
        encoder._checked_outputs()
        # The fitted state of the audio steps follows from the checked parameters.
        pipeline.named_steps["load"].n_features_in_ = 1
        pipeline.named_steps["augment"].fit(None)
    except ValueError as exc:  # InvalidParameterError is a ValueError
        raise _refuse(directory, f"pipeline.json: {exc}") from None
    # So does the encoder's: fitting it reads the installed weights (never a path from
    # the folder: encoder__weights cannot be set) and gives the vectors' width. A missing
    # or unreadable weight file raises EncoderNotInstalledError / WeightFileError.
    encoder.fit(None)

    state = fitted["encoder"]
    digest = state.get("weights_digest_")
    if not (isinstance(digest, str) and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        raise _refuse(directory, "pipeline.json: fitted.encoder.weights_digest_ is not a "
                                 "sha256 hex digest")
    if digest != encoder.weights_digest_:
        from sklearn_ser.encoders import INSTALL_COMMAND

        raise _refuse(
            directory,
            f"the model was exported with GE2E encoder weights of sha256 {digest}, the "
            f"installed weights have sha256 {encoder.weights_digest_}. Install the weights "
            f"the model needs ({INSTALL_COMMAND}) or retrain it with the installed ones",
        )
    n_features = int(encoder.n_features_out_)
    if state.get("n_features_out_", n_features) != n_features:
        raise _refuse(directory, f"pipeline.json: fitted.encoder.n_features_out_ is "
                                 f"{str(state.get('n_features_out_'))[:40]}, the encoder "
                                 f"settings make vectors of {n_features} numbers")

    state = fitted["scale"]
    if state.get("n_features_in_", n_features) != n_features:
        raise _refuse(directory, f"pipeline.json: fitted.scale.n_features_in_ is not "
                                 f"{n_features}, the encoder's output width")
    scale.mean_ = _numbers(state.get("mean_"), (n_features,), "fitted.scale.mean_", directory)
    scale.scale_ = _numbers(state.get("scale_"), (n_features,), "fitted.scale.scale_",
                            directory, positive=True)
    scale.speakers_ = _labels(state.get("speakers_"), "fitted.scale.speakers_", directory)
    shape = (len(scale.speakers_), n_features)
    scale.speaker_mean_ = _numbers(state.get("speaker_mean_"), shape,
                                   "fitted.scale.speaker_mean_", directory)
    scale.speaker_scale_ = _numbers(state.get("speaker_scale_"), shape,
                                    "fitted.scale.speaker_scale_", directory, positive=True)
    scale.n_features_in_ = n_features

    classes = _import_classes(state_clf, meta, directory, where="fitted.classifier.classes_")
    rows = 1 if len(classes) == 2 else len(classes)
    n_views = state_clf.get("n_views_")
    if not (isinstance(n_views, int) and not isinstance(n_views, bool) and 1 <= n_views <= 16):
        raise _refuse(directory, "pipeline.json: fitted.classifier.n_views_ is not an integer "
                                 "between 1 and 16")
    model = clone(views.estimator)
    model.coef_ = _numbers(state_clf.get("coef_"), (rows, n_features),
                           "fitted.classifier.coef_", directory)
    model.intercept_ = _numbers(state_clf.get("intercept_"), (rows,),
                                "fitted.classifier.intercept_", directory)
    model.classes_ = classes
    model.n_features_in_ = n_features
    model.n_iter_ = np.zeros(1, dtype=np.int32)  # not used to predict
    views.estimator_ = model
    views.classes_ = model.classes_
    views.n_views_ = n_views
    if list(pipeline.classes_) != list(classes):
        raise ModelFileError(f"{directory}: the class order could not be restored")
    return pipeline
