"""The views contract: how fit-only augmentation reaches any classifier.

While fitting, :class:`~sklearn_ser.WaveformAugmenter` turns each training clip
into several *views* (the clean clip, a noisy copy, a pitch-shifted copy, ...).
They travel down the pipeline in one explicit container, :class:`Views`: an
array whose first axis is the clip and second axis the view, plus the name of
each view. Every step between the augmenter and the classifier maps its
per-clip computation over the views (:func:`map_views`) and hands a
:class:`Views` on; the classifier trains on every view with its clip's label
(:func:`training_samples`).

At predict time the augmenter passes plain clean clips, so the steps see
ordinary arrays: a feature step returns (n_clips, n_features) and any
scikit-learn estimator can follow it. Views therefore never exist outside
``fit``, which is why augmentation cannot leak into predictions and why, in
``GridSearchCV``, each fold augments only its own training clips.

The clean view is known by its name (:data:`CLEAN`), not by its position:
steps that must look at real, unaugmented audio only (per-speaker statistics,
validation scores) take :meth:`Views.clean`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

#: Name of the unaugmented view.
CLEAN = "clean"


class Views:
    """Several versions ("views") of each clip, made while fitting only.

    Parameters
    ----------
    data : ndarray of shape (n_clips, n_views, ...)
        The views; an object array for waveforms, a float array for features.
    names : sequence of str
        One name per view, e.g. ``("clean", "noise", "pitch")``.

    Attributes
    ----------
    data : ndarray of shape (n_clips, n_views, ...)
    names : tuple of str
    """

    __slots__ = ("data", "names")

    def __init__(self, data: np.ndarray, names: Sequence[str]):
        data = np.asarray(data)
        names = tuple(str(n) for n in names)
        if data.ndim < 2 or data.shape[1] != len(names):
            raise ValueError(
                f"Views need data of shape (n_clips, n_views, ...) with one name per view; "
                f"got shape {data.shape} and {len(names)} names"
            )
        self.data = data
        self.names = names

    def __len__(self) -> int:
        return self.data.shape[0]

    def __repr__(self) -> str:
        return f"Views(n_clips={len(self)}, names={self.names}, item_shape={self.data.shape[2:]})"

    @property
    def n_views(self) -> int:
        """Number of views per clip."""
        return len(self.names)

    def clean(self) -> np.ndarray:
        """The clean view of every clip, shape (n_clips, ...).

        Raises
        ------
        ValueError
            If no view is named :data:`CLEAN`.
        """
        if CLEAN not in self.names:
            raise ValueError(
                f"these views have no clean view (views: {self.names}); add 'clean' to the "
                "augmenter's views"
            )
        return self.data[:, self.names.index(CLEAN)]

    def flat(self) -> np.ndarray:
        """All views as one batch of shape (n_clips * n_views, ...), clip-major."""
        return self.data.reshape(-1, *self.data.shape[2:])

    def repeat(self, per_clip: Any) -> np.ndarray | None:
        """Repeat a per-clip array (labels, groups, weights) once per view; None stays None."""
        if per_clip is None:
            return None
        return np.repeat(np.asarray(per_clip), self.n_views, axis=0)

    def with_data(self, data: np.ndarray) -> Views:
        """New views with the same names over ``data`` of shape (n_clips, n_views, ...)."""
        return Views(data, self.names)


def map_views(func: Callable[[np.ndarray], np.ndarray], X: Any) -> Any:
    """Apply a batch computation to plain clips, or to every view of :class:`Views`.

    Parameters
    ----------
    func : callable
        Maps a batch of items (first axis: items) to a batch of results
        with the same first axis.
    X : Views or array-like
        Views (while fitting) or plain items (at predict time).

    Returns
    -------
    Views or ndarray
        Views of the results with the same names, or ``func(X)``.
    """
    if not isinstance(X, Views):
        return func(X)
    out = np.asarray(func(X.flat()))
    return X.with_data(out.reshape(len(X), X.n_views, *out.shape[1:]))


def as_clips(X: Any) -> np.ndarray:
    """A batch of 1-D waveforms as a 1-D object array (no copies of the signals).

    Accepts a list/tuple/1-D object array of 1-D float arrays (or lists of
    numbers), an (n, 1) object array, a float array of shape (n_clips,
    n_samples), or anything that converts to one of these arrays
    (``__array__``: a pandas Series, ...). Sparse, complex and non-numeric
    input is refused.
    """
    if isinstance(X, Views):
        raise TypeError("as_clips got Views: map the computation with map_views")
    if hasattr(X, "tocsr") or hasattr(X, "todense"):  # scipy.sparse, without importing it
        raise TypeError("sparse input is not supported: waveforms must be dense arrays")
    if not isinstance(X, np.ndarray | list | tuple) and hasattr(X, "__array__"):
        X = np.asarray(X)
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 2:
            raise ValueError(
                f"numeric waveform input must have shape (n_clips, n_samples), got {X.shape}. "
                "Reshape your data: one waveform y is [y] or y.reshape(1, -1)"
            )
        if np.iscomplexobj(X):
            raise ValueError("waveforms must be real-valued: complex data is not supported")
        out = np.empty(X.shape[0], dtype=object)
        out[:] = list(X)
        return out
    if not isinstance(X, np.ndarray):
        items = list(X)
        X = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):  # one by one: numpy would stack equal lengths
            X[i] = np.asarray(item) if isinstance(item, list | tuple) else item
    if X.ndim == 2 and X.shape[1] == 1:
        X = X[:, 0]
    if X.ndim != 1:
        raise ValueError(
            f"waveforms must be a 1-D batch of clips, got an array of shape {X.shape}; "
            "several versions of each clip travel as sklearn_ser.views.Views"
        )
    for w in X:
        if not (isinstance(w, np.ndarray) and w.ndim == 1
                and (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer))):
            raise TypeError(
                "each waveform must be a 1-D numpy array (did you pass file paths to a step "
                "that expects audio? Put AudioLoader first)"
            )
    return X


def training_samples(X: Any, y: Any = None, **per_clip: Any) -> tuple[Any, Any, dict]:
    """Flatten views into training samples, repeating each clip's label and metadata.

    Parameters
    ----------
    X : Views or array-like
    y : array-like of shape (n_clips,), optional
    **per_clip : array-like of shape (n_clips,) or None
        E.g. ``sample_weight`` or ``groups``.

    Returns
    -------
    X_samples, y_samples, per_sample : tuple
        Unchanged when ``X`` is not :class:`Views`.
    """
    if not isinstance(X, Views):
        return X, y, per_clip
    return X.flat(), X.repeat(y), {k: X.repeat(v) for k, v in per_clip.items()}


def average_over_views(X: Any, predict: Callable[[Any], np.ndarray]) -> np.ndarray:
    """``predict`` on plain input, or the mean of ``predict`` over each clip's views."""
    if not isinstance(X, Views):
        return predict(X)
    out = np.asarray(predict(X.flat()))
    return out.reshape(len(X), X.n_views, *out.shape[1:]).mean(axis=1)


def views_pass_set_output(cls: type) -> type:
    """Class decorator: Views bypass ``set_output``'s wrapping of a transformer's output.

    scikit-learn wraps ``transform`` and ``fit_transform`` so that their output
    becomes a DataFrame when ``set_output(transform="pandas")`` is asked for.
    Views (fit time only) are not a table: for them the unwrapped method runs,
    and the next step maps over the views. Plain output is wrapped as usual.
    """
    for name in ("transform", "fit_transform"):
        if name in cls.__dict__:
            setattr(cls, name, _dispatch_on_views(cls.__dict__[name]))
    return cls


def _dispatch_on_views(wrapped: Callable) -> Callable:
    raw = getattr(wrapped, "__wrapped__", wrapped)

    @functools.wraps(raw)
    def method(self, X, *args, **kwargs):
        return (raw if isinstance(X, Views) else wrapped)(self, X, *args, **kwargs)

    return method


class ViewsClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Let any scikit-learn classifier train on every augmented view of a clip.

    While fitting, the pipeline hands this step a :class:`Views` of feature
    vectors; the wrapped classifier is fitted on all of them, each view with
    its clip's label (and weight). At predict time the input is one clean
    vector per clip and is passed straight through.

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier (``LogisticRegression``, ``SVC``, a
        ``Pipeline`` ending in one, ...). It is cloned in ``fit``.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``.
    n_views_ : int
        Views per clip seen in ``fit`` (1 without augmentation).
    n_features_in_ : int
        Number of features seen in ``fit``: the wrapped classifier's (absent
        if it does not record it).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in ``fit``, when ``X`` had string column
        names (the wrapped classifier's).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_ser.views import ViewsClassifier
    >>> clf = ViewsClassifier(LogisticRegression())
    """

    _parameter_constraints: dict = {"estimator": [HasMethods(["fit", "predict"])]}

    def __init__(self, estimator: Any):
        self.estimator = estimator

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ViewsClassifier:
        """Fit the wrapped classifier on every view.

        Parameters
        ----------
        X : Views or array-like of shape (n_clips, n_features)
        y : array-like of shape (n_clips,)
        sample_weight : array-like of shape (n_clips,), default=None
            One weight per clip, shared by its views (passed on only when given).

        Returns
        -------
        self : ViewsClassifier
        """
        X_samples, y_samples, extra = training_samples(X, y, sample_weight=sample_weight)
        if sample_weight is None:
            extra = {}
        self.estimator_ = clone(self.estimator).fit(X_samples, y_samples, **extra)
        self.classes_ = self.estimator_.classes_
        self.n_views_ = X.n_views if isinstance(X, Views) else 1
        return self

    # The wrapped classifier validates the rows it is fitted on (every view of every clip):
    # what it learned about the input is this estimator's, as in scikit-learn's meta-estimators.
    @property
    def n_features_in_(self) -> int:
        """Number of features seen in ``fit`` (the wrapped classifier's)."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Feature names seen in ``fit`` (the wrapped classifier's)."""
        return self.estimator_.feature_names_in_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities per clip (averaged over views if given views).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features) or Views

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes)
        """
        check_is_fitted(self, "estimator_")
        return average_over_views(X, self.estimator_.predict_proba)

    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores of the wrapped classifier (averaged over views if given views)."""
        check_is_fitted(self, "estimator_")
        return average_over_views(X, self.estimator_.decision_function)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted label per clip.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features) or Views

        Returns
        -------
        labels : ndarray of shape (n_clips,)
        """
        check_is_fitted(self, "estimator_")
        if not isinstance(X, Views):
            return self.estimator_.predict(X)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = clone(self.estimator).__sklearn_tags__()
        tags.input_tags = inner.input_tags
        tags.classifier_tags = inner.classifier_tags
        return tags


__all__ = [
    "CLEAN",
    "Views",
    "ViewsClassifier",
    "as_clips",
    "average_over_views",
    "map_views",
    "training_samples",
    "views_pass_set_output",
]
