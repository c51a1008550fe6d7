"""What the pretrained encoders share: parameters' types, the transform over Views, names.

An encoder subclass sets its own defaults in ``__init__`` (scikit-learn reads
parameters from it), learns ``weights_digest_``, ``feature_names_out_`` and
``n_features_out_`` in ``fit``, and encodes plain clips in ``_encode_batch``.
"""

from __future__ import annotations

import os
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from sklearn_ser.views import Views, map_views, views_pass_set_output


class PretrainedEncoder(TransformerMixin, BaseEstimator):
    """Base of the frozen pretrained encoders: waveforms in, one vector per clip out."""

    _parameter_constraints: dict = {
        "layers": [list, tuple],
        "pooling": [list, tuple],
        "sr": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
        "weights": [None, str, os.PathLike],
        "instance_norm": ["boolean"],
    }

    def fit_transform(self, X: Any, y: Any = None, **fit_params) -> np.ndarray | Views:
        """Fit (nothing to learn), then encode ``X``.

        Parameters
        ----------
        X : list or 1-D object array of 1-D waveforms, or Views of them
        y : ignored
        **fit_params : ignored

        Returns
        -------
        vectors : ndarray of shape (n_clips, n_features_out_), float32, or Views of them
        """
        return self.fit(X, y).transform(X)

    def transform(self, X: Any) -> np.ndarray | Views:
        """Encode each clip (each view of each clip) into one vector.

        Parameters
        ----------
        X : list or 1-D object array of 1-D waveforms, or Views of them

        Returns
        -------
        vectors : ndarray of shape (n_clips, n_features_out_), float32
            Or Views of shape (n_clips, n_views, n_features_out_) for Views.
        """
        check_is_fitted(self, "n_features_out_")
        return map_views(self._encode_batch, X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features, e.g. ``ge2e_l2_mean_0`` or ``whisper_l3_std_5``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str objects, shape (n_features_out_,)
        """
        check_is_fitted(self, "n_features_out_")
        return self.feature_names_out_.copy()

    def _instance_normalized(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` with each block standardised within each clip, if ``instance_norm``."""
        if not getattr(self, "instance_norm", False):  # encoders pickled before it existed lack it
            return vectors
        # One block per output and statistic: the feature names without their index.
        n_blocks = len(dict.fromkeys(n.rsplit("_", 1)[0] for n in self.feature_names_out_))
        return instance_normalize(vectors, n_blocks)

    def _weights_path(self) -> str | None:
        return None if self.weights is None else os.fspath(self.weights)

    def _encode_batch(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]  # the networks' precision
        return tags


views_pass_set_output(PretrainedEncoder)


def instance_normalize(vectors: np.ndarray, n_blocks: int) -> np.ndarray:
    """Standardise each of ``n_blocks`` equal blocks of each row over the block's own values.

    A clip's pooled statistics of one layer share an overall level and spread
    that follow its recording - microphone, level, studio - more than its
    emotion; subtracting the block's mean and dividing by its standard
    deviation (instance normalisation) removes them from each clip on its
    own, with no statistics of other clips.

    Parameters
    ----------
    vectors : ndarray of shape (n_clips, n_features)
        ``n_features`` a multiple of ``n_blocks``.
    n_blocks : int
        Number of consecutive equal-width blocks in each row.

    Returns
    -------
    normalized : ndarray of shape (n_clips, n_features), same dtype
        A constant block (standard deviation 0) becomes zeros.
    """
    n_clips, n_features = vectors.shape
    blocks = vectors.reshape(n_clips, n_blocks, n_features // n_blocks).astype(np.float64)
    centered = blocks - blocks.mean(axis=2, keepdims=True)
    spread = centered.std(axis=2, keepdims=True)
    spread[spread == 0] = 1.0
    return (centered / spread).reshape(n_clips, n_features).astype(vectors.dtype, copy=False)
