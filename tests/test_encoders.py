"""GE2EEncoder: exactness against resemblyzer's torch encoder, safe weight loading, the API."""

from __future__ import annotations

import io
import os
import pickle
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import count_encoded_clips, torch_or_skip
from sklearn.base import clone

from sklearn_ser.encoders import (
    EncoderNotInstalledError,
    GE2EEncoder,
    _ge2e,  # private helpers are patched and read where the code looks them up
    _weights,
    encode_mels,
    instance_normalize,
    load_ge2e_weights,
    preprocess,
)
from sklearn_ser.exceptions import WeightFileError
from sklearn_ser.views import Views

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_ge2e_reference import reference_signal  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:Please import `binary_dilation`:DeprecationWarning"  # inside resemblyzer/audio.py
)
REFERENCE = Path(__file__).resolve().parent / "data" / "ge2e_reference.npz"
TOL = 1e-4
ALL_LAYERS = (1, 2, 3, "projection", "embedding")

# Without resemblyzer's weight file (pip install --no-deps resemblyzer==0.1.4) these skip,
# and fail under SKLEARN_SER_REQUIRE_ENCODER=1 (CI): see the ge2e_weights fixture.
needs_weights = pytest.mark.usefixtures("ge2e_weights")


def _signal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    f0 = 120 + 60 * rng.random() + 30 * np.sin(2 * np.pi * 2 * t)
    voice = np.sin(2 * np.pi * np.cumsum(f0) / 16000)
    return (0.1 * voice + 0.01 * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    # Different lengths, so batches are padded and sorted.
    return [_signal(n, seed) for seed, n in enumerate((16000, 9000, 24500, 4000, 12000))]


@pytest.fixture(scope="module")
def torch_reference(clips):
    """resemblyzer's own preprocessing and torch network, per frame, for each clip.

    Without torch: a skip (exactness is still checked against the committed
    reference), a failure under SKLEARN_SER_REQUIRE_TORCH=1 (CI installs torch).
    """
    torch_or_skip()
    import make_ge2e_reference as ref

    return [ref.torch_frame_outputs(ref.torch_preprocess(c)) for c in clips]


def _pooled(frames: dict, pooling=("mean", "std", "max")) -> np.ndarray:
    parts = []
    for layer in ALL_LAYERS:
        if layer == "embedding":
            parts.append(frames[layer])
        else:
            stats = {"mean": np.mean, "std": np.std, "max": np.max}
            parts.extend(stats[p](frames[layer], axis=0) for p in pooling)
    return np.concatenate(parts)


# -- exactness ---------------------------------------------------------------------------
@needs_weights
def test_preprocessing_matches_resemblyzer(clips):
    torch_or_skip()
    import make_ge2e_reference as ref

    for clip in clips:
        theirs = ref.torch_preprocess(clip)
        assert np.abs(preprocess(clip) - theirs).max() <= 1e-5 * theirs.max()


@needs_weights
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_frames_match_torch(clips, torch_reference, batched):
    weights = load_ge2e_weights()
    mels = [preprocess(c) for c in clips]
    if batched:
        outs = [encode_mels(mels, weights, ALL_LAYERS)]
        pick = [(0, i) for i in range(len(clips))]
    else:
        outs = [encode_mels([m], weights, ALL_LAYERS) for m in mels]
        pick = [(i, 0) for i in range(len(clips))]
    for i, (which, j) in enumerate(pick):
        for layer in ALL_LAYERS:
            ours, theirs = outs[which][layer][j], torch_reference[i][layer]
            assert ours.shape == theirs.shape
            assert np.abs(ours - theirs).max() <= TOL, (i, layer)


@needs_weights
@pytest.mark.parametrize("batch_size", [32, 1])
def test_pooled_vectors_match_torch(clips, torch_reference, batch_size):
    enc = GE2EEncoder(layers=ALL_LAYERS, pooling=("mean", "std", "max"), batch_size=batch_size)
    X = enc.fit_transform(clips)
    expected = np.stack([_pooled(f) for f in torch_reference])
    assert X.shape == expected.shape == (len(clips), 4 * 3 * 256 + 256)
    assert np.abs(X - expected).max() <= TOL


@needs_weights
def test_matches_committed_torch_reference():
    # Runs without torch: the numbers were computed with torch by make_ge2e_reference.py.
    ref = np.load(REFERENCE)
    enc = GE2EEncoder(layers=(1, 2, 3, "projection", "embedding"), pooling=("mean", "std"))
    x = enc.fit_transform([reference_signal()])[0].reshape(-1, 256)
    ours = {
        "l1_mean": x[0], "l2_mean": x[2], "l2_std": x[3], "l3_mean": x[4],
        "projection_mean": x[6], "embedding": x[8],
    }
    for name, expected in ref.items():
        assert np.abs(ours[name] - expected).max() <= TOL, name


# -- pooling over time ----------------------------------------------------------------------
def test_pooling_statistics_have_their_defined_values():
    """Each pooling, on frames whose statistics are known in closed form (no weights needed)."""
    from sklearn_ser.encoders._network import _pool

    n = 9
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((n, 256)).astype(np.float32)
    frames[:, 0] = 0.5 * np.arange(n)  # a ramp: constant change, so delta_std is 0
    frames[:, 1] = np.where(np.arange(n) % 2, -1.0, 1.0)  # steps of -2, +2, ...: delta_std 2
    mean, std, peak, delta = _pool(frames, ("mean", "std", "max", "delta_std"))
    assert delta[0] == pytest.approx(0.0, abs=1e-6)
    assert std[0] == pytest.approx(0.5 * np.sqrt((n**2 - 1) / 12), rel=1e-6)  # population std
    assert delta[1] == pytest.approx(2.0, rel=1e-6) and std[1] == pytest.approx(
        np.sqrt(1 - (1 / n) ** 2), rel=1e-6)
    assert mean[1] == pytest.approx(1 / n, rel=1e-6) and peak[1] == 1.0
    # Every column, against the definitions written out.
    x = frames.astype(np.float64)
    steps = x[1:] - x[:-1]
    expected_delta = np.sqrt(((steps - steps.mean(axis=0)) ** 2).mean(axis=0))
    np.testing.assert_allclose(delta, expected_delta, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(std, np.sqrt(((x - x.mean(axis=0)) ** 2).mean(axis=0)),
                               rtol=1e-5)
    np.testing.assert_array_equal(peak, frames.max(axis=0))
    assert all(v.dtype == np.float32 and v.shape == (256,) for v in (mean, std, peak, delta))
    # One frame: nothing changes, delta_std is 0 (not NaN).
    (one,) = _pool(frames[:1], ("delta_std",))
    np.testing.assert_array_equal(one, np.zeros(256, np.float32))


@needs_weights
def test_encoder_vectors_pool_the_network_frames(clips):
    """GE2EEncoder's vector is the frames of each layer pooled as documented, in order."""
    pooling = ("mean", "std", "max", "delta_std")
    enc = GE2EEncoder(layers=(2, "projection", "embedding"), pooling=pooling)
    X = enc.fit_transform(clips)
    frames = encode_mels([preprocess(c) for c in clips], load_ge2e_weights(),
                         (2, "projection", "embedding"))
    for i in range(len(clips)):
        parts = []
        for layer in (2, "projection"):
            f = frames[layer][i].astype(np.float64)
            steps = np.diff(f, axis=0)
            parts += [f.mean(axis=0), f.std(axis=0), f.max(axis=0), steps.std(axis=0)]
        parts.append(frames["embedding"][i])
        np.testing.assert_allclose(X[i], np.concatenate(parts), atol=1e-5)
    assert X.shape == (len(clips), 2 * 4 * 256 + 256)


# -- safe weight loading -------------------------------------------------------------------
class _Hostile:
    """Unpickling this runs ``func(arg)``: what a tampered weight file would do."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


def _legacy_file(payload) -> bytes:
    f = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(header, f, protocol=2)
    pickle.dump({"model_state": payload}, f, protocol=2)
    pickle.dump([], f, protocol=2)
    return f.getvalue()


def _zip_file(payload) -> bytes:
    f = io.BytesIO()
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"model_state": payload}, protocol=2))
        z.writestr("archive/version", "3\n")
    return f.getvalue()


def _opcodes_legacy_file(tensors: dict, storage_numel: dict | None = None) -> bytes:
    """A legacy torch.save file written opcode by opcode (no torch needed).

    ``tensors`` maps names to float32 arrays; ``storage_numel`` can shrink a
    tensor's storage to build a tensor that claims more than its storage holds.
    """
    import struct

    def text(s):
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    def integer(i):
        return b"J" + struct.pack("<i", i)

    def tup(items):
        return b"(" + b"".join(integer(i) for i in items) + b"t"

    body = b"\x80\x02}(" + text("model_state") + b"}("
    blobs = []
    for key, (name, array) in enumerate(tensors.items()):
        numel = (storage_numel or {}).get(name, array.size)
        strides = [s // 4 for s in array.strides]
        body += text(name) + b"ctorch._utils\n_rebuild_tensor_v2\n("
        body += b"(" + text("storage") + b"ctorch\nFloatStorage\n" + text(str(key))
        body += text("cpu") + integer(numel) + b"NtQ" + integer(0)
        body += tup(array.shape) + tup(strides) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R"
        blobs.append(struct.pack("<q", numel) + array.ravel()[:numel].astype("<f4").tobytes())
    body += b"uu."
    f = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(header, f, protocol=2)
    f.write(body)
    pickle.dump([str(k) for k in range(len(tensors))], f, protocol=2)
    for blob in blobs:
        f.write(blob)
    return f.getvalue()


def _random_state() -> dict:
    rng = np.random.default_rng(0)
    return {name: rng.standard_normal(shape).astype(np.float32) * 0.1
            for name, shape in _weights._EXPECTED_SHAPES.items()}


def test_loader_reads_tensors_without_torch(tmp_path):
    state = _random_state()
    path = tmp_path / "random.pt"
    path.write_bytes(_opcodes_legacy_file(state))
    weights = load_ge2e_weights(path)
    np.testing.assert_array_equal(weights.w_out, state["linear.weight"].T)
    top_left = weights.w_cat[0][:256, :40]  # input-gate rows, halved
    np.testing.assert_array_equal(top_left, state["lstm.weight_ih_l0"][:256] * 0.5)
    mel = np.abs(np.random.default_rng(1).standard_normal((30, 40))).astype(np.float32)
    assert encode_mels([mel], weights, (2,))[2][0].shape == (30, 256)


def test_tensor_reaching_outside_its_storage_is_refused(tmp_path):
    path = tmp_path / "short.pt"
    path.write_bytes(_opcodes_legacy_file(_random_state(), {"lstm.weight_ih_l0": 100}))
    with pytest.raises(WeightFileError, match="outside its storage"):
        load_ge2e_weights(path)


@pytest.mark.parametrize("fmt", [_legacy_file, _zip_file], ids=["legacy", "zip"])
@pytest.mark.parametrize("func", [os.system, eval], ids=["os.system", "builtins.eval"])
def test_hostile_weight_file_is_refused_and_nothing_runs(tmp_path, fmt, func):
    marker = tmp_path / "pwned"
    if func is os.system:
        payload, named = _Hostile(os.system, f"touch {marker}"), "system"
    else:
        code = f"open({str(marker)!r}, 'w').write('x')"
        payload, named = _Hostile(eval, code), "eval"  # __builtin__.eval in protocol 2
    path = tmp_path / "pretrained.pt"
    path.write_bytes(fmt(payload))
    with pytest.raises(WeightFileError, match=f"refusing to load the global .*{named}"):
        load_ge2e_weights(path)
    assert not marker.exists()


def test_hostile_global_in_header_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "w.pt"
    path.write_bytes(pickle.dumps(_Hostile(os.system, f"touch {marker}"), protocol=2))
    with pytest.raises(WeightFileError, match="refusing to load the global"):
        load_ge2e_weights(path)
    assert not marker.exists()


def test_garbage_and_wrong_files_are_refused(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00not a pickle at all")
    with pytest.raises(WeightFileError, match="junk.pt"):
        load_ge2e_weights(junk)
    empty_state = tmp_path / "empty.pt"
    empty_state.write_bytes(_legacy_file({}))
    with pytest.raises(WeightFileError, match="lstm.weight_ih_l0.*missing"):
        load_ge2e_weights(empty_state)
    with pytest.raises(WeightFileError, match="cannot read"):
        load_ge2e_weights(tmp_path / "absent.pt")


@needs_weights
def test_zip_format_and_shape_check_with_torch(tmp_path):
    torch = torch_or_skip()
    legacy = load_ge2e_weights()
    state = torch.load(legacy.path, map_location="cpu")["model_state"]
    torch.save({"model_state": state}, tmp_path / "zip.pt")  # torch's default: zip format
    as_zip = load_ge2e_weights(tmp_path / "zip.pt")
    for a, b in zip(as_zip.w_cat + [as_zip.w_out], legacy.w_cat + [legacy.w_out]):
        np.testing.assert_array_equal(a, b)
    state["linear.weight"] = state["linear.weight"][:, :128]  # a non-contiguous view, wrong shape
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(WeightFileError, match="linear.weight.*shape"):
        load_ge2e_weights(tmp_path / "bad.pt")


def test_missing_package_says_what_to_install(monkeypatch):
    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_weights._metadata, "distribution", absent)
    install = r"pip install --no-deps resemblyzer==0\.1\.4"
    with pytest.raises(EncoderNotInstalledError, match=install):
        GE2EEncoder().fit([np.zeros(1600, np.float32)])
    assert issubclass(EncoderNotInstalledError, ImportError)


# -- the transformer -----------------------------------------------------------------------
@needs_weights
def test_batched_equals_unbatched_and_order_is_kept(clips):
    a = GE2EEncoder(batch_size=32).fit_transform(clips)
    b = GE2EEncoder(batch_size=1).fit_transform(clips)
    c = GE2EEncoder(batch_size=2).fit_transform(clips[::-1])[::-1]
    assert a.dtype == np.float32 and a.shape == (len(clips), 512)
    assert np.abs(a - b).max() <= 1e-5 and np.abs(a - c).max() <= 1e-5


@needs_weights
def test_memory_cache_hits_skip_the_work(clips, tmp_path, monkeypatch):
    computed = count_encoded_clips(monkeypatch, _ge2e)
    enc = GE2EEncoder(memory=tmp_path / "cache", batch_size=2)
    first = enc.fit_transform(clips[:3])
    assert len(computed) == 3
    computed.clear()
    again = enc.fit_transform(clips[:3])
    np.testing.assert_array_equal(first, again)
    assert computed == []
    mixed = enc.transform([clips[3], clips[0]])  # one miss, one hit
    assert computed == [len(clips[3])]
    np.testing.assert_array_equal(mixed[1], first[0])
    computed.clear()
    other = clone(enc).set_params(pooling=("max",)).fit_transform(clips[:1])  # params key it
    assert computed == [len(clips[0])] and other.shape == (1, 256)
    # The cache folder is named by the module the encoder had before it became a
    # package, so that caches written then are still found.
    assert (tmp_path / "cache" / "joblib" / "sklearn_ser" / "encoders" / "_cached_vector").is_dir()


def _standardised_blocks(row: np.ndarray, width: int) -> np.ndarray:
    """Each block of ``width`` values minus its mean over its population std, in float64."""
    out = []
    for start in range(0, len(row), width):
        block = row[start:start + width].astype(np.float64)
        out.append((block - block.mean()) / block.std())
    return np.concatenate(out)


def test_instance_normalize_standardises_each_block_on_its_own():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(4, 3 * 8)).astype(np.float32)
    out = instance_normalize(rows, 3)
    assert out.dtype == np.float32 and out.shape == rows.shape
    for row, got in zip(rows, out):
        np.testing.assert_allclose(got, _standardised_blocks(row, 8), atol=1e-6)
    # A block's offset and scale, whatever they are in each clip, are gone.
    moved = rows.reshape(4, 3, 8) * rng.uniform(0.1, 10, (4, 3, 1)) + rng.normal(0, 5, (4, 3, 1))
    np.testing.assert_allclose(instance_normalize(moved.reshape(4, 24), 3), out, atol=1e-5)
    # A constant block has no spread to divide by: zeros, not NaN.
    flat = rows.copy()
    flat[1, 8:16] = 3.0
    got = instance_normalize(flat, 3)
    assert np.all(got[1, 8:16] == 0) and np.isfinite(got).all()


@needs_weights
def test_instance_norm_standardises_each_output_and_statistic(clips, tmp_path, monkeypatch):
    computed = count_encoded_clips(monkeypatch, _ge2e)
    params = dict(layers=(2, "embedding"), pooling=("mean", "std"), memory=tmp_path)
    raw = GE2EEncoder(**params).fit_transform(clips[:3])
    computed.clear()
    normed = GE2EEncoder(**params, instance_norm=True).fit_transform(clips[:3])
    assert computed == []  # the cache holds the vectors before the normalisation
    assert normed.dtype == np.float32 and normed.shape == (3, 768)
    for row, got in zip(raw, normed):  # blocks: l2 mean, l2 std, the embedding
        np.testing.assert_allclose(got, _standardised_blocks(row, 256), atol=1e-4)
    assert not np.allclose(normed, raw, atol=1e-2)


@needs_weights
def test_views_in_views_out(clips):
    data = np.empty((3, 2), dtype=object)
    for i in range(3):
        data[i, 0], data[i, 1] = clips[i], clips[i] * 0.5
    views = Views(data, ("clean", "quiet"))
    enc = GE2EEncoder(layers=(2, "embedding"))
    out = enc.fit_transform(views)
    assert isinstance(out, Views) and out.names == ("clean", "quiet")
    assert out.data.shape == (3, 2, 768)
    np.testing.assert_allclose(out.clean(), enc.transform(clips[:3]), atol=1e-5)


@needs_weights
def test_pandas_output_and_feature_names(clips):
    enc = GE2EEncoder(layers=(2, "projection", "embedding"), pooling=("mean",))
    enc.set_output(transform="pandas")
    df = enc.fit_transform(clips[:2])
    names = enc.get_feature_names_out()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(names)
    assert names[0] == "ge2e_l2_mean_0" and names[256] == "ge2e_proj_mean_0"
    assert names[-1] == "ge2e_emb_255" and enc.n_features_out_ == 768
    data = np.empty((2, 1), dtype=object)
    data[:, 0] = clips[:2]
    out = enc.transform(Views(data, ("clean",)))  # views stay views under pandas output
    assert isinstance(out, Views)
    np.testing.assert_allclose(out.clean(), df.to_numpy(), atol=1e-5)


@needs_weights
def test_resamples_other_rates():
    import librosa

    clip = _signal(22050, 7)
    a = GE2EEncoder(sr=22050).fit_transform([clip])
    b = GE2EEncoder().fit_transform([librosa.resample(clip, orig_sr=22050, target_sr=16000)])
    np.testing.assert_allclose(a, b, atol=1e-5)


@needs_weights
def test_silent_and_bad_clips():
    enc = GE2EEncoder().fit(None)
    assert np.all(np.isfinite(enc.transform([np.zeros(8000, np.float32)])))
    with pytest.raises(ValueError, match="clip 1"):
        enc.transform([np.ones(800, np.float32), np.array([np.nan] * 10, np.float32)])
    with pytest.raises(TypeError, match="1-D numpy array"):
        enc.transform(["a.wav"])
    with pytest.raises(Exception, match="not fitted"):
        GE2EEncoder().transform([np.ones(800, np.float32)])


@needs_weights
def test_transform_refuses_what_a_batch_of_waveforms_cannot_be():
    # fit reads no clip (the encoder is pretrained), so these are refused by transform:
    # what scikit-learn's checks expect of fit (test_estimator_checks.py).
    import scipy.sparse

    enc = GE2EEncoder().fit(None)
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
    assert enc.transform(np.empty((0, 400))).shape == (0, 512)  # no clip: no vector
    # Anything that converts to an array, and lists of numbers, are clips too.
    np.testing.assert_allclose(enc.transform([list(rows[0])]), enc.transform(rows[:1]))


@needs_weights
def test_weights_changed_since_fit_is_an_error(clips):
    enc = GE2EEncoder().fit(clips)
    enc.weights_digest_ = "0" * 64  # as if fitted with another weight file
    with pytest.raises(WeightFileError, match="changed since fit"):
        enc.transform(clips[:1])


@needs_weights
def test_n_jobs(clips):
    import joblib

    with joblib.parallel_config(backend="threading"):  # the same code path, no process start-up
        a = GE2EEncoder(batch_size=2, n_jobs=2).fit_transform(clips)
    b = GE2EEncoder(batch_size=2).fit_transform(clips)
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"layers": (4,)}, "layers"),
        ({"layers": ()}, "layers"),
        ({"layers": 2}, "layers"),
        ({"pooling": ("median",)}, "pooling"),
        ({"sr": 0}, "sr"),
        ({"batch_size": 0}, "batch_size"),
        ({"memory": 3}, "memory"),
        ({"n_jobs": "many"}, "n_jobs"),
        ({"weights": 5}, "weights"),
        ({"instance_norm": "yes"}, "instance_norm"),
    ],
)
def test_bad_parameters_fail_at_fit_naming_them(params, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        GE2EEncoder(**params).fit([np.zeros(1600, np.float32)])


def test_pickles_naming_the_old_module_path_still_load():
    # Fitted encoders pickled before sklearn_ser.encoders became a package name
    # sklearn_ser.encoders.GE2EEncoder; protocol 2 writes the path as plain text.
    enc = GE2EEncoder(layers=(1, 3), pooling=("max",))
    enc.n_features_out_ = 512
    raw = pickle.dumps(enc, protocol=2)
    assert b"sklearn_ser.encoders._ge2e\nGE2EEncoder" in raw
    old = raw.replace(b"sklearn_ser.encoders._ge2e\n", b"sklearn_ser.encoders\n")
    loaded = pickle.loads(old)
    assert type(loaded) is GE2EEncoder
    assert loaded.get_params() == enc.get_params() and loaded.n_features_out_ == 512


def test_public_names_import_from_the_package():
    from sklearn_ser import encoders

    for name in ("GE2EEncoder", "GE2EWeights", "load_ge2e_weights", "preprocess",
                 "encode_mels", "INSTALL_COMMAND", "EncoderNotInstalledError", "SAMPLE_RATE",
                 "N_FFT", "HOP_LENGTH", "N_MELS", "TARGET_DBFS", "HIDDEN", "N_LSTM_LAYERS",
                 "LAYERS", "POOLINGS", "instance_normalize"):
        assert hasattr(encoders, name), name


def test_params_and_clone():
    enc = GE2EEncoder(layers=(1, 3), pooling=("max",), batch_size=4)
    twin = clone(enc)
    assert twin.get_params() == enc.get_params()
    assert twin.get_params()["layers"] == (1, 3)
