"""make_ser_pipeline end to end: audio files in, labels out; CV, grid search, persistence."""

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from conftest import FAST_PIPELINE_PARAMS
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score

from sklearn_ser import AudioFileError, FeatureImageExtractor, SERClassifier, make_ser_pipeline


def _split_by_speaker(data, test_speaker):
    test = data.speaker == test_speaker
    return (data.filenames[~test], data.target[~test]), (data.filenames[test], data.target[test])


@pytest.fixture(scope="module")
def fitted(synthetic_speech):
    """A fast pipeline trained on 3 synthetic speakers; the 4th is held out."""
    (X_train, y_train), (X_test, y_test) = _split_by_speaker(synthetic_speech, "synth_spk04")
    pipe = make_ser_pipeline("reference", random_state=0, **FAST_PIPELINE_PARAMS)
    pipe.fit(X_train, y_train)
    return pipe, X_test, y_test


def test_steps_and_parameters():
    pipe = make_ser_pipeline("reference", cnn__epochs=30, augment__noise_amplitude=0.01)
    assert [name for name, _ in pipe.steps] == ["load", "augment", "features", "cnn"]
    assert pipe["cnn"].epochs == 30 and pipe["augment"].noise_amplitude == 0.01
    assert is_classifier(pipe) and isinstance(pipe["cnn"], SERClassifier)
    assert clone(pipe).get_params()["cnn__epochs"] == 30
    with pytest.raises(ValueError, match="unknown pipeline parameter 'cnn__epoch'"):
        make_ser_pipeline("reference", cnn__epoch=3)
    with pytest.raises(ValueError, match="unknown preset"):
        make_ser_pipeline("best")


def test_default_is_the_recommended_preset():
    """make_ser_pipeline() is the best measured model, not the published CNN recipe."""
    from sklearn_ser.pipeline import ENCODER_STEPS, PRESETS

    default, named = make_ser_pipeline(), make_ser_pipeline("recommended")
    assert tuple(name for name, _ in default.steps) == ENCODER_STEPS
    assert "cnn" not in default.named_steps
    params, expected = default.get_params(), named.get_params()
    for key in PRESETS["recommended"]:
        assert params[key] == expected[key], key
    assert tuple(name for name, _ in make_ser_pipeline("reference").steps) == (
        "load", "augment", "features", "cnn")


def test_sample_rate_is_consistent_across_steps():
    pipe = make_ser_pipeline("reference", sr=16000)
    assert pipe["load"].sr == pipe["augment"].sr == pipe["features"].sr == 16000


def test_fit_predict_on_audio_files(fitted):
    pipe, X_test, y_test = fitted
    predictions = pipe.predict(X_test)
    assert predictions.shape == (len(X_test),)
    assert set(predictions) <= set(pipe.classes_)
    proba = pipe.predict_proba(X_test)
    assert proba.shape == (len(X_test), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert list(pipe.classes_) == sorted(["angry", "happy", "neutral", "sad"])


def test_the_pipeline_learns_far_above_chance(fitted):
    pipe, X_test, y_test = fitted
    # An unseen speaker, 4 classes (chance 0.25).
    assert pipe.score(X_test, y_test) >= 0.6


def test_training_used_three_views_per_clip(fitted):
    pipe, _, _ = fitted
    assert pipe["augment"].n_views_ == 3
    assert pipe["features"].n_rows_ == 31 + 13


def test_same_random_state_same_predictions(synthetic_speech, fitted):
    pipe, X_test, _ = fitted
    (X_train, y_train), _ = _split_by_speaker(synthetic_speech, "synth_spk04")
    again = make_ser_pipeline("reference", random_state=0, **FAST_PIPELINE_PARAMS)
    again.fit(X_train, y_train)
    np.testing.assert_array_equal(again.predict_proba(X_test), pipe.predict_proba(X_test))


def test_joblib_round_trip_in_a_fresh_process(fitted, tmp_path):
    pipe, X_test, _ = fitted
    model = tmp_path / "model.joblib"
    joblib.dump(pipe, model)
    expected = pipe.predict_proba(X_test)
    np.save(tmp_path / "paths.npy", np.asarray(X_test))
    script = textwrap.dedent(f"""
        import joblib, numpy as np
        pipe = joblib.load({str(model)!r})
        paths = np.load({str(tmp_path / "paths.npy")!r}, allow_pickle=False)
        np.save({str(tmp_path / "proba.npy")!r}, pipe.predict_proba(paths))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), expected)


def test_bad_file_at_predict_names_it_before_any_model_work(fitted, tone_files):
    pipe, X_test, _ = fitted
    with pytest.raises(AudioFileError, match=r"missing\.wav: file not found"):
        pipe.predict([X_test[0], str(tone_files["missing.wav"])])


def _waveform_fingerprints(X) -> list[int]:
    """Fingerprint every waveform of X (plain clips, or Views of them)."""
    data = X if isinstance(X, np.ndarray) else X.data
    return [hash(np.asarray(w).tobytes()) for w in np.asarray(data, dtype=object).ravel()]


class _FingerprintingFeatures(FeatureImageExtractor):
    """The feature step, logging across clones the audio each fit trained on and then scored."""

    log: list = []

    def fit_transform(self, X, y=None, **fit_params):
        self.record_ = {"train": _waveform_fingerprints(X), "test": []}
        type(self).log.append(self.record_)
        return super().fit_transform(X, y, **fit_params)

    def transform(self, X):
        self.record_["test"].extend(_waveform_fingerprints(X))
        return super().transform(X)


def test_grid_search_with_groups_over_augmentation_and_cnn(synthetic_speech, tmp_path):
    from sklearn_ser import AudioLoader, WaveformAugmenter

    params = {**FAST_PIPELINE_PARAMS, "cnn__epochs": 4}
    pipe = make_ser_pipeline("reference", random_state=0, memory=str(tmp_path), **params)
    pipe.steps[2] = ("features", _FingerprintingFeatures(**pipe["features"].get_params()))
    grid = {"augment__noise_amplitude": [0.0, 0.05], "cnn__learning_rate": [0.001, 0.01]}
    cv = GroupKFold(n_splits=2)
    X, y, speakers = synthetic_speech.filenames, synthetic_speech.target, synthetic_speech.speaker
    _FingerprintingFeatures.log = []
    search = GridSearchCV(pipe, grid, cv=cv, error_score="raise").fit(X, y, groups=speakers)
    assert len(search.cv_results_["params"]) == 4
    assert set(search.best_params_) == {"augment__noise_amplitude", "cnn__learning_rate"}
    # Every clip and every view either candidate's augmenter makes of it, by fingerprint.
    clean = AudioLoader().transform(X)
    clip_of = {}
    for amplitude in grid["augment__noise_amplitude"]:
        made = WaveformAugmenter(noise_amplitude=amplitude, random_state=0).fit_transform(clean)
        for i, row in enumerate(made.data):
            clip_of.update({hash(np.asarray(w).tobytes()): i for w in row})
    folds = [(set(train), set(test)) for train, test in cv.split(X, y, speakers)]
    log = _FingerprintingFeatures.log
    refits = [r for r in log if not r["test"]]
    assert len(log) == 4 * 2 + 1 and refits == [log[-1]]  # 4 candidates x 2 folds, 1 refit
    for record in log:
        assert set(record["train"]) <= set(clip_of), "trained on audio that is no known view"
        trained = {clip_of[f] for f in record["train"]}
        tested = {clip_of[f] for f in record["test"]}
        assert not trained & tested, "a test clip, or a view of it, reached training"
        if record is refits[0]:
            assert trained == set(range(len(X)))
        else:
            assert (trained, tested) in folds
            assert not set(speakers[list(trained)]) & set(speakers[list(tested)])
    assert search.best_estimator_.predict(X[:2]).shape == (2,)


def test_cross_val_score_with_speaker_groups(synthetic_speech):
    params = {**FAST_PIPELINE_PARAMS, "cnn__epochs": 3, "augment__views": ("clean",)}
    scores = cross_val_score(
        make_ser_pipeline("reference", random_state=0, **params), synthetic_speech.filenames,
        synthetic_speech.target, groups=synthetic_speech.speaker, cv=GroupKFold(n_splits=2),
    )
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))


def test_reference_defaults_run_end_to_end(synthetic_speech):
    """The unmodified reference recipe: 106x160 images, the 3.5M-parameter CNN."""
    X, y = synthetic_speech.filenames[::5], synthetic_speech.target[::5]  # all 4 emotions
    pipe = make_ser_pipeline("reference", random_state=0, cnn__epochs=1).fit(X, y)
    assert pipe["features"].n_rows_ == 106
    assert pipe["cnn"].model_.input_shape == (None, 106, 160, 1)
    assert pipe["cnn"].model_.count_params() == 3_525_672 - 4 * 33  # 4 classes, not 8
    assert set(pipe.predict(X)) <= set(y)
