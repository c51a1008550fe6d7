"""The CNN layout of the export format (the ``"reference"`` and ``"cnn"`` presets).

``pipeline.json`` holds every step parameter but the runtime settings, the
fitted state of the audio steps (the feature standardisation) and the
network's classes and training history; ``network.keras`` holds the network,
saved by Keras and read back with ``safe_mode=True``. Importing checks that
the network reads the images the feature settings make and outputs one
probability per class.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from sklearn_ser._io import copy_bounded
from sklearn_ser._validation import validate_pipeline
from sklearn_ser.exceptions import ModelFileError
from sklearn_ser.persistence._allowlist import _RUNTIME_PARAMS
from sklearn_ser.persistence._json import (
    _decode,
    _encode,
    _fitted_state,
    _import_classes,
    _refuse,
)
from sklearn_ser.pipeline import AUGMENT, CNN, FEATURES, LOAD, make_ser_pipeline

#: Largest network.keras read (bytes), and what its zip may unpack to: generous bounds
#: (the "reference" preset's network is a few MB) that keep a planted file from
#: exhausting memory or disk.
_MAX_NETWORK_BYTES = 1 << 30
_MAX_NETWORK_UNPACKED = 2 << 30
_MAX_NETWORK_MEMBERS = 1000


def _export_cnn_layout(pipeline: Pipeline) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters and fitted state of a fitted CNN pipeline (the network is saved apart)."""
    cnn = pipeline.named_steps[CNN]
    if not getattr(cnn, "initialized_", False):
        raise ValueError("the pipeline's network is not fitted; fit it before exporting")
    params = {}
    fitted = {}
    for name, step in pipeline.steps:
        for key, value in step.get_params(deep=False).items():
            if key in _RUNTIME_PARAMS:
                continue  # settings of this machine, not of the model
            params[f"{name}__{key}"] = _encode(value, f"{name}__{key}")
        if name != CNN:
            fitted[name] = _fitted_state(step, name)
    history = getattr(cnn, "history_", None) or {}
    fitted[CNN] = {
        "classes_": _encode(np.asarray(cnn.classes_), "cnn.classes_"),
        "X_shape_": _encode(tuple(int(n) for n in cnn.X_shape_), "cnn.X_shape_"),
        "history_": _encode({k: [float(v) for v in vals] for k, vals in history.items()},
                            "cnn.history_"),
    }
    return params, fitted


def _import_cnn_layout(spec: dict[str, Any], meta: dict[str, Any],
                       params: dict[str, dict[str, Any]], network_file: Path, directory: Path,
                       *, n_jobs: int | None, memory: Any, verbose: int) -> Pipeline:
    """Rebuild a fitted CNN pipeline from checked JSON and a safe-mode ``network.keras``."""
    fitted = spec.get("fitted")
    if not isinstance(fitted, dict) or not isinstance(fitted.get(CNN), dict):
        raise _refuse(directory, "pipeline.json has no fitted state of the network")

    # Keras (TensorFlow) is imported only here: the encoder layout never needs it. Plainly:
    # the library leaves TensorFlow's logging alone (the command line mutes it itself).
    import keras

    from sklearn_ser._scikeras_compat import restore_fitted_state

    pipeline = make_ser_pipeline("reference", n_jobs=n_jobs, memory=memory, verbose=verbose)
    pipeline.set_params(**{f"{step}__{k}": v for step, values in params.items()
                           for k, v in values.items()})
    try:
        validate_pipeline(pipeline)
        # The fitted state of the audio steps follows from the checked parameters;
        # only the feature standardisation is learned from data and read from the file.
        pipeline.named_steps[LOAD].n_features_in_ = 1
        pipeline.named_steps[AUGMENT].fit(None)
        features = pipeline.named_steps[FEATURES]
        features._check_params()
        features._set_layout()
    except ValueError as exc:  # InvalidParameterError is a ValueError
        raise _refuse(directory, f"pipeline.json: {exc}") from None
    state = fitted.get(FEATURES, {}) if isinstance(fitted.get(FEATURES), dict) else {}
    features.mean_ = _float_rows(state.get("mean_"), features.n_rows_, "features.mean_",
                                 directory)
    features.scale_ = _float_rows(state.get("scale_"), features.n_rows_, "features.scale_",
                                  directory, positive=True)
    if (features.mean_ is None) != (features.standardize is None) or (
        (features.mean_ is None) != (features.scale_ is None)
    ):
        raise _refuse(directory, "pipeline.json: the feature standardisation does not match "
                                 f"features__standardize={features.standardize!r}")

    cnn = pipeline.named_steps[CNN]
    state = fitted[CNN]
    classes = _import_classes(state, meta, directory)
    image_shape = (features.n_rows_, features.n_columns)
    network = _load_network(keras, network_file, directory)
    _check_network(network, classes, image_shape, directory)
    try:
        history = _decode(state.get("history_", {"__dict__": {}}))
    except (TypeError, ValueError, KeyError, AttributeError):  # a malformed tag
        history = None
    if not (isinstance(history, dict) and all(
            isinstance(v, list) and all(isinstance(x, int | float) for x in v)
            for v in history.values())):
        raise _refuse(directory, "pipeline.json: fitted.cnn.history_ is not lists of numbers")
    # The loaded network becomes the model; nothing is built from the file's parameters.
    restore_fitted_state(cnn, network, classes, (*image_shape, 1))
    cnn.history_ = {str(k): [float(x) for x in v] for k, v in history.items()}
    if list(cnn.classes_) != list(classes):
        raise ModelFileError(f"{directory}: the class order could not be restored")
    return pipeline


def _load_network(keras: Any, network_file: Path, directory: Path) -> Any:
    """``network.keras`` read with ``safe_mode=True`` from a private, bounded copy.

    The folder's file is copied (a regular file of at most ``_MAX_NETWORK_BYTES``,
    never a FIFO or a link to a device) into a temporary folder of our own, so Keras
    reads exactly the bytes checked; the zip's members are bounded in number and
    unpacked size before Keras opens it. Every failure is the folder's ModelFileError.
    """
    def refuse(message: str) -> ModelFileError:
        return _refuse(directory, message)

    with tempfile.TemporaryDirectory(prefix="sklearn_ser_network_") as private:
        copy = Path(private) / "network.keras"
        with open(copy, "wb") as out:
            copy_bounded(network_file, out, _MAX_NETWORK_BYTES, error=refuse)
        try:
            with zipfile.ZipFile(copy) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise refuse(f"network.keras is not a Keras model file ({exc})") from None
        # zipfile never unpacks more than a member's recorded size: bounding the
        # recorded sizes bounds what Keras can unpack.
        unpacked = sum(info.file_size for info in infos)
        if len(infos) > _MAX_NETWORK_MEMBERS or unpacked > _MAX_NETWORK_UNPACKED:
            raise refuse(f"network.keras unpacks to {len(infos)} files of {unpacked} bytes "
                         f"(at most {_MAX_NETWORK_MEMBERS} files of "
                         f"{_MAX_NETWORK_UNPACKED >> 20} MB are read)")
        try:
            return keras.saving.load_model(copy, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - whatever Keras raises, the folder is bad
            raise refuse(f"network.keras cannot be loaded safely ({type(exc).__name__}: "
                         f"{str(exc)[:500]})") from None


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
