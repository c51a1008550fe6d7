"""The page of ``sklearn-ser serve`` in a real browser: system Chromium driven by Playwright.

Uploads a clip and reads the label, records through Chromium's fake microphone
(a WAV file played as the microphone) and reads a label, and uploads a long
recording and sees the timeline. Skipped when Chromium or Playwright is
missing, unless ``SKLEARN_SER_REQUIRE_BROWSER`` is set (CI sets it and installs
Debian's ``chromium``): then their absence fails.

With ``SKLEARN_SER_SCREENSHOTS=DIR`` the page is also saved as PNGs at 1400 px
and 420 px wide (the docs' screenshots: ``DIR=docs/_static``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import starlette  # noqa: F401, E402 - the test extra brings the [serve] requirements
import uvicorn  # noqa: E402

from sklearn_ser.datasets import make_emotional_speech

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


def _required() -> bool:
    return os.environ.get("SKLEARN_SER_REQUIRE_BROWSER", "").strip().lower() in ("1", "true",
                                                                                  "yes")


def _chromium() -> str:
    """The system Chromium's path; skip (or fail when required) without it or Playwright."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    problem = None
    if found is None:
        problem = "system Chromium not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright (the Python package) is not installed"
    if problem:
        if _required():
            pytest.fail(f"{problem}; SKLEARN_SER_REQUIRE_BROWSER is set, so this is a failure")
        pytest.skip(problem)
    return found


@pytest.fixture(scope="module")
def clips(synthetic_speech, tmp_path_factory):
    """A short clip, a 3 s clip for the fake microphone, and a 14 s recording (16-bit WAV)."""
    d = tmp_path_factory.mktemp("browser_clips")
    long = make_emotional_speech(n_speakers=1, n_clips_per_emotion=1, duration=3.0,
                                 out_dir=d / "long", random_state=7)
    waves = [sf.read(f, dtype="float32")[0] for f in long.filenames]
    rate = sf.info(long.filenames[0]).samplerate
    pause = np.zeros(int(0.6 * rate), dtype=np.float32)
    out = {"short": Path(synthetic_speech.filenames[0])}
    out["mic"] = d / "mic.wav"
    sf.write(out["mic"], waves[0], rate, subtype="PCM_16")
    out["long"] = d / "long_recording.wav"
    sf.write(out["long"], np.concatenate([w for wave in waves for w in (wave, pause)]), rate,
             subtype="PCM_16")
    return out


@pytest.fixture(scope="module")
def server(synthetic_speech, tmp_path_factory):
    """A saved model served by uvicorn on a free loopback port, in a thread: (URL, classes)."""
    from sklearn_ser import make_ser_pipeline
    from sklearn_ser.persistence import save_model
    from sklearn_ser.serve import create_app, load_served_model

    pipe = make_ser_pipeline("recommended", random_state=0)
    pipe.fit(synthetic_speech.filenames, synthetic_speech.target)
    path = save_model(pipe, tmp_path_factory.mktemp("served") / "synthetic.joblib",
                      metadata={"preset": "recommended", "trained_on": "synthetic speech"})
    app = create_app(load_served_model(path), workers=2)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", [str(c) for c in pipe.classes_]
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser(clips):
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={clips['mic']}"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    url, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["microphone"], origin=url)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A 4xx answer is logged by the browser as a failed resource: that one is expected.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.goto(url + "/")
    # Waits by selector: the page's CSP (script-src 'self') refuses Playwright's eval.
    page.wait_for_selector("#about dt")
    yield page
    context.close()
    assert errors == []  # no script error, no CSP violation


def _shoot(page, name: str) -> None:
    folder = os.environ.get("SKLEARN_SER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _label(page) -> str:
    page.wait_for_selector("#result:not([hidden])", timeout=20_000)
    return page.locator("#label").inner_text().strip()


def test_upload_a_clip_shows_its_label_and_bars(page, server, clips):
    _, classes = server
    assert ", ".join(classes) in page.locator("#model-line").inner_text()
    page.set_input_files("#file", str(clips["short"]))
    label = _label(page)
    assert label in classes
    bars = page.locator(".bar-row")
    assert bars.count() == len(classes)
    # The bars are sorted, the first one is the label, and the percentages add up to ~100.
    assert bars.first.locator(".bar-name").inner_text() == label
    values = [int(v.rstrip(" %")) for v in page.locator(".bar-value").all_inner_texts()]
    assert values == sorted(values, reverse=True) and 97 <= sum(values) <= 103
    _shoot(page, "serving.png")
    page.set_viewport_size({"width": 420, "height": 900})
    _shoot(page, "serving_narrow.png")


def test_record_from_the_microphone_shows_a_label(page, server):
    _, classes = server
    page.click("#record")
    # The counter shows whole seconds (rounded): "2 s" is at least 1.5 s of wall time.
    page.wait_for_selector("#record-status:has-text('Recording: 2 s')", timeout=10_000)
    page.keyboard.press("Enter")  # focus moved to Stop: the keyboard stops it
    label = _label(page)
    assert label in classes
    seconds = float(page.locator("#record-status").inner_text().split()[1])
    assert 1.0 <= seconds <= 6.0  # the samples the page really got from the microphone


def test_a_long_recording_shows_the_timeline(page, server, clips):
    _, classes = server
    page.set_input_files("#file", str(clips["long"]))
    page.wait_for_selector("#timeline-box:not([hidden])", timeout=30_000)
    assert _label(page) in classes
    rects = page.locator("#timeline svg rect")
    assert rects.count() >= 8  # windows every second plus the pauses between clips
    rows = page.locator("#segments-table tbody tr")
    assert rows.count() == rects.count()
    labels = set(page.locator("#segments-table tbody tr td:nth-child(3)").all_text_contents())
    assert labels <= {*classes, "<no speech>"} and "<no speech>" in labels
    _shoot(page, "serving_timeline.png")


def test_a_refused_file_shows_the_servers_message(page, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#status.error")
    assert "cannot be decoded as audio" in page.locator("#status").inner_text()
    assert page.locator("#result").is_hidden()
