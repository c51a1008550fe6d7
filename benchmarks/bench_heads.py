"""What sits on the frozen vectors: classifier heads and vector transforms, across corpora.

The ``recommended`` preset's front (``load``, ``augment``, ``encoder``: trimmed audio,
the training views, GE2E and Whisper vectors), as it was before it adopted this
benchmark's "both" head (``BEFORE_ADOPTION``), runs once per split; every *head* (the
preset's ``scale`` and ``classifier`` steps with one thing changed: the classifier, its
regularisation, a transform of the vectors before or after standardisation) is then
fitted on those vectors. Two protocols, both without test statistics
(speaker-independent):

* ``ravdess->tess``: trained on RAVDESS (actors ``--actors``, every class), tested on
  every TESS clip; UAR on the 4 (angry, happy, neutral, sad) and 6 (and disgust, fear)
  shared classes, deciding among the scored classes (the ``shared_uar`` of
  ``bench_corpora.py`` and the "R -> T, independent" rows of ``bench_robustness.py``).
  ``tess->ravdess``: the other way round. Heads chosen by looking at RAVDESS -> TESS
  are checked on this direction, which did not choose them.
* ``ravdess``: ``--folds`` folds by RAVDESS actor (StratifiedGroupKFold, ``--seed``, the
  folds of the other benchmarks); accuracy and UAR on the held-out actors' clean
  clips, 8 classes, and accuracy on ``bench_robustness.py``'s degraded copies of them
  (noise, babble of other held-out speakers, telephone, reverberation, codec; same
  seed). A head that gains across corpora by losing here is a trade.

The question it answers: is the cross-corpus gap of issue 17 (RAVDESS -> TESS, 4
classes, target 70 %) a matter of what is fitted on the vectors, or of the vectors?
Each split's views are made from that split's training clips only (babble from other
training speakers). One JSON file (``--out``) holds every head's scores, per fold, with
seed, versions, command and date; ``docs/robustness.rst`` renders it.

Run (22 minutes on 2 cores with most encoder vectors already under ``--cache``, 17 of
them fitting the heads; a cold cache adds the encoding of every clip and view. The
cache is shared with ``bench_corpora.py``)::

    python benchmarks/bench_heads.py --ravdess ../shared/data/ravdess \\
        --tess ../shared/data/tess
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_corpora import _preload, add_data_arguments, load_data, write_result
from bench_robustness import SR, _restricted, write_degraded
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import SVC

from sklearn_ser import AudioLoader, make_ser_pipeline
from sklearn_ser.nuisance import project_out, view_difference_directions
from sklearn_ser.views import Views, map_views

REPO = Path(__file__).resolve().parents[1]
#: Settings that undo what the preset adopted from this benchmark's "both" head.
BEFORE_ADOPTION = {"encoder__whisper__instance_norm": False, "scale__nuisance_directions": 0}
DEFAULT_OUT = REPO / "benchmarks" / "results" / "heads.json"

FOUR = ("neutral", "happy", "sad", "angry")
SIX = ("neutral", "happy", "sad", "angry", "fear", "disgust")
#: Trained on one corpus (every class), tested on the other.
CORPUS_SPLITS = ("ravdess->tess", "tess->ravdess")


class ColumnBlock(TransformerMixin, BaseEstimator):
    """Keep the columns whose feature name starts with ``prefix`` (one encoder of the union)."""

    def __init__(self, names: tuple[str, ...] = (), prefix: str = ""):
        self.names = names
        self.prefix = prefix

    def fit(self, X: Any, y: Any = None) -> ColumnBlock:
        self.columns_ = np.flatnonzero([n.startswith(self.prefix) for n in self.names])
        return self

    def transform(self, X: Any) -> Any:
        return map_views(lambda a: a[:, self.columns_], X)


class PerClipBlockStandardizer(TransformerMixin, BaseEstimator):
    """Standardise each pooled block (one encoder, layer and statistic) within each clip.

    The pooled vector's level and spread per block follow the studio and the voice as
    much as the emotion; this keeps each block's shape only (GE2E's ``instance_norm``
    does the like on frames, before pooling).
    """

    def __init__(self, names: tuple[str, ...] = ()):
        self.names = names

    def fit(self, X: Any, y: Any = None) -> PerClipBlockStandardizer:
        # "whisper_b2_mean_17" -> block "whisper_b2_mean"
        blocks = np.array([n.rsplit("_", 1)[0] for n in self.names])
        self.blocks_ = [np.flatnonzero(blocks == b) for b in dict.fromkeys(blocks)]
        return self

    def transform(self, X: Any) -> Any:
        def standardise(a: np.ndarray) -> np.ndarray:
            out = np.empty_like(a)
            for cols in self.blocks_:
                b = a[:, cols]
                out[:, cols] = (b - b.mean(1, keepdims=True)) / (b.std(1, keepdims=True) + 1e-8)
            return out
        return map_views(standardise, X)


class ViewDifferenceProjection(TransformerMixin, BaseEstimator):
    """Project out the ``n_directions`` largest directions of (view - clean view) differences.

    :mod:`sklearn_ser.nuisance` as a step of its own, fitted on the standardised views
    (the preset's ``scale__nuisance_directions`` does the same inside the ``scale`` step).
    """

    def __init__(self, n_directions: int = 2):
        self.n_directions = n_directions

    def fit(self, X: Views, y: Any = None) -> ViewDifferenceProjection:
        if not isinstance(X, Views) or X.names[0] != "clean" or X.n_views < 2:
            raise TypeError("ViewDifferenceProjection is fitted on Views, clean first")
        self.directions_ = view_difference_directions(X, self.n_directions)
        return self

    def transform(self, X: Any) -> Any:
        return map_views(lambda a: project_out(a, self.directions_), X)


def _lr(**params) -> LogisticRegression:
    return LogisticRegression(max_iter=5000, random_state=0, **params)


#: name -> (transform before ``scale``, transform after ``scale``, classifier estimator).
#: A transform factory gets the encoder's feature names; None: no transform.
HEADS: dict[str, tuple[Callable | None, Callable | None, Callable]] = {
    "recommended (logistic regression, C=0.01)": (None, None, lambda: _lr(C=0.01)),
    "C=0.003": (None, None, lambda: _lr(C=0.003)),
    "C=0.03": (None, None, lambda: _lr(C=0.03)),
    "balanced class weights": (None, None, lambda: _lr(C=0.01, class_weight="balanced")),
    "GE2E vectors only": (lambda n: ColumnBlock(n, "ge2e"), None, lambda: _lr(C=0.01)),
    "Whisper vectors only": (lambda n: ColumnBlock(n, "whisper"), None, lambda: _lr(C=0.01)),
    "each block standardised within the clip": (
        lambda n: PerClipBlockStandardizer(n), None, lambda: _lr(C=0.01)),
    "2 view-difference directions projected out": (
        None, lambda n: ViewDifferenceProjection(2), lambda: _lr(C=0.01)),
    "10 view-difference directions projected out": (
        None, lambda n: ViewDifferenceProjection(10), lambda: _lr(C=0.01)),
    "both of the above (block standardisation, 2 directions)": (
        lambda n: PerClipBlockStandardizer(n), lambda n: ViewDifferenceProjection(2),
        lambda: _lr(C=0.01)),
    "PCA to 128 whitened dimensions": (
        None, None, lambda: make_pipeline(PCA(128, whiten=True, random_state=0), _lr(C=0.01))),
    "shrinkage LDA": (
        None, None, lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
    "RBF SVM (C=1)": (None, None, lambda: SVC(C=1.0)),
}


def _head(name: str, template: Pipeline, feature_names: tuple[str, ...]) -> Pipeline:
    """The preset's ``scale`` and ``classifier`` steps with the head's changes."""
    before, after, estimator = HEADS[name]
    steps = [("before", before(feature_names))] if before else []
    steps.append(("scale", clone(template.named_steps["scale"])))
    if after:
        steps.append(("after", after(feature_names)))
    classifier = clone(template.named_steps["classifier"]).set_params(estimator=estimator())
    return Pipeline([*steps, ("classifier", classifier)])


def _scores(head: Pipeline, X: np.ndarray) -> np.ndarray:
    classifier = head.named_steps["classifier"].estimator_
    return head.predict_proba(X) if hasattr(classifier, "predict_proba") else \
        head.decision_function(X)


def _shared_uar(classes: np.ndarray, scores: np.ndarray, y: np.ndarray, shared) -> float:
    """UAR on the test clips of ``shared``, deciding among those classes only."""
    keep = np.isin(y, shared)
    return float(balanced_accuracy_score(y[keep], _restricted(scores[keep], classes, shared)))


class _Split:
    """The front's output for one (train, test) split: training views, test vectors.

    ``condition_vectors``: the test clips under each recording condition (RAVDESS folds).
    """

    def __init__(self, front: Pipeline, X, y, train, test):
        self.front = front
        self.train_views = front.fit_transform(X[train], y[train])
        self.test_vectors = front.transform(X[test])
        self.feature_names = tuple(front.named_steps["encoder"].get_feature_names_out())
        self.condition_vectors: dict[str, np.ndarray] = {}
        self.y_train, self.y_test = y[train], y[test]


def encode_conditions(encoded: dict[str, _Split], filenames, fold_positions, speakers,
                      args) -> None:
    """Set each RAVDESS fold's ``condition_vectors``: ``bench_robustness.py``'s degraded
    copies of its test clips (same seed), through the preset's own loader and the fold's
    fitted front. ``filenames`` and ``speakers`` are RAVDESS's, ``fold_positions`` index them.
    """
    raw = AudioLoader(sr=SR).fit_transform(filenames)  # untrimmed
    with tempfile.TemporaryDirectory() as work:
        for i, (_, test_positions) in enumerate(fold_positions):
            t0 = time.perf_counter()
            split = encoded[f"fold {i}"]
            paths = write_degraded(raw, test_positions, speakers, Path(work) / f"fold{i}",
                                   args.seed)
            split.condition_vectors = {
                name: split.front.transform(_preload(files, args.seed, args.n_jobs))
                for name, files in paths.items() if name != "clean"}
            print(f"fold {i}: {len(paths) - 1} recording conditions, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=list(HEADS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    data, actors, counts = load_data(args)
    start = time.perf_counter()
    X = _preload(data.filenames, args.seed, args.n_jobs)
    y = np.asarray(data.target)
    # The preset as it was when these heads were measured: the "both" head below was then
    # adopted into it (Whisper's instance_norm, scale__nuisance_directions=2), and every
    # head is a change to the preset before that.
    template = make_ser_pipeline("recommended", random_state=args.seed, memory=args.cache,
                                 n_jobs=args.n_jobs, **BEFORE_ADOPTION)
    front = Pipeline(clone(template).steps[1:3])  # augment, encoder (load ran up front)

    ravdess = np.flatnonzero(data.corpus == "ravdess")
    tess = np.flatnonzero(data.corpus == "tess")
    speakers = np.asarray(data.speaker[ravdess])
    cv = StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.seed)
    fold_positions = list(cv.split(ravdess, y[ravdess], speakers))  # positions in ravdess
    folds = [(ravdess[tr], ravdess[te]) for tr, te in fold_positions]
    splits = {"ravdess->tess": (ravdess, tess), "tess->ravdess": (tess, ravdess),
              **{f"fold {i}": f for i, f in enumerate(folds)}}
    encoded = {}
    for name, (train, test) in splits.items():
        t0 = time.perf_counter()
        encoded[name] = _Split(clone(front), X, y, train, test)
        print(f"{name}: {len(train)} training clips x {encoded[name].train_views.n_views} "
              f"views, {len(test)} test clips, {time.perf_counter() - t0:.0f} s", flush=True)
    feature_names = encoded["ravdess->tess"].feature_names
    encode_conditions(encoded, data.filenames[ravdess], fold_positions, speakers, args)
    encode_seconds = time.perf_counter() - start

    rows = []
    for head_name in args.heads:
        t0 = time.perf_counter()
        row: dict[str, Any] = {"head": head_name}
        for direction in CORPUS_SPLITS:
            split = encoded[direction]
            head = _head(head_name, template, feature_names).fit(split.train_views,
                                                                   split.y_train)
            scores = _scores(head, split.test_vectors)
            key = direction.replace("->", "_to_")
            row[f"{key}_uar_4"] = _shared_uar(head.classes_, scores, split.y_test, FOUR)
            row[f"{key}_uar_6"] = _shared_uar(head.classes_, scores, split.y_test, SIX)
        row["folds"] = []
        for i in range(len(folds)):
            split = encoded[f"fold {i}"]
            head = _head(head_name, template, feature_names).fit(split.train_views,
                                                                   split.y_train)
            predicted = head.predict(split.test_vectors)
            row["folds"].append({
                "fold": i,
                "accuracy": float(np.mean(predicted == split.y_test)),
                "uar": float(balanced_accuracy_score(split.y_test, predicted)),
                "conditions": {name: float(np.mean(head.predict(vectors) == split.y_test))
                               for name, vectors in split.condition_vectors.items()},
            })
        row["ravdess_accuracy"] = float(np.mean([f["accuracy"] for f in row["folds"]]))
        row["ravdess_accuracy_std"] = float(np.std([f["accuracy"] for f in row["folds"]]))
        row["ravdess_uar"] = float(np.mean([f["uar"] for f in row["folds"]]))
        row["conditions"] = {name: float(np.mean([f["conditions"][name] for f in row["folds"]]))
                             for name in row["folds"][0]["conditions"]}
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(f"{head_name:<48} R->T 4 {row['ravdess_to_tess_uar_4']:.3f}  "
              f"6 {row['ravdess_to_tess_uar_6']:.3f}  T->R 4 {row['tess_to_ravdess_uar_4']:.3f}  "
              f"6 {row['tess_to_ravdess_uar_6']:.3f}  RAVDESS acc {row['ravdess_accuracy']:.3f}  "
              f"({row['seconds']:.0f} s)", flush=True)

    write_result(args, "bench_heads", actors, counts, start, rows,
                 n_features=len(feature_names), encode_seconds=encode_seconds)


if __name__ == "__main__":
    main()
