"""The views contract: named views while fitting, plain arrays at predict, any classifier."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_ser import AudioLoader, WaveformAugmenter
from sklearn_ser.views import (
    CLEAN,
    Views,
    ViewsClassifier,
    as_clips,
    average_over_views,
    map_views,
    training_samples,
)


def _views(n_clips=4, n_views=3, dim=2):
    data = np.arange(n_clips * n_views * dim, dtype=float).reshape(n_clips, n_views, dim)
    return Views(data, ("noise", CLEAN, "pitch")[:n_views])


def test_clean_view_is_found_by_name_not_position():
    v = _views()
    np.testing.assert_array_equal(v.clean(), v.data[:, 1])
    with pytest.raises(ValueError, match="no clean view"):
        Views(v.data[:, [0, 2]], ("noise", "pitch")).clean()


def test_views_need_one_name_per_view():
    with pytest.raises(ValueError, match="one name per view"):
        Views(np.zeros((3, 2, 4)), ("clean",))


def test_map_views_keeps_names_and_clip_order():
    v = _views()
    out = map_views(lambda batch: batch.sum(axis=1, keepdims=True), v)
    assert isinstance(out, Views) and out.names == v.names
    assert out.data.shape == (4, 3, 1)
    np.testing.assert_array_equal(out.data[:, :, 0], v.data.sum(axis=2))
    plain = map_views(lambda batch: batch * 2, v.data[:, 0])
    np.testing.assert_array_equal(plain, v.data[:, 0] * 2)


def test_training_samples_repeat_labels_and_metadata_per_view():
    v = _views()
    X, y, extra = training_samples(v, np.array(["a", "b", "a", "b"]), groups=[1, 1, 2, 2])
    assert X.shape == (12, 2)
    assert y.tolist() == ["a"] * 3 + ["b"] * 3 + ["a"] * 3 + ["b"] * 3
    assert extra["groups"].tolist() == [1] * 6 + [2] * 6
    # Row 3*i + j of the flat batch is view j of clip i.
    np.testing.assert_array_equal(X[4], v.data[1, 1])


def test_average_over_views():
    v = _views()
    out = average_over_views(v, lambda batch: batch[:, :1])
    np.testing.assert_allclose(out[:, 0], v.data[:, :, 0].mean(axis=1))


def test_as_clips_rejects_ambiguous_input():
    clips = as_clips([np.zeros(10, np.float32), np.ones(5, np.float32)])
    assert clips.shape == (2,) and clips.dtype == object
    assert as_clips(np.zeros((3, 8), np.float32)).shape == (3,)
    with pytest.raises(ValueError, match="Views"):
        as_clips(np.empty((2, 2), dtype=object))
    with pytest.raises(TypeError, match="AudioLoader"):
        as_clips(["a.wav"])
    with pytest.raises(TypeError, match="map_views"):
        as_clips(_views())


class _Fingerprints(ClassifierMixin, BaseEstimator):
    """Remembers a fingerprint of every training row; predicts the majority class."""

    def fit(self, X, y):
        self.seen_ = {hash(np.asarray(row).tobytes()) for row in X}
        self.n_samples_ = len(X)
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict_proba(self, X):
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, np.flatnonzero(self.classes_ == self.majority_)] = 1
        return proba

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_views_classifier_trains_any_classifier_on_every_view():
    rng = np.random.RandomState(0)
    v = Views(rng.normal(size=(20, 3, 4)), ("clean", "noise", "pitch"))
    y = np.repeat(["x", "y"], 10)
    clf = ViewsClassifier(_Fingerprints()).fit(v, y)
    assert clf.estimator_.n_samples_ == 60 and clf.n_views_ == 3
    assert {hash(row.tobytes()) for row in v.flat()} == clf.estimator_.seen_
    assert clf.predict(v.clean()).shape == (20,)
    # A real classifier: predict_proba on plain rows equals the inner estimator's.
    lr = ViewsClassifier(LogisticRegression()).fit(v, y)
    np.testing.assert_allclose(lr.predict_proba(v.clean()),
                               lr.estimator_.predict_proba(v.clean()))
    assert list(lr.classes_) == ["x", "y"]


def test_views_classifier_params():
    v = _views(n_clips=6, n_views=2, dim=3)
    y = np.array([0, 1] * 3)
    clf = ViewsClassifier(LogisticRegression(C=0.5))
    assert clone(clf).get_params()["estimator__C"] == 0.5
    with pytest.raises(ValueError, match="estimator"):
        ViewsClassifier(estimator="nope").fit(v, y)


def test_views_classifier_gives_each_view_its_clip_weight():
    rng = np.random.RandomState(0)
    n_clips, n_views, dim = 12, 3, 4
    data = rng.normal(size=(n_clips, n_views, dim))
    v = Views(data, ("clean", "noise", "pitch"))
    y = np.array(["x", "y"] * 6)
    w = rng.uniform(0.1, 5.0, size=n_clips)
    clf = ViewsClassifier(LogisticRegression(C=0.5)).fit(v, y, sample_weight=w)
    # Independently: row 3*i + j is view j of clip i, with clip i's label and weight.
    rows = np.concatenate([data[i] for i in range(n_clips)])
    labels = np.array([label for label in y for _ in range(n_views)])
    weights = np.array([weight for weight in w for _ in range(n_views)])
    ref = LogisticRegression(C=0.5).fit(rows, labels, sample_weight=weights)
    np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(data[:, 0]), ref.predict_proba(data[:, 0]),
                               rtol=1e-6)
    # The weights change the fit: unweighted is another model.
    plain = LogisticRegression(C=0.5).fit(rows, labels)
    assert np.abs(plain.coef_ - ref.coef_).max() > 1e-2
    # A clip of weight 0 is as if it, and all its views, were not there.
    w0 = w.copy()
    w0[[1, 4]] = 0
    zeroed = ViewsClassifier(LogisticRegression(C=0.5)).fit(v, y, sample_weight=w0)
    keep = np.setdiff1d(np.arange(n_clips), [1, 4])
    dropped = LogisticRegression(C=0.5).fit(
        data[keep].reshape(-1, dim), np.repeat(y[keep], n_views),
        sample_weight=np.repeat(w[keep], n_views))
    np.testing.assert_allclose(zeroed.estimator_.coef_, dropped.coef_, rtol=1e-5, atol=1e-8)
    # Plain rows (no augmentation) take the weights as they are.
    flat = ViewsClassifier(LogisticRegression(C=0.5)).fit(data[:, 0], y, sample_weight=w)
    np.testing.assert_allclose(
        flat.estimator_.coef_,
        LogisticRegression(C=0.5).fit(data[:, 0], y, sample_weight=w).coef_, rtol=1e-6)


def test_views_classifier_learns_the_input_of_its_classifier():
    import pandas as pd

    v = _views(n_clips=6, n_views=2, dim=3)
    y = np.array([0, 1] * 3)
    clf = ViewsClassifier(LogisticRegression())
    assert not hasattr(clf, "n_features_in_")  # nothing learned before fit
    assert clf.fit(v, y).n_features_in_ == 3
    assert not hasattr(clf, "feature_names_in_")
    table = pd.DataFrame(v.data[:, 0], columns=["a", "b", "c"])
    clf.fit(table, y)
    assert clf.n_features_in_ == 3 and list(clf.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature"):
        clf.predict(table[["a", "b"]])


def _pipeline():
    """Load -> deterministic views -> waveform statistics -> fingerprinting classifier."""
    return Pipeline([
        ("load", AudioLoader()),
        ("augment", WaveformAugmenter(views=("clean", "gain", "shift"), gain_db=3.0,
                                      shift_seconds=0.05, random_state=0)),
        ("stats", FunctionTransformer(lambda X: map_views(_stats, X))),
        ("clf", ViewsClassifier(_Fingerprints())),
    ])


def _stats(clips):
    return np.array([[w.mean(), w.std(), np.abs(w).max(), w.size] for w in as_clips(clips)])


def test_grid_search_never_trains_on_a_test_clip_or_its_views(synthetic_speech):
    """In every candidate and fold, and in the refit, training saw only training clips."""
    paths, labels, speakers = (synthetic_speech.filenames, synthetic_speech.target,
                               synthetic_speech.speaker)
    cv = GroupKFold(n_splits=3)
    search = GridSearchCV(
        _pipeline(), {"augment__gain_db": [3.0, 6.0]}, cv=cv, scoring="accuracy",
        return_train_score=False,
    )
    fitted = []
    original = _Fingerprints.fit

    def recording_fit(self, X, y):
        fitted.append(self)
        return original(self, X, y)

    _Fingerprints.fit = recording_fit
    try:
        search.fit(paths, labels, groups=speakers)
    finally:
        _Fingerprints.fit = original
    waves = AudioLoader().transform(paths)
    splits = list(cv.split(paths, labels, speakers))
    assert len(fitted) == 2 * len(splits) + 1  # every candidate x fold, then the refit
    for i, clf in enumerate(fitted[:-1]):
        gain = (3.0, 6.0)[i // len(splits)]
        train, test = splits[i % len(splits)]
        augment = WaveformAugmenter(views=("clean", "gain", "shift"), gain_db=gain,
                                    shift_seconds=0.05, random_state=0)
        train_rows = _stats(augment.fit_transform(waves[train]).flat())
        test_rows = _stats(augment.fit_transform(waves[test]).flat())
        assert {hash(r.tobytes()) for r in train_rows} == clf.seen_
        assert not {hash(r.tobytes()) for r in test_rows} & clf.seen_
