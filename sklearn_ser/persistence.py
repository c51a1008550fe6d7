"""Save and load fitted pipelines, with the versions they were made with.

Two formats:

``save_model`` / ``load_model`` (one ``.joblib`` file)
    The whole fitted :class:`~sklearn.pipeline.Pipeline` pickled with joblib,
    wrapped in a small record of the package versions, the label set and the
    creation time. Loading under other versions warns
    (:class:`ModelVersionWarning`).

``export_model`` / ``import_model`` (a folder, no pickle)
    ``network.keras`` (the Keras network, saved by Keras itself),
    ``pipeline.json`` (every step parameter and the small fitted state of
    the audio steps, as plain JSON) and ``metadata.json``. Importing rebuilds
    the pipeline with :func:`~sklearn_ser.make_ser_pipeline` and loads the
    network with ``safe_mode=True``, so nothing in the folder can run code.

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
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

from sklearn_ser.evaluation import to_json_types

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

# The step layout of make_ser_pipeline, the only layout the export format rebuilds.
_STEPS = ("load", "augment", "features", "cnn")
# Step parameters that describe this machine, not the model; not exported.
_LOCAL_PARAMS = {"memory": None}


class ModelVersionWarning(UserWarning):
    """A saved model was made with other versions of its dependencies.

    The model usually still works, but a different scikit-learn, Keras or
    librosa can change the features or fail to read the pickled objects.
    Retrain, or install the versions named in the warning, to be sure.
    """


class ModelFileError(ValueError):
    """A file or folder is not a (readable) sklearn_ser model."""


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
            array = np.asarray(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
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


def _check_layout(pipeline: Any) -> None:
    names = tuple(name for name, _ in getattr(pipeline, "steps", []))
    if names != _STEPS:
        raise ValueError(
            f"export_model handles pipelines made by make_ser_pipeline (steps {list(_STEPS)}), "
            f"got steps {list(names)}; use save_model for other estimators"
        )


def export_model(
    pipeline: Pipeline,
    directory: str | os.PathLike,
    *,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Export a fitted pipeline to a folder that can be loaded without pickle.

    Writes ``network.keras`` (the network, in Keras' own format),
    ``pipeline.json`` (all step parameters plus the fitted state of the
    audio steps, e.g. the feature standardisation) and ``metadata.json``
    (format, versions, classes, creation time, your ``metadata``).

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A fitted pipeline made by :func:`~sklearn_ser.make_ser_pipeline`.
    directory : str or path-like
        Folder to write into (created if missing; the three files are
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
        JSON (e.g. a Keras callback object). ``memory`` (a local cache) is
        not exported.
    """
    _check_layout(pipeline)
    classes = _classes(pipeline)
    cnn = pipeline.named_steps["cnn"]
    if not getattr(cnn, "initialized_", False):
        raise ValueError("the pipeline's network is not fitted; fit it before exporting")
    params: dict[str, Any] = {}
    fitted: dict[str, Any] = {}
    for name, step in pipeline.steps:
        for key, value in step.get_params(deep=False).items():
            if key in _LOCAL_PARAMS:
                value = _LOCAL_PARAMS[key]
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
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cnn.model_.save(directory / "network.keras")
    (directory / "pipeline.json").write_text(
        json.dumps({"format": EXPORT_FORMAT, "steps": list(_STEPS), "params": params,
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
    return directory


def import_model(directory: str | os.PathLike) -> Pipeline:
    """Rebuild a pipeline from a folder written by :func:`export_model`.

    Nothing is unpickled: the parameters come from JSON and the network is
    read with ``keras.saving.load_model(..., safe_mode=True)``, which refuses
    to deserialise Python code (``Lambda`` layers).

    Parameters
    ----------
    directory : str or path-like
        The exported folder.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        A fitted pipeline that predicts exactly like the exported one.

    Raises
    ------
    FileNotFoundError
        If the folder or one of its files is missing.
    ModelFileError
        If the files are not an sklearn_ser export.

    Warns
    -----
    ModelVersionWarning
        When it was exported with other library versions.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"exported model folder not found: {directory}")
    files = {name: directory / name for name in ("pipeline.json", "metadata.json", "network.keras")}
    missing = [name for name, file in files.items() if not file.exists()]
    if missing:
        raise FileNotFoundError(
            f"{directory} is not an exported sklearn_ser model: missing {', '.join(missing)}"
        )
    try:
        spec = json.loads(files["pipeline.json"].read_text())
        meta = json.loads(files["metadata.json"].read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read {directory}: {exc}") from None
    if spec.get("format") != EXPORT_FORMAT or tuple(spec.get("steps", ())) != _STEPS:
        raise ModelFileError(
            f"{directory} has format {spec.get('format')!r}; this version reads {EXPORT_FORMAT!r}"
        )
    _check_versions(meta.get("versions", {}), f"exported model {directory}")

    from sklearn_ser._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras

    from sklearn_ser.pipeline import make_ser_pipeline

    pipeline = make_ser_pipeline()
    pipeline.set_params(**{key: _decode(value) for key, value in spec["params"].items()})
    for name in ("load", "augment", "features"):
        for attr, value in spec["fitted"].get(name, {}).items():
            setattr(pipeline.named_steps[name], attr, _decode(value))

    cnn = pipeline.named_steps["cnn"]
    state = spec["fitted"]["cnn"]
    classes = _decode(state["classes_"])
    shape = _decode(state["X_shape_"])
    # initialize() fits SciKeras' label and feature encoders on one dummy image
    # per class (so the class order is the saved one); the built network is then
    # replaced by the saved one.
    dummy = np.zeros((len(classes), *shape[1:]), dtype=np.float32)
    cnn.initialize(dummy, classes)
    cnn.model_ = keras.saving.load_model(files["network.keras"], safe_mode=True)
    cnn.history_ = {k: list(v) for k, v in _decode(state["history_"]).items()}
    if list(cnn.classes_) != list(classes):
        raise ModelFileError(f"{directory}: the class order could not be restored")
    return pipeline
