"""Pretrained speech encoders as scikit-learn transformers.

:class:`GE2EEncoder` turns waveforms into one vector per clip with the GE2E
speaker encoder (Wan et al., 2018, "Generalized End-to-End Loss for Speaker
Verification") whose trained weights ship inside the ``Resemblyzer`` wheel
(``resemblyzer/pretrained.pt``, Apache-2.0). Nothing is downloaded.

Install the weights only::

    pip install --no-deps resemblyzer==0.1.4

``--no-deps`` matters: a plain ``pip install resemblyzer`` resolves the newest
torch (the CUDA build, ~5 GB) and ``webrtcvad``; neither is used here, and
``import resemblyzer`` fails on current setuptools anyway (``webrtcvad``
imports ``pkg_resources``). This module never imports ``resemblyzer`` or
``torch``: it finds the weight file through the installed distribution's
metadata, reads it with a restricted unpickler that rebuilds plain tensors
only, and runs the network in numpy.

The network: 40-band power mel spectrogram (25 ms windows, 10 ms hops, 16 kHz,
volume raised to -30 dBFS), three LSTM layers of 256 units, then a linear
layer of 256 with ReLU.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as _metadata
from numbers import Integral
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, check_memory

from sklearn_ser._parallel import parallel_map
from sklearn_ser.exceptions import EncoderNotInstalledError, WeightFileError
from sklearn_ser.views import Views, as_clips, map_views, views_pass_set_output

__all__ = ["GE2EEncoder", "EncoderNotInstalledError", "load_ge2e_weights"]

#: The pip command that installs the weights (and nothing else).
INSTALL_COMMAND = "pip install --no-deps resemblyzer==0.1.4"

# The encoder's input recipe (resemblyzer/hparams.py and audio.py).
SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
N_MELS = 40
TARGET_DBFS = -30.0
_INT16_MAX = 2**15 - 1
HIDDEN = 256
N_LSTM_LAYERS = 3

LAYERS = (1, 2, 3, "projection", "embedding")
POOLINGS = ("mean", "std", "max", "delta_std")

# Bump when a change here changes the vectors (invalidates `memory=` caches).
_ENCODER_VERSION = 1

_EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {
    **{
        name: shape
        for layer in range(N_LSTM_LAYERS)
        for name, shape in (
            (f"lstm.weight_ih_l{layer}", (4 * HIDDEN, N_MELS if layer == 0 else HIDDEN)),
            (f"lstm.weight_hh_l{layer}", (4 * HIDDEN, HIDDEN)),
            (f"lstm.bias_ih_l{layer}", (4 * HIDDEN,)),
            (f"lstm.bias_hh_l{layer}", (4 * HIDDEN,)),
        )
    },
    "linear.weight": (HIDDEN, HIDDEN),
    "linear.bias": (HIDDEN,),
}


# -- locating the weight file ------------------------------------------------------------
def _installed_weights_path() -> Path:
    """``resemblyzer/pretrained.pt`` of the installed distribution, found without importing it."""
    why = (
        f"GE2EEncoder needs the pretrained GE2E weights that ship in the Resemblyzer wheel. "
        f"Install them with:\n    {INSTALL_COMMAND}\n"
        "(--no-deps: a plain `pip install resemblyzer` pulls torch with CUDA, ~5 GB, and "
        "webrtcvad; neither is needed, the encoder runs in numpy.) Or pass "
        "weights='path/to/pretrained.pt'."
    )
    try:
        dist = _metadata.distribution("resemblyzer")
    except _metadata.PackageNotFoundError:
        raise EncoderNotInstalledError(f"Resemblyzer is not installed. {why}") from None
    for file in dist.files or ():
        if file.name == "pretrained.pt" and file.parts[0].lower() == "resemblyzer":
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    raise EncoderNotInstalledError(
        f"Resemblyzer {dist.version} is installed but resemblyzer/pretrained.pt is missing. {why}"
    )


# -- reading the weights: tensors only, no torch ----------------------------------------
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co.: only a dtype, not callable."""

    name: str
    dtype: Any


class _Storage:
    """A storage whose bytes are read after the pickle (legacy format) or from the zip."""

    def __init__(self, dtype: Any, numel: int):
        self.dtype = np.dtype(dtype)
        self.numel = numel
        self.array: np.ndarray | None = None
        self.view_of: tuple[_Storage, int] | None = None  # old torch: part of another storage


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self, where: str) -> np.ndarray:
        data = self.storage.array if isinstance(self.storage, _Storage) else None
        if data is None:
            raise WeightFileError(f"{where}: a tensor's storage was never written")
        # as_strided reads raw memory: check every index stays inside the storage.
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if 0 in self.size:
            return np.zeros(self.size, dtype=data.dtype)
        if self.offset < 0 or any(s < 0 for s in self.stride) or last >= data.size:
            raise WeightFileError(f"{where}: a tensor reaches outside its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size,
            strides=tuple(s * data.itemsize for s in self.stride), writeable=False,
        )
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *rest) -> _TensorRef:
    """Stand-in for ``torch._utils._rebuild_tensor(_v2)``: records where the tensor lies."""
    ints = all(isinstance(v, int) for v in (storage_offset, *size, *stride))
    if not (isinstance(storage, _Storage) and ints and len(size) == len(stride)):
        raise WeightFileError("malformed tensor record")
    return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad, backward_hooks, *rest) -> _TensorRef:
    """Stand-in for ``torch._utils._rebuild_parameter``: a parameter is its tensor."""
    if not isinstance(data, _TensorRef):
        raise WeightFileError("malformed parameter record")
    return data


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name, dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


class _TensorUnpickler(pickle.Unpickler):
    """Unpickles torch checkpoints of plain tensors; any other global is refused.

    Tensors come back as :class:`_TensorRef` (resolved to numpy once the
    storages are read); storages are created here from their persistent ids.
    """

    def __init__(self, file, where: str, storages: dict[str, _Storage] | None = None):
        super().__init__(file)
        self.where = where
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise WeightFileError(
                f"{self.where}: refusing to load the global {module}.{name}: a weight file "
                "may hold plain tensors only (it may be a tampered or a different kind of file)"
            ) from None

    def persistent_load(self, pid: Any) -> _Storage:
        if self.storages is None or not (isinstance(pid, tuple) and len(pid) >= 5):
            raise WeightFileError(f"{self.where}: unexpected persistent id {pid!r:.80}")
        kind, storage_type, key, _location, numel = pid[:5]
        view = pid[5] if len(pid) > 5 else None
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise WeightFileError(f"{self.where}: unexpected persistent id {pid!r:.80}")
        if not (isinstance(key, str) and isinstance(numel, int) and numel >= 0):
            raise WeightFileError(f"{self.where}: malformed storage record")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, numel)
        root = self.storages[key]
        if view is None:
            return root
        # Old torch: (view_key, offset, size) of a view into the root storage.
        view_key, offset, size = view
        sub = _Storage(root.dtype, size)
        self.storages[f"{key}/{view_key}/{offset}"] = sub
        sub.view_of = (root, offset)
        return sub


# A state dict's pickle is a few kB; a larger one is not a plain weight file.
_MAX_PICKLE_BYTES = 16 * 2**20


def _read_legacy(raw: bytes, where: str) -> Any:
    """torch.save's legacy format: magic, protocol, sys info, object, keys, raw storages."""
    f = io.BytesIO(raw)
    header = [_TensorUnpickler(f, where).load() for _ in range(3)]
    if header[0] != 0x1950A86A20F9469CFC6C or header[1] != 1001:
        raise WeightFileError(f"{where}: not a torch weight file (bad magic number)")
    if not (isinstance(header[2], dict) and header[2].get("little_endian", True)):
        raise WeightFileError(f"{where}: big-endian weight files are not supported")
    storages: dict[str, _Storage] = {}
    obj = _TensorUnpickler(f, where, storages).load()
    keys = _TensorUnpickler(f, where).load()
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise WeightFileError(f"{where}: malformed storage key list")
    for key in keys:
        if key not in storages:
            raise WeightFileError(f"{where}: storage {key!r} is not used by any tensor")
        storage = storages[key]
        head = f.read(8)
        numel = int.from_bytes(head, "little", signed=True) if len(head) == 8 else -1
        data = f.read(max(numel, 0) * storage.dtype.itemsize)
        if numel != storage.numel or len(data) != numel * storage.dtype.itemsize:
            raise WeightFileError(f"{where}: storage {key!r} is truncated or mis-sized")
        storage.array = np.frombuffer(data, dtype=storage.dtype.newbyteorder("<"))
    _resolve_views(storages, where)
    return obj


def _read_zip(raw: bytes, where: str) -> Any:
    """torch.save's zip format (torch >= 1.6): ``<name>/data.pkl`` plus ``<name>/data/<key>``."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("data.pkl")]
        if len(pkl) != 1:
            raise WeightFileError(f"{where}: a torch zip file holds exactly one data.pkl")
        if archive.getinfo(pkl[0]).file_size > _MAX_PICKLE_BYTES:  # sizes checked before reading
            raise WeightFileError(f"{where}: data.pkl is too large for a state dict")
        prefix = pkl[0][: -len("data.pkl")]
        storages: dict[str, _Storage] = {}
        obj = _TensorUnpickler(io.BytesIO(archive.read(pkl[0])), where, storages).load()
        for key, storage in storages.items():
            name = f"{prefix}data/{key}"
            if name not in names:
                raise WeightFileError(f"{where}: storage {key!r} is missing from the archive")
            expected = storage.numel * storage.dtype.itemsize
            if archive.getinfo(name).file_size != expected:
                raise WeightFileError(f"{where}: storage {key!r} is truncated or mis-sized")
            data = archive.read(name)
            if len(data) != expected:
                raise WeightFileError(f"{where}: storage {key!r} is truncated or mis-sized")
            storage.array = np.frombuffer(data, dtype=storage.dtype.newbyteorder("<"))
    return obj


def _resolve_views(storages: dict[str, _Storage], where: str) -> None:
    for storage in storages.values():
        if storage.view_of is not None:
            root, offset = storage.view_of
            if root.array is None or offset < 0 or offset + storage.numel > root.array.size:
                raise WeightFileError(f"{where}: a storage view reaches outside its root")
            storage.array = root.array[offset : offset + storage.numel]


def _encoder_arrays(checkpoint: Any, where: str) -> dict[str, np.ndarray]:
    """The encoder's tensors as numpy arrays, names and shapes checked before any is read."""
    state = checkpoint.get("model_state", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise WeightFileError(f"{where}: no state dict of the GE2E encoder found")
    arrays = {}
    for name, shape in _EXPECTED_SHAPES.items():
        ref = state.get(name)
        if not isinstance(ref, _TensorRef):
            raise WeightFileError(f"{where}: tensor {name!r} is missing (not a GE2E encoder?)")
        dtype = ref.storage.dtype if isinstance(ref.storage, _Storage) else None
        if ref.size != shape or dtype is None or not np.issubdtype(dtype, np.floating):
            raise WeightFileError(
                f"{where}: tensor {name!r} has shape {ref.size} and dtype {dtype}, "
                f"expected {shape} floats (3 x LSTM-256 on 40 mel bands, linear 256)"
            )
        array = ref.to_numpy(where)
        if not np.all(np.isfinite(array)):
            raise WeightFileError(f"{where}: tensor {name!r} holds NaN or infinity")
        arrays[name] = array
    return arrays


@dataclass(frozen=True)
class GE2EWeights:
    """The encoder's parameters as float32 numpy arrays, laid out for the forward pass.

    Attributes
    ----------
    w_cat : list of ndarray of shape (1024, n_in + 257)
        Per LSTM layer, ``[W_ih | W_hh | b_ih + b_hh]``: one matmul with
        ``[x_t; h_(t-1); 1]`` gives all four gates. Gate rows are ordered
        (input, forget, output, cell) and the sigmoid gates' rows halved.
    w_out, b_out : ndarray of shape (256, 256) and (256,)
        The final linear layer (transposed weight).
    digest : str
        SHA-256 of the weight file (keys caches).
    path : str
        Where the weights were read from.
    """

    w_cat: list
    w_out: np.ndarray
    b_out: np.ndarray
    digest: str
    path: str


def _gate_layout(rows: np.ndarray) -> np.ndarray:
    """torch's gate rows (i, f, g, o) -> (i, f, o, g), with the sigmoid gates halved.

    sigmoid(z) = (1 + tanh(z / 2)) / 2, so one tanh over all four gates serves
    every nonlinearity of a step; the halving is exact in floating point.
    """
    i, f, g, o = np.split(rows.astype(np.float32), 4, axis=0)
    return np.concatenate([i * 0.5, f * 0.5, o * 0.5, g], axis=0)


def load_ge2e_weights(path: str | os.PathLike | None = None) -> GE2EWeights:
    """Read the GE2E encoder's weights without torch, tensors only (cached per process).

    Parameters
    ----------
    path : str or path-like, default=None
        A ``torch.save`` checkpoint (legacy or zip format) whose
        ``"model_state"`` (or top level) holds the encoder's state dict.
        None reads ``resemblyzer/pretrained.pt`` from the installed package.

    Returns
    -------
    GE2EWeights

    Raises
    ------
    EncoderNotInstalledError
        ``path`` is None and Resemblyzer is not installed.
    WeightFileError
        The file holds anything but tensors, misses a tensor or has a wrong shape.
    """
    path = _installed_weights_path() if path is None else Path(path)
    return _load_weights_file(str(path.resolve()))


@functools.lru_cache(maxsize=4)
def _load_weights_file(where: str) -> GE2EWeights:
    """Parse and check one weight file (once per process and path)."""
    try:
        raw = Path(where).read_bytes()
    except OSError as exc:
        raise WeightFileError(f"cannot read the encoder weights {where}: {exc}") from None
    try:
        checkpoint = _read_zip(raw, where) if raw[:4] == b"PK\x03\x04" else _read_legacy(raw, where)
        arrays = _encoder_arrays(checkpoint, where)
    except WeightFileError:
        raise
    except Exception as exc:  # any malformed file: say which, never run anything
        raise WeightFileError(f"{where} is not a readable torch weight file: {exc}") from None
    w_cat = [
        np.ascontiguousarray(np.concatenate([
            _gate_layout(arrays[f"lstm.weight_ih_l{k}"]),
            _gate_layout(arrays[f"lstm.weight_hh_l{k}"]),
            _gate_layout(arrays[f"lstm.bias_ih_l{k}"] + arrays[f"lstm.bias_hh_l{k}"])[:, None],
        ], axis=1))
        for k in range(N_LSTM_LAYERS)
    ]
    return GE2EWeights(
        w_cat=w_cat,
        w_out=np.ascontiguousarray(arrays["linear.weight"].astype(np.float32).T),
        b_out=arrays["linear.bias"].astype(np.float32),
        digest=hashlib.sha256(raw).hexdigest(),
        path=where,
    )


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

    A hit returns the stored vector; a miss stores the one computed (batched) by the caller.
    """
    return vector


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
        batched.
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
                if cached.check_call_in_cache(*key):
                    out[i] = cached(*key)
                else:
                    todo.append(i)
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
                        cached(*keys[i], vector=vector)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


def _librosa_version() -> str:
    from importlib.metadata import version

    return version("librosa")  # without importing it


views_pass_set_output(GE2EEncoder)
