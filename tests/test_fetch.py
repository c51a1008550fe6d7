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
import requests
import soundfile as sf

import sklearn_ser.datasets._fetch as fetch_module
from sklearn_ser.datasets import (
    CORPORA,
    DatasetWarning,
    ManualDownloadError,
    UnsafeArchiveError,
    fetch_crema_d,
    fetch_ravdess,
    fetch_savee,
    fetch_tess,
    list_corpora,
)
from sklearn_ser.datasets._fetch import _safe_extract


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
            "root": root,
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


def test_fetch_ravdess_downloads_once(server, tmp_path, capsys, monkeypatch):
    server["requests"].clear()
    monkeypatch.setattr(fetch_module, "shows_progress", lambda: True)  # as on a terminal
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
    with pytest.raises(requests.HTTPError, match="404"):
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


# -- hostile and broken archives (issue 10: 1, 6, 11) ---------------------------------------
def _hostile_tar(path: Path, kind: str, outside: Path) -> None:
    """A RAVDESS-like .tar.gz with genuine clips plus one hostile member of ``kind``."""
    wav = _wav_bytes()

    def add_file(tf: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))

    def add_link(tf: tarfile.TarFile, name: str, target: str, hard: bool = False) -> None:
        info = tarfile.TarInfo(name)
        info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
        info.linkname = target
        tf.addfile(info)

    with tarfile.open(path, "w:gz") as tf:
        for member in _ravdess_members()[:8]:
            add_file(tf, member, wav)
        if kind == "dotdot":
            add_file(tf, "Actor_01/../../../../" + outside.name + "/dotdot.txt", b"escaped")
        elif kind == "absolute":
            add_file(tf, str(outside / "absolute.txt"), b"escaped")
        elif kind == "symlink_dir":
            # A link to a folder outside, then a file written "through" it.
            add_link(tf, "Actor_01/escape", str(outside))
            add_file(tf, "Actor_01/escape/through_link.txt", b"escaped")
        elif kind == "symlink_clip":
            # A "clip" that is a link to a system file.
            add_link(tf, "Actor_02/03-01-05-01-01-01-02.wav", "/etc/passwd")
        elif kind == "hardlink":
            add_link(tf, "Actor_02/03-01-05-01-01-01-02.wav", "/etc/passwd", hard=True)
        else:
            raise AssertionError(kind)


def _hostile_zip(path: Path, kind: str) -> None:
    wav = _wav_bytes()
    with zipfile.ZipFile(path, "w") as zf:
        for member in _ravdess_members()[:8]:
            zf.writestr(member, wav)
        if kind == "dotdot":
            zf.writestr("Actor_01/../../../escape.wav", wav)
        elif kind == "backslash":
            zf.writestr("Actor_01\\..\\..\\escape.wav", wav)
        elif kind == "absolute":
            zf.writestr("/tmp/sklearn_ser_escape.wav", wav)
        elif kind == "symlink_clip":
            info = zipfile.ZipInfo("Actor_02/03-01-05-01-01-01-02.wav")
            info.external_attr = (0o120777 << 16)  # S_IFLNK: a symbolic link
            zf.writestr(info, "/etc/passwd")
        else:
            raise AssertionError(kind)


def _assert_nothing_outside(data_home: Path, outside: Path) -> None:
    corpus = data_home / "sklearn_ser" / "ravdess"
    assert not (corpus / "audio").exists(), "a refused archive must leave no corpus folder"
    assert not list(corpus.glob(".audio.*")), "the partial folder must be deleted"
    assert list(outside.iterdir()) == [], "something was written outside the data folder"
    assert not Path("/tmp/sklearn_ser_escape.wav").exists()


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("dotdot", r"'\.\.' component"),
        ("absolute", "absolute path"),
        ("symlink_dir", "is a link"),
        ("symlink_clip", r"is a link \(to '/etc/passwd'\)"),
        ("hardlink", "is a link"),
    ],
)
def test_hostile_tar_is_refused_before_anything_is_written(server, tmp_path, kind, needle):
    outside = tmp_path / "outside"
    outside.mkdir()
    name = f"hostile_{kind}.tar.gz"
    _hostile_tar(server["root"] / name, kind, outside)
    data_home = tmp_path / "home" / "deep"  # ../../.. from the corpus folder stays in tmp_path
    with pytest.raises(UnsafeArchiveError, match=needle) as info:
        fetch_ravdess(data_home=data_home, url=f"{server['base']}/{name}",
                      known_hash="sha256:" + pooch.file_hash(str(server["root"] / name)),
                      progressbar=False)
    assert name in str(info.value)  # names the archive
    _assert_nothing_outside(data_home, outside)


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("dotdot", r"'\.\.' component"),
        ("backslash", r"'\.\.' component"),
        ("absolute", "absolute path"),
        ("symlink_clip", "symbolic link"),
    ],
)
def test_hostile_zip_is_refused_before_anything_is_written(server, tmp_path, kind, needle):
    outside = tmp_path / "outside"
    outside.mkdir()
    name = f"hostile_{kind}.zip"
    _hostile_zip(server["root"] / name, kind)
    data_home = tmp_path / "home"
    with pytest.raises(UnsafeArchiveError, match=needle) as info:
        fetch_ravdess(data_home=data_home, url=f"{server['base']}/{name}",
                      known_hash="sha256:" + pooch.file_hash(str(server["root"] / name)),
                      progressbar=False)
    assert name in str(info.value)
    _assert_nothing_outside(data_home, outside)


def test_every_fetcher_extracts_safely(server, tmp_path):
    # The manual fetchers with url= go through the same extraction.
    outside = tmp_path / "outside"
    outside.mkdir()
    _hostile_tar(server["root"] / "savee_hostile.tar.gz", "symlink_dir", outside)
    for fetch in (fetch_savee, fetch_tess, fetch_crema_d):
        with pytest.raises(UnsafeArchiveError, match="is a link"):
            fetch(data_home=tmp_path / fetch.__name__, url=server["base"] + "/savee_hostile.tar.gz",
                  known_hash="sha256:" + pooch.file_hash(str(server["root"] /
                                                              "savee_hostile.tar.gz")),
                  progressbar=False)
    assert list(outside.iterdir()) == []


def test_safe_extract_keeps_a_valid_tar_with_folders(tmp_path):
    archive = tmp_path / "ok.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        folder = tarfile.TarInfo("Actor_01")
        folder.type = tarfile.DIRTYPE
        tf.addfile(folder)
        info = tarfile.TarInfo("Actor_01/a.wav")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    _safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "Actor_01" / "a.wav").read_bytes() == b"abc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.tar.gz", "out"]  # no leftovers


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_download_cut_short_without_hash_is_deleted_and_retried(server, tmp_path, suffix):
    # The server sends only the first half of the archive (a download cut short).
    good = server["root"] / ("Audio_Speech_Actors_01-24.zip" if suffix == ".zip"
                             else "savee.tar.gz")
    cut = server["root"] / "cut"
    cut.mkdir(exist_ok=True)
    payload = good.read_bytes()
    (cut / good.name).write_bytes(payload[: len(payload) // 2])
    fetch = fetch_ravdess if suffix == ".zip" else fetch_savee
    cache = tmp_path / "sklearn_ser" / ("ravdess" if suffix == ".zip" else "savee")
    with pytest.warns(DatasetWarning, match="checksum"):
        with pytest.raises(OSError, match="incomplete or corrupt.*deleted") as info:
            fetch(data_home=tmp_path, url=f"{server['base']}/cut/{good.name}", known_hash=None,
                  progressbar=False)
    assert good.name in str(info.value)
    assert not (cache / good.name).exists(), "the broken archive must not be kept"
    assert not (cache / "audio").exists()
    # The next call downloads again (instead of failing forever on the cached file).
    server["requests"].clear()
    with pytest.warns(DatasetWarning, match="checksum"):
        data = fetch(data_home=tmp_path, url=f"{server['base']}/{good.name}", known_hash=None,
                     progressbar=False)
    assert server["requests"] == [f"/{good.name}"]
    assert len(data.filenames) == (120 if suffix == ".zip" else 8)


def test_offline_fetch_says_network_unreachable(tmp_path, monkeypatch):
    # The autouse fixture refuses every host but 127.0.0.1: this is being offline.
    with pytest.raises(ConnectionError, match="network is unreachable") as info:
        fetch_ravdess(data_home=tmp_path, progressbar=False)
    message = str(info.value)
    assert "load_ravdess(path)" in message and "--corpus ravdess=DIR" in message
    assert "\n" not in message


def test_cli_fetch_offline_prints_one_line(tmp_path, capsys):
    from sklearn_ser.cli import main

    assert main(["fetch", "ravdess", "--data-home", str(tmp_path), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("sklearn-ser: error: cannot download")
    assert "network is unreachable" in err[0] and "--corpus ravdess=DIR" in err[0]


# -- archive bombs --------------------------------------------------------------------------
def _zeros_zip(path: Path, megabytes: int, n_members: int = 1) -> None:
    """A zip whose members are megabytes of zeros: ~1 kB of archive per MB unpacked."""
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(n_members):
            with zf.open(f"Actor_01/zeros_{i}.wav", "w") as member:
                for _ in range(megabytes):
                    member.write(block)


def _zeros_tar(path: Path, megabytes: int) -> None:
    info = tarfile.TarInfo("Actor_01/zeros.wav")
    info.size = megabytes << 20
    with tarfile.open(path, "w:gz") as tf:
        tf.addfile(info, io.BytesIO(bytes(info.size)))


def _assert_left_nothing(folder: Path, archive: Path) -> None:
    assert sorted(folder.iterdir()) == [archive], "the partial output must be deleted"


@pytest.mark.parametrize("make", [_zeros_zip, _zeros_tar], ids=["zip", "tar.gz"])
def test_archive_bomb_is_refused_with_the_default_limits(tmp_path, make):
    archive = tmp_path / ("bomb.zip" if make is _zeros_zip else "bomb.tar.gz")
    make(archive, 64)  # 64 MB of zeros in ~100 kB: far beyond any audio's compression
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(UnsafeArchiveError, match="archive bomb") as info:
        _safe_extract(archive, tmp_path / "audio")
    assert archive.name in str(info.value)
    _assert_left_nothing(tmp_path, archive)


def test_unpacked_size_is_counted_while_writing_not_taken_from_headers(tmp_path,
                                                                       monkeypatch):
    # Headers that lie (declaring little) are simulated by skipping the header check:
    # the bytes actually written still stop at the limit, and nothing is left behind.
    archive = tmp_path / "lying.tar.gz"
    _zeros_tar(archive, 8)
    monkeypatch.setattr(fetch_module._Budget, "check_declared", lambda self, n, size: None)
    monkeypatch.setattr(fetch_module, "MAX_RATIO", 10**9)  # max_bytes is the limit here
    written = []
    original = fetch_module._Budget.copy

    def counting(self, source, target):
        try:
            original(self, source, target)
        finally:
            written.append(self.written)

    monkeypatch.setattr(fetch_module._Budget, "copy", counting)
    with pytest.raises(UnsafeArchiveError, match="unpacks to more than 2097152 bytes"):
        _safe_extract(archive, tmp_path / "audio", max_bytes=2 << 20)
    assert written and written[-1] <= (2 << 20) + (1 << 20)  # stopped within one chunk
    _assert_left_nothing(tmp_path, archive)


def test_member_count_and_size_limits_are_parameters_of_the_fetchers(server, tmp_path):
    wav = _wav_bytes()
    many = server["root"] / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for member in _ravdess_members()[:40]:
            zf.writestr(member, wav)
    url, digest = f"{server['base']}/many.zip", "sha256:" + pooch.file_hash(str(many))
    with pytest.raises(UnsafeArchiveError, match="it has 40 members"):
        fetch_ravdess(data_home=tmp_path / "a", url=url, known_hash=digest,
                      progressbar=False, max_members=39)
    with pytest.raises(UnsafeArchiveError, match=f"declare {40 * len(wav)} bytes"):
        fetch_ravdess(data_home=tmp_path / "b", url=url, known_hash=digest,
                      progressbar=False, max_unpacked_bytes=40 * len(wav) - 1)
    for home in ("a", "b"):
        corpus = tmp_path / home / "sklearn_ser" / "ravdess"
        assert [p.name for p in corpus.iterdir()] == ["many.zip"]
    # At the limits exactly, it unpacks.
    data = fetch_ravdess(data_home=tmp_path / "c", url=url, known_hash=digest,
                         progressbar=False, max_members=40, max_unpacked_bytes=40 * len(wav))
    assert len(data.filenames) == 40


def test_download_progress_is_not_drawn_into_a_log(server, tmp_path, capsys):
    # Under capsys stderr is not a terminal: no \r frames, no bar.
    fetch_ravdess(data_home=tmp_path, url=server["zip_url"], known_hash=server["zip_hash"])
    err = capsys.readouterr().err
    assert "\r" not in err and "%|" not in err
