"""Nuisance directions: what the training views change in a clip's vector, projected out.

Each training clip is seen clean and under recording conditions (noise, babble,
telephone channel, reverberation; :mod:`sklearn_ser.augment`). The difference
between a view's vector and its clean view's vector is what the condition did
to the clip, not what the speaker felt. The few directions along which those
differences are largest (the right singular vectors of the stacked
differences) carry most of the recording and little of the emotion; removing
them from every vector - training and test alike, a fixed linear map at
predict time - is *nuisance attribute projection* (Solomonoff et al., 2005),
with the recording conditions of the views as the nuisance.

The singular value decomposition is not centred: the mean shift a condition
causes (noise lifts every clip the same way) is the first nuisance to remove,
and centring would discard it.

Measured (benchmarks/bench_heads.py, docs/robustness.rst): 2 directions,
together with per-clip block standardisation of both encoders, raised the
RAVDESS -> TESS 4-class UAR of the recommended preset from 65.6 to 72.5 %
while accuracy on new RAVDESS actors and under every recording condition
stayed within 0.7 points.
"""

from __future__ import annotations

import numpy as np

from sklearn_ser.views import CLEAN, Views


def view_difference_directions(views: Views, n_directions: int,
                               scale: np.ndarray | None = None) -> np.ndarray:
    """The ``n_directions`` largest directions of the (view - clean view) differences.

    Parameters
    ----------
    views : Views of shape (n_clips, n_views, n_features)
        Feature vectors of every view of each training clip, a ``"clean"``
        view among them.
    n_directions : int
        How many directions to return (fewer when the differences span fewer).
    scale : ndarray of shape (n_features,), default=None
        Divide the differences by it first (the standardisation the vectors
        get before the directions are used); None: as they are.

    Returns
    -------
    directions : ndarray of shape (n_found, n_features)
        Orthonormal rows, largest first; ``n_found <= n_directions``, 0 when
        there is no view other than the clean one or every view equals it.
    """
    data = np.asarray(views.data, dtype=np.float64)
    n_features = data.shape[-1]
    others = [i for i, name in enumerate(views.names) if name != CLEAN]
    if n_directions == 0 or not others:
        return np.zeros((0, n_features))
    diffs = (data[:, others] - views.clean()[:, None].astype(np.float64)).reshape(-1, n_features)
    if scale is not None:
        diffs = diffs / scale
    # Eigenvectors of the (n_features x n_features) Gram matrix: the right singular vectors
    # of the differences, in a fraction of the time of an SVD of all of them.
    power, vectors = np.linalg.eigh(diffs.T @ diffs)
    order = np.argsort(power)[::-1][:n_directions]
    # Directions with (next to) no spread behind them are rounding noise, not a nuisance.
    order = order[power[order] > max(power.max(), 0.0) * 1e-12]
    return np.ascontiguousarray(vectors[:, order].T)


def project_out(X: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``X`` without its components along orthonormal ``directions``.

    Parameters
    ----------
    X : ndarray of shape (..., n_features)
    directions : ndarray of shape (n_directions, n_features)
        Orthonormal rows (as :func:`view_difference_directions` returns).

    Returns
    -------
    projected : ndarray of the shape of ``X``
    """
    if len(directions) == 0:
        return X
    return X - (X @ directions.T) @ directions
