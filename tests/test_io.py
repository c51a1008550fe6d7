"""sklearn_ser._io: atomic writes, folder swaps, bounded reads of untrusted files."""

from __future__ import annotations

import io
import os
import signal
import time

import pytest

from sklearn_ser import _io
from sklearn_ser._parallel import progress_bar, shows_progress


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# -- writing ----------------------------------------------------------------------------------
def test_atomic_path_replaces_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "sub" / "report.json"
    _io.write_text(target, "old")
    with pytest.raises(KeyboardInterrupt), _io.atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        assert tmp.parent == target.parent and tmp.suffix == ".json"
        assert target.read_text() == "old"  # nothing visible while writing
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert _names(target.parent) == ["report.json"]  # the temporary file is gone
    _io.write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert _names(target.parent) == ["report.json"]


def test_a_file_is_never_written_over_a_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError):
        _io.write_text(tmp_path / "taken", "x")
    assert _names(tmp_path) == ["taken"]


def test_dump_joblib_round_trip(tmp_path):
    import joblib

    path = _io.dump_joblib({"a": [1, 2]}, tmp_path / "x.joblib")
    assert joblib.load(path) == {"a": [1, 2]}
    assert _names(tmp_path) == ["x.joblib"]


def test_save_figure_adds_the_default_suffix_like_savefig(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    written = _io.save_figure(fig, tmp_path / "plot")
    assert written == tmp_path / "plot.png"
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="Format 'weird' is not supported"):
        _io.save_figure(fig, tmp_path / "plot.weird")
    plt.close(fig)
    assert _names(tmp_path) == ["plot.png"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_atomic_folder_swaps_whole_folders(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(_io, "_exchange", lambda a, b: False)
    folder = tmp_path / "export"
    with _io.atomic_folder(folder) as building:
        (building / "a.json").write_text("1")
    with _io.atomic_folder(folder) as building:
        assert _names(folder) == ["a.json"]  # the old one stays readable meanwhile
        (building / "b.json").write_text("2")
    assert _names(folder) == ["b.json"]  # the new folder, not a merge
    with pytest.raises(RuntimeError), _io.atomic_folder(folder) as building:
        (building / "c.json").write_text("3")
        raise RuntimeError
    assert _names(folder) == ["b.json"]
    assert _names(tmp_path) == ["export"]  # no temporary or old folder left


# -- reading untrusted files ------------------------------------------------------------------
@pytest.fixture
def deadline():
    def hung(signum, frame):
        raise TimeoutError("blocked")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(("kind", "needle"), [("fifo", "a FIFO"),
                                              ("dev_zero", "a character device"),
                                              ("folder", "a folder")])
def test_read_bounded_refuses_what_is_not_a_regular_file(tmp_path, deadline, kind, needle):
    path = tmp_path / "file.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    with pytest.raises(ValueError, match=f"file.json is not a regular file \\({needle}\\)"):
        _io.read_bounded(path, 100)
    with pytest.raises(ValueError, match="not a regular file"):
        _io.copy_bounded(path, io.BytesIO(), 100)


def test_read_bounded_reads_at_most_limit_plus_one_bytes(tmp_path):
    # A sparse 64 GB regular file: reading it whole would take minutes and all memory.
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:
        fh.truncate(64 << 30)
    start = time.perf_counter()
    with pytest.raises(KeyError, match="huge.json is larger than 1 MB"):
        _io.read_bounded(huge, 1 << 20, error=KeyError)
    sink = io.BytesIO()
    with pytest.raises(KeyError, match="larger than 1 MB"):
        _io.copy_bounded(huge, sink, 1 << 20, error=KeyError)
    assert sink.tell() <= 1 << 20  # never more than the limit written out
    assert time.perf_counter() - start < 5
    small = tmp_path / "small"
    small.write_bytes(b"x" * 100)
    assert _io.read_bounded(small, 100) == b"x" * 100
    out = io.BytesIO()
    assert _io.copy_bounded(small, out, 100) == 100 and out.getvalue() == b"x" * 100
    # A link to a regular file is followed; a missing file is FileNotFoundError.
    (tmp_path / "link").symlink_to(small)
    assert _io.read_bounded(tmp_path / "link", 100) == b"x" * 100
    with pytest.raises(FileNotFoundError):
        _io.read_bounded(tmp_path / "missing", 100)


# -- output locations -------------------------------------------------------------------------
def test_check_writable_names_the_part_that_is_a_file(tmp_path):
    # Tests run as root, whom read-only modes do not stop: a path through a regular file
    # cannot be written by anyone.
    (tmp_path / "somefile").write_text("")
    with pytest.raises(OSError, match="cannot write .*out.joblib: .*somefile is a file"):
        _io.check_writable_file(tmp_path / "somefile" / "out.joblib")
    with pytest.raises(OSError, match="cannot write into the folder .*somefile is a file"):
        _io.check_writable_folder(tmp_path / "somefile" / "report")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        _io.check_writable_file(tmp_path)
    # A good location is created and left empty.
    _io.check_writable_file(tmp_path / "new" / "m.joblib")
    _io.check_writable_folder(tmp_path / "report")
    assert _names(tmp_path / "new") == [] and _names(tmp_path / "report") == []


# -- progress bars ----------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_are_drawn_on_terminals_only():
    log = io.StringIO()
    with progress_bar(total=3, file=log, desc="clips") as bar:
        for _ in range(3):
            bar.update()
    assert log.getvalue() == ""  # no \r frames in a log or a pipe
    assert not shows_progress(log)
    terminal = _Terminal()
    assert shows_progress(terminal)
    with progress_bar(total=3, file=terminal, desc="clips") as bar:
        bar.update(3)
    assert "\r" in terminal.getvalue() and "3/3" in terminal.getvalue()
    with progress_bar(total=3, file=terminal, disable=True) as bar:
        bar.update(3)
    assert terminal.getvalue().count("3/3") == 1  # disable still wins
