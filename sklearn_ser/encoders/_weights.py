"""Locating and reading the GE2E encoder's weights: tensors only, without torch.

The trained weights ship inside the ``Resemblyzer`` wheel
(``resemblyzer/pretrained.pt``, Apache-2.0). They are found through the
installed distribution's metadata (``import resemblyzer`` fails on current
setuptools, and would pull torch), and read with a restricted unpickler that
rebuilds plain tensors only: a tampered file cannot run code. Both of
``torch.save``'s formats are read (legacy and zip).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np

from sklearn_ser.exceptions import EncoderNotInstalledError, WeightFileError

#: The pip command that installs the weights (and nothing else).
INSTALL_COMMAND = "pip install --no-deps resemblyzer==0.1.4"

# The network's shape (resemblyzer/hparams.py): what a weight file must hold.
N_MELS = 40
HIDDEN = 256
N_LSTM_LAYERS = 3

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
