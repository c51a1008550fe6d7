"""WaveformAugmenter: views only in fit_transform, clean audio in transform, no leakage in CV."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import Pipeline

from sklearn_ser import AudioLoader, WaveformAugmenter
from sklearn_ser.augment import add_noise, shift_time
from sklearn_ser.views import Views


def _speechlike(n=4, seconds=0.5, sr=22050, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * sr)) / sr
    return [
        (0.4 * np.sin(2 * np.pi * (150 + 40 * i) * t) * (1 + 0.1 * rng.randn(t.size)))
        .astype(np.float32)
        for i in range(n)
    ]


def test_reference_recipe_views():
    clips = _speechlike()
    aug = WaveformAugmenter(random_state=0)
    views = aug.fit_transform(clips)
    assert views.data.shape == (4, 3) and aug.n_views_ == 3
    assert views.names == ("clean", "noise", "noise+pitch+stretch") == aug.view_names_
    assert all(c is clip for c, clip in zip(views.clean(), clips))
    for clip, (clean, noisy, shifted) in zip(clips, views.data):
        assert clean is clip  # the clean view is the clip itself, not a copy
        noise = noisy - clip
        # Noise std is 0.025 * U(0,1) * max(y): never larger than 0.025 * max(y).
        assert 0 < noise.std() <= 0.025 * clip.max() * 1.05
        # Pitch-shifted then stretched at rate 0.7: 1/0.7 times longer.
        assert abs(shifted.size - clip.size / 0.7) < 3
        assert shifted.dtype == np.float32


def test_transform_returns_clean_audio_only():
    clips = _speechlike()
    aug = WaveformAugmenter(random_state=0).fit(clips)
    clean = aug.transform(clips)
    assert clean.shape == (4,)
    for clip, out in zip(clips, clean):
        assert out is clip


def test_same_seed_same_views_any_n_jobs():
    clips = _speechlike()
    a = WaveformAugmenter(random_state=3).fit_transform(clips)
    b = WaveformAugmenter(random_state=3, n_jobs=2).fit_transform(clips)
    c = WaveformAugmenter(random_state=4).fit_transform(clips)
    for x, y, z in zip(a.data[:, 1], b.data[:, 1], c.data[:, 1]):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)


def test_every_operation_and_ranges():
    clips = _speechlike(n=2)
    aug = WaveformAugmenter(
        views=("clean", "gain", "shift", "pitch", "stretch", "noise+gain"),
        gain_db=(6.0, 6.0), shift_seconds=0.1, pitch_steps=(-2, 2), stretch_rate=(1.2, 1.2),
        random_state=0,
    )
    views = aug.fit_transform(clips)
    clip = clips[0]
    np.testing.assert_allclose(views.data[0, 1], clip * 10 ** (6 / 20), rtol=1e-5)
    np.testing.assert_array_equal(views.data[0, 2][2205:], clip[:-2205])
    assert np.all(views.data[0, 2][:2205] == 0)
    assert views.data[0, 3].size == clip.size and not np.allclose(views.data[0, 3], clip)
    assert abs(views.data[0, 4].size - clip.size / 1.2) < 3


def test_helpers():
    rng = np.random.RandomState(0)
    y = np.ones(1000, np.float32)
    assert add_noise(y, amplitude=0.0, rng=rng).tolist() == y.tolist()
    np.testing.assert_array_equal(shift_time(np.arange(5.0), n_samples=-2), [2, 3, 4, 0, 0])


@pytest.mark.parametrize("views, message", [
    ((), "non-empty"),
    ("clean", "'views' parameter of WaveformAugmenter must be an instance of 'list' or"),
    (("clean", "echo"), "unknown augmentation 'echo'"),
])
def test_bad_views(views, message):
    with pytest.raises(ValueError, match=message):
        WaveformAugmenter(views=views).fit(_speechlike(n=1))


def test_params_are_searchable():
    aug = WaveformAugmenter()
    assert {"noise_amplitude", "pitch_steps", "stretch_rate", "views"} <= set(aug.get_params())
    assert clone(aug.set_params(noise_amplitude=0.01)).noise_amplitude == 0.01


class _RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Remembers what it was trained on and what it was asked to predict."""

    def fit(self, X, y):
        self.n_views_seen_ = X.n_views
        self.train_fingerprints_ = {_fingerprint(w) for w in X.data.ravel()}
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        assert not isinstance(X, Views)  # plain clean clips at predict time
        self.predict_n_views_ = 1
        self.predict_fingerprints_ = [_fingerprint(w) for w in X]
        return np.full(X.shape[0], self.classes_[0])


def _fingerprint(w):
    return hash(np.asarray(w).tobytes())


@pytest.fixture(scope="module")
def synthetic_pipeline_data(synthetic_speech):
    return synthetic_speech.filenames, synthetic_speech.target, synthetic_speech.speaker


# Deterministic views, so that a leaked copy of a test clip would be recognisable.
_FIXED_VIEWS = dict(views=("clean", "gain", "shift"), gain_db=3.0, shift_seconds=0.05)


def _recording_pipeline():
    return Pipeline([
        ("load", AudioLoader()),
        ("augment", WaveformAugmenter(**_FIXED_VIEWS, random_state=0)),
        ("clf", _RecordingClassifier()),
    ])


def test_pipeline_trains_on_views_and_predicts_on_clean_audio(synthetic_pipeline_data, monkeypatch):
    paths, labels, _ = synthetic_pipeline_data
    pipe = _recording_pipeline().fit(paths[:8], labels[:8])
    assert pipe["clf"].n_views_seen_ == 3
    # Make any augmentation at predict time impossible: it would raise.
    monkeypatch.setattr(WaveformAugmenter, "_augment_clip", lambda *a: 1 / 0)
    pipe.predict(paths[8:12])
    assert pipe["clf"].predict_n_views_ == 1
    clean = AudioLoader().transform(paths[8:12])
    assert pipe["clf"].predict_fingerprints_ == [_fingerprint(w) for w in clean]


def test_no_copy_of_a_test_clip_is_trained_on_in_cross_validation(synthetic_pipeline_data):
    paths, labels, speakers = synthetic_pipeline_data
    result = cross_validate(
        _recording_pipeline(), paths, labels, groups=speakers, cv=GroupKFold(n_splits=4),
        return_estimator=True, return_indices=True,
    )
    clean = AudioLoader().transform(paths)
    for fitted, train, test in zip(
        result["estimator"], result["indices"]["train"], result["indices"]["test"]
    ):
        seen = fitted["clf"].train_fingerprints_
        # 3 views of every training clip were trained on ...
        assert len(seen) == 3 * len(train)
        assert {_fingerprint(clean[i]) for i in train} <= seen
        # ... and no clip (or copy) from the test fold: the augmenter never saw them.
        for w in WaveformAugmenter(**_FIXED_VIEWS).fit_transform(clean[test]).data.ravel():
            assert _fingerprint(w) not in seen


class _FingerprintingClassifier(_RecordingClassifier):
    """Logs, across the clones a search makes, what each fit trained on and then predicted."""

    log: list = []

    def fit(self, X, y):
        super().fit(X, y)
        self.record_ = {"n_views": X.n_views, "train": self.train_fingerprints_, "test": []}
        type(self).log.append(self.record_)
        return self

    def predict(self, X):
        out = super().predict(X)
        self.record_["test"].extend(self.predict_fingerprints_)
        return out


def test_grid_search_over_augmentation_parameter(synthetic_pipeline_data):
    paths, labels, speakers = synthetic_pipeline_data
    grid = [("clean",), ("clean", "noise")]
    cv = GroupKFold(n_splits=2)
    pipe = _recording_pipeline().set_params(clf=_FingerprintingClassifier())
    _FingerprintingClassifier.log = []
    search = GridSearchCV(pipe, {"augment__views": grid}, cv=cv, scoring="accuracy",
                          error_score="raise").fit(paths, labels, groups=speakers)
    # Every clip and every view any candidate can make of it, by fingerprint.
    clean = AudioLoader().transform(paths)
    clip_of = {}
    for views in grid:
        made = WaveformAugmenter(**{**_FIXED_VIEWS, "views": views},
                                 random_state=0).fit_transform(clean).data
        for i, row in enumerate(made):
            clip_of.update({_fingerprint(w): i for w in row})
    folds = [(set(train), set(test)) for train, test in cv.split(paths, labels, speakers)]
    log = _FingerprintingClassifier.log
    assert len(log) == len(grid) * len(folds) + 1  # every candidate and fold, and the refit
    assert sorted(r["n_views"] for r in log[:-1]) == [1, 1, 2, 2]
    for record in log:
        assert set(record["train"]) <= set(clip_of), "trained on audio that is no known view"
        trained = {clip_of[f] for f in record["train"]}
        tested = {clip_of[f] for f in record["test"]}
        assert not trained & tested, "a test clip, or a view of it, was trained on"
        if record is log[-1]:  # the refit: every clip, nothing predicted
            assert trained == set(range(len(paths))) and not tested
        else:
            assert (trained, tested) in folds
            assert not set(speakers[list(trained)]) & set(speakers[list(tested)])
    assert search.best_estimator_["clf"].n_views_seen_ in (1, 2)


def _tones(freqs, seconds=0.5, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    clips = np.empty(len(freqs), dtype=object)
    clips[:] = [(0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in freqs]
    return clips


def _power_at(y, freq, sr=16000):
    spectrum = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
    return spectrum[int(round(freq * len(y) / sr))]


def test_babble_view_is_made_of_other_training_clips_only():
    freqs = [300, 700, 1100, 1500]
    clips = _tones(freqs)
    views = WaveformAugmenter(("clean", "babble"), sr=16000, n_talkers=3, snr_db=0.0,
                              random_state=0).fit_transform(clips)
    for i, f in enumerate(freqs):
        added = views.data[i, 1].astype(np.float64) - clips[i]
        others = [_power_at(added, g) for g in freqs if g != f]
        # Every other clip's tone is in the babble; the clip's own is not.
        assert min(others) > 1e3 * _power_at(added, f)


def test_condition_views_match_the_condition_functions():
    from sklearn_ser import conditions

    clips = _tones([200, 400])
    aug = WaveformAugmenter(("clean", "telephone", "mixed"), sr=16000, random_state=0,
                            mixed_conditions=("telephone",))
    views = aug.fit_transform(clips)
    assert views.names == ("clean", "telephone", "mixed")
    for i, clip in enumerate(clips):
        expected = conditions.telephone(clip, sr=16000)
        np.testing.assert_allclose(views.data[i, 1], expected)
        np.testing.assert_allclose(views.data[i, 2], expected)  # mixed drew its only choice
    np.testing.assert_array_equal(aug.transform(clips)[0], clips[0])  # predict: clean


@pytest.mark.parametrize("params, message", [
    ({"views": ("clean", "mixed"), "mixed_conditions": ("gain",)}, "mixed_conditions"),
    ({"views": ("clean", "mixed"), "mixed_conditions": ()}, "mixed_conditions"),
    ({"views": ("clean", "white"), "snr_db": (10.0, 5.0)}, "snr_db"),
    ({"views": ("clean", "reverb"), "rt60": -1.0}, "rt60"),
    ({"views": ("clean", "babble"), "n_talkers": 0}, "n_talkers"),
])
def test_bad_condition_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        WaveformAugmenter(sr=16000, **params).fit_transform(_tones([200, 400]))


def test_babble_needs_two_clips():
    with pytest.raises(ValueError, match="at least 2 training clips"):
        WaveformAugmenter(("clean", "babble"), sr=16000).fit_transform(_tones([200]))


@pytest.mark.parametrize("factor", [0.85, 1.15])
def test_speed_view_moves_tempo_and_pitch_together(factor):
    # A tone played `factor` times as fast is `factor` times higher and 1/factor as long.
    clips = _tones([400, 600])
    views = WaveformAugmenter(("clean", "speed"), sr=16000, speed_factor=factor,
                              random_state=0).fit_transform(clips)
    for i, tone in enumerate((400, 600)):
        sped = views.data[i, 1]
        assert sped.dtype == np.float32
        assert abs(sped.size - clips[i].size / factor) <= 1
        spectrum = np.abs(np.fft.rfft(sped.astype(np.float64)))
        peak_hz = np.argmax(spectrum) * 16000 / len(sped)
        assert abs(peak_hz - tone * factor) < 2.0


def test_speed_factor_range_is_drawn_per_clip_and_checked():
    clips = _tones([300, 500, 700, 900])
    views = WaveformAugmenter(("clean", "babble+speed"), sr=16000, speed_factor=(0.85, 1.15),
                              random_state=0).fit_transform(clips)
    factors = [clip.size / view.size for clip, view in zip(clips, views.data[:, 1])]
    assert all(0.849 < f < 1.151 for f in factors) and len(set(np.round(factors, 3))) > 1
    with pytest.raises(ValueError, match="speed_factor"):
        WaveformAugmenter(("clean", "speed"), sr=16000, speed_factor=0.0).fit_transform(clips)
