"""Parameters checked with scikit-learn's machinery, before any work; n_jobs capped (issue 10)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ser import (
    AudioLoader,
    FeatureImageExtractor,
    WaveformAugmenter,
    _parallel,
    make_ser_pipeline,
)
from sklearn_ser._validation import check_labels, validate_pipeline


@pytest.mark.parametrize(
    ("estimator", "needle"),
    [
        (AudioLoader(sr=0), "'sr' parameter of AudioLoader"),
        (AudioLoader(max_duration=-1), "'max_duration' parameter of AudioLoader"),
        (AudioLoader(n_jobs=0), "'n_jobs' parameter of AudioLoader"),
        (WaveformAugmenter(noise_amplitude="abc"), "'noise_amplitude' parameter of "
                                                   "WaveformAugmenter must be a real number"),
        (WaveformAugmenter(pitch_steps=(2.0, -2.0)), "'pitch_steps' parameter"),
        (WaveformAugmenter(stretch_rate=0), "'stretch_rate' parameter"),
        (WaveformAugmenter(random_state="x"), "'random_state' parameter"),
        (FeatureImageExtractor(n_columns=0), "'n_columns' parameter of FeatureImageExtractor"),
        (FeatureImageExtractor(mode="quick"), "'mode' parameter"),
        (FeatureImageExtractor(standardize="all"), "'standardize' parameter"),
        (FeatureImageExtractor(memory=3), "'memory' parameter"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_bad_values_fail_at_the_start_of_fit_naming_the_parameter(estimator, needle,
                                                                   monkeypatch):
    import sklearn_ser.audio as audio

    # Nothing may be read or computed before the check.
    monkeypatch.setattr(audio._file, "_read", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(WaveformAugmenter, "_augment_clip", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(FeatureImageExtractor, "_extract", lambda *a, **k: 1 / 0)
    X = ["clip.wav"] if isinstance(estimator, AudioLoader) else [np.zeros(4096, np.float32)]
    with pytest.raises(InvalidParameterError, match=needle):
        estimator.fit_transform(X)


def test_validate_pipeline_checks_every_step_before_any_work():
    pipe = make_ser_pipeline("reference", cnn__epochs=-3, augment__noise_amplitude="abc")
    with pytest.raises(InvalidParameterError, match=r"'augment__noise_amplitude' parameter"):
        validate_pipeline(pipe)
    pipe.set_params(augment__noise_amplitude=0.01)
    with pytest.raises(InvalidParameterError, match=r"'cnn__epochs' parameter of SERClassifier "
                                                    r"must be an int in the range \[1, inf\)"):
        validate_pipeline(pipe)
    pipe.set_params(cnn__epochs=1)
    validate_pipeline(pipe)  # the defaults and presets pass
    recommended = make_ser_pipeline("recommended")
    validate_pipeline(recommended)
    # Estimators inside a step's parameters are checked too, by their full name.
    nested = [k for k in recommended.get_params() if k.endswith("estimator__C")]
    if nested:
        recommended.set_params(**{nested[0]: "abc"})
        with pytest.raises(InvalidParameterError, match=f"'{nested[0]}' parameter"):
            validate_pipeline(recommended)
    with pytest.raises(ValueError, match="1 class"):
        validate_pipeline(pipe, ["sad", "sad"])


def test_check_labels():
    assert list(check_labels(["a", "b", "a"])) == ["a", "b", "a"]
    assert list(check_labels(np.array([0, 1, 1]))) == [0, 1, 1]
    with pytest.raises(ValueError, match=r"mixes strings and numbers \(e\.g\. 3\)"):
        check_labels(["angry", 3, "sad"])
    with pytest.raises(ValueError, match="1 class"):
        check_labels(np.array(["x"] * 5))


def _pid(_item):
    return os.getpid()


def test_n_jobs_beyond_the_cores_is_capped_with_one_warning(monkeypatch):
    monkeypatch.setattr(_parallel, "cpu_count", lambda: 2)
    monkeypatch.setattr(_parallel, "_CAPPED", set())
    with pytest.warns(UserWarning, match=r"n_jobs=4000 is more than the 2 CPU cores of this "
                                         r"machine; using n_jobs=2"):
        pids = _parallel.parallel_map(_pid, list(range(16)), n_jobs=4000)
    assert len(set(pids)) <= 2  # at most two worker processes, not 4000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        _parallel.parallel_map(_pid, list(range(4)), n_jobs=4000)
    assert _parallel.cap_n_jobs(2) == 2 and _parallel.cap_n_jobs(-1) == -1
    assert _parallel.cap_n_jobs(None) is None
