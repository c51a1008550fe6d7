"""openSMILE functionals as a scikit-learn transformer (synthetic audio only)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ser.views import Views

try:  # the README's install command brings the opensmile extra: CI requires it
    import opensmile  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the extra
    from conftest import REQUIRE_DATA, required

    if required(REQUIRE_DATA):
        raise
    pytest.skip(f"opensmile is not installed ({exc})", allow_module_level=True)

from sklearn_ser import AudioLoader, OpenSmileFunctionals  # noqa: E402
from sklearn_ser.functionals import available_feature_sets  # noqa: E402

SR = 16000


def _tone(seconds: float, f0: float, seed: int) -> np.ndarray:
    """A harmonic tone with vibrato and a little noise: voiced enough for F0 functionals."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (0.2 * y * np.hanning(len(t)) + 0.01 * rng.normal(size=len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def waves() -> list[np.ndarray]:
    return [_tone(0.6, f0, seed) for seed, f0 in enumerate((110.0, 160.0, 220.0, 300.0))]


def _views(waves: list[np.ndarray]) -> Views:
    data = np.empty((len(waves), 2), dtype=object)
    for i, y in enumerate(waves):
        data[i, 0] = y
        data[i, 1] = (0.5 * y).astype(np.float32)
    return Views(data, ("clean", "gain"))


def test_shape_dtype_and_names(waves):
    smile = OpenSmileFunctionals().fit(waves)
    out = smile.transform(waves)
    assert out.shape == (4, 88) and out.dtype == np.float32
    assert np.isfinite(out).all()
    names = smile.get_feature_names_out()
    assert len(names) == 88 and names.dtype == object
    assert names[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"
    # A 1-D object array (AudioLoader's output) gives the same rows as a list.
    clips = np.empty(len(waves), dtype=object)
    clips[:] = waves
    np.testing.assert_array_equal(smile.transform(clips), out)


def test_other_feature_set(waves):
    assert {"eGeMAPSv02", "ComParE_2016", "GeMAPSv01b"} <= set(available_feature_sets())
    out = OpenSmileFunctionals("GeMAPSv01b").fit_transform(waves[:2])
    assert out.shape == (2, 62)


def test_pandas_output(waves):
    smile = OpenSmileFunctionals().set_output(transform="pandas")
    frame = smile.fit_transform(waves)
    assert list(frame.columns) == list(smile.get_feature_names_out())
    assert frame.shape == (4, 88)
    np.testing.assert_array_equal(frame.to_numpy(), smile.transform(waves).to_numpy())


def test_views_in_views_out(waves):
    views = _views(waves)
    smile = OpenSmileFunctionals().set_output(transform="pandas")  # must not break on views
    out = smile.fit_transform(views)
    assert isinstance(out, Views)
    assert out.names == ("clean", "gain")
    assert out.data.shape == (4, 2, 88)
    plain = OpenSmileFunctionals().fit_transform(waves)
    np.testing.assert_array_equal(out.clean(), plain)
    assert not np.array_equal(out.data[:, 1], plain)  # the quieter view has other loudness


def test_parallel_equals_serial(waves):
    serial = OpenSmileFunctionals(n_jobs=1).fit_transform(waves)
    parallel = OpenSmileFunctionals(n_jobs=2).fit_transform(waves)
    np.testing.assert_array_equal(parallel, serial)


def test_bad_feature_set_fails_at_fit_naming_the_parameter(waves):
    smile = OpenSmileFunctionals(feature_set="eGeMAPSv99")  # construction never fails
    with pytest.raises(ValueError, match="'feature_set' parameter.*eGeMAPSv99"):
        smile.fit(waves)
    with pytest.raises(ValueError, match="'sr' parameter"):
        OpenSmileFunctionals(sr=0).fit(waves)
    with pytest.raises(TypeError, match="'feature_set' parameter"):
        OpenSmileFunctionals(feature_set=3).fit(waves)
    with pytest.raises(ValueError, match="'n_jobs' parameter"):
        OpenSmileFunctionals(n_jobs=0).fit(waves)
    # The command line checks every step before reading audio: the feature set too.
    from sklearn_ser._validation import validate_pipeline

    pipe = make_pipeline(AudioLoader(sr=SR), OpenSmileFunctionals("eGeMAPSv99"))
    with pytest.raises(ValueError, match="'opensmilefunctionals__feature_set' parameter"):
        validate_pipeline(pipe)


def test_too_short_clip_is_named(waves):
    smile = OpenSmileFunctionals().fit(waves)
    with pytest.raises(ValueError, match=r"clip 2 \(0\.006 s.*too short"):
        smile.transform([waves[0], waves[1], waves[0][:100]])
    data = _views(waves).data.copy()
    data[3, 1] = waves[3][:50]
    with pytest.raises(ValueError, match=r"clip 3 \(view 'gain'\)"):
        smile.transform(Views(data, ("clean", "gain")))


def test_file_paths_are_refused():
    with pytest.raises(TypeError, match="AudioLoader"):
        OpenSmileFunctionals().fit(["a.wav", "b.wav"])


def test_missing_package_error(monkeypatch, waves):
    monkeypatch.setitem(sys.modules, "opensmile", None)  # `import opensmile` now fails
    with pytest.raises(ImportError, match=r'pip install "sklearn-ser\[opensmile\]"'):
        OpenSmileFunctionals().fit(waves)


def test_clone_and_params():
    smile = OpenSmileFunctionals("ComParE_2016", sr=22050, n_jobs=2, verbose=1)
    params = clone(smile).get_params()
    assert params == {"feature_set": "ComParE_2016", "sr": 22050, "n_jobs": 2, "verbose": 1}
    assert "ComParE_2016" in repr(smile)


def test_import_does_not_load_opensmile_or_tensorflow():
    code = (
        "import sys, sklearn_ser; from sklearn_ser import OpenSmileFunctionals; "
        "OpenSmileFunctionals(); "
        "print('opensmile' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.split() == ["False", "False"]


def test_pipeline_on_wav_files(tmp_path, waves):
    paths, labels = [], []
    for i in range(12):
        low = i % 2 == 0
        y = _tone(0.5, (120.0 if low else 280.0) + 5 * i, seed=100 + i)
        path = tmp_path / f"clip_{i:02d}.wav"
        sf.write(path, y, SR)
        paths.append(str(path))
        labels.append("low" if low else "high")
    pipe = make_pipeline(AudioLoader(sr=SR), OpenSmileFunctionals(), StandardScaler(),
                         LogisticRegression())
    pipe.fit(paths, labels)
    assert list(pipe.predict(paths)) == labels
    assert pipe.predict_proba(paths[:3]).shape == (3, 2)
    names = pipe[1].get_feature_names_out()
    assert len(names) == 88
