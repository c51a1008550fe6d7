"""What a model folder may set: the allow-list of parameters and its checks.

A folder written by ``export_model`` is read as untrusted data. It may set only
the parameters listed in ``_IMPORTABLE`` for the estimator classes of the step
layouts in ``_LAYOUTS``, each type- and range-checked with scikit-learn's
constraint language; runtime settings (``_RUNTIME_PARAMS``) are never read from
it. Exporting writes the same parameters, and refuses one a folder could not
set back.
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

from sklearn_ser._validation import IntSequence, RealOrRange
from sklearn_ser.persistence._json import _encode, _refuse
from sklearn_ser.pipeline import (
    AUGMENT,
    CLASSIFIER,
    CNN,
    CNN_STEPS,
    ENCODER,
    ENCODER_STEPS,
    FEATURES,
    GE2E,
    LOAD,
    SCALE,
    WHISPER,
)


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
    """Constraint: a non-empty list or tuple of distinct values from ``choices``.

    A value must be one of ``choices`` and of its exact type: no bools, and no
    ``2.0`` for ``2`` (it would pass ``in`` and then name the features ``l2.0``).
    """

    def __init__(self, choices: tuple, max_len: int):
        super().__init__(tuple, set())
        self.choices = choices
        self.max_len = max_len

    def _is_choice(self, v: Any) -> bool:
        return any(type(v) is type(c) and v == c for c in self.choices)

    def is_satisfied_by(self, val: Any) -> bool:
        # Membership first: set() of a hostile file's nested lists would raise TypeError.
        return (isinstance(val, list | tuple) and 0 < len(val) <= self.max_len
                and all(self._is_choice(v) for v in val)
                and len(set(val)) == len(val))

    def __str__(self) -> str:
        return (f"a non-empty list or tuple of at most {self.max_len} distinct values "
                f"from {self.choices}")


# Values of GE2EEncoder's layers and pooling (sklearn_ser.encoders.LAYERS / POOLINGS),
# written out so that reading a CNN model does not import the encoder package.
_ENCODER_LAYERS = (1, 2, 3, "projection", "embedding")
_ENCODER_POOLINGS = ("mean", "std", "max", "delta_std")
# WhisperEncoder's layers: transformer blocks 1..32 (Whisper large has 32; the installed
# model's own count is checked when importing) or "final" (_whisper_network.FINAL).
_WHISPER_LAYERS = (*range(1, 33), "final")

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
#: Most nuisance directions a folder may hold (each one a row of n_features numbers).
_MAX_NUISANCE_DIRECTIONS = 64

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
        "trim_floor_db": [Interval(Real, 0, 200, closed="right"), None],
    },
    "WaveformAugmenter": {
        "views": [_Strings(max_len=16)],
        "noise_amplitude": [RealOrRange(0.0, 10.0)],
        "pitch_steps": [RealOrRange(-48.0, 48.0)],
        "stretch_rate": [RealOrRange(0.05, 20.0)],
        "speed_factor": [RealOrRange(0.25, 4.0)],
        "gain_db": [RealOrRange(-120.0, 120.0)],
        "shift_seconds": [RealOrRange(-60.0, 60.0)],
        "snr_db": [RealOrRange(-30.0, 100.0)],
        "rt60": [RealOrRange(0.0, 10.0)],
        "n_talkers": [Interval(Integral, 1, 1024, closed="both")],
        "mixed_conditions": [_Strings(max_len=16)],  # the names: WaveformAugmenter's check
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
    # The union's own parameters are make_ser_pipeline's, never a folder's: its
    # transformer_list is the layout (_NESTED), n_jobs and verbose are runtime settings,
    # transformer_weights would rescale the vectors the folder's statistics describe.
    "EncoderUnion": {},
    "GE2EEncoder": {
        # Not "weights": a model folder never names a file to read; the encoder always
        # uses the installed package's weights, checked against fitted.encoder.ge2e.
        "layers": [_Choices(_ENCODER_LAYERS, max_len=5)],
        "pooling": [_Choices(_ENCODER_POOLINGS, max_len=4)],
        "sr": _RATE,
        "batch_size": _COUNT,
        "instance_norm": _FLAG,
    },
    "WhisperEncoder": {
        # Not "weights" either: checked against fitted.encoder.whisper.
        "layers": [_Choices(_WHISPER_LAYERS, max_len=8)],
        "pooling": [_Choices(_ENCODER_POOLINGS, max_len=4)],
        "sr": _RATE,
        "batch_size": _COUNT,
        "instance_norm": _FLAG,
    },
    "SpeakerStandardizer": {
        "per_speaker": _FLAG,
        "min_clips": [Interval(Integral, 2, 100_000, closed="both")],
        "shrinkage": [Interval(Real, 0, 1e6, closed="both")],
        "max_imbalance": [Interval(Real, 0, 1, closed="both"), None],
        "domain_shift": [Interval(Real, 0, 1e6, closed="both"), None],
        "with_std": _FLAG,
        "domain_std": _FLAG,
        "nuisance_directions": [Interval(Integral, 0, _MAX_NUISANCE_DIRECTIONS, closed="both")],
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

#: Estimators inside a step: step class -> {name: class of the estimator}, the name being
#: the one ``get_params()`` gives it (a parameter such as ViewsClassifier's ``estimator``,
#: or a member's name in a union). Their parameters are read as ``<step>__<name>__<param>``
#: (e.g. ``classifier__estimator__C``, ``encoder__whisper__layers``), checked against that
#: class's _IMPORTABLE entry; the estimator itself is always the one make_ser_pipeline
#: builds, never the file's choice. Exporting checks each one's class.
_NESTED: dict[str, dict[str, str]] = {
    "ViewsClassifier": {"estimator": "LogisticRegression"},
    "EncoderUnion": {GE2E: "GE2EEncoder", WHISPER: "WhisperEncoder"},
}

#: Steps that hold a list of named members: step class -> the parameter holding the
#: (name, estimator) pairs. The members must be exactly those of _NESTED, in that order;
#: the list is never written or read as a parameter.
_MEMBER_LISTS: dict[str, str] = {"EncoderUnion": "transformer_list"}

#: Step layouts an export may have: name of each step -> estimator class name. The
#: layouts of make_ser_pipeline: the CNN presets ("reference", "cnn") and the encoder
#: preset ("recommended").
_LAYOUTS: dict[tuple[str, ...], dict[str, str]] = {
    CNN_STEPS: {LOAD: "AudioLoader", AUGMENT: "WaveformAugmenter",
                FEATURES: "FeatureImageExtractor", CNN: "SERClassifier"},
    ENCODER_STEPS: {LOAD: "AudioLoader", AUGMENT: "WaveformAugmenter",
                    ENCODER: "EncoderUnion", SCALE: "SpeakerStandardizer",
                    CLASSIFIER: "ViewsClassifier"},
}

#: Refusal hints for parameters a folder may never set.
_REFUSAL_HINTS = {
    "weights": "a model folder cannot choose the encoder's weight file: the installed "
               "package's weights are always used",
    "transformer_weights": "a model folder cannot weight the encoders' outputs: they are "
                           "concatenated as make_ser_pipeline builds them",
}


def _is_default(estimator: Any, key: str, value: Any) -> bool:
    """Whether ``value`` is the default of ``key`` in ``estimator``'s constructor."""
    param = inspect.signature(type(estimator).__init__).parameters.get(key)
    if param is None or param.default is inspect.Parameter.empty:
        return False
    default = param.default
    return value is default or (type(value) is type(default) and value == default)


def _export_params(estimator: Any, prefix: str, cls: str) -> dict[str, Any]:
    """The parameters of one estimator a model folder may set, JSON-encoded.

    Runtime settings are left out, as are parameters a folder may not set when they
    have their default value; such a parameter with another value cannot be exported.
    Estimators inside it (``_NESTED``) are exported under ``<prefix>__<name>__``; a
    missing one, one of another class or a union with other members is refused.

    Raises
    ------
    ValueError
        Naming the parameter or the estimator a model folder cannot hold.
    """
    params: dict[str, Any] = {}
    nested = _NESTED.get(cls, {})
    own = estimator.get_params(deep=False)
    members = _MEMBER_LISTS.get(cls)
    if members is not None:
        names = [name for name, _ in own[members]]
        if names != list(nested):
            raise ValueError(f"cannot export {prefix}: it holds {names}, the layout holds "
                             f"{list(nested)}; use save_model")
    # deep=True names a union's members as well as estimator parameters.
    inner = estimator.get_params(deep=True) if nested else {}
    for name, inner_cls in nested.items():
        where = f"{prefix}__{name}"
        member = inner.get(name)
        if type(member).__name__ != inner_cls:
            raise ValueError(f"cannot export {where}: it is a {type(member).__name__}, "
                             f"the layout has a {inner_cls} there; use save_model")
        params.update(_export_params(member, where, inner_cls))
    for key, value in own.items():
        where = f"{prefix}__{key}"
        if key in _RUNTIME_PARAMS or key in nested or key == members:
            continue  # settings of this machine, estimators above, or the layout itself
        if key in _IMPORTABLE[cls]:
            params[where] = _encode(value, where)
        elif not _is_default(estimator, key, value):
            hint = _REFUSAL_HINTS.get(key, "a model folder may not set it")
            raise ValueError(f"cannot export {where}={value!r}: {hint}; use save_model")
    return params



def _defaults_of_absent(pipeline: Any, layout: dict[str, str],
                        params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Constructor defaults of the importable parameters a folder does not name.

    export_model writes every importable parameter, so one that is absent was added
    to the package after the folder was written: the folder's model computed as the
    parameter's default does (a new option defaults to the old behaviour), not as
    today's preset sets it.

    Returns
    -------
    settings : dict
        ``step__param`` (or ``step__member__param``) -> the default, for ``set_params``.
    """
    settings: dict[str, Any] = {}
    for step, cls in layout.items():
        estimator = pipeline.named_steps[step]
        members = estimator.get_params(deep=True)
        owners = [("", estimator, cls)] + [(f"{name}__", members[name], inner)
                                           for name, inner in _NESTED.get(cls, {}).items()]
        for where, owner, owner_cls in owners:
            signature = inspect.signature(type(owner).__init__).parameters
            for name in _IMPORTABLE[owner_cls]:
                key = f"{where}{name}"
                if key not in params[step] and name in signature:
                    settings[f"{step}__{key}"] = signature[name].default
    return settings


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
        if sep:  # an estimator inside the step: classifier__estimator__C, encoder__ge2e__sr
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
