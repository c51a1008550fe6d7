"""The HTTP API of ``sklearn-ser serve``: every endpoint and every refused input.

Answers are compared with the library called directly on the same files
(``predict_proba``, ``predict_segments``), not with the server's own state.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import threading
import time
from pathlib import Path

import multipart  # noqa: F401, E402 - the test extra brings the [serve] requirements
import numpy as np
import pytest
import soundfile as sf
import starlette  # noqa: F401, E402
from starlette.testclient import TestClient  # noqa: E402

from sklearn_ser import make_ser_pipeline, predict_segments  # noqa: E402
from sklearn_ser.cli import main  # noqa: E402
from sklearn_ser.persistence import export_model, save_model  # noqa: E402
from sklearn_ser.serve import (  # noqa: E402
    UploadLimits,
    create_app,
    is_loopback,
    load_served_model,
)
from sklearn_ser.serve._limits import clip_name  # noqa: E402

TOKEN = "a-test-token-of-24-chars"


@pytest.fixture(scope="module")
def saved(synthetic_speech, tmp_path_factory):
    """A recommended pipeline fitted on 3 synthetic speakers, saved and exported."""
    train = synthetic_speech.speaker != "synth_spk04"
    pipe = make_ser_pipeline("recommended", random_state=0)
    pipe.fit(synthetic_speech.filenames[train], synthetic_speech.target[train])
    d = tmp_path_factory.mktemp("served")
    metadata = {
        "preset": "recommended", "corpora": {"synthetic": "/private/data/folder"},
        "evaluation": {"protocol": "speaker_kfold", "n_splits": 3,
                       "summary": {"accuracy": {"mean": 0.75, "std": 0.05}}},
    }
    path = save_model(pipe, d / "synth.joblib", metadata=metadata)
    folder = export_model(pipe, d / "synth_export", metadata=metadata)
    return pipe, path, folder, synthetic_speech.filenames[~train]


@pytest.fixture(scope="module")
def served(saved):
    return load_served_model(saved[1])


@pytest.fixture
def client(served, tmp_path, monkeypatch):
    # Uploads' private folders go under tmp_path, so a test can see that none is left.
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    limits = UploadLimits(max_request_mb=2, max_files=4, max_clip_seconds=5,
                          max_recording_seconds=20)
    with TestClient(create_app(served, limits=limits, workers=2,
                               allowed_hosts=["testserver"])) as client:
        yield client
    assert list(tmp_path.glob("sklearn_ser_serve_*")) == []  # every upload folder removed


def _file(path, name=None, content_type="audio/wav"):
    return ("file", (name or Path(path).name, Path(path).read_bytes(), content_type))


def _wav_bytes(y, sr=16000, subtype="PCM_16", fmt="WAV"):
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, subtype=subtype, format=fmt)
    return buffer.getvalue()


def _tone(seconds, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _assert_refused(response, status, code, *fragments):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    for fragment in fragments:
        assert fragment in body["message"], body
    return body


# -- GET ----------------------------------------------------------------------------------------
def test_health_and_model(client, saved):
    pipe = saved[0]
    health = client.get("/health").json()
    assert health == {"status": "ok", "model": "synth.joblib", "workers": 2, "in_progress": 0}
    info = client.get("/model").json()
    assert info["classes"] == ["angry", "happy", "neutral", "sad"]
    assert info["classes"] == [str(c) for c in pipe.classes_]
    assert info["preset"] == "recommended" and info["sample_rate"] == 16000
    assert [name for name, _ in info["steps"]] == [name for name, _ in pipe.steps]
    assert info["versions"]["model"]["scikit-learn"] == info["versions"]["server"]["scikit-learn"]
    card = info["card"]
    assert card["trained_on"] == ["synthetic"]  # the corpus name, never its folder
    assert "/private/data" not in json.dumps(info)
    assert card["evaluation"] == {"protocol": "speaker_kfold", "folds": 3,
                                  "accuracy": {"mean": 0.75, "std": 0.05}}
    assert info["limits"] == {"max_request_mb": 2, "max_files": 4, "max_clip_seconds": 5,
                              "max_recording_seconds": 20}


def test_page_and_static_files_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "<title>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    # Offline: every script and style is the package's own.
    assert "http://" not in page.text and "https://" not in page.text
    for name in ("app.js", "style.css", "recorder-worklet.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and "https://" not in response.text
    assert client.get("/static/../_app.py").status_code == 404


def test_openapi_schema_lists_every_route(client):
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    routes = {route.path: set(route.methods) - {"HEAD"}
              for route in client.app.routes if hasattr(route, "methods")}
    documented = {path: {m.upper() for m in ops} for path, ops in schema["paths"].items()}
    assert documented == routes
    upload = schema["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["maxItems"] == 4


def test_unknown_route_and_method_are_json_errors(client):
    _assert_refused(client.get("/nope"), 404, "not_found")
    _assert_refused(client.get("/predict"), 405, "method_not_allowed")


# -- POST /predict --------------------------------------------------------------------------------
def test_predict_one_and_several_clips_like_the_library(client, saved):
    pipe, _, _, files = saved
    expected = pipe.predict_proba(list(files[:3]))
    response = client.post("/predict", files=[_file(f) for f in files[:3]])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["classes"] == [str(c) for c in pipe.classes_]
    got = np.array([[p["probabilities"][c] for c in body["classes"]]
                    for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert [p["label"] for p in body["predictions"]] == list(
        pipe.classes_[expected.argmax(axis=1)])
    assert [p["name"] for p in body["predictions"]] == [Path(f).name for f in files[:3]]


def test_content_is_judged_by_decoding_not_by_name(client, saved):
    pipe, _, _, files = saved
    y, sr = sf.read(files[0], dtype="float32")
    flac = _wav_bytes(y, sr, subtype="PCM_16", fmt="FLAC")
    response = client.post("/predict", files=[("file", ("clip.mp3", flac, "text/plain"))])
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(
        list(response.json()["predictions"][0]["probabilities"].values()),
        pipe.predict_proba([files[0]])[0], atol=1e-3)  # FLAC at 16 bits: nearly the same
    text = ("file", ("speech.wav", b"RIFF but not really a wave file at all", "audio/wav"))
    body = _assert_refused(client.post("/predict", files=[text]), 422, "bad_audio",
                           "speech.wav", "cannot be decoded as audio")
    assert body["problems"] == [{"index": 0, "name": "speech.wav",
                                 "problem": body["problems"][0]["problem"]}]


def test_client_names_are_labels_never_paths(client, saved, tmp_path):
    files = saved[3]
    hostile = [_file(files[0], "../../../../etc/passwd"), _file(files[1], "C:\\x\\..\\y.wav"),
               _file(files[2], "   ")]
    body = client.post("/predict", files=hostile).json()
    assert [p["name"] for p in body["predictions"]] == ["passwd", "y.wav", "clip 3"]
    assert not (tmp_path.parent / "etc").exists()
    # Control characters (terminal escapes in a log or a page) never come back.
    assert clip_name("a\x00\x1b[31mb\x7f.wav", 0) == "a[31mb.wav"
    assert clip_name(None, 4) == "clip 5" and len(clip_name("x" * 500, 0)) == 120


@pytest.mark.parametrize("make, fragment", [
    (lambda: b"", "empty"),
    (lambda: _wav_bytes(np.zeros(16000, dtype=np.float32)), "silent"),
    (lambda: _wav_bytes(_tone(0.02)), "too short"),
    (lambda: _wav_bytes(np.where(np.arange(16000) % 50 == 0, np.nan, _tone(1.0)),
                        subtype="FLOAT"), "NaN"),
    (lambda: _wav_bytes(_tone(1.0))[:30], "cannot be decoded"),
])
def test_clips_the_library_refuses_are_422_and_the_server_goes_on(client, saved, make,
                                                                 fragment):
    files = saved[3]
    response = client.post("/predict", files=[_file(files[0]),
                                              ("file", ("bad.wav", make(), "audio/wav"))])
    body = _assert_refused(response, 422, "bad_audio", "bad.wav")
    assert [p["index"] for p in body["problems"]] == [1]  # only the bad one, by position
    assert fragment.lower() in body["problems"][0]["problem"].lower()
    assert "sklearn_ser_serve_" not in response.text  # no private path in any message
    assert client.post("/predict", files=[_file(files[0])]).status_code == 200


def test_every_bad_clip_is_listed_at_once(client, saved):
    files = saved[3]
    response = client.post("/predict", files=[
        ("file", ("a.wav", b"", "audio/wav")), _file(files[0]),
        ("file", ("c.wav", b"junk", "audio/wav"))])
    body = _assert_refused(response, 422, "bad_audio", "2 clips")
    assert [(p["index"], p["name"]) for p in body["problems"]] == [(0, "a.wav"), (2, "c.wav")]


def test_duration_is_limited_from_the_header(client):
    long = ("file", ("long.wav", _wav_bytes(_tone(6.0)), "audio/wav"))
    _assert_refused(client.post("/predict", files=[long]), 413, "too_long",
                    "long.wav", "6.0 s", "limit is 5 s")
    # A 2 KB file whose header claims a rate of 1 Hz: refused like the library refuses it.
    lie = ("file", ("lie.wav", _wav_bytes(_tone(1000 / 16000), sr=1), "audio/wav"))
    started = time.perf_counter()
    _assert_refused(client.post("/predict", files=[lie]), 422, "bad_audio", "lie.wav",
                    "sample rate")
    assert time.perf_counter() - started < 2  # refused before any resampling


def test_request_size_is_limited(client, saved):
    big = ("file", ("big.wav", b"\0" * (3 * 2**20), "audio/wav"))
    _assert_refused(client.post("/predict", files=[big]), 413, "too_large", "2 MiB")

    def chunks():  # no Content-Length: counted while it streams in
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.wav\"\r\n\r\n"
        for _ in range(40):
            yield b"\0" * 2**16
        yield b"\r\n--b--\r\n"

    response = client.post("/predict", content=chunks(),
                           headers={"content-type": "multipart/form-data; boundary=b"})
    _assert_refused(response, 413, "too_large")
    assert client.get("/health").status_code == 200


def test_malformed_requests_are_4xx(client, saved):
    files = saved[3]
    _assert_refused(client.post("/predict", files=[_file(files[0])] * 5), 400, "bad_request",
                    "Too many files")
    _assert_refused(client.post("/predict", files={"speaker": (None, "x")}), 400,
                    "bad_request", "no audio")
    _assert_refused(client.post("/predict", files=[_file(files[0])], data={"path": "/etc"}),
                    400, "bad_request", "unknown form field 'path'")
    _assert_refused(client.post("/predict", files={"file": (None, "/etc/passwd")}), 400,
                    "bad_request", "uploaded files")
    _assert_refused(client.post("/predict", content=b"RIFF....",
                                headers={"content-type": "audio/wav"}),
                    415, "unsupported_media_type")
    _assert_refused(client.post("/predict", content=b"--x\r\nnonsense",
                                headers={"content-type": "multipart/form-data; boundary=x"}),
                    400, "bad_request")
    assert client.post("/predict", files=[_file(files[0])]).status_code == 200


def test_uploads_live_in_a_private_folder_removed_after_the_request(client, served, saved,
                                                                   monkeypatch, tmp_path):
    seen = {}
    real = served.pipeline.predict_proba

    def spy(X, **kwargs):
        folder = Path(X[0]).parent
        seen["mode"] = stat.S_IMODE(folder.stat().st_mode)
        seen["folder"], seen["names"] = folder, [Path(x).name for x in X]
        return real(X, **kwargs)

    monkeypatch.setattr(served.pipeline, "predict_proba", spy)
    files = saved[3]
    assert client.post("/predict", files=[_file(files[0], "../a.wav"),
                                          _file(files[1])]).status_code == 200
    assert seen["mode"] == 0o700
    assert seen["folder"].parent == tmp_path
    assert seen["names"] == ["upload-0", "upload-1"]  # the server's names, not the client's
    assert not seen["folder"].exists()


def test_an_unexpected_failure_is_a_500_and_the_server_goes_on(served, saved, monkeypatch):
    files = saved[3]
    # As a real server does: answer the 500 (the test client would re-raise by default).
    client = TestClient(create_app(served, allowed_hosts=["testserver"]),
                        raise_server_exceptions=False)
    calls = []

    def broken(X, **kwargs):
        calls.append(1)
        raise RuntimeError("boom")

    monkeypatch.setattr(served.pipeline, "predict_proba", broken)
    response = client.post("/predict", files=[_file(files[0])])
    _assert_refused(response, 500, "internal_error", "RuntimeError")
    assert "boom" not in response.text and calls == [1]
    monkeypatch.undo()
    assert client.post("/predict", files=[_file(files[0])]).status_code == 200


# -- POST /segments ---------------------------------------------------------------------------
def test_segments_like_the_library(client, saved, tmp_path):
    pipe, _, _, files = saved
    waves = [sf.read(f, dtype="float32")[0] for f in files[:3]]
    gap = np.zeros(8000, dtype=np.float32)
    recording = tmp_path / "rec.wav"
    sf.write(recording, np.concatenate([waves[0], gap, waves[1], gap, waves[2]]), 16000)
    expected = predict_segments(pipe, recording, window=0.5, hop=0.25, smooth=2)
    response = client.post("/segments", files=[_file(recording)],
                           data={"window": "0.5", "hop": "0.25", "smooth": "2"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "rec.wav" and body["classes"] == [str(c) for c in pipe.classes_]
    rows = body["segments"]
    assert [r["label"] for r in rows] == list(expected["label"])
    np.testing.assert_allclose([r["start"] for r in rows], expected["start"])
    np.testing.assert_allclose([r["end"] for r in rows], expected["end"])
    assert [r["speech"] for r in rows] == list(expected["speech"])
    speech = expected[expected.speech]
    got = np.array([[r["probabilities"][c] for c in body["classes"]]
                    for r in rows if r["speech"]])
    np.testing.assert_allclose(got, speech[body["classes"]].to_numpy(), rtol=1e-6)
    assert all(r["probabilities"] is None for r in rows if not r["speech"])
    assert body["duration"] == pytest.approx(sf.info(recording).duration, abs=1e-3)


@pytest.mark.parametrize("data, status, fragment", [
    ({"window": "abc"}, 422, "window must be a number"),
    ({"window": "-1"}, 422, "window must be >= 0"),
    ({"window": "nan"}, 422, "window must be >= 0"),
    ({"smooth": "1.5"}, 422, "smooth must be an integer"),
    ({"window": "1", "hop": "2"}, 422, "hop must be > 0 and <= window"),
    ({"window": "0"}, 422, "window must be > 0"),
])
def test_segments_options_are_checked(client, saved, data, status, fragment):
    response = client.post("/segments", files=[_file(saved[3][0])], data=data)
    _assert_refused(response, status, "bad_parameter", fragment)


def test_segments_refuses_long_and_bad_recordings_and_several_files(client, saved):
    long = ("file", ("long.wav", _wav_bytes(_tone(21.0)), "audio/wav"))
    _assert_refused(client.post("/segments", files=[long]), 413, "too_long", "limit is 20 s")
    _assert_refused(client.post("/segments", files=[("file", ("x.wav", b"junk", "audio/x"))]),
                    422, "bad_audio", "x.wav")
    _assert_refused(client.post("/segments", files=[_file(saved[3][0])] * 2), 400,
                    "bad_request", "Too many files")


# -- the guard ------------------------------------------------------------------------------------
def test_token_is_checked_on_every_request(served, saved):
    app = create_app(served, token=TOKEN, allowed_hosts=None)
    with TestClient(app) as anonymous:
        for method, path in [("get", "/"), ("get", "/health"), ("get", "/model"),
                             ("get", "/static/app.js"), ("get", "/openapi.json"),
                             ("post", "/predict"), ("post", "/segments")]:
            _assert_refused(getattr(anonymous, method)(path), 401, "unauthorized")
        _assert_refused(anonymous.get("/health", headers={"authorization": "Bearer nope"}),
                        401, "unauthorized")
        _assert_refused(anonymous.get("/?token=wrong"), 401, "unauthorized")
    with TestClient(app, headers={"authorization": f"Bearer {TOKEN}"}) as bearer:
        assert bearer.get("/health").status_code == 200
        assert bearer.post("/predict", files=[_file(saved[3][0])]).status_code == 200
    with TestClient(app) as browser:
        login = browser.get(f"/?token={TOKEN}", follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/"
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get("/model").status_code == 200  # the cookie from now on
        assert browser.get("/").status_code == 200


def test_host_header_is_checked_on_a_loopback_server(served):
    app = create_app(served)  # default: loopback names only
    for base, ok in [("http://127.0.0.1:8000", True), ("http://localhost", True),
                     ("http://[::1]:8000", True), ("http://attacker.example", False),
                     ("http://127.0.0.1.attacker.example", False)]:
        with TestClient(app, base_url=base) as c:
            response = c.get("/health")
        assert (response.status_code == 200) == ok, base
        if not ok:
            _assert_refused(response, 400, "bad_host")


def test_a_slow_recording_does_not_block_short_clips(served, saved, monkeypatch):
    release, started = _slow_segments(monkeypatch)
    files = saved[3]
    with TestClient(create_app(served, workers=2, max_queue=0,
                               allowed_hosts=["testserver"])) as client:
        results = {}
        thread = threading.Thread(target=lambda: results.update(
            seg=client.post("/segments", files=[_file(files[0])])))
        thread.start()
        assert started.wait(20)
        short = client.post("/predict", files=[_file(files[1])])  # the other worker
        assert short.status_code == 200
        assert client.get("/health").json()["in_progress"] == 1
        release.set()
        thread.join(30)
        assert results["seg"].status_code == 200

        # One worker busy and no queue: the next request is refused, not queued forever.
        release.clear(), started.clear()
        one = TestClient(create_app(served, workers=1, max_queue=0,
                                    allowed_hosts=["testserver"]))
        with one:
            thread = threading.Thread(target=lambda: results.update(
                seg=one.post("/segments", files=[_file(files[0])])))
            thread.start()
            assert started.wait(20)
            busy = one.post("/predict", files=[_file(files[1])])
            _assert_refused(busy, 503, "busy")
            assert busy.headers["retry-after"] == "1"
            release.set()
            thread.join(30)
            assert results["seg"].status_code == 200


def _slow_segments(monkeypatch):
    """predict_segments that waits for an event: (release, started)."""
    import sklearn_ser.segments

    release, started = threading.Event(), threading.Event()

    def slow(*args, **kwargs):
        started.set()
        assert release.wait(20)
        return predict_segments(*args, **kwargs)

    monkeypatch.setattr(sklearn_ser.segments, "predict_segments", slow)
    return release, started


@pytest.mark.parametrize("bad", [False, True])
def test_waiting_clips_are_predicted_in_one_call(served, saved, monkeypatch, bad):
    pipe, _, _, files = saved
    calls = []
    real = served.pipeline.predict_proba

    def spy(X, **kwargs):
        calls.append(len(X))
        return real(X, **kwargs)

    monkeypatch.setattr(served.pipeline, "predict_proba", spy)
    release, started = _slow_segments(monkeypatch)
    silent = ("file", ("silent.wav", _wav_bytes(np.zeros(16000, "float32")), "audio/wav"))
    uploads = [[_file(files[0])], [_file(files[1]), _file(files[2])],
               [silent] if bad else [_file(files[3])]]
    app = create_app(served, workers=1, allowed_hosts=["testserver"])
    results = {}
    with TestClient(app) as client:
        held = threading.Thread(target=lambda: client.post("/segments",
                                                           files=[_file(files[0])]))
        held.start()
        assert started.wait(20)
        threads = [threading.Thread(target=lambda i=i, u=u: results.update(
            {i: client.post("/predict", files=u)})) for i, u in enumerate(uploads)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while app.state.workers._jobs.qsize() < 3:  # all three wait behind the recording
            assert time.monotonic() < deadline
            time.sleep(0.02)
        release.set()
        for thread in [held, *threads]:
            thread.join(30)
    assert calls[0] == 4  # one call for the waiting clips of three requests
    if bad:  # the silent clip fails its own request; the others are predicted again
        assert calls[1:] == [3]
        _assert_refused(results[2], 422, "bad_audio", "silent.wav")
    expected = pipe.predict_proba(list(files[:3]) + ([] if bad else [files[3]]))
    got = [p["probabilities"] for i in sorted(results) if results[i].status_code == 200
           for p in results[i].json()["predictions"]]
    np.testing.assert_allclose([[p[c] for c in map(str, pipe.classes_)] for p in got],
                               expected, rtol=1e-5, atol=1e-8)


# -- loading, limits, command line ----------------------------------------------------------
def test_an_exported_folder_serves_the_same_predictions(saved):
    pipe, _, folder, files = saved
    with TestClient(create_app(load_served_model(folder),
                               allowed_hosts=["testserver"])) as client:
        info = client.get("/model").json()
        assert info["source"] == "synth_export" and info["card"]["trained_on"] == ["synthetic"]
        body = client.post("/predict", files=[_file(files[0])]).json()
    np.testing.assert_allclose(list(body["predictions"][0]["probabilities"].values()),
                               pipe.predict_proba([files[0]])[0], rtol=1e-6)


def test_load_served_model_refuses_what_is_not_a_model(tmp_path):
    import joblib

    from sklearn_ser.exceptions import ModelFileError

    joblib.dump({"format": "something else"}, tmp_path / "x.joblib")
    with pytest.raises(ModelFileError, match="not a sklearn_ser model"):
        load_served_model(tmp_path / "x.joblib")
    with pytest.raises(FileNotFoundError):
        load_served_model(tmp_path / "missing.joblib")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="missing pipeline.json"):
        load_served_model(tmp_path / "empty")


@pytest.mark.parametrize("kwargs, name", [
    ({"max_request_mb": 0}, "max_request_mb"), ({"max_files": 0}, "max_files"),
    ({"max_clip_seconds": float("inf")}, "max_clip_seconds"),
    ({"max_recording_seconds": -1}, "max_recording_seconds"), ({"max_files": 2.5}, "max_files"),
])
def test_limits_are_checked(kwargs, name):
    with pytest.raises(ValueError, match=name):
        UploadLimits(**kwargs)


def test_create_app_checks_its_parameters(served):
    with pytest.raises(ValueError, match="workers"):
        create_app(served, workers=0)
    with pytest.raises(ValueError, match="max_queue"):
        create_app(served, max_queue=-1)
    with pytest.raises(ValueError, match="token"):
        create_app(served, token="")


def test_is_loopback():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.2", "example.com",
                                     "localhost.example.com"]))


@pytest.fixture
def captured_run(monkeypatch):
    """uvicorn.run replaced by a recorder: the CLI's app and address, without a server."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.delenv("SKLEARN_SER_TOKEN", raising=False)
    return calls


def test_cli_serve_loopback(saved, captured_run, capsys):
    assert main(["serve", str(saved[1]), "--port", "8123", "--workers", "1",
                 "--max-clip-seconds", "4"]) == 0
    app, kw = captured_run[0]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8123
    assert "http://127.0.0.1:8123/" in capsys.readouterr().err
    with TestClient(app, base_url="http://127.0.0.1:8123") as client:
        info = client.get("/model").json()
        assert info["limits"]["max_clip_seconds"] == 4
        assert client.get("/health").json()["workers"] == 1
    with TestClient(app, base_url="http://attacker.example") as client:
        assert client.get("/health").status_code == 400


def test_cli_serve_elsewhere_needs_a_token(saved, captured_run, capsys, monkeypatch):
    assert main(["serve", str(saved[1]), "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--token" in err and "SKLEARN_SER_TOKEN" in err and captured_run == []
    assert main(["serve", str(saved[1]), "--host", "0.0.0.0", "--token", "short"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    monkeypatch.setenv("SKLEARN_SER_TOKEN", TOKEN)
    assert main(["serve", str(saved[1]), "--host", "0.0.0.0"]) == 0
    app, kw = captured_run[0]
    assert kw["host"] == "0.0.0.0"
    with TestClient(app, base_url="http://10.1.2.3:8000") as client:
        assert client.get("/health").status_code == 401
        assert client.get("/health", headers={"authorization": f"Bearer {TOKEN}"}) \
            .status_code == 200


def test_cli_serve_bad_model_is_one_line(tmp_path, captured_run, capsys):
    assert main(["serve", str(tmp_path / "missing.joblib")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sklearn-ser: error: ") and "missing.joblib" in err
    assert main(["serve", str(tmp_path), "--max-upload-mb", "0"]) == 2


def test_wav_header_helper_round_trip():
    # The hostile "1 Hz" file of test_duration_is_limited_from_the_header really says 1 Hz.
    data = _wav_bytes(_tone(1000 / 16000), sr=1)
    assert struct.unpack("<I", data[24:28])[0] == 1
