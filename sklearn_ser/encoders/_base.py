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
