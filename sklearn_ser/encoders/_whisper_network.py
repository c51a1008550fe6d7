"""Whisper's encoder in numpy: log-mel front end, convolution stem, transformer blocks.

The arithmetic of OpenAI's ``whisper/audio.py`` (``log_mel_spectrogram``) and
``whisper/model.py`` (``AudioEncoder``), equal to CTranslate2's encoder within
float32 rounding (tests/test_whisper_encoder.py). One difference, on purpose:
Whisper pads every input to 30 s; here each clip is encoded at its own length
(a 3 s clip costs a tenth of a 30 s window), which is how its inner layers are
read for emotion in the literature and what the benchmarks measured.

A batch of clips runs as one: every step but attention works frame by frame,
so the frames of all clips are stacked into one matrix (one large matmul per
weight), and attention runs per clip. No padding, so results do not depend on
the batch.
"""

from __future__ import annotations

import functools

import numpy as np

from sklearn_ser.encoders._whisper_weights import N_MELS, WhisperWeights

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
#: Encoder outputs :func:`encode_log_mels` can return: block k's output is ``k``
#: (1-based); ``"final"`` is the last block after the encoder's closing layer norm.
FINAL = "final"
_LN_EPS = 1e-5


@functools.lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """Whisper's (201, 80) mel filterbank, transposed (librosa's Slaney filters)."""
    import librosa

    return np.ascontiguousarray(
        librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).T.astype(np.float32)
    )


def log_mel(wav: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """Whisper's input features of a 16 kHz waveform.

    Centred frames with reflection padding, periodic Hann window, power
    spectrum, 80 Slaney mel bands, ``log10`` floored at 1e-10, values kept
    within 8 (i.e. 80 dB) of the maximum, then ``(x + 4) / 4``; the last frame
    is dropped, as Whisper does.

    Parameters
    ----------
    wav : ndarray of shape (n_samples,)
        16 kHz waveform.
    basis : ndarray of shape (201, 80), default=None
        The mel filterbank (:func:`mel_filters`); a fitted encoder passes the
        one it stored, so that predicting does not import librosa.

    Returns
    -------
    log_mel : ndarray of shape (max(1, n_samples // 160), 80), float32
    """
    import scipy.fft

    basis = mel_filters() if basis is None else basis
    wav = np.asarray(wav, dtype=np.float32)
    pad = N_FFT // 2
    if len(wav) <= pad:  # reflection needs more samples than the padding
        wav = np.pad(wav, (0, pad + 1 - len(wav)))
    padded = np.pad(wav, pad, mode="reflect")
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:-1] * window
    spectrum = scipy.fft.rfft(frames, axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    log_spec = np.log10(np.maximum(power @ basis, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


#: Abramowitz & Stegun 7.1.26: erfc(z) ~ t * poly(t) * exp(-z^2), t = 1 / (1 + p z),
#: z >= 0, absolute error <= 1.5e-7 (float32 rounding). Coefficients from the handbook.
_AS_P = np.float32(0.3275911)
_AS_COEFFS = tuple(np.float32(a) for a in
                   (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))
#: Elements per GELU pass: the temporaries stay in the CPU cache.
_GELU_CHUNK = 65536


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, ``x * Phi(x)``, as float32; in place when ``x`` is a C-contiguous
    float32 array (the fresh result of a matmul, here).

    ``Phi(x)`` is the normal CDF, ``erfc(-x / sqrt 2) / 2``, with erfc from
    :data:`_AS_COEFFS`: within 5e-7 of float64 GELU, like ``scipy.special.ndtr``
    in float32, and five times faster (numpy's SIMD ``exp`` instead of a scalar
    double-precision loop; GELU was a fifth of the ``recommended`` fit).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    flat = x.reshape(-1)
    for start in range(0, flat.size, _GELU_CHUNK):
        chunk = flat[start : start + _GELU_CHUNK]
        z = np.abs(chunk) * np.float32(1 / np.sqrt(2))
        gauss = np.exp(-np.square(z))
        t = z
        t *= _AS_P
        t += 1
        np.reciprocal(t, out=t)
        tail = _AS_COEFFS[0] * t
        for a in _AS_COEFFS[1:]:
            tail += a
            tail *= t
        tail *= gauss
        tail *= np.float32(0.5)  # Phi(-|x|)
        # Phi(x) = 1 - Phi(-|x|) for x >= 0, Phi(-|x|) for x < 0.
        np.copysign(tail, -chunk, out=tail)
        tail += chunk >= 0
        chunk *= tail
    return x


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _LN_EPS) * gamma + beta


def _stacked_frames(x: np.ndarray, stride: int) -> np.ndarray:
    """Rows ``[x[t-1], x[t], x[t+1]]`` (zero-padded) for a kernel-3 convolution."""
    padded = np.pad(x, ((1, 1), (0, 0)))
    n_out = (len(x) - 1) // stride + 1
    taps = [padded[k : k + stride * (n_out - 1) + 1 : stride] for k in range(3)]
    return np.concatenate(taps, axis=1)


def _attention(x: np.ndarray, bounds: list[tuple[int, int]], n_heads: int) -> np.ndarray:
    """Self-attention within each clip's frames; ``x`` holds q, k and v side by side."""
    d = x.shape[1] // 3
    head = d // n_heads
    out = np.empty((len(x), d), dtype=np.float32)
    for start, stop in bounds:
        q, k, v = (x[start:stop, i * d : (i + 1) * d].reshape(stop - start, n_heads, head)
                   .transpose(1, 0, 2) for i in range(3))
        scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(head))
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        out[start:stop] = (scores @ v).transpose(1, 0, 2).reshape(stop - start, d)
    return out


def encode_log_mels(
    mels: list[np.ndarray], weights: WhisperWeights, outputs: tuple,
) -> dict[int | str, list[np.ndarray]]:
    """Per-frame outputs of Whisper's encoder for a batch of log-mel spectrograms.

    Parameters
    ----------
    mels : list of ndarray of shape (n_frames_i, 80)
        From :func:`log_mel`.
    weights : WhisperWeights
    outputs : tuple of int or "final"
        Blocks whose outputs to return (1-based), or ``"final"``. Blocks
        after the last one asked for are not computed.

    Returns
    -------
    dict
        For each of ``outputs``, a list with one (ceil(n_frames_i / 2), d_model)
        float32 array per clip (the stem halves the frame rate: 20 ms).

    Notes
    -----
    Whisper has position embeddings for 30 s: a longer clip is encoded in
    consecutive 30 s windows, whose frames are concatenated.
    """
    window = 2 * len(weights.positions)
    pieces, owners = [], []
    for i, m in enumerate(mels):
        for start in range(0, max(len(m), 1), window):
            pieces.append(m[start : start + window])
            owners.append(i)
    per_piece = _encode_pieces(pieces, weights, outputs)
    owners = np.asarray(owners)
    return {
        out: [frames[0] if len(frames) == 1 else np.concatenate(frames)
              for frames in ([per_piece[out][j] for j in np.flatnonzero(owners == i)]
                             for i in range(len(mels)))]
        for out in per_piece
    }


def _encode_pieces(
    mels: list[np.ndarray], weights: WhisperWeights, outputs: tuple,
) -> dict[int | str, list[np.ndarray]]:
    """:func:`encode_log_mels` for spectrograms of at most 30 s."""
    # The stem: two convolutions (stride 1, then 2) with GELU, per clip.
    stem = []
    for m in mels:
        h = _gelu(_stacked_frames(m, 1) @ weights.conv1_w + weights.conv1_b)
        h = _gelu(_stacked_frames(h, 2) @ weights.conv2_w + weights.conv2_b)
        stem.append(h + weights.positions[: len(h)])
    lengths = np.array([len(h) for h in stem])
    stops = np.cumsum(lengths)
    bounds = list(zip((stops - lengths).tolist(), stops.tolist()))
    x = np.concatenate(stem).astype(np.float32)
    last = len(weights.layers) if FINAL in outputs else max(outputs)
    result: dict[int | str, list[np.ndarray]] = {}
    for k, block in enumerate(weights.layers[:last], start=1):
        h = _layer_norm(x, block["ln1_g"], block["ln1_b"])
        qkv = h @ block["qkv_w"] + block["qkv_b"]
        x = x + _attention(qkv, bounds, weights.n_heads) @ block["out_w"] + block["out_b"]
        h = _layer_norm(x, block["ln2_g"], block["ln2_b"])
        x = x + _gelu(h @ block["ff1_w"] + block["ff1_b"]) @ block["ff2_w"] + block["ff2_b"]
        if k in outputs:
            result[k] = [x[a:b].copy() for a, b in bounds]
    if FINAL in outputs:
        final = _layer_norm(x, weights.final_g, weights.final_b)
        result[FINAL] = [final[a:b] for a, b in bounds]
    return result
