"""Scale-out: extraction and grid search run unchanged on a Dask cluster via joblib.

A ``dask.distributed.LocalCluster`` of two worker processes on 127.0.0.1
stands in for a real cluster; under ``joblib.parallel_backend("dask")`` the
same code sends its work there, and the results must equal the local ones.
"""

from __future__ import annotations

import logging

import dask.distributed as distributed  # noqa: E402 - the test extra brings dask
import joblib
import numpy as np
import pytest
from conftest import FAST_PIPELINE_PARAMS
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_ser import AudioLoader, FeatureImageExtractor, WaveformAugmenter
from sklearn_ser.features import _recipe
from sklearn_ser.views import Views


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=logging.ERROR,
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def corpus(synthetic_speech):
    """2 clips per emotion (8 clips)."""
    rng = np.random.RandomState(1)
    index = np.concatenate([
        rng.choice(np.flatnonzero(synthetic_speech.target == label), 2, replace=False)
        for label in np.unique(synthetic_speech.target)
    ])
    return synthetic_speech.filenames[index], synthetic_speech.target[index]


def test_extraction_on_dask_equals_local(client, corpus, monkeypatch):
    waves = AudioLoader().fit_transform(corpus[0])
    ext = FeatureImageExtractor(features=("mel", "chroma", "tonnetz"), n_columns=40)
    local = ext.fit_transform(waves)
    calls = []
    original = _recipe._blocks
    monkeypatch.setattr(_recipe, "_blocks", lambda y, **kw: calls.append(1) or original(y, **kw))
    with joblib.parallel_backend("dask"):
        remote = ext.fit_transform(waves)
        loaded = AudioLoader().fit_transform(corpus[0])
    assert calls == []  # all the work ran on the cluster's worker processes
    np.testing.assert_array_equal(remote, local)
    for a, b in zip(loaded, waves):
        np.testing.assert_array_equal(a, b)


def _mean_view_flat(images) -> np.ndarray:
    """Views (while fitting) or images -> (n_clips, rows * cols): a cheap stand-in for the CNN."""
    data = images.data.mean(axis=1) if isinstance(images, Views) else images
    return data.reshape(len(data), -1)


def _search(pipe, grid, X, y, n_jobs=None):
    return GridSearchCV(pipe, grid, cv=2, n_jobs=n_jobs).fit(X, y)


def test_grid_search_on_dask_equals_local(client, corpus):
    """The whole audio pipeline (with augmentation) inside GridSearchCV's dask tasks."""
    features = {k.split("__")[1]: v for k, v in FAST_PIPELINE_PARAMS.items()
                if k.startswith("features__")}
    pipe = Pipeline([
        ("load", AudioLoader()),
        # Cheap views (no pitch shift or time stretch) keep the test short.
        ("augment", WaveformAugmenter(views=("clean", "noise", "gain+shift"), random_state=0)),
        ("features", FeatureImageExtractor(**features)),
        ("flat", FunctionTransformer(_mean_view_flat)),
        ("clf", LogisticRegression(max_iter=200)),
    ])
    grid = {"clf__C": [0.01, 1.0]}
    X, y = corpus
    local = _search(pipe, grid, X, y)
    with joblib.parallel_backend("dask"):
        remote = _search(pipe, grid, X, y, n_jobs=2)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])


@pytest.mark.slow
def test_cnn_grid_search_runs_on_dask(client, corpus):
    """The package's own pipeline and CNN in GridSearchCV's dask tasks (TensorFlow: slow).

    Only that it runs and scores every candidate: the CNN's training itself is
    not bit-reproducible across processes (the features it receives are, see
    the tests above), so its scores are not compared with the local ones.
    """
    from sklearn_ser import make_ser_pipeline  # imports TensorFlow: only in this test

    X, y = corpus
    pipe = make_ser_pipeline("reference", random_state=0,
                             **{**FAST_PIPELINE_PARAMS, "cnn__epochs": 2})
    grid = {"cnn__learning_rate": [0.01, 0.003]}
    with joblib.parallel_backend("dask"):
        remote = _search(pipe, grid, X, y, n_jobs=2)
    scores = remote.cv_results_["mean_test_score"]
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert remote.best_params_["cnn__learning_rate"] in (0.01, 0.003)
    assert remote.predict(X[:2]).shape == (2,)
