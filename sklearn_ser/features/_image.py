"""The :class:`FeatureImageExtractor` estimator: waveforms in, feature images out.

The recipe itself lives in :mod:`sklearn_ser.features._recipe`; this module
adds what an estimator needs around it: parameter validation, parallel and
cached extraction into one preallocated array, and the optional
standardisation learned in ``fit``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import joblib
import librosa
import numpy as np
from joblib.memory import NotMemorizedFunc
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory

from sklearn_ser._io import quiet_cache_reload
from sklearn_ser._parallel import parallel_imap
from sklearn_ser._validation import N_JOBS, VERBOSE
from sklearn_ser.features._recipe import (
    MODES,
    REFERENCE_FEATURES,
    block_rows,
    check_features,
    check_mode,
    feature_image,
)
from sklearn_ser.views import Views, as_clips, map_views

# Bump when a change to the recipe changes the images (invalidates feature caches).
_IMAGE_VERSION = 2


def _image_for_cache(y: np.ndarray, version: tuple, params: dict) -> np.ndarray:
    """:func:`feature_image`, with ``version`` in the arguments so that it keys the cache.

    joblib.Memory notices edits to the cached function's own source, not to
    the helpers it calls or to librosa; the version tuple covers those.
    """
    return feature_image(y, **params)


# joblib keys its cache folder by the cached function's module: keep the one it had
# before features became a package, so that feature caches written then are still found.
_image_for_cache.__module__ = "sklearn_ser.features"


def _verified_image(y: np.ndarray, compute: Any, version: tuple, params: dict,
                    shape: tuple[int, int]) -> np.ndarray:
    """``compute(y, version, params)``, checked: a cached image that is not a finite
    float array of ``shape`` is computed again and its cache entry replaced.

    (joblib itself recomputes an entry it cannot read; this catches one that reads
    but holds the wrong thing, e.g. planted or written by other code.)
    """
    with quiet_cache_reload():
        image = compute(y, version, params)
    if isinstance(compute, NotMemorizedFunc) or _is_image(image, shape):
        return image
    return compute.call(y, version, params)[0]


def _is_image(value: Any, shape: tuple[int, int]) -> bool:
    return (isinstance(value, np.ndarray) and value.shape == shape
            and value.dtype.kind == "f" and bool(np.all(np.isfinite(value))))


class FeatureImageExtractor(TransformerMixin, BaseEstimator):
    """Turn waveforms (and their augmented views) into stacked feature images.

    Parameters
    ----------
    features : sequence of str, default=("mel", "chroma", "mfcc_delta2", "contrast", "tonnetz")
        Feature blocks, top to bottom.
    n_mfcc : int, default=50
        MFCCs behind the ``mfcc``/``mfcc_delta2`` blocks.
    n_mels : int, default=128
        Mel bands.
    mel_pool : int, default=4
        Mel bands averaged into one row.
    mel_groups : int or None, default=31
        Pooled mel rows kept (the reference drops the top group).
    mel_db : bool, default=False
        Mel block in decibels instead of raw power.
    n_columns : int, default=160
        Time columns of every image.
    standardize : {None, "block", "row"}, default=None
        Per-feature normalisation learned in ``fit`` on the training images:
        ``"block"`` z-scores each feature block with its own mean and std,
        ``"row"`` each row. ``None`` keeps raw values (the reference).
    mode : {"faithful", "fast"}, default="faithful"
        ``"faithful"``: the reference recipe's numbers (see
        :func:`feature_blocks`), several times faster than computing each
        librosa feature separately. ``"fast"``: all blocks but tonnetz
        unchanged, tonnetz without harmonic separation; about 3x faster
        again (see the benchmarks page for the accuracy cost).
    sr : int, default=22050
        Sample rate of the incoming waveforms.
    n_fft : int, default=2048
    hop_length : int, default=512
    memory : None, str, path or joblib.Memory, default=None
        Cache per-clip images on disk (a path means ``joblib.Memory(path)``),
        keyed by the waveform's content and every parameter that changes the
        image (not ``standardize``, which is applied afterwards); a second
        fit, a grid search over classifier parameters or the test folds of a
        cross-validation then extract nothing they have extracted before.
    n_jobs : int or None, default=None
        Clips processed in parallel with joblib (dask works through
        ``joblib.parallel_backend("dask")``).
    verbose : int, default=0
        Show a progress bar when > 0.

    Attributes
    ----------
    n_rows_ : int
        Rows of every image (106 for the reference recipe).
    block_slices_ : dict of str to slice
        Rows of each feature block in the image.
    mean_, scale_ : ndarray of shape (n_rows_, 1) or None
        Learned standardisation (per row; equal within a block for
        ``standardize="block"``); ``None`` when ``standardize=None``.
    """

    _parameter_constraints: dict = {
        "features": [list, tuple],  # the block names are checked by _check_params
        "n_mfcc": [Interval(Integral, 1, None, closed="left")],
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "mel_pool": [Interval(Integral, 1, None, closed="left")],
        "mel_groups": [Interval(Integral, 1, None, closed="left"), None],
        "mel_db": ["boolean"],
        "n_columns": [Interval(Integral, 1, None, closed="left")],
        "standardize": [StrOptions({"block", "row"}), None],
        "mode": [StrOptions(set(MODES))],
        "sr": [Interval(Integral, 1, None, closed="left")],
        "n_fft": [Interval(Integral, 1, None, closed="left")],
        "hop_length": [Interval(Integral, 1, None, closed="left")],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "n_jobs": N_JOBS,
        "verbose": VERBOSE,
    }

    def __init__(
        self,
        features: Sequence[str] = REFERENCE_FEATURES,
        *,
        n_mfcc: int = 50,
        n_mels: int = 128,
        mel_pool: int = 4,
        mel_groups: int | None = 31,
        mel_db: bool = False,
        n_columns: int = 160,
        standardize: str | None = None,
        mode: str = "faithful",
        sr: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        memory: str | os.PathLike | joblib.Memory | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.features = features
        self.n_mfcc = n_mfcc
        self.n_mels = n_mels
        self.mel_pool = mel_pool
        self.mel_groups = mel_groups
        self.mel_db = mel_db
        self.n_columns = n_columns
        self.standardize = standardize
        self.mode = mode
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.memory = memory
        self.n_jobs = n_jobs
        self.verbose = verbose

    # -- public API: validate, then delegate ---------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the standardisation (if any) from the training images.

        Parameters
        ----------
        X : array-like of shape (n_clips,) of waveforms, or Views of waveforms
            The training clips; their images are computed and not kept.
        y : ignored

        Returns
        -------
        self : FeatureImageExtractor
        """
        self.fit_transform(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, **fit_params):
        """Extract images, learn the standardisation on them, and return them standardised.

        Parameters
        ----------
        X : array-like of shape (n_clips,) of waveforms, or Views of waveforms
            The training clips.
        y : ignored
        **fit_params : ignored

        Returns
        -------
        images : ndarray of shape (n_clips, n_rows, n_columns), float32, or Views of them
            Standardised in place: the only copy of the images.
        """
        self._check_params()
        images = map_views(self._extract, X)
        self._set_layout()
        array = images.data if isinstance(images, Views) else images
        self._learn_standardization(array)
        self._standardize(array)
        return images

    def transform(self, X):
        """Extract (standardised) images.

        Parameters
        ----------
        X : array-like of shape (n_clips,) of waveforms, or Views of waveforms

        Returns
        -------
        images : ndarray of shape (n_clips, n_rows, n_columns), float32, or Views of them
        """
        check_is_fitted(self, "n_rows_")
        self._check_params()
        return map_views(lambda clips: self._standardize(self._extract(clips)), X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Name of each image row, e.g. ``mel_0``, ..., ``tonnetz_5``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str objects, shape (n_rows_,)
        """
        check_is_fitted(self, "n_rows_")
        return np.asarray(
            [f"{name}_{i}" for name, rows in self.block_slices_.items()
             for i in range(rows.stop - rows.start)],
            dtype=object,
        )

    # -- private work ----------------------------------------------------------------
    def _image_params(self) -> dict:
        """Every parameter that changes an image (and so keys the cache)."""
        return dict(
            sr=self.sr, features=tuple(self.features), n_columns=self.n_columns,
            n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels,
            mel_pool=self.mel_pool, mel_groups=self.mel_groups, mel_db=self.mel_db,
            n_mfcc=self.n_mfcc, mode=self.mode,
        )

    def _extract(self, clips) -> np.ndarray:
        """Images of every clip, written straight into one float32 array as they arrive."""
        clips = as_clips(clips)
        rows = sum(self._block_rows().values())
        out = np.empty((clips.size, rows, self.n_columns), dtype=np.float32)
        # check_memory(None) caches nothing; a path or joblib.Memory caches per clip.
        memory = os.fspath(self.memory) if isinstance(self.memory, os.PathLike) else self.memory
        compute = check_memory(memory).cache(_image_for_cache)
        key = (_IMAGE_VERSION, librosa.__version__)
        params = self._image_params()
        results = parallel_imap(
            _verified_image, list(clips), n_jobs=self.n_jobs, verbose=self.verbose,
            desc="extracting features",
            args=[(compute, key, params, (rows, self.n_columns))] * clips.size,
        )
        for i, image in enumerate(results):
            out[i] = image
        return out

    def _block_rows(self) -> dict[str, int]:
        return {
            f: block_rows(f, n_mfcc=self.n_mfcc, n_mels=self.n_mels, mel_pool=self.mel_pool,
                          mel_groups=self.mel_groups)
            for f in self.features
        }

    def _set_layout(self) -> None:
        self.block_slices_ = {}
        start = 0
        for name, rows in self._block_rows().items():
            self.block_slices_[name] = slice(start, start + rows)
            start += rows
        self.n_rows_ = start

    def _pool_blocks(self, per_row: np.ndarray) -> np.ndarray:
        """With ``standardize="block"``, give every row of a block the block's mean value."""
        if self.standardize == "block":
            for rows in self.block_slices_.values():
                per_row[rows] = per_row[rows].mean()
        return per_row

    def _learn_standardization(self, images: np.ndarray) -> None:
        if self.standardize is None:
            self.mean_ = self.scale_ = None
            return
        # Per-row statistics over clips, views and time, in float64 but a chunk of
        # images at a time: no float64 (or any) copy of the whole image array.
        flat = images.reshape(-1, self.n_rows_, self.n_columns)
        step = max(1, (8 << 20) // (4 * self.n_rows_ * self.n_columns))  # ~8 MB of images
        chunks = [flat[i : i + step] for i in range(0, flat.shape[0], step)]
        count = flat.shape[0] * self.n_columns
        row_sum = self._pool_blocks(sum(c.sum(axis=(0, 2), dtype=np.float64) for c in chunks))
        mean = row_sum / count
        squares = self._pool_blocks(sum(
            np.square(c - mean[:, None].astype(np.float32), dtype=np.float64).sum(axis=(0, 2))
            for c in chunks
        ))
        std = np.sqrt(squares / count)
        std[std < 1e-12] = 1.0  # constant rows stay constant instead of dividing by zero
        self.mean_ = mean[:, None].astype(np.float32)
        self.scale_ = std[:, None].astype(np.float32)

    def _standardize(self, images: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            return images
        images -= self.mean_
        images /= self.scale_
        return images

    def _check_params(self) -> None:
        if isinstance(self.features, str) or len(self.features) == 0:
            raise ValueError(
                f"features must be a non-empty sequence of names, got {self.features!r}"
            )
        check_features(self.features)
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features must not repeat a block, got {tuple(self.features)}")
        if self.standardize not in (None, "block", "row"):
            raise ValueError(
                f"standardize must be None, 'block' or 'row', got {self.standardize!r}"
            )
        check_mode(self.mode)
        for name in ("n_columns", "n_mfcc", "n_mels", "mel_pool", "sr", "n_fft", "hop_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, int | np.integer) and value > 0):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.n_mfcc > self.n_mels:
            raise ValueError(
                f"n_mfcc={self.n_mfcc} cannot exceed n_mels={self.n_mels} (MFCCs are a DCT "
                "of the mel bands)"
            )
        if self.hop_length > self.n_fft:
            raise ValueError(
                f"hop_length={self.hop_length} must not exceed n_fft={self.n_fft}"
            )
        self._block_rows()  # validates the mel pooling

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
