"""The vector transforms ``benchmarks/bench_heads.py`` measures do what they claim."""

import numpy as np
import pytest
from conftest import load_benchmark
from sklearn.base import clone

from sklearn_ser.views import Views


@pytest.fixture(scope="module")
def bench_heads():
    return load_benchmark("bench_heads")


NAMES = ("ge2e_l2_mean_0", "ge2e_l2_mean_1", "ge2e_l2_mean_2",
         "whisper_b3_std_0", "whisper_b3_std_1")


def test_block_standardizer_standardises_each_block_within_each_clip(bench_heads):
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(4, 5)) * [1, 2, 3, 10, 20] + [5, 0, 1, -3, 7]
    out = bench_heads.PerClipBlockStandardizer(NAMES).fit(clips).transform(clips)
    for block in (slice(0, 3), slice(3, 5)):
        part = clips[:, block]
        expected = (part - part.mean(1, keepdims=True)) / part.std(1, keepdims=True)
        np.testing.assert_allclose(out[:, block], expected, atol=1e-6)
    # Views keep their names and shape; each view is standardised alike.
    views = Views(np.stack([clips, 2 * clips + 1], axis=1), ("clean", "mixed"))
    out_views = bench_heads.PerClipBlockStandardizer(NAMES).fit(views).transform(views)
    assert out_views.names == ("clean", "mixed")
    np.testing.assert_allclose(out_views.data[:, 0], out_views.data[:, 1], atol=1e-6)


def test_view_difference_projection_removes_what_the_views_change(bench_heads):
    rng = np.random.default_rng(1)
    clean = rng.normal(size=(50, 5))
    shift = np.array([3.0, -1.0, 0.0, 0.0, 2.0])  # what the noisy view adds
    views = Views(np.stack([clean, clean + shift], axis=1), ("clean", "mixed"))
    projection = clone(bench_heads.ViewDifferenceProjection(n_directions=1)).fit(views)
    test = rng.normal(size=(3, 5))
    # A clip under the training condition maps where its clean version does ...
    np.testing.assert_allclose(projection.transform(test + shift), projection.transform(test),
                               atol=1e-9)
    # ... and what is orthogonal to the nuisance passes unchanged.
    orthogonal = np.array([[0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 4.0, 0.0]])
    np.testing.assert_allclose(projection.transform(orthogonal), orthogonal, atol=1e-9)


def test_column_block_keeps_one_encoder(bench_heads):
    clips = np.arange(10.0).reshape(2, 5)
    kept = bench_heads.ColumnBlock(NAMES, "whisper").fit(clips).transform(clips)
    np.testing.assert_array_equal(kept, [[3, 4], [8, 9]])


def test_shared_uar_decides_among_the_scored_classes_only(bench_heads):
    classes = np.array(["angry", "calm", "sad"])
    # Calm wins every clip, but calm is not scored: the decision is between angry and sad.
    scores = np.array([[0.3, 0.6, 0.1], [0.1, 0.6, 0.3], [0.2, 0.7, 0.1]])
    y = np.array(["angry", "sad", "sad"])
    # recall angry 1/1, sad 1/2 -> UAR 0.75
    assert bench_heads._shared_uar(classes, scores, y, ("angry", "sad")) == pytest.approx(0.75)


def test_view_difference_projection_needs_views_with_the_clean_view_first(bench_heads):
    with pytest.raises(TypeError, match="clean first"):
        bench_heads.ViewDifferenceProjection().fit(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="clean first"):
        bench_heads.ViewDifferenceProjection().fit(Views(np.zeros((4, 2, 3)), ("mixed", "clean")))
