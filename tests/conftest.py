"""Shared fixtures: synthetic speech written once per session, the RAVDESS folder if present.

What a test needs and may lack (real data, the GE2E encoder's weights, torch) makes it skip,
or fail where CI requires it: SKLEARN_SER_REQUIRE_DATA, SKLEARN_SER_REQUIRE_ENCODER and
SKLEARN_SER_REQUIRE_TORCH set to 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sklearn.utils import estimator_checks

from sklearn_ser._parallel import compile_librosa_here
from sklearn_ser.datasets._synthetic import make_emotional_speech

REPO = Path(__file__).resolve().parents[1]

#: scikit-learn's estimator checks that apply to estimators whose input is not a 2-D table
#: (paths, waveforms, images): the data-driven checks feed tabular arrays, so they do not.
#: Where each estimator's checks run, and why: tests/test_estimator_checks.py.
API_CHECKS = [
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_parameters_default_constructible,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_estimator_cloneable,
    estimator_checks.check_estimator_repr,
    estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
    estimator_checks.check_estimator_tags_renamed,
    estimator_checks.check_valid_tag_types,
]

#: Pipeline settings that keep a fit to a few seconds in tests: two cheap
#: feature blocks, a small version of the reference network, few epochs. The full
#: reference recipe is exercised separately (features against the oracle,
#: the network's parameter count).
FAST_PIPELINE_PARAMS = {
    "features__features": ("mel", "mfcc_delta2"),
    "features__n_mfcc": 13,
    "features__mel_db": True,
    "features__standardize": "row",
    "features__n_columns": 32,
    "cnn__conv_filters": (8, 16),
    "cnn__dense_units": (32, 16),
    "cnn__epochs": 20,
    "cnn__batch_size": 16,
}


def pytest_configure(config) -> None:
    # Under pytest-xdist this runs in the controller before any worker starts: librosa's
    # numba caches are compiled once here and only read by the workers, which would
    # otherwise compile them at the same moment while collecting (a cache written by two
    # processes at once crashes every later call: sklearn_ser._parallel).
    compile_librosa_here()


def corpus_path(name: str) -> Path | None:
    """A corpus folder from $SKLEARN_SER_<NAME> or ../shared/data/<name>, if present."""
    env = os.environ.get(f"SKLEARN_SER_{name.upper()}")
    path = Path(env) if env else REPO.parent / "shared" / "data" / name
    return path if path.is_dir() and any(path.iterdir()) else None


def ravdess_path() -> Path | None:
    """The RAVDESS folder from $SKLEARN_SER_RAVDESS or ../shared/data/ravdess, if present."""
    return corpus_path("ravdess")


#: Environment variables CI sets so that a test missing what it needs fails instead of
#: skipping: the RAVDESS clips, the GE2E encoder's weight file (resemblyzer), torch.
REQUIRE_DATA = "SKLEARN_SER_REQUIRE_DATA"
REQUIRE_ENCODER = "SKLEARN_SER_REQUIRE_ENCODER"
REQUIRE_TORCH = "SKLEARN_SER_REQUIRE_TORCH"


def required(variable: str) -> bool:
    """Whether ``variable`` (one of the ``REQUIRE_*`` names) is set to 1/true/yes."""
    return os.environ.get(variable, "").strip().lower() in ("1", "true", "yes")


def skip_or_fail(message: str, variable: str) -> None:
    """Skip the test for want of something, or fail it when ``variable`` requires it."""
    if required(variable):
        pytest.fail(f"{message}; {variable} is set, so this is a failure")
    pytest.skip(message)


def data_required() -> bool:
    """Whether real-data tests fail, not skip, without the data (``SKLEARN_SER_REQUIRE_DATA=1``).

    CI sets it together with ``SKLEARN_SER_RAVDESS``, so that a wrong path or a
    missing download shows up as a failure instead of silently skipped tests.
    """
    return required(REQUIRE_DATA)


def skip_or_fail_without_data(message: str) -> None:
    """Skip the test for want of real data, or fail it when the data are required."""
    skip_or_fail(message, REQUIRE_DATA)


def torch_or_skip():
    """The torch module; without it a skip, or a failure under ``SKLEARN_SER_REQUIRE_TORCH=1``."""
    try:
        import torch
    except ImportError as exc:
        skip_or_fail(f"torch is not importable ({exc})", REQUIRE_TORCH)
    return torch


def count_encoded_clips(monkeypatch, module) -> list[int]:
    """Patch ``module._encode_clips`` to record the length of each clip it encodes.

    An encoder's cache misses are exactly the clips that reach it, so the list
    says what a transform really computed.
    """
    lengths: list[int] = []
    real = module._encode_clips

    def counting(batch, *args):
        lengths.extend(len(c) for c in batch)
        return real(batch, *args)

    monkeypatch.setattr(module, "_encode_clips", counting)
    return lengths


def load_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` as a module (it imports its sibling benchmarks)."""
    import importlib.util
    import sys

    folder = REPO / "benchmarks"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


@pytest.fixture(scope="session")
def ge2e_weights():
    """The GE2E encoder's weights (resemblyzer's file); without them a skip, or a failure
    under ``SKLEARN_SER_REQUIRE_ENCODER=1``, so that CI cannot pass with the encoder unused."""
    from sklearn_ser.encoders import EncoderNotInstalledError, load_ge2e_weights

    try:
        return load_ge2e_weights()
    except EncoderNotInstalledError as exc:
        skip_or_fail(f"the GE2E encoder's weights are not installed ({exc})", REQUIRE_ENCODER)


def _corpus_dir(name: str, title: str) -> Path:
    path = corpus_path(name)
    if path is None:
        skip_or_fail_without_data(f"{title} clips not found (set SKLEARN_SER_{name.upper()} "
                                  f"or ../shared/data/{name})")
    return path


@pytest.fixture(scope="session")
def ravdess_dir() -> Path:
    return _corpus_dir("ravdess", "RAVDESS")


@pytest.fixture(scope="session")
def tess_dir() -> Path:
    return _corpus_dir("tess", "TESS")


@pytest.fixture(scope="session")
def synthetic_speech(tmp_path_factory):
    """4 speakers x 4 emotions x 4 clips of 1 s of synthetic speech (wav)."""
    return make_emotional_speech(
        n_speakers=4, n_clips_per_emotion=4, duration=1.0,
        out_dir=tmp_path_factory.mktemp("synthetic"), random_state=0,
    )


@pytest.fixture(scope="session")
def tone_files(tmp_path_factory) -> dict[str, Path]:
    """Small audio files of many kinds, good and bad, keyed by what they are."""
    d = tmp_path_factory.mktemp("tones")
    sr = 22050
    t = np.arange(sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    files = {}

    def write(name, data, rate=sr, **kw):
        files[name] = d / name
        sf.write(files[name], data, rate, **kw)

    write("mono_22050.wav", tone)
    write("stereo_44100.flac", np.stack([tone.repeat(2), tone.repeat(2)], axis=1), 44100)
    t16 = np.arange(16000) / 16000
    write("mono_16000.ogg", (0.3 * np.sin(2 * np.pi * 220 * t16)).astype(np.float32), 16000)
    write("silent.wav", np.zeros(sr, dtype=np.float32))
    write("short.wav", tone[:1000])  # 45 ms: shorter than one 2048-sample FFT frame
    nan = tone.copy()
    nan[100:110] = np.nan
    write("nan.wav", nan, subtype="FLOAT")
    files["empty.wav"] = d / "empty.wav"
    files["empty.wav"].write_bytes(b"")
    files["text.wav"] = d / "text.wav"
    files["text.wav"].write_text("this is not audio\n")
    files["directory.wav"] = d / "directory.wav"
    files["directory.wav"].mkdir()
    files["missing.wav"] = d / "missing.wav"
    return files
