"""openSMILE functionals: one vector of standard acoustic statistics per clip.

The field's classical baseline for speech emotion recognition: eGeMAPS (88
functionals of pitch, loudness, voice quality and spectral balance) or the
larger ComParE 2016 set (6,373), computed by audEERING's openSMILE through the
``opensmile`` Python package, which ships the library in its wheel. Install
it with the optional extra::

    pip install "sklearn-ser[opensmile]"

.. note::

   openSMILE is distributed under audEERING's research licence: free for
   private, research and educational use; commercial use (including
   features or models made with it inside a product) needs a licence from
   audEERING. sklearn_ser itself does not include openSMILE.
"""

from __future__ import annotations

import functools
import warnings
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, Options
from sklearn.utils.validation import check_is_fitted

from sklearn_ser._parallel import parallel_map
from sklearn_ser._validation import N_JOBS, VERBOSE
from sklearn_ser.views import Views, as_clips, map_views, views_pass_set_output

_INSTALL_HINT = 'pip install "sklearn-ser[opensmile]"'


def _import_opensmile() -> Any:
    """Import the optional ``opensmile`` package, or say how to install it."""
    try:
        import opensmile
    except ImportError as exc:
        raise ImportError(
            "OpenSmileFunctionals needs the optional 'opensmile' package, which is not "
            f"installed or cannot be imported ({exc}). Install it with: {_INSTALL_HINT} "
            "(openSMILE is under audEERING's research licence: free for private, research "
            "and educational use; commercial use needs a licence from audEERING)."
        ) from exc
    return opensmile


def available_feature_sets() -> tuple[str, ...]:
    """Names of the openSMILE feature sets that ``feature_set`` accepts.

    Returns
    -------
    names : tuple of str
        E.g. ``("ComParE_2016", "GeMAPSv01b", "eGeMAPSv02", ...)``, as
        offered by the installed ``opensmile`` package.

    Raises
    ------
    ImportError
        If ``opensmile`` is not installed.
    """
    return tuple(_import_opensmile().FeatureSet.__members__)


class _FeatureSetName(Options):
    """Constraint: the name of a feature set of the installed ``opensmile`` package.

    Checked like scikit-learn's own constraints (at the start of ``fit``, and by
    :func:`sklearn_ser._validation.validate_pipeline` before any audio is read);
    ``opensmile`` is imported only then, so a missing package is reported there.
    """

    def __init__(self):
        super().__init__(str, set())

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, str) and val in available_feature_sets()

    def __str__(self) -> str:
        opensmile = _import_opensmile()
        return (
            f"a str among {sorted(available_feature_sets())} (the feature sets of "
            f"opensmile {opensmile.__version__})"
        )


@functools.lru_cache(maxsize=8)
def _smile(feature_set: str) -> Any:
    """One openSMILE extractor per feature set and process (configured once, reused)."""
    opensmile = _import_opensmile()
    return opensmile.Smile(
        feature_set=opensmile.FeatureSet[feature_set],
        feature_level=opensmile.FeatureLevel.Functionals,
    )


def _functionals_one(y: np.ndarray, feature_set: str, sr: int) -> np.ndarray:
    """The functionals of one waveform, shape (n_features,), float32 (NaN if too short)."""
    signal = np.ascontiguousarray(y, dtype=np.float32)
    with warnings.catch_warnings():
        # "Segment too short, filling with NaN": reported per clip by the caller instead.
        warnings.filterwarnings("ignore", message="Segment too short", category=UserWarning)
        frame = _smile(feature_set).process_signal(signal, sr)
    return frame.to_numpy(dtype=np.float32)[0]


class OpenSmileFunctionals(TransformerMixin, BaseEstimator):
    """openSMILE functionals (eGeMAPS, ComParE, ...) of each clip, as a transformer.

    Waveforms in, one row of openSMILE functionals per clip out: the
    classical baseline features of speech emotion recognition, ready for a
    scaler and any scikit-learn classifier. Put :class:`~sklearn_ser.AudioLoader`
    before it (with the same ``sr``)::

        make_pipeline(AudioLoader(sr=16000), OpenSmileFunctionals(),
                      StandardScaler(), LogisticRegression())

    While fitting it also accepts the augmented views of each training clip
    (:class:`~sklearn_ser.views.Views`) and returns the functionals of every
    view, under the same view names.

    Needs the optional ``opensmile`` package (``pip install
    "sklearn-ser[opensmile]"``); it is imported only when the transformer
    is fitted or used.

    .. note::

       **Licence.** openSMILE is distributed by audEERING under its research
       licence: free for private, research and educational use. Commercial
       use -- including features extracted with it, or models trained on
       them, inside a product -- needs a commercial licence from audEERING.
       sklearn_ser's own BSD licence does not cover openSMILE.

    Parameters
    ----------
    feature_set : str, default="eGeMAPSv02"
        Name of an ``opensmile.FeatureSet``: ``"eGeMAPSv02"`` (88
        functionals), ``"ComParE_2016"`` (6,373), ``"GeMAPSv01b"`` (62),
        ``"eGeMAPSv01b"``, ``"emobase"``, ... (see
        :func:`available_feature_sets`).
    sr : int, default=16000
        Sample rate of the incoming waveforms (Hz).
    n_jobs : int or None, default=None
        Clips processed in parallel with joblib.
    verbose : int, default=0
        Show a progress bar when > 0.

    Attributes
    ----------
    feature_names_ : ndarray of str objects, shape (n_features,)
        openSMILE's name of each output column.

    See Also
    --------
    sklearn_ser.FeatureImageExtractor : The feature images of the CNN presets.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ser import OpenSmileFunctionals
    >>> waves = [np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)]
    >>> OpenSmileFunctionals().fit_transform(waves).shape  # doctest: +SKIP
    (1, 88)
    """

    _parameter_constraints: dict = {
        "feature_set": [_FeatureSetName()],
        "sr": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": N_JOBS,
        "verbose": VERBOSE,
    }

    def __init__(
        self,
        feature_set: str = "eGeMAPSv02",
        *,
        sr: int = 16000,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.feature_set = feature_set
        self.sr = sr
        self.n_jobs = n_jobs
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> OpenSmileFunctionals:
        """Check the parameters and the waveforms; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_clips,) of 1-D float arrays, or Views
            Waveforms at ``sr`` Hz (while fitting, possibly several views
            of each clip).
        y : ignored

        Returns
        -------
        self : OpenSmileFunctionals

        Raises
        ------
        ImportError
            If the optional ``opensmile`` package is missing.
        sklearn.utils._param_validation.InvalidParameterError
            If a parameter is invalid, e.g. an unknown ``feature_set``.
        """
        as_clips(X.flat() if isinstance(X, Views) else X)
        self.feature_names_ = np.asarray(_smile(self.feature_set).feature_names, dtype=object)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray | Views:
        """Fit (check the parameters), then return the functionals of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_clips,) of 1-D float arrays, or Views
            Waveforms at ``sr`` Hz.
        y : ignored
        **fit_params : dict
            Unused; accepted for compatibility.

        Returns
        -------
        features : ndarray of shape (n_clips, n_features), float32, or Views
            As :meth:`transform`.
        """
        return self.fit(X, y).transform(X)

    def transform(self, X: Any) -> np.ndarray | Views:
        """openSMILE functionals of each clip (of each view, given views).

        Parameters
        ----------
        X : array-like of shape (n_clips,) of 1-D float arrays, or Views
            Waveforms at ``sr`` Hz.

        Returns
        -------
        features : ndarray of shape (n_clips, n_features), float32, or Views
            One row per clip; a pandas DataFrame with openSMILE's column
            names after ``set_output(transform="pandas")``. Given views:
            :class:`~sklearn_ser.views.Views` of shape
            (n_clips, n_views, n_features) with the same view names.

        Raises
        ------
        ValueError
            If openSMILE returns NaN or infinite values for a clip (e.g. a
            clip too short for its analysis windows), naming the clip.
        """
        check_is_fitted(self, "feature_names_")
        out = map_views(self._functionals_batch, X)
        self._check_finite(out, X)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """openSMILE's name of each output column.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str objects, shape (n_features,)
            E.g. ``F0semitoneFrom27.5Hz_sma3nz_amean``.
        """
        check_is_fitted(self, "feature_names_")
        return self.feature_names_.copy()

    def _functionals_batch(self, clips: Any) -> np.ndarray:
        """Functionals of a batch of waveforms, shape (n_clips, n_features), float32."""
        clips = as_clips(clips)
        rows = parallel_map(
            _functionals_one, list(clips), n_jobs=self.n_jobs, verbose=self.verbose,
            desc="openSMILE functionals", args=[(self.feature_set, self.sr)] * len(clips),
        )
        if not rows:
            return np.empty((0, len(self.feature_names_)), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)

    def _check_finite(self, out: np.ndarray | Views, X: Any) -> None:
        """Raise one clear error for clips whose functionals are not all finite."""
        values = out.data if isinstance(out, Views) else out
        bad = ~np.isfinite(values)
        if not bad.any():
            return
        where = np.argwhere(bad.any(axis=-1))
        first = tuple(where[0])
        clip = first[0]
        if isinstance(X, Views):
            view = f" (view {X.names[first[1]]!r})"
            waveform = X.data[first]
        else:
            view = ""
            waveform = as_clips(X)[clip]
        names = self.feature_names_[bad[first]]
        seconds = len(waveform) / self.sr
        clips = sorted({int(i) for i in where[:, 0]})
        listed = ", ".join(map(str, clips[:10])) + (", ..." if len(clips) > 10 else "")
        raise ValueError(
            f"openSMILE returned NaN or infinite {self.feature_set} functionals for clip "
            f"{clip}{view} ({seconds:.3f} s at sr={self.sr}): {len(names)} of "
            f"{bad.shape[-1]} values, e.g. {', '.join(names[:3])}. Such clips are too short "
            "or not valid audio (NaN/inf samples); drop them or raise AudioLoader's "
            f"min_duration. Clips affected: {len(clips)} (indices {listed})."
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


views_pass_set_output(OpenSmileFunctionals)

__all__ = ["OpenSmileFunctionals", "available_feature_sets"]
