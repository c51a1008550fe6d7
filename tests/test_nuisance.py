"""Nuisance directions from training views, and projecting them out."""

import numpy as np
import pytest

from sklearn_ser.nuisance import project_out, view_difference_directions
from sklearn_ser.views import Views


def _views(clean, *others, names=None):
    names = names or ("clean", *(f"view{i}" for i in range(len(others))))
    return Views(np.stack([clean, *others], axis=1), names)


def _same_span(a, b):
    """Whether the rows of a and b span the same subspace (projectors agree)."""
    return np.allclose(a.T @ a, b.T @ b, atol=1e-8)


def test_directions_are_the_top_right_singular_vectors_of_the_differences():
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(40, 6))
    noise = clean + rng.normal(size=(40, 6)) * [5.0, 3.0, 0.1, 0.1, 0.1, 0.1]
    channel = clean + rng.normal(size=(40, 6)) * [0.1, 0.1, 4.0, 0.1, 0.1, 0.1]
    # The clean view is found by name, wherever it is.
    views = Views(np.stack([noise, clean, channel], axis=1), ("noise", "clean", "channel"))
    got = view_difference_directions(views, 2)
    diffs = np.vstack([noise - clean, channel - clean])
    expected = np.linalg.svd(diffs, full_matrices=False)[2][:2]
    assert got.shape == (2, 6)
    np.testing.assert_allclose(got @ got.T, np.eye(2), atol=1e-10)
    assert _same_span(got, expected)
    # Divided by a scale first: the directions of the scaled differences.
    scale = np.array([1.0, 1.0, 1.0, 1.0, 100.0, 100.0])
    assert _same_span(view_difference_directions(views, 3, scale=scale),
                      np.linalg.svd(diffs / scale, full_matrices=False)[2][:3])


def test_a_shift_shared_by_every_clip_is_found():
    # Noise lifting every clip the same way: a centred decomposition would see nothing.
    rng = np.random.default_rng(1)
    clean = rng.normal(size=(30, 5))
    shift = np.array([0.0, 2.0, 0.0, 0.0, 1.0])
    got = view_difference_directions(_views(clean, clean + shift), 1)
    np.testing.assert_allclose(np.abs(got[0]), np.abs(shift) / np.linalg.norm(shift),
                               atol=1e-10)
    # Projected out, the shifted clips are their clean versions along that axis and
    # keep everything orthogonal to it.
    projected = project_out(clean + shift, got)
    np.testing.assert_allclose(projected, project_out(clean, got), atol=1e-10)
    orthogonal = np.array([[1.0, 0.0, 3.0, -2.0, 0.0]])
    np.testing.assert_allclose(project_out(orthogonal, got), orthogonal, atol=1e-12)


@pytest.mark.parametrize("others", [(), ("same",)])
def test_nothing_to_learn_gives_no_direction(others):
    clean = np.arange(12.0).reshape(4, 3)
    views = _views(clean, *[clean.copy() for _ in others])
    directions = view_difference_directions(views, 2)
    assert directions.shape == (0, 3)
    np.testing.assert_array_equal(project_out(clean, directions), clean)


def test_fewer_directions_than_asked_when_the_differences_span_fewer():
    rng = np.random.default_rng(2)
    clean = rng.normal(size=(20, 4))
    views = _views(clean, clean + np.outer(rng.normal(size=20), [1.0, 1.0, 0.0, 0.0]))
    assert view_difference_directions(views, 3).shape == (1, 4)
    assert view_difference_directions(views, 0).shape == (0, 4)
