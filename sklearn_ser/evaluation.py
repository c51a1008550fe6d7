"""Evaluation protocols for speech emotion recognition.

A random split of an acted corpus puts every speaker (and, with waveform
augmentation, copies of every clip) on both sides, so its scores say little
about new speakers. :func:`evaluate` runs the protocols that matter --
speaker-independent k-fold, leave-one-speaker-out, leave-one-corpus-out --
and, for comparison, the optimistic random clip split, fitting each fold
once and collecting per-fold scores, the pooled classification report and
the confusion matrix. :func:`cross_corpus` trains on chosen corpora and tests
on others.

Corpora label different emotions (TESS has no calm). A fold scores only the
classes present in both its training clips and its test clips (reported as
``scored_classes``): test clips of a class the model never saw are left out.
Predictions of a class the test clips lack still count as errors. The
``shared_*`` metrics restrict the decision itself to the scored classes
(argmax of ``predict_proba`` over them), the usual cross-corpus measure
"UAR on the shared classes"; they are reported next to, never instead of,
the unrestricted ones.

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
from joblib import effective_n_jobs
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
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.parallel import Parallel, delayed

from sklearn_ser._parallel import compile_librosa_here
from sklearn_ser.adaptation import uses_speaker_ids

__all__ = [
    "PROTOCOLS", "EvaluationResult", "cross_corpus", "evaluate", "fold_metrics",
    "label_order", "speaker_split", "to_json_types",
]

#: Protocol names :func:`evaluate` accepts, with what they split on.
PROTOCOLS: dict[str, str] = {
    "speaker_kfold": "StratifiedGroupKFold on speakers: no speaker in train and test",
    "leave_one_speaker_out": "LeaveOneGroupOut on speakers",
    "speaker_holdout": "one GroupShuffleSplit on speakers (test_size of the speakers)",
    "leave_one_corpus_out": "LeaveOneGroupOut on corpora: train on the others",
    "random_clip": "StratifiedShuffleSplit on clips; OPTIMISTIC, speakers leak",
}

#: Per-fold metrics, each computed on the fold's scored test clips.
METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "macro_f1")
#: The same metrics with the decision restricted to the fold's scored classes
#: (argmax of ``predict_proba`` over them); NaN for an estimator without it.
SHARED_METRICS: tuple[str, ...] = tuple(f"shared_{m}" for m in METRICS)

#: What ``evaluate(sample_weight=...)`` computes per fold by name.
WEIGHT_MODES: tuple[str, ...] = ("corpus", "corpus_class")


@dataclass
class EvaluationResult:
    """Outcome of :func:`evaluate`.

    Attributes
    ----------
    protocol : str
        Protocol name (or the splitter's class name).
    fold_scores : pandas.DataFrame
        One row per fold: ``fold``, ``n_train``, ``n_test``,
        ``scored_classes`` (the classes of both the training and the test
        clips: the only ones scored), ``n_scored`` (test clips of those
        classes), ``accuracy``, ``balanced_accuracy`` (unweighted average
        recall, UAR), ``macro_f1`` (over the scored clips; a prediction of
        any other class is an error), ``shared_accuracy``,
        ``shared_balanced_accuracy``, ``shared_macro_f1`` (the decision
        restricted to the scored classes; NaN without ``predict_proba``),
        ``test_speakers`` and ``test_corpora`` (lists), ``fit_time``,
        ``score_time`` (seconds).
    y_true, y_pred : ndarray
        Labels and predictions of the scored test clips of all folds,
        concatenated in fold order.
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
    y_pred_shared : ndarray or None
        Predictions restricted to each fold's scored classes, aligned with
        ``y_true``; None when the estimator has no ``predict_proba``.
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
    y_pred_shared: np.ndarray | None = None

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of the per-fold metrics.

        Returns
        -------
        pandas.DataFrame
            Index: the metrics (:data:`METRICS`, then :data:`SHARED_METRICS`
            when the estimator has ``predict_proba``); columns ``mean`` and
            ``std`` (population standard deviation over folds, 0 for a
            single fold). Folds with no scored clip are left out.
        """
        names = [m for m in METRICS + SHARED_METRICS if m in self.fold_scores]
        scores = self.fold_scores[names].astype(float).dropna(axis=1, how="all")
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
            # NaN (a metric a fold could not compute) is not JSON: null instead.
            {key: None if isinstance(value, float) and np.isnan(value) else to_json_types(value)
             for key, value in row.items()}
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
        lines += self.scoring_lines()
        return "\n".join(lines) + "\n\n" + self.classification_report_text

    def scoring_lines(self) -> list[str]:
        """One line per fold saying what was scored, when it matters.

        For corpus protocols (a fold per test corpus) and whenever a fold
        left test clips unscored (their class was not in its training
        clips): the test corpora, the scored classes, the unscored clips,
        UAR and, where available, UAR with the decision restricted to the
        scored classes. Empty otherwise.

        Returns
        -------
        list of str
        """
        frame = self.fold_scores
        if "scored_classes" not in frame:
            return []
        by_corpus = "corpus" in self.protocol
        if not by_corpus and (frame["n_scored"] == frame["n_test"]).all():
            return []
        lines = []
        for _, row in frame.iterrows():
            corpora = row.get("test_corpora")
            held = f" test {'+'.join(map(str, corpora))}:" if corpora is not None else ""
            classes = [str(c) for c in row["scored_classes"]]
            line = (f"  fold {int(row['fold'])}{held} scored {len(classes)} classes "
                    f"({', '.join(classes)}), {int(row['n_test'] - row['n_scored'])} test clips "
                    f"of other classes not scored; UAR {row['balanced_accuracy']:.3f}")
            shared = row.get("shared_balanced_accuracy")
            if shared is not None and not pd.isna(shared):
                line += f", UAR deciding among the scored classes only {shared:.3f}"
            lines.append(line)
        return lines


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


def _fit_and_predict(estimator, X, y, train, test, fit_params, groups=None,
                     sample_weight=None, routing=False):
    """Fit a clone on ``train``, predict ``test``: labels, probabilities, classes, times.

    ``fit_params`` are already this fold's. With ``groups``, each side gets only its
    own clips' speaker ids (metadata routing), so a test speaker's statistics come
    from that speaker's test clips alone. ``sample_weight`` (the training clips')
    goes to the final step: as ``<step>__sample_weight`` without routing, as a
    routed ``sample_weight`` with it.
    """
    est = clone(estimator)
    with config_context(enable_metadata_routing=routing):
        params = dict(fit_params)
        if groups is not None:
            params["groups"] = groups[train]
        if sample_weight is not None:
            params[_weight_key(est, routing)] = sample_weight
        start = time.perf_counter()
        est.fit(_safe_indexing(X, train), y[train], **params)
        fit_time = time.perf_counter() - start
        side = {} if groups is None else {"groups": groups[test]}
        start = time.perf_counter()
        pred, proba, classes = _predict_with_proba(est, _safe_indexing(X, test), side)
    return pred, proba, classes, fit_time, time.perf_counter() - start


def _weight_key(est: Any, routing: bool) -> str:
    """The fit parameter that carries ``sample_weight`` to ``est``'s classifier."""
    if routing:
        if not get_routing_for_object(est).consumes("fit", ["sample_weight"]):
            # Nothing asked for the weights: the final step (of this fold's clone) does.
            final = est.steps[-1][1] if isinstance(est, Pipeline) else est
            try:
                final.set_fit_request(sample_weight=True)
            except AttributeError:
                raise ValueError(
                    f"sample_weight was given but {type(final).__name__}.fit takes no "
                    "sample_weight"
                ) from None
        return "sample_weight"
    if isinstance(est, Pipeline):
        return f"{est.steps[-1][0]}__sample_weight"
    return "sample_weight"


def _predict_with_proba(est: Any, X: Any, side: dict[str, Any]):
    """Predicted labels, and class probabilities and classes when the estimator has them.

    For a pipeline the transforms run once and the final step gives both
    (the encoder is the expensive part); otherwise ``predict`` and
    ``predict_proba`` are called separately.
    """
    final = est.steps[-1][1] if isinstance(est, Pipeline) else None
    if (final is not None and len(est.steps) > 1 and hasattr(final, "predict_proba")
            and not (side and get_routing_for_object(final).consumes("predict", list(side)))):
        Xt = est[:-1].transform(X, **side)
        return np.asarray(final.predict(Xt)), np.asarray(final.predict_proba(Xt)), \
            np.asarray(final.classes_)
    pred = np.asarray(est.predict(X, **side))
    if not hasattr(est, "predict_proba"):
        return pred, None, None
    return pred, np.asarray(est.predict_proba(X, **side)), np.asarray(est.classes_)


def _fold_params(params: dict[str, Any], n: int, index: np.ndarray) -> dict[str, Any]:
    """This fold's fit parameters: per-clip arrays (length ``n``) sliced to ``index``."""
    return {
        key: _safe_indexing(value, index)
        if isinstance(value, np.ndarray | list | pd.Series) and len(value) == n
        else value
        for key, value in params.items()
    }


def _check_sample_weight(
    sample_weight: Any, n: int, corpus: np.ndarray | None, fit_params: dict[str, Any]
) -> Any:
    if sample_weight is None:
        return None
    if any(key.split("__")[-1] == "sample_weight" for key in fit_params):
        raise ValueError(
            "sample_weight is given both as a parameter and in fit_params; give it once"
        )
    if isinstance(sample_weight, str):
        if sample_weight not in WEIGHT_MODES:
            raise ValueError(
                f"sample_weight must be an array of per-clip weights or one of "
                f"{list(WEIGHT_MODES)}, got {sample_weight!r}"
            )
        if corpus is None:
            raise ValueError(
                f"sample_weight={sample_weight!r} needs the corpus of each clip: pass "
                "corpus= (e.g. data.corpus of a loader)"
            )
        return sample_weight
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight has shape {weights.shape}, expected ({n},)")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    return weights


def _fold_weights(sample_weight: Any, y: np.ndarray, corpus: np.ndarray | None,
                  train: np.ndarray) -> np.ndarray | None:
    """The training clips' weights: sliced, or computed from the training clips alone."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, str):
        from sklearn_ser.datasets import corpus_weights

        return corpus_weights(corpus[train], y[train], by=sample_weight)
    return sample_weight[train]


def _scored_classes(y_train: np.ndarray, y_test: np.ndarray) -> list:
    """Classes of both sides, in the common label order: the only ones a fold scores."""
    seen = set(np.unique(y_train).tolist())
    return [label for label in label_order(np.unique(y_test)) if label in seen]


def _restricted_predictions(proba: np.ndarray | None, classes: np.ndarray | None,
                            scored: list) -> np.ndarray | None:
    """Argmax of the probabilities over the scored classes only."""
    if proba is None or not scored:
        return None
    wanted = set(scored)
    columns = [i for i, label in enumerate(classes.tolist()) if label in wanted]
    if not columns:
        return None
    return classes[columns][np.argmax(proba[:, columns], axis=1)]


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
    sample_weight: Any = None,
    speaker_adaptation: bool | str = "auto",
    n_jobs: int | None = None,
    verbose: int = 0,
) -> EvaluationResult:
    """Evaluate an estimator under a named SER evaluation protocol.

    Each fold fits a clone of ``estimator`` once on its training clips and
    predicts its test clips; augmentation inside a pipeline therefore only
    ever sees training clips. A fold scores the classes present in both its
    training and its test clips (see the module description); with
    ``predict_proba``, the ``shared_*`` metrics also restrict the decision
    to those classes.

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
        Passed to ``estimator.fit``; per-clip arrays (length ``n_samples``)
        are cut to each fold's training clips.
    sample_weight : array-like of shape (n_samples,), "corpus", "corpus_class" or None
        Per-clip training weights, cut to each fold's training clips, or the
        name of the :func:`sklearn_ser.datasets.corpus_weights` mode, then
        computed from each fold's training clips (so in
        ``"leave_one_corpus_out"`` the training corpora weigh the same). They
        reach the final step as ``<step>__sample_weight``; with metadata
        routing (speaker adaptation, or routing enabled globally) as a routed
        ``sample_weight``, requested from the final step when no step asks
        for it.
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
        For an unknown protocol, when the protocol's groups are missing or
        too few, or for bad ``sample_weight``.
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
    return _run(
        estimator, X, y, groups, corpus, name, splits, labels=labels,
        fit_params=fit_params or {}, sample_weight=sample_weight,
        speaker_adaptation=speaker_adaptation, n_jobs=n_jobs, verbose=verbose,
    )


def _run(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    groups: np.ndarray | None,
    corpus: np.ndarray | None,
    name: str,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    labels: list | None,
    fit_params: dict[str, Any],
    sample_weight: Any,
    speaker_adaptation: bool | str,
    n_jobs: int | None,
    verbose: int,
) -> EvaluationResult:
    """Fit and score every split: the body of :func:`evaluate` and :func:`cross_corpus`."""
    n = len(y)
    sample_weight = _check_sample_weight(sample_weight, n, corpus, fit_params)
    if speaker_adaptation == "auto":
        speaker_adaptation = uses_speaker_ids(estimator)
    if speaker_adaptation:
        _check_groups(groups, n, "speaker adaptation", min_groups=1)
        name = f"{name}+speaker_adaptation"
    routed_groups = groups if speaker_adaptation else None
    from sklearn import get_config

    routing = routed_groups is not None or get_config()["enable_metadata_routing"]
    if effective_n_jobs(n_jobs) > 1:
        compile_librosa_here()  # before the fold workers import librosa at once
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_predict)(
            estimator, X, y, train, test, _fold_params(fit_params, n, train), routed_groups,
            _fold_weights(sample_weight, y, corpus, train), routing,
        )
        for train, test in splits
    )

    rows, kept, shared_parts = [], [], []
    for fold, ((train, test), output) in enumerate(zip(splits, outputs)):
        pred, proba, classes, fit_time, score_time = output
        scored = _scored_classes(y[train], y[test])
        mask = np.isin(y[test], np.asarray(scored, dtype=object)) if scored else \
            np.zeros(len(test), dtype=bool)
        shared = _restricted_predictions(proba, classes, scored)
        row = {"fold": fold, "n_train": len(train), "n_test": len(test),
               "scored_classes": list(scored), "n_scored": int(mask.sum())}
        row.update(_metrics_or_nan(y[test][mask], pred[mask], METRICS))
        shared_scores = (_metrics_or_nan(y[test][mask], shared[mask], METRICS)
                         if shared is not None else dict.fromkeys(METRICS, np.nan))
        row.update({f"shared_{m}": v for m, v in shared_scores.items()})
        row["test_speakers"] = sorted(set(groups[test].tolist())) if groups is not None else None
        row["test_corpora"] = sorted(set(corpus[test].tolist())) if corpus is not None else None
        row["fit_time"] = fit_time
        row["score_time"] = score_time
        rows.append(row)
        kept.append((test[mask], pred[mask]))
        shared_parts.append(None if shared is None else shared[mask])
        if not mask.any():
            warnings.warn(
                f"{name} fold {fold}: no test clip has a class of the training clips "
                f"(test classes {label_order(np.unique(y[test]))}); nothing scored",
                UserWarning, stacklevel=3,
            )
        if verbose > 0:
            print(
                f"[evaluate] {name} fold {fold}: n_test={len(test)} n_scored={row['n_scored']} "
                + " ".join(f"{m}={row[m]:.3f}" for m in METRICS + SHARED_METRICS)
            )

    test_index = np.concatenate([index for index, _ in kept])
    if len(test_index) == 0:
        raise ValueError(
            f"{name}: no fold scored a test clip: the test clips of every fold have only "
            "classes its training clips lack"
        )
    y_true = y[test_index]
    y_pred = np.concatenate([pred for _, pred in kept])
    y_pred_shared = (None if any(part is None for part in shared_parts)
                     else np.concatenate(shared_parts))
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
        y_pred_shared=y_pred_shared,
    )


def _metrics_or_nan(y_true: np.ndarray, y_pred: np.ndarray, names) -> dict[str, float]:
    return fold_metrics(y_true, y_pred) if len(y_true) else dict.fromkeys(names, np.nan)


def cross_corpus(
    estimator: Any,
    data: Any,
    *,
    train: str | list[str] | tuple[str, ...],
    test: str | list[str] | tuple[str, ...],
    classes: list[str] | tuple[str, ...] | None = None,
    test_classes: list[str] | tuple[str, ...] | None = None,
    X: Any = None,
    groups: Any = None,
    sample_weight: Any = None,
    fit_params: dict[str, Any] | None = None,
    speaker_adaptation: bool | str = "auto",
    labels: list[str] | None = None,
    n_jobs: int | None = None,
    verbose: int = 0,
) -> EvaluationResult:
    """Train on some corpora, test on others: one fold per test corpus.

    The directed form of ``evaluate(..., protocol="leave_one_corpus_out")``
    (which trains on all corpora but the held-out one, for each): e.g.
    RAVDESS -> TESS and TESS -> RAVDESS are two calls. Scoring follows
    :func:`evaluate`: only classes of both the training clips and the test
    corpus are scored (``fold_scores["scored_classes"]``), and the
    ``shared_*`` metrics restrict the decision to them -- the "UAR on the
    shared classes" of the cross-corpus literature.

    Parameters
    ----------
    estimator : estimator object
        Classifier, e.g. ``make_ser_pipeline("recommended")``; cloned per fold.
    data : Bunch
        A dataset from :mod:`sklearn_ser.datasets` (e.g. :func:`~sklearn_ser.datasets.load_corpora`)
        with ``filenames``, ``target``, ``speaker`` and ``corpus``.
    train : str or sequence of str
        Corpus name(s) to train on (values of ``data.corpus``).
    test : str or sequence of str
        Corpus name(s) to test on, one fold each; none of them in ``train``.
    classes : sequence of str, default=None
        Keep only clips of these labels, on both sides (e.g. the four
        classes ``("neutral", "happy", "sad", "angry")``); None keeps all.
    test_classes : sequence of str, default=None
        Keep only clips of these labels on the test side, after ``classes``:
        a model trained on every class, scored on a few (with the
        ``shared_*`` metrics deciding among those few).
    X : array-like of shape (n_clips,), default=None
        The clips in ``data`` order, instead of ``data.filenames`` (e.g.
        waveforms of degraded copies).
    groups : array-like of shape (n_clips,), default=None
        Ids routed to a speaker-adaptive estimator (default ``data.speaker``;
        ``data.corpus`` for one group per recording setting).
    sample_weight : array-like of shape (n_clips,), "corpus", "corpus_class" or None
        Training weights, as in :func:`evaluate` (names are computed from the
        training clips).
    fit_params : dict, default=None
        Passed to ``estimator.fit``; per-clip arrays are cut to the training
        clips.
    speaker_adaptation : bool or "auto", default="auto"
        As in :func:`evaluate`.
    labels : list of str, default=None
        Label order of the report and the confusion matrix.
    n_jobs : int, default=None
        Folds fitted in parallel.
    verbose : int, default=0
        Print each fold's scores when > 0.

    Returns
    -------
    EvaluationResult
        Protocol ``"cross_corpus:<train>-><test>"`` (``+`` joins several
        names); ``test_index`` and the splits index into ``data``.

    Raises
    ------
    ValueError
        For a corpus not in ``data``, a corpus on both sides, a class not in
        ``data`` or no clip left on a side.

    Examples
    --------
    >>> from sklearn_ser.datasets import load_corpora  # doctest: +SKIP
    >>> data = load_corpora({"ravdess": "ravdess/", "tess": "tess/"})  # doctest: +SKIP
    >>> result = cross_corpus(make_ser_pipeline("recommended"), data,
    ...                       train="ravdess", test="tess")  # doctest: +SKIP
    >>> result.fold_scores[["scored_classes", "balanced_accuracy",
    ...                     "shared_balanced_accuracy"]]  # doctest: +SKIP
    """
    train_names = [train] if isinstance(train, str) else list(train)
    test_names = [test] if isinstance(test, str) else list(test)
    corpus = np.asarray(data.corpus).astype(str)
    y = np.asarray(data.target)
    known = sorted(set(corpus.tolist()))
    for what, names in (("train", train_names), ("test", test_names)):
        if not names:
            raise ValueError(f"{what} must name at least one corpus")
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"{what} names corpora not in the data: {unknown}; "
                             f"the data have {known}")
    both = sorted(set(train_names) & set(test_names))
    if both:
        raise ValueError(f"corpora on both the training and the test side: {both}")
    keep = _keep_classes(y, classes, "classes")
    test_keep = keep & _keep_classes(y, test_classes, "test_classes")
    train_index = np.flatnonzero(keep & np.isin(corpus, train_names))
    if len(train_index) == 0:
        raise ValueError(f"no clip of {train_names} left for training")
    splits = []
    for name in test_names:
        test_index = np.flatnonzero(test_keep & (corpus == name))
        if len(test_index) == 0:
            raise ValueError(f"no clip of test corpus {name!r} left")
        splits.append((train_index, test_index))
    X = data.filenames if X is None else X
    if (X.shape[0] if hasattr(X, "shape") else len(X)) != len(y):
        raise ValueError(f"X has {len(X)} entries for {len(y)} clips in data")
    groups = np.asarray(data.speaker if groups is None else groups)
    protocol = f"cross_corpus:{'+'.join(train_names)}->{'+'.join(test_names)}"
    return _run(
        estimator, X, y, groups, corpus, protocol, splits, labels=labels,
        fit_params=fit_params or {}, sample_weight=sample_weight,
        speaker_adaptation=speaker_adaptation, n_jobs=n_jobs, verbose=verbose,
    )


def _keep_classes(y: np.ndarray, classes: Any, what: str) -> np.ndarray:
    """Mask of the clips whose label is in ``classes`` (all clips for None)."""
    if classes is None:
        return np.ones(len(y), dtype=bool)
    classes = [classes] if isinstance(classes, str) else list(classes)
    missing = sorted(set(classes) - set(y.tolist()))
    if missing:
        raise ValueError(f"{what} not in the data: {missing}")
    return np.isin(y, np.asarray(classes, dtype=object))
