"""The GE2E network in numpy: mel front end, LSTM stack, pooling over time.

The network: 40-band power mel spectrogram (25 ms windows, 10 ms hops, 16 kHz,
volume raised to -30 dBFS), three LSTM layers of 256 units, then a linear
layer of 256 with ReLU. Equal to resemblyzer's torch encoder within float32
rounding (tests/test_encoders.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from sklearn_ser.encoders._weights import HIDDEN, N_MELS, GE2EWeights

# The encoder's input recipe (resemblyzer/hparams.py and audio.py).
SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
TARGET_DBFS = -30.0
_INT16_MAX = 2**15 - 1

# What encode_mels can return (LSTM layers 1-3, per-frame projection, clip embedding)
# and the statistics over time that GE2EEncoder pools them with.
LAYERS = (1, 2, 3, "projection", "embedding")
POOLINGS = ("mean", "std", "max", "delta_std")


# -- preprocessing --------------------------------------------------------------------
def _normalized(wav: np.ndarray, sr: int) -> np.ndarray:
    """16 kHz float32, raised to -30 dBFS if quieter (resemblyzer's ``preprocess_wav``)."""
    wav = np.asarray(wav, dtype=np.float32)
    if sr != SAMPLE_RATE:
        import librosa

        wav = librosa.resample(wav, orig_sr=sr, target_sr=SAMPLE_RATE).astype(np.float32)
    rms = np.sqrt(np.mean((wav * _INT16_MAX) ** 2))
    if rms > 0:  # a silent clip stays silent (resemblyzer would divide by zero)
        change = TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
        if change > 0:  # increase only, like resemblyzer
            wav = (wav * (10 ** (change / 20))).astype(np.float32)
    return wav


@functools.lru_cache(maxsize=1)
def _mel_filters() -> tuple[np.ndarray, np.ndarray]:
    """The periodic Hann window and the transposed (201, 40) mel filterbank librosa uses."""
    import librosa

    return _hann(), np.ascontiguousarray(
        librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).T.astype(np.float32)
    )


def _hann() -> np.ndarray:
    """The periodic Hann window (scipy's ``get_window("hann", 400)``, equal in float32)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _power_mel(wav: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """``librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40).T``.

    The same arithmetic (centred, zero-padded frames, periodic Hann window,
    |rfft|^2, Slaney mel filters) without librosa's per-call overhead; equal
    to it within float32 rounding (tested against resemblyzer's own function).
    A fitted encoder passes the filterbank it stored in ``fit``, so that
    predicting does not import librosa (about a second in a fresh process).
    """
    import scipy.fft

    if basis is None:
        window, basis = _mel_filters()
    else:
        window = _hann()
    padded = np.pad(wav, N_FFT // 2)  # center=True, pad_mode="constant"
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH] * window
    spectrum = scipy.fft.rfft(frames, axis=-1)
    power = spectrum.real**2
    power += spectrum.imag**2
    return power @ basis


def preprocess(wav: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The encoder's input: resample to 16 kHz, raise to -30 dBFS, 40-band power mel.

    Resemblyzer's recipe (``preprocess_wav`` then ``wav_to_mel_spectrogram``)
    except its webrtcvad silence shortening: trim silence before, e.g. with
    ``AudioLoader(trim_db=...)``.

    Parameters
    ----------
    wav : ndarray of shape (n_samples,)
    sr : int, default=16000
        Sample rate of ``wav``.

    Returns
    -------
    mel : ndarray of shape (n_frames, 40), float32
        Power (not log) mel spectrogram, ``n_frames = 1 + n_samples_16k // 160``.
    """
    return _power_mel(_normalized(wav, sr))


# -- the forward pass -----------------------------------------------------------------
def _lstm_stack(
    x: np.ndarray, lengths: np.ndarray, weights: GE2EWeights, n_layers: int, keep: set
) -> tuple[dict, list]:
    """The first ``n_layers`` LSTM layers over a padded batch, step by step, all layers at once.

    Parameters
    ----------
    x : ndarray of shape (n_steps, 40, batch)
        Time-major mel frames, clips sorted longest first.
    lengths : ndarray of shape (batch,)
        Frames per clip (descending).
    weights : GE2EWeights
    n_layers : int
    keep : set of int
        Layers whose per-frame outputs to return.

    Returns
    -------
    frames : dict of int to ndarray of shape (n_steps, 256, batch)
        Per-frame hidden states of the kept layers (zero past a clip's end).
    last : list of ndarray of shape (256, batch)
        Each layer's hidden state at each clip's last frame.

    Notes
    -----
    Layout and arithmetic are chosen for speed on one core: each layer keeps
    ``z = [input_t; h_(t-1); 1]`` as a (n_in + 257, batch) matrix, so a single
    ``W_cat @ z`` (M=1024, the large dimension first, which BLAS runs fastest
    at small batch) gives the gates with the bias; one ``tanh`` serves all
    gates (the sigmoid gates were pre-halved: sigmoid(z) = (1 + tanh(z/2)) / 2).
    Clips are sorted longest first, so at step t only the first ``active[t]``
    columns are computed and padding costs nothing; a finished clip's column
    is never touched again, which leaves its last hidden state in ``z``.
    """
    n_steps, n_mels, batch = x.shape
    sizes = [n_mels] + [HIDDEN] * (n_layers - 1)
    zs = [np.zeros((n + HIDDEN + 1, batch), dtype=np.float32) for n in sizes]
    for z in zs:
        z[-1] = 1.0  # multiplies the bias column of W_cat
    cs = [np.zeros((HIDDEN, batch), dtype=np.float32) for _ in sizes]
    gates = np.empty((4 * HIDDEN, batch), dtype=np.float32)
    tmp = np.empty((HIDDEN, batch), dtype=np.float32)
    frames = {k: np.zeros((n_steps, HIDDEN, batch), dtype=np.float32) for k in keep}
    active = (lengths[None, :] > np.arange(n_steps)[:, None]).sum(axis=1)
    h1, h2, h3 = HIDDEN, 2 * HIDDEN, 3 * HIDDEN
    for t in range(n_steps):
        k = int(active[t])
        g, tk = gates[:, :k], tmp[:, :k]
        zs[0][:n_mels, :k] = x[t, :, :k]
        for layer in range(n_layers):
            z, ck = zs[layer], cs[layer][:, :k]
            np.matmul(weights.w_cat[layer], z[:, :k], out=g)
            np.tanh(g, out=g)
            sig = g[:h3]
            sig *= 0.5
            sig += 0.5  # rows :h3 now hold the input, forget and output gates
            ck *= g[h1:h2]
            np.multiply(g[:h1], g[h3:], out=tk)
            ck += tk
            np.tanh(ck, out=tk)
            h = z[sizes[layer] : sizes[layer] + HIDDEN, :k]
            np.multiply(g[h2:h3], tk, out=h)  # straight into next step's recurrent input
            if layer + 1 < n_layers:
                zs[layer + 1][:HIDDEN, :k] = h
            if layer + 1 in frames:
                frames[layer + 1][t, :, :k] = h
    return frames, [z[n : n + HIDDEN] for z, n in zip(zs, sizes)]


def encode_mels(
    mels: Sequence[np.ndarray],
    weights: GE2EWeights,
    outputs: Sequence[int | str] = (2,),
) -> dict:
    """Run the encoder on a batch of mel spectrograms (one padded batch).

    Parameters
    ----------
    mels : sequence of ndarray of shape (n_frames_i, 40)
        Clips of any lengths; they are sorted and padded here.
    weights : GE2EWeights
    outputs : sequence of {1, 2, 3, "projection", "embedding"}
        What to return. Only the layers needed are computed.

    Returns
    -------
    dict
        For 1, 2, 3 and "projection": a list (in input order) of per-frame
        outputs of shape (n_frames_i, 256); for "embedding": an array of shape
        (n_clips, 256), the L2-normalised ``relu(linear(h))`` of layer 3's
        last hidden state (what resemblyzer's ``VoiceEncoder.forward``
        computes on the whole clip).
    """
    lengths = np.array([len(m) for m in mels])
    order = np.argsort(-lengths, kind="stable")
    lengths_sorted = lengths[order]
    n_steps, batch = int(lengths_sorted[0]), len(mels)
    x = np.zeros((n_steps, N_MELS, batch), dtype=np.float32)
    for j, i in enumerate(order):
        x[: lengths[i], :, j] = mels[i]
    deepest = max(3 if o in ("projection", "embedding") else int(o) for o in outputs)
    keep = {3 if o == "projection" else o for o in outputs if o != "embedding"}
    frames, last = _lstm_stack(x, lengths_sorted, weights, deepest, keep)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(batch)
    result: dict = {}
    for o in outputs:
        if o == "embedding":
            emb = np.maximum(last[2].T @ weights.w_out + weights.b_out, 0)
            norm = np.linalg.norm(emb, axis=1, keepdims=True)
            result[o] = (emb / np.where(norm > 0, norm, 1))[inverse].astype(np.float32)
            continue
        per_frame = frames[3 if o == "projection" else o]
        clips = [per_frame[: lengths[i], :, inverse[i]] for i in range(batch)]
        if o == "projection":
            clips = [np.maximum(c @ weights.w_out + weights.b_out, 0) for c in clips]
        result[o] = clips
    return result


def _delta_std(frames: np.ndarray, axis: int, dtype) -> np.ndarray:
    """How fast the outputs change: std over time of frame-to-frame differences."""
    if len(frames) < 2:
        return np.zeros(frames.shape[1], dtype=dtype)
    return np.std(np.diff(frames, axis=axis), axis=axis, dtype=dtype)


def _pool(frames: np.ndarray, pooling: Sequence[str]) -> list[np.ndarray]:
    stats = {"mean": np.mean, "std": np.std, "delta_std": _delta_std}
    return [stats[p](frames, axis=0, dtype=np.float64).astype(np.float32) if p != "max"
            else frames.max(axis=0) for p in pooling]
