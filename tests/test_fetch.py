"""Tests of the fetchers against archives served on 127.0.0.1 by the test itself."""

from __future__ import annotations

import http.server
import io
import itertools
import socket
import tarfile
import threading
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pooch
import pytest
import soundfile as sf

from sklearn_ser.datasets import (
    CORPORA,
    DatasetWarning,
    ManualDownloadError,
    fetch_crema_d,
    fetch_ravdess,
    fetch_savee,
    fetch_tess,
    list_corpora,
)


def _wav_bytes() -> bytes:
    t = np.arange(1600) / 8000
    buf = io.BytesIO()
    sf.write(buf, 0.1 * np.sin(2 * np.pi * 220 * t), 8000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _ravdess_members() -> list[str]:
    names = []
    for actor, emo, inten, stmt, rep in itertools.product(
        (1, 2), range(1, 9), (1, 2), (1, 2), (1, 2)
    ):
        if emo == 1 and inten == 2:
            continue
        stem = f"03-01-{emo:02d}-{inten:02d}-{stmt:02d}-{rep:02d}-{actor:02d}"
        names.append(f"Actor_{actor:02d}/{stem}.wav")
    return names


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch, tmp_path):
    """Fail any attempt to resolve a host other than the local test server."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"test tried to reach {host!r}; only 127.0.0.1 is allowed")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    # Never touch the user's real cache, whatever a test forgets to pass.
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "default_data_home"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Serve a fake RAVDESS zip and a fake SAVEE tarball; count the requests."""
    root = tmp_path_factory.mktemp("www")
    wav = _wav_bytes()
    with zipfile.ZipFile(root / "Audio_Speech_Actors_01-24.zip", "w") as zf:
        for member in _ravdess_members():
            zf.writestr(member, wav)
    with tarfile.open(root / "savee.tar.gz", "w:gz") as tf:
        for speaker, code in itertools.product(("DC", "KL"), ("a", "n", "sa", "su")):
            info = tarfile.TarInfo(f"AudioData/{speaker}/{code}01.wav")
            info.size = len(wav)
            tf.addfile(info, io.BytesIO(wav))

    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield {
            "base": base,
            "requests": requests,
            "zip_url": f"{base}/Audio_Speech_Actors_01-24.zip",
            "zip_hash": "sha256:" + pooch.file_hash(str(root / "Audio_Speech_Actors_01-24.zip")),
            "tar_url": f"{base}/savee.tar.gz",
            "tar_hash": "sha256:" + pooch.file_hash(str(root / "savee.tar.gz")),
        }
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_fetch_ravdess_downloads_once(server, tmp_path, capsys):
    server["requests"].clear()
    data = fetch_ravdess(data_home=tmp_path, url=server["zip_url"], known_hash=server["zip_hash"])
    assert server["requests"] == ["/Audio_Speech_Actors_01-24.zip"]
    assert len(data.filenames) == 120
    assert set(data.speaker) == {"ravdess_01", "ravdess_02"}
    cache = tmp_path / "sklearn_ser" / "ravdess"
    assert (cache / "Audio_Speech_Actors_01-24.zip").is_file()
    assert all(f.startswith(str(cache / "audio" / "Actor_")) for f in data.filenames)
    # Progress is shown (tqdm writes to stderr).
    assert "%" in capsys.readouterr().err

    again = fetch_ravdess(
        data_home=tmp_path,
        url=server["zip_url"],
        known_hash=server["zip_hash"],
        drop_labels="calm",
        as_frame=True,
    )
    assert len(server["requests"]) == 1, "second call must use the cache"
    assert len(again.filenames) == 104 and len(again.frame) == 104

    table = list_corpora(data_home=tmp_path).set_index("name")
    assert table.loc["ravdess", "cached_path"] == str(cache / "audio")
    assert table.loc["tess", "cached_path"] is None


def test_fetch_wrong_hash_raises_and_leaves_nothing(server, tmp_path):
    server["requests"].clear()
    wrong = "sha256:" + "0" * 64
    with pytest.raises(ValueError, match="(?i)hash"):
        fetch_ravdess(data_home=tmp_path, url=server["zip_url"], known_hash=wrong)
    assert len(server["requests"]) == 1
    cache = tmp_path / "sklearn_ser" / "ravdess"
    assert not (cache / "Audio_Speech_Actors_01-24.zip").exists()
    assert not (cache / "audio").exists()


def test_fetch_without_hash_warns(server, tmp_path):
    with pytest.warns(DatasetWarning, match="checksum"):
        data = fetch_ravdess(
            data_home=tmp_path, url=server["zip_url"], known_hash=None, progressbar=False
        )
    assert len(data.filenames) == 120


def test_fetch_missing_url_errors(server, tmp_path):
    server["requests"].clear()
    with pytest.raises(Exception):  # noqa: B017 (requests' HTTPError)
        fetch_ravdess(
            data_home=tmp_path,
            url=server["base"] + "/nothing.zip",
            known_hash=server["zip_hash"],
            progressbar=False,
        )
    assert not (tmp_path / "sklearn_ser" / "ravdess" / "audio").exists()


def test_download_if_missing_false(server, tmp_path):
    server["requests"].clear()
    with pytest.raises(OSError, match="download_if_missing"):
        fetch_ravdess(data_home=tmp_path, download_if_missing=False)
    assert server["requests"] == []


def test_default_data_home_is_scikit_learn_data(server, tmp_path):
    # SCIKIT_LEARN_DATA is pointed at tmp_path/default_data_home by the fixture.
    data = fetch_ravdess(url=server["zip_url"], known_hash=server["zip_hash"], progressbar=False)
    expected = tmp_path / "default_data_home" / "sklearn_ser" / "ravdess" / "audio"
    assert data.filenames[0].startswith(str(expected))


@pytest.mark.parametrize(
    ("fetch", "needle"),
    [
        (fetch_tess, "10.5683/SP2/E8H2MF"),
        (fetch_savee, "registration"),
        (fetch_crema_d, "git lfs"),
    ],
)
def test_manual_corpora_explain_how_to_get_them(server, tmp_path, fetch, needle):
    server["requests"].clear()
    with pytest.raises(ManualDownloadError, match=needle) as info:
        fetch(data_home=tmp_path)
    assert "load_" in str(info.value)
    assert server["requests"] == []
    assert isinstance(info.value, OSError)


def test_manual_fetcher_with_url_and_tarball(server, tmp_path):
    data = fetch_savee(
        data_home=tmp_path, url=server["tar_url"], known_hash=server["tar_hash"], progressbar=False
    )
    assert len(data.filenames) == 8
    assert set(data.speaker) == {"savee_DC", "savee_KL"}
    assert set(data.target) == {"angry", "neutral", "sad", "surprise"}


def test_manual_fetcher_loads_copy_in_cache(tmp_path):
    folder = tmp_path / "sklearn_ser" / "tess" / "audio" / "OAF_angry"
    folder.mkdir(parents=True)
    (folder / "OAF_back_angry.wav").write_bytes(_wav_bytes())
    data = fetch_tess(data_home=tmp_path)
    assert list(data.target) == ["angry"]


def test_registry_and_list_corpora(tmp_path):
    assert set(CORPORA) == {"ravdess", "crema_d", "tess", "savee"}
    rav = CORPORA["ravdess"]
    assert rav.fetchable and rav.known_hash.startswith("md5:")
    assert "1188976" in rav.url and rav.archive == "Audio_Speech_Actors_01-24.zip"
    assert CORPORA["savee"].needs_registration and not CORPORA["savee"].fetchable
    assert not CORPORA["tess"].fetchable and not CORPORA["crema_d"].fetchable
    table = list_corpora(data_home=tmp_path)
    assert {"name", "loader", "fetchable", "cached_path"} <= set(table.columns)
    assert list(table["name"]) == ["ravdess", "crema_d", "tess", "savee"]
    assert list(table["fetchable"]) == [True, False, False, False]
    assert table["cached_path"].isna().all()
    assert "Audio_Speech_Actors_01-24.zip" in (fetch_ravdess.__doc__ or "")
    assert Path(tmp_path, "sklearn_ser").is_dir()
