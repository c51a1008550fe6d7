"""The encoder presets: recommended (speaker-independent) and speaker adaptation, end to end."""

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate

from sklearn_ser import (
    EncoderUnion,
    GE2EEncoder,
    SpeakerStandardizer,
    WhisperEncoder,
    make_ser_pipeline,
)
from sklearn_ser.evaluation import evaluate
from sklearn_ser.exceptions import SpeakerAdaptationWarning
from sklearn_ser.pipeline import CNN_STEPS, ENCODER_STEPS, PRESETS
from sklearn_ser.views import ViewsClassifier


def test_recommended_steps_and_parameters():
    pipe = make_ser_pipeline("recommended", classifier__estimator__C=0.5)
    assert tuple(name for name, _ in pipe.steps) == ENCODER_STEPS
    union = pipe["encoder"]
    assert isinstance(union, EncoderUnion)
    assert [name for name, _ in union.transformer_list] == ["ge2e", "whisper"]
    ge2e, whisper = (encoder for _, encoder in union.transformer_list)
    assert isinstance(ge2e, GE2EEncoder) and isinstance(whisper, WhisperEncoder)
    preset = PRESETS["recommended"]
    assert ge2e.layers == preset["encoder__ge2e__layers"]
    assert ge2e.pooling == preset["encoder__ge2e__pooling"]
    assert whisper.layers == preset["encoder__whisper__layers"]
    assert whisper.pooling == preset["encoder__whisper__pooling"]
    assert isinstance(pipe["scale"], SpeakerStandardizer) and not pipe["scale"].per_speaker
    assert isinstance(pipe["classifier"], ViewsClassifier) and is_classifier(pipe)
    assert pipe["load"].sr == pipe["augment"].sr == ge2e.sr == whisper.sr == 16000
    assert pipe["classifier"].estimator.C == 0.5
    assert clone(pipe).get_params()["classifier__estimator__C"] == 0.5
    adaptive = make_ser_pipeline("recommended", speaker_adaptation=True)
    assert adaptive["scale"].per_speaker
    assert tuple(name for name, _ in make_ser_pipeline("cnn").steps) == CNN_STEPS
    with pytest.raises(ValueError, match="speaker_adaptation=True needs an encoder preset"):
        make_ser_pipeline("reference", speaker_adaptation=True)
    with pytest.raises(ValueError, match="unknown pipeline parameter 'cnn__epochs'"):
        make_ser_pipeline("recommended", cnn__epochs=3)


def test_recommended_does_not_import_tensorflow():
    code = textwrap.dedent("""
        import sys
        from sklearn_ser import make_ser_pipeline
        make_ser_pipeline("recommended")
        assert "tensorflow" not in sys.modules and "torch" not in sys.modules, "imported"
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.fixture(scope="module")
def fitted(synthetic_speech):
    test = synthetic_speech.speaker == "synth_spk04"
    pipe = make_ser_pipeline("recommended", random_state=0)
    pipe.fit(synthetic_speech.filenames[~test], synthetic_speech.target[~test])
    return pipe, synthetic_speech.filenames[test], synthetic_speech.target[test]


def test_recommended_fits_and_predicts_audio_files(fitted):
    pipe, X_test, y_test = fitted
    proba = pipe.predict_proba(X_test)
    assert proba.shape == (len(X_test), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert set(pipe.predict(X_test)) <= set(pipe.classes_)


def test_recommended_joblib_round_trip_without_tensorflow(fitted, tmp_path):
    pipe, X_test, _ = fitted
    joblib.dump(pipe, tmp_path / "model.joblib")
    np.save(tmp_path / "paths.npy", np.asarray(X_test))
    code = textwrap.dedent(f"""
        import sys, joblib, numpy as np
        pipe = joblib.load({str(tmp_path / "model.joblib")!r})
        paths = np.load({str(tmp_path / "paths.npy")!r}, allow_pickle=False)
        np.save({str(tmp_path / "proba.npy")!r}, pipe.predict_proba(paths))
        assert "tensorflow" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), pipe.predict_proba(X_test),
                               rtol=1e-6, atol=1e-7)


def test_views_reach_the_linear_classifier(synthetic_speech):
    X, y = synthetic_speech.filenames[:16], synthetic_speech.target[:16]
    pipe = make_ser_pipeline("recommended", random_state=0,
                             augment__views=("clean", "noise", "gain"))
    pipe.fit(X, y)
    assert pipe["classifier"].n_views_ == 3
    ge2e, whisper = (encoder for _, encoder in pipe["encoder"].transformer_list)
    # 256 numbers per GE2E layer and statistic, 512 per Whisper block and statistic.
    widths = (256 * len(ge2e.layers) * len(ge2e.pooling),
              512 * len(whisper.layers) * len(whisper.pooling))
    assert (ge2e.n_features_out_, whisper.n_features_out_) == widths
    assert len(pipe["encoder"].get_feature_names_out()) == sum(widths)
    assert pipe["classifier"].estimator_.n_features_in_ == sum(widths)


def test_speaker_adaptation_through_routing_in_grid_search(synthetic_speech, tmp_path):
    X, y, g = synthetic_speech.filenames, synthetic_speech.target, synthetic_speech.speaker
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_ser_pipeline("recommended", speaker_adaptation=True, random_state=0,
                                 memory=str(tmp_path), scale__min_clips=4)
        search = GridSearchCV(pipe, {"classifier__estimator__C": [0.1, 1.0]},
                              cv=GroupKFold(n_splits=2))
        search.fit(X, y, groups=g)
        assert search.best_estimator_.predict(X[:16], groups=g[:16]).shape == (16,)
        scores = cross_validate(pipe, X, y, cv=GroupKFold(n_splits=2), params={"groups": g})
        assert scores["test_score"].shape == (2,)
    # Without speaker ids the adaptive model falls back to the training statistics, loudly.
    with pytest.warns(SpeakerAdaptationWarning):
        search.best_estimator_.predict(X[:4])


def test_evaluate_marks_the_adaptive_protocol(synthetic_speech, tmp_path):
    pipe = make_ser_pipeline("recommended", speaker_adaptation=True, random_state=0,
                             memory=str(tmp_path), scale__min_clips=4)
    result = evaluate(pipe, synthetic_speech, protocol="speaker_kfold", n_splits=2,
                      random_state=0)
    assert result.speaker_adaptive and "speaker_adaptation" in result.protocol


@pytest.mark.parametrize("preset, param, value", [
    ("recommended", "classifier__estimator__C", -1.0),
    ("recommended", "encoder__ge2e__batch_size", 0),
    ("recommended", "encoder__whisper__batch_size", 0),
    ("recommended", "encoder__whisper__weights", 5),
    ("recommended", "scale__min_clips", 1),
    ("cnn", "cnn__epochs", -3),
])
def test_bad_parameter_fails_before_any_audio_is_read(preset, param, value, monkeypatch):
    from sklearn_ser import audio

    monkeypatch.setattr(audio._file, "_read", lambda *a, **k: 1 / 0)  # reading would raise
    pipe = make_ser_pipeline(preset, **{param: value})
    with pytest.raises(ValueError, match=param):
        pipe.fit(["a.wav", "b.wav"], ["x", "y"])


def test_one_class_training_data_is_refused_at_once():
    with pytest.raises(ValueError, match="at least 2 classes"):
        make_ser_pipeline("recommended").fit(["a.wav", "b.wav"], ["x", "x"])
