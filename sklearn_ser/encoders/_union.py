"""``EncoderUnion``: several encoders side by side, views included.

scikit-learn's :class:`~sklearn.pipeline.FeatureUnion` concatenates the
outputs of its transformers, but knows nothing of the fit-only
:class:`~sklearn_ser.views.Views`. This subclass hands every view of every clip
to the encoders as plain clips and puts the concatenated vectors back into
Views, so augmentation passes through a union exactly as through one encoder.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.pipeline import FeatureUnion
from sklearn.utils import get_tags

from sklearn_ser.views import Views, map_views, views_pass_set_output


class EncoderUnion(FeatureUnion):
    """Concatenate the vectors of several encoders; passes fit-only Views through.

    Everything else is :class:`sklearn.pipeline.FeatureUnion`: nested
    parameters (``ge2e__layers``), ``transformer_weights``, ``n_jobs`` and
    feature names prefixed by each encoder's name.

    Parameters
    ----------
    transformer_list : list of (str, transformer)
        The encoders, e.g. ``[("ge2e", GE2EEncoder()), ("whisper", WhisperEncoder())]``.
    n_jobs : int, default=None
        Encoders run in parallel with joblib (each may also have its own n_jobs).
    transformer_weights : dict, default=None
        Multiplies each encoder's output.
    verbose : bool, default=False
        Print the time each encoder takes.
    verbose_feature_names_out : bool, default=True
        Prefix feature names with the encoder's name.

    Examples
    --------
    >>> from sklearn_ser import EncoderUnion, GE2EEncoder, WhisperEncoder
    >>> union = EncoderUnion([("ge2e", GE2EEncoder()), ("whisper", WhisperEncoder())])
    >>> union.get_params()["whisper__layers"]
    (3,)
    """

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> np.ndarray | Views:
        """Fit every encoder, then concatenate their vectors of ``X``.

        Parameters
        ----------
        X : list or 1-D object array of waveforms, or Views of them
        y : ignored
        **params
            As for :meth:`sklearn.pipeline.FeatureUnion.fit_transform`.

        Returns
        -------
        vectors : ndarray of shape (n_clips, sum of the encoders' outputs), or Views of them
        """
        if not isinstance(X, Views):
            return super().fit_transform(X, y, **params)
        return self.fit(X, y, **params).transform(X)

    def transform(self, X: Any, **params: Any) -> np.ndarray | Views:
        """Concatenate every encoder's vectors of ``X`` (of every view, for Views).

        Parameters
        ----------
        X : list or 1-D object array of waveforms, or Views of them
        **params
            As for :meth:`sklearn.pipeline.FeatureUnion.transform`.

        Returns
        -------
        vectors : ndarray of shape (n_clips, sum of the encoders' outputs), or Views of them
        """
        plain = super().transform
        return map_views(lambda clips: plain(clips, **params), X)

    def __sklearn_tags__(self):
        # What every encoder declares holds for the union: input (audio, not a table)
        # and output dtypes (float32); scikit-learn's FeatureUnion claims float64.
        tags = super().__sklearn_tags__()
        try:
            members = [get_tags(t) for _, t in self.transformer_list
                       if not isinstance(t, str)]  # "drop", "passthrough"
        except Exception:  # noqa: BLE001 - a malformed transformer_list fails in fit
            return tags
        if members:
            tags.input_tags.two_d_array = all(m.input_tags.two_d_array for m in members)
            tags.transformer_tags.preserves_dtype = [
                d for d in members[0].transformer_tags.preserves_dtype
                if all(m.transformer_tags and d in m.transformer_tags.preserves_dtype
                       for m in members)
            ]
        return tags


views_pass_set_output(EncoderUnion)
