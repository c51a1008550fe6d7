"""``GE2EEncoder``: the pretrained GE2E encoder as a scikit-learn transformer.

Parameters, the per-clip vector cache and batching live here; the network is
:mod:`sklearn_ser.encoders._network`, its weights :mod:`sklearn_ser.encoders._weights`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import joblib
import numpy as np
from sklearn.base import _fit_context

from sklearn_ser.encoders._base import PretrainedEncoder
from sklearn_ser.encoders._cache import check_clips, encode_with_cache
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
from sklearn_ser.exceptions import WeightFileError
from sklearn_ser.views import as_clips

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


def _layer_tag(layer: int | str) -> str:
    return {"projection": "proj", "embedding": "emb"}.get(layer, f"l{layer}")


class GE2EEncoder(PretrainedEncoder):
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
    instance_norm : bool, default=False
        Standardise each block of the vector (one output and statistic, 256
        values) over its own values within each clip
        (:func:`~sklearn_ser.encoders.instance_normalize`): the block's
        overall level and spread follow the recording more than the emotion.
        The ``recommended`` preset sets it: it raised the scores on another
        corpus most where no test statistics are used, with clean and noisy
        RAVDESS within the fold spread (measured in docs/robustness.rst).
        The cache holds the vectors before it, so turning it on or off
        reuses the cache.

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
        instance_norm: bool = False,
    ):
        self.layers = layers
        self.pooling = pooling
        self.sr = sr
        self.batch_size = batch_size
        self.memory = memory
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.weights = weights
        self.instance_norm = instance_norm

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

    # -- private ------------------------------------------------------------------------
    def _check_settings(self) -> None:
        """Value checks of ``layers`` and ``pooling`` (run by the pipeline before fitting)."""
        self._checked_outputs()

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
        check_clips(clips)
        layers, pooling = self._checked_outputs()
        digest = load_ge2e_weights(self._weights_path()).digest
        if digest != self.weights_digest_:  # e.g. a saved model loaded next to other weights
            raise WeightFileError(
                f"the encoder weights changed since fit (sha256 {self.weights_digest_[:12]}... "
                f"then, {digest[:12]}... now); refit, or install the weights used for fitting"
            )
        vectors = encode_with_cache(
            clips, _encode_clips,
            (self._weights_path(), layers, pooling, int(self.sr),
             getattr(self, "mel_basis_", None)),
            n_features=self.n_features_out_, memory=self.memory,
            version=(_ENCODER_VERSION, _librosa_version()),
            params=dict(layers=layers, pooling=pooling, sr=int(self.sr),
                        weights=self.weights_digest_),
            batch_size=int(self.batch_size), n_jobs=self.n_jobs, verbose=self.verbose,
            desc="GE2E encoder",
        )
        return self._instance_normalized(vectors)


def _librosa_version() -> str:
    from importlib.metadata import version

    return version("librosa")  # without importing it

