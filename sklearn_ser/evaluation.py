"""Evaluation protocols for speech emotion recognition.

A random split of an acted corpus puts every speaker (and, with waveform
augmentation, copies of every clip) on both sides, so its scores say little
about new speakers. :func:`evaluate` runs the protocols that matter --
speaker-independent k-fold, leave-one-speaker-out, leave-one-corpus-out --
and, for comparison, the optimistic random clip split, fitting each fold
once and collecting per-fold scores, the pooled classification report and
the confusion matrix.

>>> from sklearn_ser.datasets import load_ravdess  # doctest: +SKIP
>>> from sklearn_ser import make_ser_pipeline  # doctest: +SKIP
>>> data = load_ravdess("ravdess/")  # doctest: +SKIP
>>> result = evaluate(make_ser_pipeline(), data, protocol="speaker_kfold")  # doctest: +SKIP
>>> result.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
)
from sklearn.model_selection import (
    GroupShuffleSplit,
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    StratifiedShuffleSplit,
)
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed

from sklearn_ser.adaptation import uses_speaker_ids

__all__ = [
    "PROTOCOLS", "EvaluationResult", "evaluate", "fold_metrics", "label_order",
    "speaker_split", "to_json_types",
]

#: Protocol names :func:`evaluate` accepts, with what they split on.
PROTOCOLS: dict[str, str] = {
    "speaker_kfold": "StratifiedGroupKFold on speakers: no speaker in train and test",
    "leave_one_speaker_out": "LeaveOneGroupOut on speakers",
    "speaker_holdout": "one GroupShuffleSplit on speakers (test_size of the speakers)",
    "leave_one_corpus_out": "LeaveOneGroupOut on corpora: train on the others",
    "random_clip": "StratifiedShuffleSplit on clips; OPTIMISTIC, speakers leak",
}

#: Per-fold metrics, each computed on the fold's test clips.
METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "macro_f1")


@dataclass
class EvaluationResult:
    """Outcome of :func:`evaluate`.

    Attributes
    ----------
    protocol : str
        Protocol name (or the splitter's class name).
    fold_scores : pandas.DataFrame
        One row per fold: ``fold``, ``n_train``, ``n_test``, ``accuracy``,
        ``balanced_accuracy`` (unweighted average recall, UAR), ``macro_f1``,
        ``test_speakers`` and ``test_corpora`` (lists), ``fit_time``,
        ``score_time`` (seconds).
    y_true, y_pred : ndarray
        Test labels and predictions of all folds, concatenated in fold order.
    test_index : ndarray of int
        Position in ``X`` of each entry of ``y_true``/``y_pred``.
    labels : list of str
        Label order of the report and the confusion matrix.
    classification_report : dict
        :func:`sklearn.metrics.classification_report` of the pooled
        predictions, ``output_dict=True``.
    classification_report_text : str
        The same report as text.
    confusion_matrix : ndarray of shape (n_labels, n_labels)
        Pooled confusion matrix, rows true labels, columns predictions, in
        ``labels`` order.
    splits : list of (ndarray, ndarray)
        ``(train_index, test_index)`` of each fold.
    speaker_adaptive : bool
        Whether the estimator adapted to each test speaker with that
        speaker's unlabeled test clips (:mod:`sklearn_ser.adaptation`): a
        different protocol from speaker-independent testing, never to be
        compared with or averaged into speaker-independent numbers.
    """

    protocol: str
    fold_scores: pd.DataFrame
    y_true: np.ndarray
    y_pred: np.ndarray
    test_index: np.ndarray
    labels: list[str]
    classification_report: dict[str, Any]
    classification_report_text: str
    confusion_matrix: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]] = field(repr=False)
    speaker_adaptive: bool = False

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of the per-fold metrics.

        Returns
        -------
        pandas.DataFrame
            Index: the metrics; columns ``mean`` and ``std`` (population
            standard deviation over folds, 0 for a single fold).
        """
        scores = self.fold_scores[list(METRICS)].astype(float)
        return pd.DataFrame({"mean": scores.mean(), "std": scores.std(ddof=0)})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable summary of the result.

        Returns
        -------
        dict
            Keys ``protocol``, ``n_splits``, ``labels``, ``summary``,
            ``fold_scores`` (list of records), ``classification_report``,
            ``confusion_matrix`` (nested lists) and ``test_index`` (the
            test indices of each fold).
        """
        folds = [
            {key: to_json_types(value) for key, value in row.items()}
            for row in self.fold_scores.to_dict(orient="records")
        ]
        summary = {
            metric: {"mean": float(row["mean"]), "std": float(row["std"])}
            for metric, row in self.summary().iterrows()
        }
        return {
            "protocol": self.protocol,
            "speaker_adaptive": self.speaker_adaptive,
            "n_splits": len(self.splits),
            "labels": [str(label) for label in self.labels],
            "summary": summary,
            "fold_scores": folds,
            "classification_report": to_json_types(self.classification_report),
            "confusion_matrix": self.confusion_matrix.tolist(),
            "test_index": [test.tolist() for _, test in self.splits],
        }

    def __str__(self) -> str:
        summary = self.summary()
        adaptive = ", SPEAKER-ADAPTIVE: unlabeled test clips of each speaker used" \
            if self.speaker_adaptive else ""
        lines = [f"protocol: {self.protocol} ({len(self.splits)} folds{adaptive})"]
        lines += [
            f"  {metric}: {row['mean']:.3f} +/- {row['std']:.3f}"
            for metric, row in summary.iterrows()
        ]
        return "\n".join(lines) + "\n\n" + self.classification_report_text


def to_json_types(value: Any) -> Any:
    """Turn numpy scalars and arrays (also nested) into JSON types."""
    if isinstance(value, dict):
        return {str(k): to_json_types(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_json_types(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def speaker_split(
    y: Any,
    groups: Any,
    *,
    test_size: float | int = 0.25,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split clip indices so that no speaker is on both sides.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels (only their number is used).
    groups : array-like of shape (n_samples,)
        Speaker id of each clip, e.g. ``data.speaker`` of a loader.
    test_size : float or int, default=0.25
        Fraction (float) or number (int) of the *speakers* to hold out.
    random_state : int, RandomState instance or None, default=None
        Seed of the speaker draw.

    Returns
    -------
    train_index, test_index : ndarray of int
    """
    groups = np.asarray(groups)
    y = np.asarray(y)
    _check_groups(groups, len(y), "speaker_split", min_groups=2)
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    return next(splitter.split(np.zeros(len(y)), y, groups))


def _check_groups(
    groups: np.ndarray | None,
    n: int,
    protocol: str,
    *,
    min_groups: int,
    what: str = "speaker",
) -> None:
    if groups is None:
        raise ValueError(
            f"protocol {protocol!r} needs the {what} of each clip: pass "
            f"{'groups' if what == 'speaker' else what}= (e.g. data.{what} of a loader)"
        )
    if len(groups) != n:
        raise ValueError(f"{what} has {len(groups)} entries for {n} samples")
    n_groups = len(np.unique(groups))
    if n_groups < min_groups:
        raise ValueError(
            f"protocol {protocol!r} needs at least {min_groups} different "
            f"{'corpora' if what == 'corpus' else what + 's'}, got {n_groups}"
        )


def _splits(
    protocol: Any,
    X: Any,
    y: np.ndarray,
    groups: np.ndarray | None,
    corpus: np.ndarray | None,
    *,
    n_splits: int,
    test_size: float | int,
    random_state: Any,
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    n = len(y)
    dummy = np.zeros(n)
    if not isinstance(protocol, str):
        # Any scikit-learn CV splitter; groups are passed through.
        name = type(protocol).__name__
        return name, [
            (np.asarray(tr), np.asarray(te)) for tr, te in protocol.split(dummy, y, groups)
        ]
    if protocol == "speaker_kfold":
        _check_groups(groups, n, protocol, min_groups=n_splits)
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        split = cv.split(dummy, y, groups)
    elif protocol == "leave_one_speaker_out":
        _check_groups(groups, n, protocol, min_groups=2)
        split = LeaveOneGroupOut().split(dummy, y, groups)
    elif protocol == "speaker_holdout":
        _check_groups(groups, n, protocol, min_groups=2)
        split = [speaker_split(y, groups, test_size=test_size, random_state=random_state)]
    elif protocol == "leave_one_corpus_out":
        _check_groups(corpus, n, protocol, min_groups=2, what="corpus")
        split = LeaveOneGroupOut().split(dummy, y, corpus)
    elif protocol == "random_clip":
        cv = StratifiedShuffleSplit(
            n_splits=n_splits, test_size=test_size, random_state=random_state
        )
        split = cv.split(dummy, y)
    else:
        raise ValueError(
            f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)} "
            "or pass a scikit-learn CV splitter"
        )
    return protocol, [(np.asarray(tr), np.asarray(te)) for tr, te in split]


def _fit_and_predict(estimator, X, y, train, test, fit_params, groups=None):
    """Fit on ``train``, predict ``test``; with ``groups``, route speaker ids to both.

    Each side gets only its own clips' speaker ids, so a test speaker's statistics
    come from that speaker's test clips alone.
    """
    est = clone(estimator)
    with config_context(enable_metadata_routing=groups is not None):
        side = {} if groups is None else {"groups": groups[train]}
        start = time.perf_counter()
        est.fit(_safe_indexing(X, train), y[train], **fit_params, **side)
        fit_time = time.perf_counter() - start
        side = {} if groups is None else {"groups": groups[test]}
        start = time.perf_counter()
        pred = np.asarray(est.predict(_safe_indexing(X, test), **side))
    return pred, fit_time, time.perf_counter() - start


def fold_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy (UAR) and macro-F1: the one definition of the metrics."""
    with warnings.catch_warnings():
        # A fold may lack a class the model predicts; that is not an error.
        warnings.filterwarnings("ignore", message=".*y_pred contains classes.*")
        uar = balanced_accuracy_score(y_true, y_pred)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(uar),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def label_order(values: np.ndarray) -> list[str]:
    """Labels present in ``values``, in the common label set's order when they fit it."""
    from sklearn_ser.datasets import LABELS

    present = set(values.tolist())
    if present <= set(LABELS):
        return [label for label in LABELS if label in present]
    return sorted(present, key=str)


def evaluate(
    estimator: Any,
    X: Any,
    y: Any = None,
    *,
    groups: Any = None,
    corpus: Any = None,
    protocol: Any = "speaker_kfold",
    n_splits: int = 5,
    test_size: float | int = 0.25,
    random_state: int | np.random.RandomState | None = None,
    labels: list[str] | None = None,
    fit_params: dict[str, Any] | None = None,
    speaker_adaptation: bool | str = "auto",
    n_jobs: int | None = None,
    verbose: int = 0,
) -> EvaluationResult:
    """Evaluate an estimator under a named SER evaluation protocol.

    Each fold fits a clone of ``estimator`` once on its training clips and
    predicts its test clips; augmentation inside a pipeline therefore only
    ever sees training clips.

    Parameters
    ----------
    estimator : estimator object
        Classifier with ``fit`` and ``predict``, e.g.
        :func:`sklearn_ser.make_ser_pipeline`.
    X : array-like or Bunch
        The clips (audio file paths for an SER pipeline, or feature rows). A
        dataset Bunch from :mod:`sklearn_ser.datasets` may be passed instead:
        its ``filenames``, ``target``, ``speaker`` and ``corpus`` then
        provide ``X``, ``y``, ``groups`` and ``corpus`` unless those are
        given.
    y : array-like of shape (n_samples,)
        Labels.
    groups : array-like of shape (n_samples,), default=None
        Speaker of each clip (``data.speaker``); needed by the speaker
        protocols.
    corpus : array-like of shape (n_samples,), default=None
        Corpus of each clip (``data.corpus``); needed by
        ``"leave_one_corpus_out"``.
    protocol : str or CV splitter, default="speaker_kfold"
        ``"speaker_kfold"``: :class:`~sklearn.model_selection.StratifiedGroupKFold`
        over speakers, shuffled with ``random_state`` (class balance per fold
        as close as speaker groups allow). ``"leave_one_speaker_out"``,
        ``"speaker_holdout"`` (one split holding out ``test_size`` of the
        speakers), ``"leave_one_corpus_out"`` (train on all other corpora),
        or ``"random_clip"``: :class:`~sklearn.model_selection.StratifiedShuffleSplit`
        over clips, ``n_splits`` times -- optimistic, because the same
        speakers are in train and test. Any scikit-learn splitter is also
        accepted and gets ``groups``.
    n_splits : int, default=5
        Folds of ``"speaker_kfold"``, repetitions of ``"random_clip"``.
    test_size : float or int, default=0.25
        Test share of ``"random_clip"`` (clips) and ``"speaker_holdout"``
        (speakers).
    random_state : int, RandomState instance or None, default=None
        Seed of the splits (the estimator's own seed is its parameter).
    labels : list of str, default=None
        Label order of the report and the confusion matrix; by default the
        labels present, in :data:`sklearn_ser.datasets.LABELS` order when
        they belong to it, else sorted.
    fit_params : dict, default=None
        Passed to ``estimator.fit``.
    speaker_adaptation : bool or "auto", default="auto"
        Pass each side's speaker ids (``groups``) to ``fit`` and ``predict``
        through metadata routing, so that a speaker-adaptive pipeline
        (``make_ser_pipeline(..., speaker_adaptation=True)``) standardises
        each test speaker with that speaker's own test clips. ``"auto"``:
        when the estimator has a step that adapts to speakers. The result is
        marked ``speaker_adaptive`` and its protocol name says so.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib); None means 1.
    verbose : int, default=0
        Print each fold's scores when > 0.

    Returns
    -------
    EvaluationResult
        Per-fold scores, pooled predictions, report and confusion matrix.
        For ``"random_clip"`` with several splits a clip can be tested in
        several folds and then appears several times in the pooled results.

    Raises
    ------
    ValueError
        For an unknown protocol, or when the protocol's groups are missing
        or too few.
    """
    if y is None and hasattr(X, "filenames") and hasattr(X, "target"):
        data = X
        X, y = data.filenames, data.target
        groups = data.get("speaker") if groups is None else groups
        corpus = data.get("corpus") if corpus is None else corpus
    if y is None:
        raise ValueError("y is required unless X is a dataset Bunch")
    y = np.asarray(y)
    groups = None if groups is None else np.asarray(groups)
    corpus = None if corpus is None else np.asarray(corpus)
    if len(y) != (X.shape[0] if hasattr(X, "shape") else len(X)):
        raise ValueError("X and y have different numbers of samples")

    name, splits = _splits(
        protocol,
        X,
        y,
        groups,
        corpus,
        n_splits=n_splits,
        test_size=test_size,
        random_state=random_state,
    )
    if speaker_adaptation == "auto":
        speaker_adaptation = uses_speaker_ids(estimator)
    if speaker_adaptation:
        _check_groups(groups, len(y), "speaker adaptation", min_groups=1)
        name = f"{name}+speaker_adaptation"
    routed_groups = groups if speaker_adaptation else None
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_predict)(estimator, X, y, train, test, fit_params or {}, routed_groups)
        for train, test in splits
    )

    rows = []
    for fold, ((train, test), (pred, fit_time, score_time)) in enumerate(zip(splits, outputs)):
        row = {"fold": fold, "n_train": len(train), "n_test": len(test)}
        row.update(fold_metrics(y[test], pred))
        row["test_speakers"] = sorted(set(groups[test].tolist())) if groups is not None else None
        row["test_corpora"] = sorted(set(corpus[test].tolist())) if corpus is not None else None
        row["fit_time"] = fit_time
        row["score_time"] = score_time
        rows.append(row)
        if verbose > 0:
            print(
                f"[evaluate] {name} fold {fold}: n_test={len(test)} "
                + " ".join(f"{m}={row[m]:.3f}" for m in METRICS)
            )

    y_true = np.concatenate([y[test] for _, test in splits])
    y_pred = np.concatenate([pred for pred, _, _ in outputs])
    test_index = np.concatenate([test for _, test in splits])
    if labels is None:
        labels = label_order(np.concatenate([y_true, y_pred]))
    report_args = dict(labels=labels, zero_division=0)
    return EvaluationResult(
        protocol=name,
        fold_scores=pd.DataFrame(rows),
        y_true=y_true,
        y_pred=y_pred,
        test_index=test_index,
        labels=list(labels),
        classification_report=classification_report(
            y_true, y_pred, output_dict=True, **report_args
        ),
        classification_report_text=classification_report(y_true, y_pred, **report_args),
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels),
        splits=splits,
        speaker_adaptive=bool(speaker_adaptation),
    )
