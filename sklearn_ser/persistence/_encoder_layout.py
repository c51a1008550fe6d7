"""The encoder layout of the export format (the ``"recommended"`` preset).

``pipeline.json`` holds the step parameters, the SHA-256 of the GE2E weights
used, the standardisation statistics (global and per training speaker) and
the logistic regression's ``coef_`` and ``intercept_``, all as plain JSON
numbers. Importing rebuilds the pipeline without TensorFlow, fits the encoder
on the installed weights (never a file the folder names) and checks every
learned array's type, shape and values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from sklearn_ser._validation import validate_pipeline
from sklearn_ser.exceptions import ModelFileError
from sklearn_ser.persistence._allowlist import _LAYOUTS, _export_params
from sklearn_ser.persistence._json import _encode, _fitted_state, _import_classes, _refuse
from sklearn_ser.persistence._record import to_json_types
from sklearn_ser.pipeline import (
    AUGMENT,
    CLASSIFIER,
    ENCODER,
    ENCODER_STEPS,
    LOAD,
    SCALE,
    make_ser_pipeline,
)

#: Most training speakers with their own statistics in an imported SpeakerStandardizer.
_MAX_SPEAKERS = 100_000


def _export_encoder_layout(pipeline: Pipeline) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters and fitted state of a fitted ``make_ser_pipeline("recommended")``."""
    from sklearn.linear_model import LogisticRegression

    layout = _LAYOUTS[ENCODER_STEPS]
    for name, step in pipeline.steps:
        if type(step).__name__ != layout[name]:
            raise ValueError(
                f"export_model: step {name!r} is a {type(step).__name__}; the encoder layout "
                f"has a {layout[name]} there. Use save_model for other estimators"
            )
    encoder = pipeline.named_steps[ENCODER]
    scale = pipeline.named_steps[SCALE]
    views = pipeline.named_steps[CLASSIFIER]
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
        LOAD: _fitted_state(pipeline.named_steps[LOAD], LOAD),
        AUGMENT: _fitted_state(pipeline.named_steps[AUGMENT], AUGMENT),
        ENCODER: {"weights_digest_": str(encoder.weights_digest_),
                  "n_features_out_": int(encoder.n_features_out_)},
        SCALE: {
            "n_features_in_": int(scale.n_features_in_),
            "mean_": floats(scale.mean_, "scale.mean_"),
            "scale_": floats(scale.scale_, "scale.scale_"),
            "speakers_": [to_json_types(s) for s in np.asarray(scale.speakers_).tolist()],
            "speaker_mean_": floats(scale.speaker_mean_, "scale.speaker_mean_"),
            "speaker_scale_": floats(scale.speaker_scale_, "scale.speaker_scale_"),
            **_probe_state(scale, floats),
        },
        CLASSIFIER: {
            "estimator": type(model).__name__,
            "classes_": [to_json_types(c) for c in np.asarray(views.classes_).tolist()],
            "n_views_": int(views.n_views_),
            "coef_": floats(model.coef_, "classifier.coef_"),
            "intercept_": floats(model.intercept_, "classifier.intercept_"),
        },
    }
    return params, fitted


def _import_encoder_layout(spec: dict[str, Any], meta: dict[str, Any],
                           params: dict[str, dict[str, Any]], directory: Path, *,
                           n_jobs: int | None, memory: Any, verbose: int) -> Pipeline:
    """Rebuild a fitted ``make_ser_pipeline("recommended")`` from checked JSON (no TensorFlow)."""
    fitted = spec.get("fitted")
    if not (isinstance(fitted, dict) and all(
            isinstance(fitted.get(name), dict) for name in (ENCODER, SCALE, CLASSIFIER))):
        raise _refuse(directory, "pipeline.json has no fitted state of the encoder, the "
                                 "standardisation and the classifier (fitted.encoder, "
                                 "fitted.scale, fitted.classifier)")
    state_clf = fitted[CLASSIFIER]
    if state_clf.get("estimator") != "LogisticRegression":
        raise _refuse(directory, f"pipeline.json: the classifier wraps "
                                 f"{str(state_clf.get('estimator'))[:80]!r}; a model folder "
                                 "can hold a LogisticRegression only (use save_model for others)")

    per_speaker = params[SCALE].get("per_speaker", False)
    pipeline = make_ser_pipeline("recommended", speaker_adaptation=per_speaker, n_jobs=n_jobs,
                                 memory=memory, verbose=verbose)
    pipeline.set_params(**{f"{step}__{k}": v for step, values in params.items()
                           for k, v in values.items()})
    encoder = pipeline.named_steps[ENCODER]
    scale = pipeline.named_steps[SCALE]
    views = pipeline.named_steps[CLASSIFIER]
    try:
        validate_pipeline(pipeline)
        views.estimator._validate_params()
        encoder._checked_outputs()
        # The fitted state of the audio steps follows from the checked parameters.
        pipeline.named_steps[LOAD].n_features_in_ = 1
        pipeline.named_steps[AUGMENT].fit(None)
    except ValueError as exc:  # InvalidParameterError is a ValueError
        raise _refuse(directory, f"pipeline.json: {exc}") from None
    # So does the encoder's: fitting it reads the installed weights (never a path from
    # the folder: encoder__weights cannot be set) and gives the vectors' width. A missing
    # or unreadable weight file raises EncoderNotInstalledError / WeightFileError.
    encoder.fit(None)

    state = fitted[ENCODER]
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

    state = fitted[SCALE]
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
    _import_probe(scale, state, n_features, directory)

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


#: The balance check's probe of SpeakerStandardizer (absent from exports made before it).
_PROBE = ("classes_", "class_prior_", "probe_coef_", "probe_intercept_", "emotion_shift_")


def _probe_state(scale: Any, floats: Any) -> dict[str, Any]:
    """The probe of a fitted SpeakerStandardizer as JSON (nothing if it has none)."""
    if not hasattr(scale, "probe_coef_"):
        return {}
    return {
        "classes_": [to_json_types(c) for c in np.asarray(scale.classes_).tolist()],
        "class_prior_": floats(scale.class_prior_, "scale.class_prior_"),
        "probe_coef_": floats(scale.probe_coef_, "scale.probe_coef_"),
        "probe_intercept_": floats(scale.probe_intercept_, "scale.probe_intercept_"),
        "emotion_shift_": float(getattr(scale, "emotion_shift_", 0.0)),
    }


def _import_probe(scale: Any, state: dict[str, Any], n_features: int, directory: Path) -> None:
    """Set the probe from checked JSON: labels, then arrays of one row per label."""
    if not any(key in state for key in _PROBE):
        # An export without the probe: the balance check has nothing to compare to.
        scale.classes_ = np.asarray([], dtype=object)
        scale.class_prior_ = np.zeros(0)
        scale.probe_coef_ = np.zeros((0, n_features))
        scale.probe_intercept_ = np.zeros(0)
        scale.emotion_shift_ = 0.0
        return
    labels = _labels(state.get("classes_"), "fitted.scale.classes_", directory)
    n = len(labels)
    scale.classes_ = labels.astype(object) if labels.dtype.kind in "US" else labels
    scale.class_prior_ = _numbers(state.get("class_prior_"), (n,), "fitted.scale.class_prior_",
                                  directory)
    scale.probe_coef_ = _numbers(state.get("probe_coef_"), (n, n_features),
                                 "fitted.scale.probe_coef_", directory)
    scale.probe_intercept_ = _numbers(state.get("probe_intercept_"), (n,),
                                      "fitted.scale.probe_intercept_", directory)
    shift = state.get("emotion_shift_", 0.0)
    if not (isinstance(shift, int | float) and not isinstance(shift, bool)
            and np.isfinite(shift) and shift >= 0):
        raise _refuse(directory, "pipeline.json: fitted.scale.emotion_shift_ is not a finite "
                                 "number >= 0")
    scale.emotion_shift_ = float(shift)
    if n and not (np.all(scale.class_prior_ >= 0)
                  and abs(float(scale.class_prior_.sum()) - 1.0) < 1e-6):
        raise _refuse(directory, "pipeline.json: fitted.scale.class_prior_ is not a "
                                 "distribution (non-negative, summing to 1)")


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
