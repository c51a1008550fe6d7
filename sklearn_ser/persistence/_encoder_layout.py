"""The encoder layout of the export format (the ``"recommended"`` preset).

The encoder step is an :class:`~sklearn_ser.EncoderUnion` of a GE2E encoder
(``ge2e``) and a Whisper encoder (``whisper``). ``pipeline.json`` holds the
step parameters (the encoders' as ``encoder__ge2e__layers`` ...), per encoder
the SHA-256 of the weights used and its output width
(``fitted.encoder.ge2e`` / ``fitted.encoder.whisper``), the standardisation
statistics (global and per training speaker) and the logistic regression's
``coef_`` and ``intercept_``, all as plain JSON numbers. Importing rebuilds the
pipeline without TensorFlow, fits both encoders on the installed weights (never
a file the folder names) and checks every learned array's type, shape and
values. Folders written when the encoder step was a single GE2EEncoder are
refused with a message saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from sklearn_ser._validation import validate_pipeline
from sklearn_ser.exceptions import ModelFileError
from sklearn_ser.persistence._allowlist import _LAYOUTS, _defaults_of_absent, _export_params
from sklearn_ser.persistence._json import _encode, _fitted_state, _import_classes, _refuse
from sklearn_ser.persistence._record import to_json_types
from sklearn_ser.pipeline import (
    AUGMENT,
    CLASSIFIER,
    ENCODER,
    ENCODER_STEPS,
    GE2E,
    LOAD,
    SCALE,
    WHISPER,
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
    scale = pipeline.named_steps[SCALE]
    views = pipeline.named_steps[CLASSIFIER]
    for estimator in (views.estimator, getattr(views, "estimator_", None)):
        if estimator is not None and type(estimator) is not LogisticRegression:
            raise ValueError(
                "export_model exports an encoder pipeline whose classifier wraps a "
                f"LogisticRegression; this one wraps a {type(estimator).__name__}. "
                "Use save_model for other classifiers"
            )
    # Before the fitted check: it also checks the union's members (names and classes).
    params: dict[str, Any] = {}
    for name, step in pipeline.steps:
        params.update(_export_params(step, name, layout[name]))
    # A fitted union holds its fitted encoders in transformer_list.
    encoders = dict(pipeline.named_steps[ENCODER].transformer_list)
    if not (hasattr(views, "estimator_") and hasattr(scale, "mean_")
            and all(hasattr(e, "weights_digest_") for e in encoders.values())):
        raise ValueError("the pipeline is not fitted; fit it before exporting")
    model = views.estimator_

    def floats(value: Any, where: str) -> Any:
        return _encode(np.asarray(value, dtype=np.float64), where)

    fitted = {
        LOAD: _fitted_state(pipeline.named_steps[LOAD], LOAD),
        AUGMENT: _fitted_state(pipeline.named_steps[AUGMENT], AUGMENT),
        ENCODER: {name: {"weights_digest_": str(encoder.weights_digest_),
                         "n_features_out_": int(encoder.n_features_out_)}
                  for name, encoder in encoders.items()},
        SCALE: {
            "n_features_in_": int(scale.n_features_in_),
            "mean_": floats(scale.mean_, "scale.mean_"),
            "scale_": floats(scale.scale_, "scale.scale_"),
            "speakers_": [to_json_types(s) for s in np.asarray(scale.speakers_).tolist()],
            "speaker_mean_": floats(scale.speaker_mean_, "scale.speaker_mean_"),
            "speaker_scale_": floats(scale.speaker_scale_, "scale.speaker_scale_"),
            "nuisance_directions_": floats(scale.nuisance_directions_,
                                           "scale.nuisance_directions_"),
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
    pipeline.set_params(**_defaults_of_absent(pipeline, _LAYOUTS[ENCODER_STEPS], params))
    pipeline.set_params(**{f"{step}__{k}": v for step, values in params.items()
                           for k, v in values.items()})
    union = pipeline.named_steps[ENCODER]
    scale = pipeline.named_steps[SCALE]
    views = pipeline.named_steps[CLASSIFIER]
    try:
        validate_pipeline(pipeline)
        views.estimator._validate_params()
        # validate_pipeline does not open a union's transformer_list.
        for _, encoder in union.transformer_list:
            encoder._validate_params()
        union.named_transformers[GE2E]._checked_outputs()
        # The fitted state of the audio steps follows from the checked parameters.
        pipeline.named_steps[LOAD].n_features_in_ = 1
        pipeline.named_steps[AUGMENT].fit(None)
    except ValueError as exc:  # InvalidParameterError is a ValueError
        raise _refuse(directory, f"pipeline.json: {exc}") from None
    n_features = _fit_encoders(union, fitted[ENCODER], directory)

    state = fitted[SCALE]
    if state.get("n_features_in_", n_features) != n_features:
        raise _refuse(directory, f"pipeline.json: fitted.scale.n_features_in_ is not "
                                 f"{n_features}, the encoders' total output width")
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
    scale.nuisance_directions_ = _import_nuisance(state, scale.nuisance_directions, n_features,
                                                  directory)
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


def _fit_encoders(union: Any, states: dict[str, Any], directory: Path) -> int:
    """Fit the union's encoders on the installed weights and check them against the folder.

    Fitting reads the installed weights (never a path from the folder:
    ``encoder__<name>__weights`` cannot be set) and gives each encoder's width. A
    missing or unreadable weight file raises EncoderNotInstalledError /
    WeightFileError, this machine's problem, not the folder's.

    Parameters
    ----------
    union : EncoderUnion
        The rebuilt, unfitted encoder step with the folder's checked parameters.
    states : dict
        ``fitted.encoder`` of pipeline.json: per encoder name, its ``weights_digest_``
        and ``n_features_out_``.
    directory : Path
        The model folder, for messages.

    Returns
    -------
    n_features : int
        The union's output width: the sum of its encoders'.

    Raises
    ------
    ModelFileError
        A state is missing or malformed, a digest differs from the installed weights'
        (naming the encoder and its install command), a width differs, or the folder's
        Whisper layers go beyond the installed model's blocks.
    """
    from sklearn_ser.encoders import INSTALL_COMMAND as GE2E_INSTALL
    from sklearn_ser.encoders import load_whisper_weights
    from sklearn_ser.encoders._whisper_weights import INSTALL_COMMAND as WHISPER_INSTALL
    from sklearn_ser.exceptions import WeightFileError

    # What the messages call each encoder, and the command that installs its weights.
    described = {GE2E: ("GE2E", GE2E_INSTALL), WHISPER: ("Whisper", WHISPER_INSTALL)}
    # The allow-list takes Whisper blocks up to 32; the installed model may have fewer.
    n_blocks = len(load_whisper_weights().layers)
    beyond = [v for v in union.named_transformers[WHISPER].layers
              if isinstance(v, int) and v > n_blocks]
    if beyond:
        raise _refuse(directory, f"pipeline.json sets {ENCODER}__{WHISPER}__layers with blocks "
                                 f"{beyond}; the installed Whisper model has {n_blocks}")
    try:
        union.fit(None)  # the encoders ignore X: fitting loads and checks their weights
    except WeightFileError:
        raise  # the installed file's problem, not the folder's
    except ValueError as exc:  # a setting the checks above let through
        raise _refuse(directory, f"pipeline.json: {exc}") from None

    n_features = 0
    for name, encoder in union.transformer_list:
        title, install = described[name]
        where = f"fitted.{ENCODER}.{name}"
        state = states.get(name)
        if not isinstance(state, dict):
            raise _refuse(directory, f"pipeline.json has no fitted state of the {title} "
                                     f"encoder ({where})")
        digest = state.get("weights_digest_")
        if not (isinstance(digest, str) and len(digest) == 64
                and all(c in "0123456789abcdef" for c in digest)):
            raise _refuse(directory, f"pipeline.json: {where}.weights_digest_ is not a "
                                     "sha256 hex digest")
        if digest != encoder.weights_digest_:
            raise _refuse(
                directory,
                f"the model was exported with {title} encoder weights of sha256 {digest}, "
                f"the installed {title} weights have sha256 {encoder.weights_digest_}. "
                f"Install the weights the model needs ({install}) or retrain it with the "
                "installed ones",
            )
        width = int(encoder.n_features_out_)
        got = state.get("n_features_out_")
        if not (isinstance(got, int) and not isinstance(got, bool) and got == width):
            raise _refuse(directory, f"pipeline.json: {where}.n_features_out_ is "
                                     f"{str(got)[:40]}, the {title} encoder settings make "
                                     f"vectors of {width} numbers")
        n_features += width
    return n_features


#: GE2EEncoder's parameters as the older layout wrote them, straight under the encoder step.
_OLDER_PARAMS = tuple(f"{ENCODER}__{p}" for p in ("layers", "pooling", "sr", "batch_size"))


def _refuse_older_encoder_layout(spec: dict[str, Any], meta: dict[str, Any],
                                 directory: Path) -> None:
    """Refuse a folder exported when the encoder step was a single GE2EEncoder.

    Such a folder sets ``encoder__layers`` (not ``encoder__ge2e__layers``) and keeps
    one ``fitted.encoder.weights_digest_``. Its classifier was trained on GE2E vectors
    alone, so it cannot be read into the union: it is refused with a message that
    says so, rather than as a list of parameters a folder may not set.

    Parameters
    ----------
    spec, meta : dict
        pipeline.json and metadata.json, parsed.
    directory : Path
        The model folder, for messages.

    Raises
    ------
    ModelFileError
        If the folder has the older layout.
    """
    params, fitted = spec.get("params"), spec.get("fitted")
    found = sorted(k for k in params if k in _OLDER_PARAMS) if isinstance(params, dict) else []
    state = fitted.get(ENCODER) if isinstance(fitted, dict) else None
    if isinstance(state, dict) and "weights_digest_" in state:
        found.append(f"fitted.{ENCODER}.weights_digest_")
    if not found:
        return
    versions = meta.get("versions")
    version = versions.get("sklearn_ser") if isinstance(versions, dict) else None
    made_by = (f"sklearn_ser {version}" if isinstance(version, str) and len(version) <= 40
               and version.isprintable() else "the sklearn_ser version that exported it")
    raise _refuse(
        directory,
        f"the folder was exported by an older layout of the encoder step, a single "
        f"GE2EEncoder (pipeline.json has {', '.join(found)}); this version's encoder step "
        f"joins GE2E and Whisper ({ENCODER}__{GE2E}__..., {ENCODER}__{WHISPER}__...), and "
        "a classifier trained on GE2E vectors alone cannot be read into it. Refit "
        'make_ser_pipeline("recommended") with this version and export it again, or import '
        f"the folder with {made_by}",
    )


def _import_nuisance(state: dict[str, Any], n_directions: int, n_features: int,
                     directory: Path) -> np.ndarray:
    """Nuisance directions from checked JSON: at most ``n_directions`` orthonormal rows."""
    raw = state.get("nuisance_directions_", [])  # absent from folders made before them
    values = raw.get("__ndarray__") if isinstance(raw, dict) else raw
    n_rows = len(values) if isinstance(values, list) else -1
    if not 0 <= n_rows <= n_directions:
        raise _refuse(directory, f"pipeline.json: fitted.scale.nuisance_directions_ is not a "
                                 f"list of at most scale__nuisance_directions={n_directions} "
                                 "rows")
    directions = _numbers(raw, (n_rows, n_features), "fitted.scale.nuisance_directions_",
                          directory)
    # Projecting out rows that are not orthonormal would rescale, not remove, a direction.
    if not np.allclose(directions @ directions.T, np.eye(n_rows), atol=1e-6):
        raise _refuse(directory, "pipeline.json: fitted.scale.nuisance_directions_ are not "
                                 "orthonormal rows")
    return directions


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
