"""save_model/load_model (joblib + versions) and export_model/import_model (no pickle)."""

import json
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
    pipe = make_ser_pipeline(random_state=0, **params)
    pipe.fit(synthetic_speech.filenames, synthetic_speech.target)
    X = list(synthetic_speech.filenames[::8])
    return pipe, X, pipe.predict_proba(X)


def test_versions_names_the_libraries():
    v = versions()
    for key in ("sklearn_ser", "scikit-learn", "keras", "tensorflow", "librosa", "numpy"):
        assert v[key], key
    assert v["python"].count(".") == 2


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
        save_model(make_ser_pipeline(), tmp_path / "m.joblib")
    with pytest.raises(ValueError, match="not fitted"):
        export_model(make_ser_pipeline(), tmp_path / "m")


def test_export_and_import_give_identical_predictions(fitted, tmp_path):
    pipe, X, proba = fitted
    folder = export_model(pipe, tmp_path / "export", metadata={"note": "shared"})
    assert sorted(p.name for p in folder.iterdir()) == [
        "metadata.json", "network.keras", "pipeline.json"
    ]
    spec = json.loads((folder / "pipeline.json").read_text())
    assert spec["params"]["cnn__epochs"] == 3
    assert spec["params"]["features__memory"] is None
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


def test_both_formats_load_in_a_fresh_process(fitted, tmp_path):
    pipe, X, proba = fitted
    save_model(pipe, tmp_path / "model.joblib")
    export_model(pipe, tmp_path / "export")
    np.save(tmp_path / "expected.npy", proba)
    (tmp_path / "files.json").write_text(json.dumps([str(x) for x in X]))
    script = textwrap.dedent(f"""
        import json, warnings
        import numpy as np
        from sklearn_ser.persistence import load_model, import_model
        warnings.simplefilter("error")  # no version warning in the same environment
        X = json.load(open({str(tmp_path / "files.json")!r}))
        expected = np.load({str(tmp_path / "expected.npy")!r})
        np.testing.assert_array_equal(
            load_model({str(tmp_path / "model.joblib")!r}).predict_proba(X), expected)
        np.testing.assert_allclose(
            import_model({str(tmp_path / "export")!r}).predict_proba(X), expected,
            rtol=1e-6, atol=1e-7)
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")


def test_import_refuses_code_in_the_network_file(fitted, tmp_path):
    import keras

    pipe, _, _ = fitted
    folder = export_model(pipe, tmp_path / "export")
    # A Lambda layer carries Python bytecode; safe_mode must refuse to load it.
    inputs = keras.Input(shape=(2,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    keras.Model(inputs, outputs).save(folder / "network.keras")
    with pytest.raises(Exception, match="(?i)lambda|safe_mode"):
        import_model(folder)


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
    odd = make_ser_pipeline(random_state=np.random.RandomState(0), **FAST_PIPELINE_PARAMS)
    odd.steps[-1] = ("cnn", pipe.named_steps["cnn"])  # fitted network, odd parameter
    with pytest.raises(ValueError, match="augment__random_state"):
        export_model(odd, tmp_path / "y")
