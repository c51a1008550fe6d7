"""The feature cache: repeated work is free, and the key holds everything that matters.

Evidence is counted, never timed: a counter wraps the function that does the
signal processing, so "extracted nothing" means it was not called.
"""

from __future__ import annotations

import joblib
import librosa
import numpy as np
import pytest
from conftest import FAST_PIPELINE_PARAMS
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_memory

from sklearn_ser import AudioLoader, FeatureImageExtractor, WaveformAugmenter
from sklearn_ser.features import _image, _recipe
from sklearn_ser.views import Views

SMALL = dict(features=("mel", "chroma", "mfcc_delta2"), n_mfcc=13, n_columns=32)


@pytest.fixture
def computations(monkeypatch):
    """Count the clips whose features are actually computed (in this process)."""
    calls = []
    original = _recipe._blocks

    def counting(y, **kwargs):
        calls.append(joblib.hash(y))
        return original(y, **kwargs)

    monkeypatch.setattr(_recipe, "_blocks", counting)
    return calls


@pytest.fixture(scope="module")
def waves(synthetic_speech):
    return AudioLoader().fit_transform(list(synthetic_speech.filenames[:4]))


def test_second_fit_and_new_instances_extract_nothing(waves, tmp_path, computations):
    first = FeatureImageExtractor(memory=tmp_path, **SMALL).fit_transform(waves)
    assert len(computations) == 4
    again = FeatureImageExtractor(memory=tmp_path, **SMALL).fit_transform(waves)
    assert len(computations) == 4  # a fresh instance, same directory: all hits
    np.testing.assert_array_equal(again, first)
    # standardize is applied after the cache, so it does not key it.
    FeatureImageExtractor(memory=tmp_path, standardize="row", **SMALL).fit(waves)
    assert len(computations) == 4
    # The cache lives on disk: the images come back equal to uncached ones.
    np.testing.assert_array_equal(first, FeatureImageExtractor(**SMALL).fit_transform(waves))


@pytest.mark.parametrize(
    "change", [{"n_mfcc": 20}, {"n_columns": 40}, {"mode": "fast"}, {"mel_db": True},
               {"hop_length": 256}, {"features": ("chroma", "mel", "mfcc_delta2")}],
)
def test_parameters_that_change_the_image_key_the_cache(waves, tmp_path, computations,
                                                         change):
    FeatureImageExtractor(memory=tmp_path, **SMALL).fit(waves[:2])
    assert len(computations) == 2
    FeatureImageExtractor(memory=tmp_path, **{**SMALL, **change}).fit(waves[:2])
    assert len(computations) == 4


def test_key_is_the_waveform_content(waves, tmp_path, computations):
    ext = FeatureImageExtractor(memory=str(tmp_path), **SMALL)  # a path works as well
    ext.fit(waves)
    changed = [w.copy() for w in waves]
    changed[2][1000] += 1e-3  # one sample of one clip
    ext.fit(changed)
    assert computations[4:] == [joblib.hash(changed[2])]


def test_call_is_in_cache(waves, tmp_path):
    memory = joblib.Memory(tmp_path, verbose=0)
    ext = FeatureImageExtractor(memory=memory, **SMALL)
    cached = check_memory(memory).cache(_image._image_for_cache)
    key = (_image._IMAGE_VERSION, librosa.__version__)
    assert not cached.check_call_in_cache(waves[0], key, ext._image_params())
    ext.fit(waves[:1])
    assert cached.check_call_in_cache(waves[0], key, ext._image_params())
    assert not cached.check_call_in_cache(waves[1], key, ext._image_params())


def test_no_memory_caches_nothing(waves, tmp_path, computations, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ext = FeatureImageExtractor(**SMALL)
    ext.fit(waves[:2])
    ext.fit(waves[:2])
    assert len(computations) == 4
    assert not any(tmp_path.iterdir())


def test_cache_is_shared_by_worker_processes(waves, tmp_path, computations):
    parallel = FeatureImageExtractor(memory=tmp_path, n_jobs=2, **SMALL).fit_transform(waves)
    assert computations == []  # computed in the workers, not here
    local = FeatureImageExtractor(memory=tmp_path, **SMALL).fit_transform(waves)
    assert computations == []  # ...and written where this process finds them
    np.testing.assert_array_equal(local, parallel)


def _mean_view_flat(images) -> np.ndarray:
    """Views (while fitting) or images -> (n_clips, rows * cols): a cheap stand-in for the CNN."""
    data = images.data.mean(axis=1) if isinstance(images, Views) else images
    return data.reshape(len(data), -1)


@pytest.fixture
def requested(monkeypatch):
    """Record every view sent to extraction (hashes), cached or not."""
    views = []
    original_imap = _image.parallel_imap

    def recording_imap(func, items, **kwargs):
        views.extend(joblib.hash(y) for y in items)
        return original_imap(func, items, **kwargs)

    monkeypatch.setattr(_image, "parallel_imap", recording_imap)
    return views


@pytest.fixture(scope="module")
def small_corpus(synthetic_speech):
    """3 clips per emotion."""
    rng = np.random.RandomState(0)
    index = np.concatenate([
        rng.choice(np.flatnonzero(synthetic_speech.target == label), 3, replace=False)
        for label in np.unique(synthetic_speech.target)
    ])
    return synthetic_speech.filenames[index], synthetic_speech.target[index]


def _check_each_view_once(search, computations, requested):
    cold = search()
    # Every fit extracts its training views (clean + 2 augmented per clip) and its
    # test clips: many requests, each distinct view computed once.
    assert len(computations) == len(set(requested)) == len(set(computations))
    assert len(requested) >= 2 * len(computations)
    n_cold = len(computations)
    warm = search()
    assert len(computations) == n_cold  # the second search extracts nothing
    np.testing.assert_array_equal(warm.cv_results_["mean_test_score"],
                                  cold.cv_results_["mean_test_score"])


def test_grid_search_extracts_each_view_once(small_corpus, tmp_path, computations, requested):
    """A grid over the classifier's parameters extracts each clip and each augmented view
    once, however many candidates and folds reuse it; a second search extracts nothing."""
    X, y = small_corpus
    features = {k.split("__")[1]: v for k, v in FAST_PIPELINE_PARAMS.items()
                if k.startswith("features__")}

    def search():
        pipe = Pipeline([
            ("load", AudioLoader()),
            ("augment", WaveformAugmenter(random_state=0)),
            ("features", FeatureImageExtractor(memory=tmp_path, **features)),
            ("flat", FunctionTransformer(_mean_view_flat)),
            ("clf", LogisticRegression(max_iter=200)),
        ])
        grid = {"clf__C": [0.1, 10.0]}
        return GridSearchCV(pipe, grid, cv=2).fit(X, y)

    _check_each_view_once(search, computations, requested)


@pytest.mark.slow
def test_grid_search_over_cnn_extracts_each_view_once(small_corpus, tmp_path, computations,
                                                      requested):
    """The same with the package's pipeline and its CNN (TensorFlow: slow)."""
    from sklearn_ser import make_ser_pipeline  # imports TensorFlow: only in this test

    X, y = small_corpus
    params = {**FAST_PIPELINE_PARAMS, "cnn__epochs": 1}

    def search():
        pipe = make_ser_pipeline("reference", random_state=0, memory=tmp_path, **params)
        return GridSearchCV(pipe, {"cnn__learning_rate": [0.01, 0.003]}, cv=2).fit(X, y)

    _check_each_view_once(search, computations, requested)


# -- caches verify what they read: a bad entry is recomputed and replaced --------------------
def _entries(cache):
    entries = sorted(cache.rglob("output.pkl"))
    assert entries, "the cache was not populated"
    return entries


@pytest.mark.parametrize("damage", ["truncated", "none_stored", "wrong_shape"])
def test_a_bad_encoder_cache_entry_is_recomputed_and_replaced(tmp_path, ge2e_weights, damage,
                                                              monkeypatch):
    from sklearn_ser.encoders import GE2EEncoder, _ge2e

    rng = np.random.default_rng(0)
    clips = [rng.normal(0, 0.1, 4000 + 800 * i).astype(np.float32) for i in range(3)]
    expected = GE2EEncoder().fit_transform(clips)  # no cache: the true vectors
    encoder = GE2EEncoder(memory=tmp_path).fit(clips)
    encoder.transform(clips)
    entries = _entries(tmp_path)
    assert len(entries) == 3
    for entry in entries:
        if damage == "truncated":  # a write cut short (or a full disk)
            entry.write_bytes(entry.read_bytes()[:10])
        elif damage == "none_stored":  # what the old cache stored for such an entry
            joblib.dump(None, entry)
        else:
            joblib.dump(np.zeros(7, dtype=np.float32), entry)
    computed = []
    original = _ge2e._encode_clips
    monkeypatch.setattr(_ge2e, "_encode_clips",
                        lambda clips, *a: computed.append(len(clips)) or original(clips, *a))
    again = encoder.transform(clips)
    assert sum(computed) == 3  # every damaged entry recomputed
    assert np.all(np.isfinite(again))
    np.testing.assert_allclose(again, expected, rtol=1e-5, atol=1e-6)
    # ...and stored: the next call computes nothing and reads the real vectors.
    third = GE2EEncoder(memory=tmp_path).fit(clips).transform(clips)
    assert sum(computed) == 3
    np.testing.assert_allclose(third, expected, rtol=1e-5, atol=1e-6)
    for entry in entries:
        assert joblib.load(entry).shape == (encoder.n_features_out_,)


@pytest.mark.parametrize("damage", ["truncated", "wrong_shape", "nan"])
def test_a_bad_feature_cache_entry_is_recomputed_and_replaced(waves, tmp_path, computations,
                                                              damage):
    expected = FeatureImageExtractor(**SMALL).fit_transform(waves[:2])
    FeatureImageExtractor(memory=tmp_path, **SMALL).fit(waves[:2])
    assert len(computations) == 4
    for entry in _entries(tmp_path):
        if damage == "truncated":
            entry.write_bytes(entry.read_bytes()[:10])
        elif damage == "wrong_shape":
            joblib.dump(np.zeros((3, 3), dtype=np.float32), entry)
        else:
            image = joblib.load(entry)
            image[0, 0] = np.nan
            joblib.dump(image, entry)
    again = FeatureImageExtractor(memory=tmp_path, **SMALL).fit_transform(waves[:2])
    assert len(computations) == 6
    np.testing.assert_array_equal(again, expected)
    FeatureImageExtractor(memory=tmp_path, **SMALL).fit(waves[:2])
    assert len(computations) == 6  # the replaced entries are read back
