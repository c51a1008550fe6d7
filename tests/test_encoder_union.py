"""EncoderUnion: encoders side by side, fit-only views passed through; audio_estimators.

Expected values are each encoder's own output, computed here encoder by encoder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_ser import (
    AudioLoader,
    EncoderUnion,
    FeatureImageExtractor,
    GE2EEncoder,
    WaveformAugmenter,
    WhisperEncoder,
    make_ser_pipeline,
)
from sklearn_ser.experiment import without_runtime_settings
from sklearn_ser.pipeline import audio_estimators
from sklearn_ser.views import Views

# The GE2E half needs resemblyzer's weight file: without it these skip, and fail under
# SKLEARN_SER_REQUIRE_ENCODER=1 (CI): see the ge2e_weights fixture.
needs_ge2e = pytest.mark.usefixtures("ge2e_weights")


def _signal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    f0 = 110 + 80 * rng.random() + 25 * np.sin(2 * np.pi * 3 * t)
    return (0.1 * np.sin(2 * np.pi * np.cumsum(f0) / 16000)
            + 0.01 * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    return [_signal(n, seed) for seed, n in enumerate((6400, 4800, 8000))]


def _encoders():
    return (GE2EEncoder(layers=(2,), pooling=("mean",)),
            WhisperEncoder(layers=(1,), pooling=("mean", "std")))


def _union() -> EncoderUnion:
    ge2e, whisper = _encoders()
    return EncoderUnion([("ge2e", ge2e), ("whisper", whisper)])


def _separately(clips) -> np.ndarray:
    """Each encoder's own vectors, side by side."""
    return np.hstack([encoder.fit_transform(clips) for encoder in _encoders()])


@needs_ge2e
def test_plain_output_is_each_encoders_output_side_by_side(clips):
    expected = _separately(clips)
    assert expected.shape == (3, 256 + 2 * 512)
    union = _union()
    out = union.fit_transform(clips)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(union.transform(clips[::-1]), expected[::-1], rtol=1e-5, atol=1e-6)
    names = union.get_feature_names_out()
    assert len(names) == expected.shape[1]
    assert names[0] == "ge2e__ge2e_l2_mean_0" and names[256] == "whisper__whisper_l1_mean_0"
    assert names[-1] == "whisper__whisper_l1_std_511"
    df = clone(union).set_output(transform="pandas").fit_transform(clips)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(names)
    np.testing.assert_allclose(df.to_numpy(), expected, rtol=1e-5, atol=1e-6)


@needs_ge2e
@pytest.mark.parametrize("output", ["default", "pandas"])
def test_views_output_is_each_views_vectors_side_by_side(clips, output):
    data = np.empty((3, 2), dtype=object)
    for i, clip in enumerate(clips):
        data[i, 0], data[i, 1] = clip, 0.3 * clip[::-1].copy()
    views = Views(data, ("clean", "other"))
    union = _union().set_output(transform=output)
    for out in (union.fit_transform(views), union.transform(views)):  # views pass set_output
        assert isinstance(out, Views) and out.names == ("clean", "other")
        assert out.data.shape == (3, 2, 256 + 1024)
        for j in range(2):
            np.testing.assert_allclose(out.data[:, j], _separately(list(data[:, j])),
                                       rtol=1e-5, atol=1e-6)


def test_nested_parameters_set_params_and_clone():
    union = EncoderUnion([("ge2e", GE2EEncoder()), ("whisper", WhisperEncoder())])
    params = union.get_params()
    assert params["whisper__layers"] == (3,) and params["ge2e__layers"] == (2,)
    assert params["whisper"] is union.transformer_list[1][1]
    union.set_params(whisper__layers=(2, "final"), ge2e__pooling=("max",), whisper__batch_size=4)
    whisper = dict(union.transformer_list)["whisper"]
    assert whisper.layers == (2, "final") and whisper.batch_size == 4
    assert dict(union.transformer_list)["ge2e"].pooling == ("max",)
    twin = clone(union)
    assert twin.get_params(deep=True)["whisper__layers"] == (2, "final")
    assert twin.get_params()["ge2e__pooling"] == ("max",)
    assert dict(twin.transformer_list)["whisper"] is not whisper  # a deep copy
    with pytest.raises(ValueError, match="Invalid parameter"):
        union.set_params(whisper__nope=1)
    # ...and from the pipeline, one level down.
    pipe = make_ser_pipeline(encoder__whisper__layers=(2, 3))
    assert pipe.get_params()["encoder__whisper__layers"] == (2, 3)
    assert clone(pipe).get_params()["encoder__ge2e__layers"] == (2,)  # the preset's
    with pytest.raises(ValueError, match="unknown pipeline parameter 'encoder__layers'"):
        make_ser_pipeline(encoder__layers=(2,))


def test_audio_estimators_opens_the_union():
    pipe = make_ser_pipeline()
    members = dict(pipe["encoder"].transformer_list)
    found = audio_estimators(pipe)
    expected = [pipe["load"], pipe["augment"], members["ge2e"], members["whisper"]]
    assert len(found) == 4 and all(a is b for a, b in zip(found, expected))
    assert not any(e is pipe["encoder"] for e in found)
    pipe.set_params(augment="passthrough", encoder__ge2e="drop")
    found = audio_estimators(pipe)
    assert len(found) == 2 and found[0] is pipe["load"] and found[1] is members["whisper"]
    # An encoder dropped when the pipeline is made is not there either.
    pipe = make_ser_pipeline(encoder__whisper="drop")
    found = audio_estimators(pipe)
    assert [type(e).__name__ for e in found] == ["AudioLoader", "WaveformAugmenter", "GE2EEncoder"]


def test_audio_estimators_of_a_pipeline_without_a_union_are_its_audio_steps():
    # The CNN presets' layout (building one imports TensorFlow: not here).
    pipe = Pipeline([("load", AudioLoader()), ("augment", WaveformAugmenter()),
                     ("features", FeatureImageExtractor()), ("cnn", LogisticRegression())])
    found = audio_estimators(pipe)
    assert len(found) == 3 and all(a is b for a, b in zip(found, pipe[:3]))


def test_runtime_settings_reach_the_encoders_inside_the_union(tmp_path):
    from sklearn_ser.cli._commands import _set_n_jobs, show_progress

    pipe = make_ser_pipeline(memory=tmp_path, n_jobs=2, verbose=0)
    encoders = [e for _, e in pipe["encoder"].transformer_list]
    assert all(e.memory == tmp_path and e.n_jobs == 2 for e in encoders)
    show_progress(pipe)
    assert all(e.verbose == 1 for e in encoders) and pipe["load"].verbose == 1
    _set_n_jobs(pipe, 3)
    assert all(e.n_jobs == 3 for e in encoders) and pipe["load"].n_jobs == 3
    assert without_runtime_settings(pipe) is pipe
    assert all(e.memory is None and e.verbose == 0 for e in encoders)
    assert pipe["load"].verbose == 0
