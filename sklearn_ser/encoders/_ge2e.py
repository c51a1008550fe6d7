"""``GE2EEncoder``: the pretrained GE2E encoder as a scikit-learn transformer.

Parameters, the per-clip vector cache and batching live here; the network is
:mod:`sklearn_ser.encoders._network`, its weights :mod:`sklearn_ser.encoders._weights`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, check_memory

from sklearn_ser._io import quiet_cache_reload
from sklearn_ser._parallel import parallel_map
from sklearn_ser.encoders._network import (
    LAYERS,
    POOLINGS,
    SAMPLE_RATE,
    _mel_filters,
    _normalized,
    _pool,
    _power_mel,
    encode_mels,
)
from sklearn_ser.encoders._weights import HIDDEN, load_ge2e_weights
from sklearn_ser.exceptions import CacheMissError, WeightFileError
from sklearn_ser.views import Views, as_clips, map_views, views_pass_set_output

# Bump when a change here changes the vectors (invalidates `memory=` caches).
_ENCODER_VERSION = 1


def _encode_clips(
    clips: list, weights_path: str | None, layers: tuple, pooling: tuple, sr: int,
    mel_basis: np.ndarray | None = None,
) -> np.ndarray:
    """Vectors of a batch of waveforms (module level so that joblib workers can run it)."""
    weights = load_ge2e_weights(weights_path)
    mels = [_power_mel(_normalized(w, sr), mel_basis) for w in clips]
    out = encode_mels(mels, weights, layers)
    rows = []
    for i in range(len(clips)):
        parts = []
        for layer in layers:
            if layer == "embedding":
                parts.append(out[layer][i])
            else:
                parts.extend(_pool(out[layer][i], pooling))
        rows.append(np.concatenate(parts))
    return np.stack(rows).astype(np.float32, copy=False)


def _cached_vector(clip_digest: str, version: tuple, params: dict, vector=None):
    """Identity on ``vector``: its other arguments key joblib's cache, ``vector`` is ignored.

    A hit returns the stored vector. When the stored entry is missing or cannot be
    read, joblib calls this function without ``vector``: it raises, so that nothing
    (never None) is stored and the caller computes the vector; storing it uses
    ``.call`` with ``vector``, which overwrites any entry.
    """
    if vector is None:
        raise CacheMissError(clip_digest)
    return vector


def _checked_vector(value: Any, n_features: int) -> np.ndarray | None:
    """A cached vector if it is ``n_features`` finite numbers, else None (recompute it)."""
    try:
        vector = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if vector.shape != (n_features,) or not np.all(np.isfinite(vector)):
        return None
    return vector


# joblib keys its cache folder by the function's module: keep the one this function had
# before the encoder became a package, so that caches written then are still found.
_cached_vector.__module__ = "sklearn_ser.encoders"


def _clip_digest(wav: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{wav.dtype.str}{wav.shape}".encode())
    h.update(np.ascontiguousarray(wav).data)
    return h.hexdigest()


def _layer_tag(layer: int | str) -> str:
    return {"projection": "proj", "embedding": "emb"}.get(layer, f"l{layer}")


class GE2EEncoder(TransformerMixin, BaseEstimator):
    """Waveforms -> one vector per clip from the pretrained GE2E speaker encoder.

    The encoder (three LSTM layers of 256 units on a 40-band power mel
    spectrogram, then a 256-unit linear layer with ReLU) was trained for
    speaker verification; its inner layers, averaged over time, carry much of
    a voice's emotion. Its weights ship inside the Resemblyzer wheel, installed
    with ``pip install --no-deps resemblyzer==0.1.4``; they are read without
    torch (tensors only) and the network runs in numpy, batched.

    Parameters
    ----------
    layers : sequence of {1, 2, 3, "projection", "embedding"}, default=(2,)
        Outputs to pool and concatenate, in this order. 1, 2 and 3 are the
        LSTM layers' per-frame hidden states, ``"projection"`` is the
        per-frame ``relu(linear(h3))``. ``"embedding"`` is the speaker
        embedding of the whole clip: ``relu(linear(h3))`` at the last frame,
        L2-normalised, i.e. resemblyzer's ``VoiceEncoder.forward`` on the
        whole clip (its ``embed_utterance`` instead averages 1.6 s windows);
        it is not pooled. Layer 2 measured best for emotion (docs/accuracy.rst).
    pooling : sequence of {"mean", "std", "max", "delta_std"}, default=("mean", "std")
        Statistics over each clip's frames, per output of ``layers``
        (``"std"``: the population standard deviation; ``"delta_std"``: the
        standard deviation of frame-to-frame differences, how fast the outputs
        change). The ``recommended`` preset uses mean, std and delta_std.
    sr : int, default=16000
        Sample rate of the input waveforms; others are resampled to 16 kHz.
    batch_size : int, default=32
        Clips per padded batch (clips are sorted by length first, so that a
        batch holds similar lengths). Memory grows with batch_size times the
        longest clip: ~100 kB per clip-second for each layer in ``layers``.
        Results do not depend on it (beyond float32 rounding).
    memory : None, str, path or joblib.Memory, default=None
        Cache one vector per clip on disk, keyed by the clip's samples,
        every parameter that changes the vector, the weight file and a
        version tag. Cached clips are not recomputed; the others are computed
        batched. A cached entry that cannot be read or is not a vector of
        finite numbers of the right length is computed again and replaced.
    n_jobs : int, default=None
        Batches run in parallel with joblib (``None``: one process unless a
        ``joblib.parallel_backend`` says otherwise). Each batch uses one
        BLAS thread.
    verbose : int, default=0
        Show a progress bar over batches when > 0.
    weights : None, str or path-like, default=None
        A GE2E weight file; None uses ``resemblyzer/pretrained.pt`` of the
        installed package (found without importing it).

    Attributes
    ----------
    n_features_out_ : int
        Length of each clip's vector (256 per output and statistic).
    feature_names_out_ : ndarray of str
        ``ge2e_l2_mean_0``, ..., ``ge2e_proj_max_255``, ``ge2e_emb_0``, ...
    weights_digest_ : str
        SHA-256 of the weight file used.
    mel_basis_ : ndarray of shape (201, 40)
        The mel filterbank of the encoder's input (librosa's, computed in
        ``fit``): a fitted encoder predicts without importing librosa.

    See Also
    --------
    sklearn_ser.FeatureImageExtractor : hand-made feature images for the CNN.

    Notes
    -----
    Input: a list or 1-D object array of 1-D float waveforms (e.g. from
    ``AudioLoader(sr=16000)``), or, while fitting a pipeline with
    augmentation, :class:`~sklearn_ser.views.Views` of them; the output is
    then Views of vectors. Silence is not shortened (resemblyzer's webrtcvad
    step): trim it in the loader.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ser import GE2EEncoder
    >>> clips = [np.random.default_rng(0).normal(0, 0.1, 16000).astype("float32")]
    >>> GE2EEncoder().fit_transform(clips).shape  # doctest: +SKIP
    (1, 512)
    """

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

    def __init__(
        self,
        layers: Sequence[int | str] = (2,),
        pooling: Sequence[str] = ("mean", "std"),
        sr: int = SAMPLE_RATE,
        batch_size: int = 32,
        memory: str | os.PathLike | joblib.Memory | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
        weights: str | os.PathLike | None = None,
    ):
        self.layers = layers
        self.pooling = pooling
        self.sr = sr
        self.batch_size = batch_size
        self.memory = memory
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.weights = weights

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any = None, y: Any = None) -> GE2EEncoder:
        """Check the parameters and load the weights; nothing is learned.

        Parameters
        ----------
        X : ignored
            Waveforms or Views of them (not looked at).
        y : ignored

        Returns
        -------
        self : GE2EEncoder
        """
        layers, pooling = self._checked_outputs()
        weights = load_ge2e_weights(self._weights_path())
        self.weights_digest_ = weights.digest
        self.mel_basis_ = _mel_filters()[1]
        names = []
        for layer in layers:
            tag = _layer_tag(layer)
            stats = [None] if layer == "embedding" else pooling
            for stat in stats:
                prefix = f"ge2e_{tag}_{stat}" if stat else f"ge2e_{tag}"
                names.extend(f"{prefix}_{i}" for i in range(HIDDEN))
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params) -> np.ndarray | Views:
        """Fit (nothing to learn), then encode ``X``.

        Parameters
        ----------
        X : list or 1-D object array of 1-D waveforms, or Views of them
        y : ignored

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
        """Names of the output features, e.g. ``ge2e_l2_mean_0``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str objects, shape (n_features_out_,)
        """
        check_is_fitted(self, "n_features_out_")
        return self.feature_names_out_.copy()

    # -- private ------------------------------------------------------------------------
    def _weights_path(self) -> str | None:
        return None if self.weights is None else os.fspath(self.weights)

    def _checked_outputs(self) -> tuple[tuple, tuple]:
        layers = tuple(self.layers)
        bad = [v for v in layers if isinstance(v, bool) or v not in LAYERS]
        if not layers or bad or len(set(layers)) != len(layers):
            raise ValueError(
                f"The 'layers' parameter of GE2EEncoder must be a non-empty sequence of "
                f"distinct values from {LAYERS}; got {self.layers!r}"
            )
        pooling = tuple(self.pooling)
        needs_pooling = any(v != "embedding" for v in layers)
        bad = [v for v in pooling if v not in POOLINGS]
        if bad or len(set(pooling)) != len(pooling) or (needs_pooling and not pooling):
            raise ValueError(
                f"The 'pooling' parameter of GE2EEncoder must be a non-empty sequence of "
                f"distinct values from {POOLINGS}; got {self.pooling!r}"
            )
        return layers, pooling

    def _encode_batch(self, X: Any) -> np.ndarray:
        """Vectors of plain clips: cache look-ups, then the misses in sorted, padded batches."""
        clips = as_clips(X)
        for i, w in enumerate(clips):
            if w.size == 0 or not np.all(np.isfinite(w)):
                raise ValueError(f"clip {i} is empty or holds NaN/infinity")
        layers, pooling = self._checked_outputs()
        digest = load_ge2e_weights(self._weights_path()).digest
        if digest != self.weights_digest_:  # e.g. a saved model loaded next to other weights
            raise WeightFileError(
                f"the encoder weights changed since fit (sha256 {self.weights_digest_[:12]}... "
                f"then, {digest[:12]}... now); refit, or install the weights used for fitting"
            )
        out = np.empty((len(clips), self.n_features_out_), dtype=np.float32)
        memory = os.fspath(self.memory) if isinstance(self.memory, os.PathLike) else self.memory
        memory = check_memory(memory)
        cached = None
        if getattr(memory, "location", None) is not None:  # Memory(None) caches nothing
            cached = memory.cache(_cached_vector, ignore=["vector"])
        todo = list(range(len(clips)))
        if cached is not None:
            version = (_ENCODER_VERSION, _librosa_version())
            params = dict(layers=layers, pooling=pooling, sr=int(self.sr),
                          weights=self.weights_digest_)
            keys = [(_clip_digest(w), version, params) for w in clips]
            todo = []
            for i, key in enumerate(keys):
                # Whatever comes back is checked: a truncated, planted or stale entry
                # (joblib may warn that it recomputes) is computed again and overwritten.
                vector = None
                if cached.check_call_in_cache(*key):
                    try:
                        with quiet_cache_reload():
                            vector = _checked_vector(cached(*key), self.n_features_out_)
                    except Exception:  # noqa: BLE001 - any unreadable entry is a miss
                        vector = None
                if vector is None:
                    todo.append(i)
                else:
                    out[i] = vector
        if todo:
            # Longest first, so each padded batch holds clips of similar lengths.
            todo.sort(key=lambda i: -clips[i].size)
            size = int(self.batch_size)
            batches = [todo[s : s + size] for s in range(0, len(todo), size)]
            results = parallel_map(
                _encode_clips, [[clips[i] for i in b] for b in batches],
                n_jobs=self.n_jobs, verbose=self.verbose, desc="GE2E encoder",
                args=[(self._weights_path(), layers, pooling, int(self.sr),
                       getattr(self, "mel_basis_", None))] * len(batches),
            )
            for batch, vectors in zip(batches, results):
                out[batch] = vectors
                if cached is not None:
                    for i, vector in zip(batch, vectors):
                        cached.call(*keys[i], vector=vector)  # stores, replacing a bad entry
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network's precision
        return tags


def _librosa_version() -> str:
    from importlib.metadata import version

    return version("librosa")  # without importing it


views_pass_set_output(GE2EEncoder)
