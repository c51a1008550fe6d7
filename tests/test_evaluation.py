"""Tests of the evaluation protocols with cheap estimators on fake data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.utils import Bunch

from sklearn_ser.evaluation import PROTOCOLS, EvaluationResult, evaluate, speaker_split

LABELS4 = ["neutral", "happy", "sad", "angry"]


@pytest.fixture
def fake():
    """Separable 2-d features, 8 speakers in 2 corpora, 4 classes."""
    rng = np.random.RandomState(0)
    rows, y, speaker, corpus = [], [], [], []
    for s in range(8):
        for k, label in enumerate(LABELS4):
            for _ in range(5):
                rows.append([k + 0.1 * rng.randn(), s * 0.01 + 0.1 * rng.randn()])
                y.append(label)
                speaker.append(f"{'a' if s < 4 else 'b'}_{s:02d}")
                corpus.append("a" if s < 4 else "b")
    return np.array(rows), np.array(y), np.array(speaker), np.array(corpus)


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that counts how often any instance is fitted."""

    n_fits = 0

    def fit(self, X, y):
        type(self).n_fits += 1
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def _no_shared_speakers(result, speaker):
    for train, test in result.splits:
        assert not set(speaker[train]) & set(speaker[test])


def test_speaker_kfold(fake):
    X, y, speaker, corpus = fake
    CountingClassifier.n_fits = 0
    result = evaluate(
        CountingClassifier(), X, y, groups=speaker, corpus=corpus, n_splits=4, random_state=0
    )
    assert isinstance(result, EvaluationResult)
    assert result.protocol == "speaker_kfold"
    assert CountingClassifier.n_fits == 4, "each fold is fitted exactly once"
    assert len(result.splits) == 4
    _no_shared_speakers(result, speaker)
    # Every clip is tested once.
    np.testing.assert_array_equal(np.sort(result.test_index), np.arange(len(y)))
    np.testing.assert_array_equal(result.y_true, y[result.test_index])

    scores = result.fold_scores
    expected = {"fold", "n_train", "n_test", "accuracy", "balanced_accuracy", "macro_f1"}
    assert expected | {"test_speakers", "test_corpora"} <= set(scores.columns)
    assert (scores["n_train"] + scores["n_test"] == len(y)).all()
    assert scores["accuracy"].between(0.9, 1).all()
    assert sum(len(s) for s in scores["test_speakers"]) == 8

    assert result.labels == LABELS4  # common label-set order, not alphabetical
    assert result.confusion_matrix.shape == (4, 4)
    assert result.confusion_matrix.sum() == len(y)
    assert set(LABELS4) <= set(result.classification_report)
    assert "macro avg" in result.classification_report_text

    summary = result.summary()
    assert list(summary.index) == ["accuracy", "balanced_accuracy", "macro_f1"]
    assert list(summary.columns) == ["mean", "std"]
    assert summary.loc["accuracy", "mean"] == pytest.approx(scores["accuracy"].mean())

    # CountingClassifier has no predict_proba: the shared metrics are null, strict JSON.
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert all(fold["shared_balanced_accuracy"] is None for fold in payload["fold_scores"])
    assert payload["protocol"] == "speaker_kfold" and payload["n_splits"] == 4
    assert len(payload["fold_scores"]) == 4
    assert payload["confusion_matrix"] == result.confusion_matrix.tolist()
    assert "speaker_kfold" in str(result)


def test_speaker_kfold_is_reproducible(fake):
    X, y, speaker, _ = fake
    a = evaluate(LogisticRegression(), X, y, groups=speaker, n_splits=3, random_state=1)
    b = evaluate(LogisticRegression(), X, y, groups=speaker, n_splits=3, random_state=1)
    for (_, te_a), (_, te_b) in zip(a.splits, b.splits):
        np.testing.assert_array_equal(te_a, te_b)


def test_leave_one_speaker_out(fake):
    X, y, speaker, _ = fake
    result = evaluate(LogisticRegression(), X, y, groups=speaker, protocol="leave_one_speaker_out")
    assert len(result.splits) == 8
    assert all(len(s) == 1 for s in result.fold_scores["test_speakers"])
    _no_shared_speakers(result, speaker)


def test_speaker_holdout_and_speaker_split(fake):
    X, y, speaker, _ = fake
    result = evaluate(
        LogisticRegression(),
        X,
        y,
        groups=speaker,
        protocol="speaker_holdout",
        test_size=0.25,
        random_state=0,
    )
    assert len(result.splits) == 1
    assert len(result.fold_scores["test_speakers"][0]) == 2
    _no_shared_speakers(result, speaker)

    train, test = speaker_split(y, speaker, test_size=2, random_state=0)
    assert len(set(speaker[test])) == 2
    assert not set(speaker[train]) & set(speaker[test])
    assert len(train) + len(test) == len(y)


def test_leave_one_corpus_out(fake):
    X, y, speaker, corpus = fake
    result = evaluate(
        LogisticRegression(), X, y, groups=speaker, corpus=corpus, protocol="leave_one_corpus_out"
    )
    assert len(result.splits) == 2
    for train, test in result.splits:
        assert len(set(corpus[test])) == 1
        assert not set(corpus[train]) & set(corpus[test])
    assert [c for c in result.fold_scores["test_corpora"]] == [["a"], ["b"]]


def test_random_clip_mixes_speakers(fake):
    X, y, speaker, _ = fake
    result = evaluate(
        LogisticRegression(), X, y, protocol="random_clip", n_splits=2, test_size=0.25
    )
    assert len(result.splits) == 2
    train, test = result.splits[0]
    assert len(test) == 40
    # This is why the protocol is optimistic: speakers are on both sides.
    assert set(speaker[train]) & set(speaker[test])
    assert len(result.y_true) == 80  # pooled over repetitions


def test_custom_splitter_gets_groups(fake):
    X, y, speaker, _ = fake
    result = evaluate(LogisticRegression(), X, y, groups=speaker, protocol=GroupKFold(2))
    assert result.protocol == "GroupKFold"
    _no_shared_speakers(result, speaker)


def test_bunch_input_with_paths(fake):
    _, y, speaker, corpus = fake
    data = Bunch(
        filenames=np.array([f"/data/clip_{i}.wav" for i in range(len(y))]),
        target=y,
        speaker=speaker,
        groups=speaker,
        corpus=corpus,
    )
    result = evaluate(DummyClassifier(strategy="most_frequent"), data, n_splits=2, random_state=0)
    _no_shared_speakers(result, speaker)
    assert result.fold_scores["balanced_accuracy"].eq(0.25).all()  # chance for 4 classes
    # Classes never predicted still appear in report and matrix.
    assert result.labels == LABELS4
    assert result.classification_report["sad"]["recall"] == 0


def test_explicit_labels(fake):
    X, y, speaker, _ = fake
    labels = ["angry", "sad", "happy", "neutral", "fear"]
    result = evaluate(LogisticRegression(), X, y, groups=speaker, n_splits=2, labels=labels)
    assert result.labels == labels
    assert result.confusion_matrix.shape == (5, 5)
    assert result.confusion_matrix[4].sum() == 0


def test_errors(fake):
    X, y, speaker, corpus = fake
    est = LogisticRegression()
    with pytest.raises(ValueError, match="groups="):
        evaluate(est, X, y, protocol="speaker_kfold")
    with pytest.raises(ValueError, match="at least 10 different speakers"):
        evaluate(est, X, y, groups=speaker, n_splits=10)
    with pytest.raises(ValueError, match="corpus="):
        evaluate(est, X, y, groups=speaker, protocol="leave_one_corpus_out")
    with pytest.raises(ValueError, match="at least 2 different corpora"):
        evaluate(
            est, X, y, corpus=np.full(len(y), "a"), groups=speaker, protocol="leave_one_corpus_out"
        )
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate(est, X, y, groups=speaker, protocol="random")
    with pytest.raises(ValueError, match="y is required"):
        evaluate(est, X)
    with pytest.raises(ValueError, match="different numbers"):
        evaluate(est, X[:-1], y, groups=speaker)
    assert set(PROTOCOLS) == {
        "speaker_kfold",
        "leave_one_speaker_out",
        "speaker_holdout",
        "leave_one_corpus_out",
        "random_clip",
    }


def test_verbose_prints(fake, capsys):
    X, y, speaker, _ = fake
    evaluate(LogisticRegression(), X, y, groups=speaker, n_splits=2, verbose=1)
    out = capsys.readouterr().out
    assert out.count("[evaluate]") == 2 and "balanced_accuracy=" in out


def test_shared_metrics_match_with_all_classes_scored(fake):
    # Every fold has every class on both sides: the restricted decision is argmax
    # over all classes, i.e. LogisticRegression's own predict.
    X, y, speaker, _ = fake
    result = evaluate(LogisticRegression(), X, y, groups=speaker, n_splits=4, random_state=0)
    scores = result.fold_scores
    assert all(classes == LABELS4 for classes in scores["scored_classes"])
    assert (scores["n_scored"] == scores["n_test"]).all()
    np.testing.assert_array_equal(result.y_pred_shared, result.y_pred)
    np.testing.assert_allclose(scores["shared_balanced_accuracy"], scores["balanced_accuracy"])
    assert list(result.summary().index) == [
        "accuracy", "balanced_accuracy", "macro_f1",
        "shared_accuracy", "shared_balanced_accuracy", "shared_macro_f1",
    ]
    assert result.scoring_lines() == []  # nothing left unscored: nothing to say


def test_fold_scores_frame_types(fake):
    X, y, speaker, _ = fake
    result = evaluate(LogisticRegression(), X, y, groups=speaker, n_splits=2, random_state=0)
    assert isinstance(result.fold_scores, pd.DataFrame)
    assert result.fold_scores["fold"].tolist() == [0, 1]
    assert result.fold_scores["test_corpora"].isna().all()
