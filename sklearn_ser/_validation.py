"""Parameter validation shared by the estimators, the pipeline and the command line.

Each estimator declares ``_parameter_constraints`` (scikit-learn's own
machinery, :mod:`sklearn.utils._param_validation`) and decorates ``fit``
with :func:`sklearn.base._fit_context`, so a bad value fails at the start of
``fit`` with the parameter's name. A :class:`~sklearn.pipeline.Pipeline`
validates each step only when it reaches it, after the earlier steps have
loaded audio and extracted features; :func:`validate_pipeline` checks every
step first, and the command line calls it before any audio is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    validate_parameter_constraints,
)

__all__ = [
    "N_JOBS",
    "VERBOSE",
    "IntSequence",
    "RealOrRange",
    "check_labels",
    "validate_pipeline",
]

#: ``n_jobs``: None, a positive count, or -1, -2, ... (all cores, all but one, ...).
N_JOBS = [Interval(Integral, None, -1, closed="right"), Interval(Integral, 1, None, closed="left"),
          None]
#: ``verbose``: an int >= 0 or a bool (scikit-learn's ``"verbose"`` constraint).
VERBOSE = ["verbose"]


class IntSequence(Options):
    """Constraint: a non-empty list/tuple of ints in ``[low, high]``, at most ``max_len`` long.

    Used in ``_parameter_constraints`` like scikit-learn's own constraint
    objects (an :class:`~sklearn.utils._param_validation.Options` subclass,
    so that scikit-learn's ``make_constraint`` accepts it).
    """

    def __init__(self, low: int = 1, high: int | None = None, max_len: int | None = None):
        super().__init__(tuple, set())
        self.low = low
        self.high = high
        self.max_len = max_len
        self.hidden = False

    def is_satisfied_by(self, val: Any) -> bool:
        if not isinstance(val, list | tuple) or not val:
            return False
        if self.max_len is not None and len(val) > self.max_len:
            return False
        return all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= self.low
            and (self.high is None or v <= self.high)
            for v in val
        )

    def __str__(self) -> str:
        top = "" if self.high is None else f" and <= {self.high}"
        most = "" if self.max_len is None else f" (at most {self.max_len})"
        return f"a non-empty list or tuple{most} of ints >= {self.low}{top}"


class RealOrRange(Options):
    """Constraint: a real number, or a ``(low, high)`` pair with ``low <= high``, within bounds.

    For amounts that are either fixed or drawn uniformly from a range (the
    augmentation amounts). ``low``/``high`` bound every number (None: no
    bound); ``open_low`` excludes ``low`` itself.
    """

    def __init__(self, low: float | None = None, high: float | None = None, *,
                 open_low: bool = False):
        super().__init__(tuple, set())
        self.low = low
        self.high = high
        self.open_low = open_low

    def _ok(self, v: Any) -> bool:
        if not isinstance(v, Real) or isinstance(v, bool) or not np.isfinite(v):
            return False
        if self.low is not None and (v < self.low or (self.open_low and v == self.low)):
            return False
        return self.high is None or v <= self.high

    def is_satisfied_by(self, val: Any) -> bool:
        if isinstance(val, list | tuple):
            return len(val) == 2 and all(map(self._ok, val)) and val[0] <= val[1]
        return self._ok(val)

    def __str__(self) -> str:
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.open_low else '>='} {self.low}")
        if self.high is not None:
            bounds.append(f"<= {self.high}")
        within = f" {' and '.join(bounds)}" if bounds else ""
        return f"a real number{within} or a (low, high) pair of such numbers with low <= high"


def check_labels(y: Any, *, what: str = "y") -> np.ndarray:
    """Refuse training labels that cannot make a classifier; return them as an array.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Training labels.
    what : str, default="y"
        Name used in the messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        If the labels mix strings and numbers (``[1, "angry"]`` would
        otherwise silently become string classes), hold a missing value, or
        hold a single class (a constant model that scores 1.0 on its own data).
    """
    values = list(y.tolist() if isinstance(y, np.ndarray) else y) if not isinstance(y, str) else [y]
    kinds = {"string" if isinstance(v, str | np.str_) else "number" for v in values
             if isinstance(v, str | np.str_ | Integral | Real)}
    if len(kinds) > 1:
        numbers = sorted({repr(v) for v in values if not isinstance(v, str | np.str_)})[:3]
        raise ValueError(
            f"{what} mixes strings and numbers (e.g. {', '.join(numbers)}); use one type for "
            "all labels, e.g. all strings"
        )
    if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
        raise ValueError(f"{what} contains missing labels (None or NaN)")
    array = np.asarray(values, dtype=object if kinds == {"string"} else None)
    classes = np.unique(array) if array.size else array
    if len(classes) < 2:
        seen = f"only {classes[0]!r}" if len(classes) else "no labels"
        raise ValueError(
            f"{what} has {len(classes)} class ({seen}); a classifier needs at least 2 classes "
            "in its training data"
        )
    return np.asarray(y) if isinstance(y, np.ndarray) else array


def _full_name(message: str, name: str, params: Any) -> str:
    """"The 'epochs' parameter of SERClassifier ..." -> "The 'cnn__epochs' parameter ..."."""
    for param in params:
        quoted = f"The {param!r} parameter"
        if message.startswith(quoted):
            return f"The '{name}__{param}' parameter" + message[len(quoted):]
    return message


def _validate_estimator(estimator: Any, name: str) -> None:
    """Check ``estimator``'s parameters, and those of the estimators among them, by full name."""
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    constraints = getattr(estimator, "_parameter_constraints", None)
    if constraints:
        try:
            validate_parameter_constraints(
                constraints, params, caller_name=type(estimator).__name__
            )
        except InvalidParameterError as exc:
            if not name:
                raise
            raise InvalidParameterError(_full_name(str(exc), name, constraints)) from None
    # Checks of values that types cannot express (an encoder's layers), run here so that
    # they fail before any audio is read, not when the step is reached.
    check_settings = getattr(estimator, "_check_settings", None)
    if callable(check_settings):
        try:
            check_settings()
        except ValueError as exc:
            if not name:
                raise
            raise type(exc)(_full_name(str(exc), name, params)) from None
    for param, value in params.items():
        if hasattr(value, "get_params") and not isinstance(value, type):
            _validate_estimator(value, f"{name}__{param}" if name else param)
        elif isinstance(value, list | tuple):
            # Named estimators (a union's transformer_list): their parameters are
            # "union__member__param", as scikit-learn's set_params names them.
            for item in value:
                if (isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str)
                        and hasattr(item[1], "get_params") and not isinstance(item[1], type)):
                    _validate_estimator(item[1], f"{name}__{item[0]}" if name else item[0])


def validate_pipeline(pipeline: Any, y: Sequence | None = None) -> None:
    """Check every step's parameters (and the labels) before any step does work.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline or estimator
        Steps with ``_parameter_constraints`` are checked; others are skipped.
    y : array-like, default=None
        Training labels, checked with :func:`check_labels` when given.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        Naming the step and the parameter (``'cnn__epochs'``), a subclass of
        both ``ValueError`` and ``TypeError``.
    ValueError
        From :func:`check_labels`.
    """
    steps = getattr(pipeline, "steps", None) or [("", pipeline)]
    for name, step in steps:
        if step not in (None, "passthrough"):
            _validate_estimator(step, name)
    if y is not None:
        check_labels(y)
