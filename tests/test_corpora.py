"""Training on several corpora: corpus weights, their routing, cross-corpus scoring.

Cheap estimators on made-up features, except the real-corpus checks at the end,
which read TESS ($SKLEARN_SER_TESS or ../shared/data/tess) and RAVDESS file lists
only.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import ravdess_path, skip_or_fail_without_data
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, recall_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from sklearn_ser.datasets import corpus_weights, load_corpora
from sklearn_ser.evaluation import cross_corpus, evaluate
from sklearn_ser.views import Views, ViewsClassifier


class Recorder(ClassifierMixin, BaseEstimator):
    """Logistic regression that keeps the training labels and weights of its last fit."""

    def fit(self, X, y, sample_weight=None):
        self.y_seen_ = np.asarray(y)
        self.weights_seen_ = None if sample_weight is None else np.asarray(sample_weight)
        self.model_ = LogisticRegression().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


class Fixed(ClassifierMixin, BaseEstimator):
    """Predicts from a lookup: row i of X holds (clip id, ...); probabilities given per clip."""

    def __init__(self, proba=None, classes=None):
        self.proba = proba
        self.classes = classes

    def fit(self, X, y):
        self.classes_ = np.asarray(self.classes)
        return self

    def predict_proba(self, X):
        return self.proba[np.asarray(X)[:, 0].astype(int)]

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


# -- corpus_weights ----------------------------------------------------------------------------


def test_corpus_weights_give_each_corpus_the_same_total():
    corpus = np.array(["big"] * 30 + ["small"] * 5 + ["mid"] * 15)
    w = corpus_weights(corpus)
    totals = {name: w[corpus == name].sum() for name in ("big", "small", "mid")}
    # Independent: 50 clips, 3 corpora -> each corpus totals 50 / 3.
    for total in totals.values():
        assert total == pytest.approx(50 / 3)
    assert w.mean() == pytest.approx(1.0)
    assert w[corpus == "small"][0] == pytest.approx(50 / 3 / 5)


def test_corpus_class_weights_balance_every_cell():
    corpus = np.array(["a"] * 6 + ["b"] * 3)
    y = np.array(["x", "x", "x", "x", "y", "y", "x", "y", "y"])
    w = corpus_weights(corpus, y, by="corpus_class")
    cells = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    for c, label in cells:
        assert w[(corpus == c) & (y == label)].sum() == pytest.approx(9 / 4)
    # A Bunch provides corpus and target itself.
    bunch = Bunch(corpus=corpus, target=y)
    np.testing.assert_allclose(corpus_weights(bunch, by="corpus_class"), w)
    np.testing.assert_allclose(corpus_weights(bunch), corpus_weights(corpus))


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((["a", "b"],), {"by": "class"}, "by must be one of"),
        ((["a", "b"],), {"by": "corpus_class"}, "needs the labels"),
        ((["a", "b"], ["x"]), {"by": "corpus_class"}, "1 entries for 2"),
        (([],), {}, "non-empty"),
    ],
)
def test_corpus_weights_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        corpus_weights(*args, **kwargs)


def test_corpus_weights_keep_label_and_corpus_apart():
    # "a" + "bx" and "ab" + "x" must not be one cell.
    w = corpus_weights(["a", "ab"], ["bx", "x"], by="corpus_class")
    np.testing.assert_allclose(w, [1.0, 1.0])


# -- weights through evaluate ------------------------------------------------------------------


@pytest.fixture
def three_corpora():
    """Separable 2-d features; corpora of 40, 20 and 12 clips, 4 classes each."""
    rng = np.random.RandomState(0)
    rows, y, speaker, corpus = [], [], [], []
    for name, per_class in (("a", 10), ("b", 5), ("c", 3)):
        for k, label in enumerate(["neutral", "happy", "sad", "angry"]):
            for i in range(per_class):
                rows.append([k + 0.1 * rng.randn(), rng.randn()])
                y.append(label)
                speaker.append(f"{name}_{i % 2}")
                corpus.append(name)
    return np.array(rows), np.array(y), np.array(speaker), np.array(corpus)


def _last_fit_weights(result_estimator):
    return result_estimator.weights_seen_


def test_fit_params_are_cut_to_each_fold(three_corpora):
    X, y, speaker, corpus = three_corpora
    w = np.arange(1, len(y) + 1, dtype=float)
    seen = []

    class Spy(Recorder):
        def fit(self, X, y, sample_weight=None):
            seen.append((len(y), None if sample_weight is None else np.asarray(sample_weight)))
            return super().fit(X, y, sample_weight=sample_weight)

    result = evaluate(Spy(), X, y, groups=speaker, corpus=corpus, protocol="leave_one_corpus_out",
                      fit_params={"sample_weight": w})
    assert len(seen) == 3
    for (train, _), (n, weights) in zip(result.splits, seen):
        assert n == len(train)
        np.testing.assert_array_equal(weights, w[train])


def test_sample_weight_corpus_is_computed_from_training_clips(three_corpora):
    X, y, speaker, corpus = three_corpora
    seen = []

    class Spy(Recorder):
        def fit(self, X, y, sample_weight=None):
            seen.append(np.asarray(sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    result = evaluate(Spy(), X, y, groups=speaker, corpus=corpus,
                      protocol="leave_one_corpus_out", sample_weight="corpus")
    for (train, _), weights in zip(result.splits, seen):
        names = sorted(set(corpus[train]))
        assert len(names) == 2
        totals = [weights[corpus[train] == name].sum() for name in names]
        # Two training corpora, equal shares of the training clips' count.
        assert totals == pytest.approx([len(train) / 2] * 2)


def test_sample_weight_array_and_errors(three_corpora):
    X, y, speaker, corpus = three_corpora
    w = np.linspace(0.5, 2, len(y))
    seen = []

    class Spy(Recorder):
        def fit(self, X, y, sample_weight=None):
            seen.append(np.asarray(sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    result = evaluate(Spy(), X, y, groups=speaker, n_splits=3, random_state=0, sample_weight=w)
    for (train, _), weights in zip(result.splits, seen):
        np.testing.assert_array_equal(weights, w[train])
    with pytest.raises(ValueError, match="expected"):
        evaluate(Spy(), X, y, groups=speaker, n_splits=3, sample_weight=w[:-1])
    with pytest.raises(ValueError, match="non-negative"):
        evaluate(Spy(), X, y, groups=speaker, n_splits=3, sample_weight=-w)
    with pytest.raises(ValueError, match="one of"):
        evaluate(Spy(), X, y, groups=speaker, n_splits=3, sample_weight="speaker")
    with pytest.raises(ValueError, match="needs the corpus"):
        evaluate(Spy(), X, y, groups=speaker, n_splits=3, sample_weight="corpus")
    with pytest.raises(ValueError, match="given both"):
        evaluate(Spy(), X, y, groups=speaker, n_splits=3, sample_weight=w,
                 fit_params={"sample_weight": w})


def _views_pipeline(routing=False):
    scaler = StandardScaler()
    if routing:  # routed weights must be declined explicitly by a step that could take them
        scaler.set_fit_request(sample_weight=False)
    return Pipeline([("scale", scaler),
                     ("classifier", ViewsClassifier(LogisticRegression(C=0.1)))])


def test_weights_reach_the_classifier_with_and_without_routing(three_corpora):
    X, y, speaker, corpus = three_corpora
    kwargs = dict(groups=speaker, corpus=corpus, protocol="leave_one_corpus_out",
                  sample_weight="corpus_class", speaker_adaptation=False)
    plain = evaluate(_views_pipeline(), X, y, **kwargs)
    with config_context(enable_metadata_routing=True):
        routed = evaluate(_views_pipeline(routing=True), X, y, **kwargs)
    unweighted = evaluate(_views_pipeline(), X, y, **{**kwargs, "sample_weight": None})
    # Independent: the same fold fitted by hand with the weights.
    train, test = plain.splits[0]
    w = corpus_weights(corpus[train], y[train], by="corpus_class")
    scaler = StandardScaler().fit(X[train])
    expected = LogisticRegression(C=0.1).fit(scaler.transform(X[train]), y[train],
                                             sample_weight=w).predict(scaler.transform(X[test]))
    np.testing.assert_array_equal(plain.y_pred[: len(test)], expected)
    np.testing.assert_array_equal(routed.y_pred, plain.y_pred)
    # The weights changed something (else the comparison above proves nothing).
    unweighted_fold = LogisticRegression(C=0.1).fit(
        scaler.transform(X[train]), y[train]).predict_proba(scaler.transform(X[test]))
    weighted_fold = LogisticRegression(C=0.1).fit(
        scaler.transform(X[train]), y[train], sample_weight=w).predict_proba(
        scaler.transform(X[test]))
    assert np.abs(unweighted_fold - weighted_fold).max() > 1e-3
    assert unweighted.fold_scores["n_train"].tolist() == plain.fold_scores["n_train"].tolist()


def test_routed_weights_without_a_consumer_fail_clearly(three_corpora):
    X, y, speaker, corpus = three_corpora

    class NoWeights(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.repeat(self.classes_[0], len(X))

    pipe = Pipeline([("scale", StandardScaler()), ("clf", NoWeights())])
    with config_context(enable_metadata_routing=True), \
            pytest.raises(ValueError, match="takes no sample_weight"):
        evaluate(pipe, X, y, corpus=corpus, protocol="leave_one_corpus_out",
                 sample_weight="corpus", speaker_adaptation=False)


def test_views_classifier_repeats_weights_over_views():
    rng = np.random.RandomState(1)
    X = rng.randn(20, 2, 3)  # 20 clips, 2 views
    y = np.array(["a", "b"] * 10)
    w = rng.uniform(0.1, 3, 20)
    fitted = ViewsClassifier(LogisticRegression()).fit(Views(X, ("clean", "noise")), y,
                                                       sample_weight=w)
    expected = LogisticRegression().fit(X.reshape(40, 3), np.repeat(y, 2),
                                        sample_weight=np.repeat(w, 2))
    np.testing.assert_allclose(fitted.estimator_.coef_, expected.coef_)


# -- what a fold scores ------------------------------------------------------------------------


def test_leave_one_corpus_out_scores_only_shared_classes():
    # Corpus "r" has classes n, h, c (calm); corpus "t" has n, h, s.
    y = np.array(["neutral", "happy", "calm", "neutral", "happy", "calm",
                  "neutral", "happy", "sad", "neutral", "happy", "sad"])
    corpus = np.array(["r"] * 6 + ["t"] * 6)
    classes = {"r": ["calm", "happy", "neutral"], "t": ["happy", "neutral", "sad"]}
    # Fixed probabilities per clip, columns in each fold's classes order: test
    # corpus t is predicted by the model trained on r (classes calm, happy, neutral).
    proba_r_model = np.array([[0.6, 0.1, 0.3],    # t0 neutral -> calm; shared: neutral
                              [0.2, 0.5, 0.3],    # t1 happy -> happy
                              [0.1, 0.2, 0.7],    # t2 sad (unscored) -> neutral
                              [0.1, 0.2, 0.7],    # t3 neutral -> neutral
                              [0.5, 0.1, 0.4],    # t4 happy -> calm; shared: neutral
                              [0.3, 0.3, 0.4]])   # t5 sad (unscored)
    proba_t_model = np.array([[0.1, 0.1, 0.8],    # r0 neutral -> sad; shared: neutral? 0.1 v 0.1
                              [0.7, 0.2, 0.1],    # r1 happy -> happy
                              [0.3, 0.3, 0.4],    # r2 calm (unscored)
                              [0.2, 0.5, 0.3],    # r3 neutral -> neutral
                              [0.2, 0.3, 0.5],    # r4 happy -> sad; shared: neutral
                              [0.3, 0.3, 0.4]])   # r5 calm (unscored)
    X = np.c_[np.r_[np.arange(6), np.arange(6)], np.zeros(12)]

    class ByCorpus(Fixed):
        def fit(self, X, y):
            train = sorted(set(y))
            self.classes_ = np.asarray(train)
            self.proba_ = proba_r_model if train == classes["r"] else proba_t_model
            return self

        def predict_proba(self, X):
            return self.proba_[np.asarray(X)[:, 0].astype(int)]

    result = evaluate(ByCorpus(), X, y, corpus=corpus, protocol="leave_one_corpus_out")
    scores = result.fold_scores.set_index(result.fold_scores["test_corpora"].str[0])
    assert scores.loc["t", "scored_classes"] == ["neutral", "happy"]
    assert scores.loc["r", "scored_classes"] == ["neutral", "happy"]
    assert scores.loc["t", "n_scored"] == 4 and scores.loc["t", "n_test"] == 6

    # Independent: t scored clips 0,1,3,4 with true n,h,n,h, predicted calm,h,n,calm.
    true_t = ["neutral", "happy", "neutral", "happy"]
    pred_t = ["calm", "happy", "neutral", "calm"]
    assert scores.loc["t", "accuracy"] == pytest.approx(accuracy_score(true_t, pred_t))
    uar_t = recall_score(true_t, pred_t, labels=["neutral", "happy"], average="macro")
    assert scores.loc["t", "balanced_accuracy"] == pytest.approx(uar_t)  # 0.5
    # Shared decision: argmax over (happy, neutral) -> n, h, n, n.
    shared_t = ["neutral", "happy", "neutral", "neutral"]
    assert scores.loc["t", "shared_balanced_accuracy"] == pytest.approx(
        recall_score(true_t, shared_t, labels=["neutral", "happy"], average="macro"))
    assert scores.loc["t", "shared_balanced_accuracy"] > scores.loc["t", "balanced_accuracy"]

    # Unscored clips are not in the pooled results; predictions of calm are.
    assert len(result.y_true) == 8
    assert "calm" not in set(result.y_true) and "sad" not in set(result.y_true)
    assert "calm" in set(result.y_pred) and "calm" in result.labels
    assert result.y_pred_shared is not None and len(result.y_pred_shared) == 8
    text = str(result)
    assert "scored 2 classes (neutral, happy)" in text and "shared_balanced_accuracy" in text


@pytest.mark.filterwarnings("ignore:A single label was found")
def test_fold_with_nothing_to_score_warns():
    y = np.array(["a", "a", "a", "a", "b", "b"])
    corpus = np.array(["x", "x", "y", "y", "z", "z"])
    X = np.zeros((6, 1))
    with pytest.warns(UserWarning, match="fold 2: no test clip .* nothing scored"):
        result = evaluate(DummyClassifier(), X, y, corpus=corpus,
                          protocol="leave_one_corpus_out")
    assert result.fold_scores["n_scored"].tolist() == [2, 2, 0]
    assert result.fold_scores["balanced_accuracy"].isna().tolist() == [False, False, True]
    assert len(result.y_true) == 4
    # Nothing scored in any fold: no result to give.
    with pytest.raises(ValueError, match="no fold scored"), \
            pytest.warns(UserWarning, match="nothing scored"):
        evaluate(DummyClassifier(), X[2:], y[2:], corpus=np.array(["y", "y", "z", "z"]),
                 protocol="leave_one_corpus_out")


def test_shared_metrics_are_nan_without_predict_proba(three_corpora):
    X, y, speaker, corpus = three_corpora

    class NoProba(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.model_ = LogisticRegression().fit(X, y)
            self.classes_ = self.model_.classes_
            return self

        def predict(self, X):
            return self.model_.predict(X)

    result = evaluate(NoProba(), X, y, groups=speaker, n_splits=2, random_state=0)
    assert result.fold_scores["shared_balanced_accuracy"].isna().all()
    assert "shared_balanced_accuracy" not in result.summary().index
    assert result.y_pred_shared is None


def test_pipeline_predicts_once_and_agrees_with_predict(three_corpora):
    X, y, speaker, corpus = three_corpora
    calls = []

    class CountingScaler(StandardScaler):
        def transform(self, X, copy=None):
            calls.append(np.array(X))
            return super().transform(X, copy=copy)

    pipe = Pipeline([("scale", CountingScaler()), ("clf", LogisticRegression())])
    result = evaluate(pipe, X, y, groups=speaker, n_splits=3, random_state=0)
    for _, test in result.splits:
        on_test = [c for c in calls if c.shape == X[test].shape and np.array_equal(c, X[test])]
        assert len(on_test) == 1, "the test clips go through the transforms once"
    train, test = result.splits[0]
    expected = pipe.fit(X[train], y[train]).predict(X[test])
    np.testing.assert_array_equal(result.y_pred[: len(test)], expected)


# -- cross_corpus ------------------------------------------------------------------------------


def test_cross_corpus_directions_and_classes(three_corpora):
    X, y, speaker, corpus = three_corpora
    data = Bunch(filenames=X, target=y, speaker=speaker, corpus=corpus)
    result = cross_corpus(Recorder(), data, train=["a", "b"], test="c",
                          classes=("neutral", "happy"))
    assert result.protocol == "cross_corpus:a+b->c"
    (train, test), = result.splits
    assert set(corpus[train]) == {"a", "b"} and set(corpus[test]) == {"c"}
    assert set(y[train]) == set(y[test]) == {"neutral", "happy"}
    assert len(train) == 30 and len(test) == 6
    result = cross_corpus(Recorder(), data, train="a", test=["b", "c"], sample_weight="corpus")
    assert [sorted(set(corpus[te])) for _, te in result.splits] == [["b"], ["c"]]
    # Trained on all four classes, tested on two: the shared decision picks among two.
    result = cross_corpus(Recorder(), data, train="a", test="b", test_classes=["sad", "angry"])
    (train, test), = result.splits
    assert set(y[train]) == {"neutral", "happy", "sad", "angry"}
    assert set(y[test]) == {"sad", "angry"}
    assert result.fold_scores.loc[0, "scored_classes"] == ["sad", "angry"]
    assert set(result.y_pred_shared) <= {"sad", "angry"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train": "a", "test": "z"}, "not in the data"),
        ({"train": "a", "test": "a"}, "both"),
        ({"train": [], "test": "a"}, "at least one"),
        ({"train": "a", "test": "b", "classes": ["boredom"]}, "classes not in the data"),
        ({"train": "a", "test": "b", "test_classes": "calm"}, "test_classes not in the data"),
    ],
)
def test_cross_corpus_errors(three_corpora, kwargs, message):
    X, y, speaker, corpus = three_corpora
    data = Bunch(filenames=X, target=y, speaker=speaker, corpus=corpus)
    with pytest.raises(ValueError, match=message):
        cross_corpus(Recorder(), data, **kwargs)


# -- the real corpora (file lists only) --------------------------------------------------------


def test_ravdess_and_tess_load_together(tess_dir):
    ravdess = ravdess_path()
    if ravdess is None:
        skip_or_fail_without_data("RAVDESS clips not found")
    data = load_corpora({"ravdess": ravdess, "tess": tess_dir})
    n_ravdess = int((data.corpus == "ravdess").sum())
    assert int((data.corpus == "tess").sum()) == 2800
    assert n_ravdess > 0 and len(data.filenames) == n_ravdess + 2800
    tess_labels = set(data.target[data.corpus == "tess"])
    assert tess_labels == {"neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"}
    assert "calm" in set(data.target[data.corpus == "ravdess"])
    assert not set(data.speaker[data.corpus == "tess"]) & set(data.speaker[data.corpus != "tess"])
    w = corpus_weights(data)
    assert w[data.corpus == "tess"].sum() == pytest.approx(w[data.corpus == "ravdess"].sum())


# -- the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_corpora(synthetic_speech, tmp_path_factory):
    """Synthetic clips under RAVDESS names (speakers 1-2, angry renamed calm) and TESS names."""
    root = tmp_path_factory.mktemp("two_corpora")
    codes = {"neutral": "01", "angry": "02", "happy": "03", "sad": "04"}  # angry -> calm
    seen: dict = {}
    for path, label, speaker in zip(synthetic_speech.filenames, synthetic_speech.target,
                                    synthetic_speech.speaker):
        n = int(speaker[-2:])
        k = seen.setdefault((n, label), 0)
        seen[(n, label)] += 1
        if n <= 2:
            folder = root / "ravdess" / f"Actor_{n:02d}"
            name = f"03-01-{codes[label]}-01-01-{k + 1:02d}-{n:02d}.wav"
        else:
            who = "OAF" if n == 3 else "YAF"
            folder = root / "tess" / f"{who}_{label}"
            name = f"{who}_word{'abcd'[k]}_{label}.wav"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / name)
    return root


def test_cli_leave_one_corpus_out(two_corpora, tmp_path, capsys):
    from sklearn_ser.cli import main

    corpora = ["--corpus", f"ravdess={two_corpora / 'ravdess'}",
               "--corpus", f"tess={two_corpora / 'tess'}"]
    model = tmp_path / "model.joblib"
    assert main(["train", *corpora, "--preset", "recommended", "--protocol",
                 "leave-one-corpus-out", "--out", str(model), "-q"]) == 0
    out = capsys.readouterr().out
    assert "leave_one_corpus_out" in out
    # Each held-out corpus: the three classes both corpora have.
    assert out.count("scored 3 classes (neutral, happy, sad)") == 2, out

    assert main(["evaluate", str(model), *corpora, "--protocol", "leave_one_corpus_out",
                 "--sample-weight", "corpus", "-q"]) == 0
    out = capsys.readouterr().out
    assert out.count("scored 3 classes (neutral, happy, sad)") == 2, out
    assert "deciding among the scored classes only" in out

    # The saved model (5 classes) on TESS alone (no calm): also decided among TESS' 4.
    assert main(["evaluate", str(model), "--corpus", f"tess={two_corpora / 'tess'}", "-q"]) == 0
    out = capsys.readouterr().out
    assert "deciding among the 4 classes of these clips only (neutral, happy, sad, angry)" in out


def test_cli_protocol_and_weight_spellings():
    from sklearn_ser.cli._parser import build_parser

    args = build_parser().parse_args(
        ["evaluate", "m.joblib", "--corpus", "tess=/x", "--protocol", "leave-one-corpus-out",
         "--sample-weight", "corpus-class"])
    assert args.protocol == "leave_one_corpus_out" and args.sample_weight == "corpus_class"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "m.joblib", "--corpus", "tess=/x",
                                   "--sample-weight", "speaker"])


def test_recommended_pipeline_takes_weights_with_speaker_adaptation(synthetic_speech, tmp_path):
    # Groups and sample_weight both routed (speaker adaptation turns routing on).
    from sklearn_ser import make_ser_pipeline

    data = synthetic_speech
    skew = np.where(data.target == "angry", 20.0, 0.05)

    def run(weights):
        pipe = make_ser_pipeline("recommended", speaker_adaptation=True, random_state=0,
                                 memory=tmp_path, classifier__estimator__C=1e-4)
        return evaluate(pipe, data, n_splits=2, random_state=0, sample_weight=weights)

    plain, skewed = run(None), run(skew)
    assert plain.speaker_adaptive and skewed.speaker_adaptive
    # Strongly regularised: the weighted class prior decides, so angry takes over.
    assert (skewed.y_pred == "angry").sum() > (plain.y_pred == "angry").sum()
    assert (skewed.y_pred == "angry").mean() > 0.9
