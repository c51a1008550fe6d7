"""A save killed at any moment leaves the previous model loadable: real signals, real processes.

Each test runs a process that saves, sends it SIGKILL (nothing can clean up) or
SIGINT (Ctrl-C) at a moment when it is writing, and then loads the model file:
it must be the old model or a new one, never a torn file.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from sklearn_ser.persistence import read_model_record, save_model

# A process that imports the package once, then forks one saver per line it reads: each
# saver saves the same path over and over with 4 MB of incompressible metadata, so that
# every save takes a measurable time and a signal lands inside one. Forking keeps each
# round to the delay before the signal, not a fresh interpreter's start-up.
ZYGOTE = textwrap.dedent("""
    import os
    import signal
    import sys
    import numpy as np

    # A shell that starts jobs in the background ignores SIGINT in them, and the ignore
    # is inherited: restore Ctrl-C's KeyboardInterrupt, the behaviour under test.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from sklearn.linear_model import LogisticRegression
    from sklearn_ser.persistence import save_model

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    blob = np.random.default_rng(0).bytes(4 << 20)
    save_model(model, sys.argv[1], metadata={"warm-up": True})  # imports all a save needs
    print("imported", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                print(f"ready {os.getpid()}", flush=True)
                for i in range(10**6):
                    save_model(model, line.strip(), metadata={"round": i, "blob": blob})
                    print(f"saved {i}", flush=True)
            finally:
                os._exit(3)  # never back into the loop (also after KeyboardInterrupt)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)
""")


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """The lines of ``proc``'s stdout, read by a thread: a hung child fails a get(timeout)."""
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _old_model(path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    save_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path,
               metadata={"round": "old"})


def _leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != name)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killing_a_process_while_it_saves_leaves_a_loadable_model(tmp_path, sig):
    path = tmp_path / "m.joblib"
    _old_model(path)
    zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE, str(tmp_path / "warm-up.joblib")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = _lines(zygote)
    pid = None
    try:
        assert lines.get(timeout=120).strip() == "imported"
        rounds = []
        for delay in np.random.default_rng(0).uniform(0.02, 0.5, size=5):
            zygote.stdin.write(f"{path}\n")
            zygote.stdin.flush()
            word, pid = lines.get(timeout=60).split()
            assert word == "ready"  # from here on the child does nothing but save
            time.sleep(delay)
            os.kill(int(pid), sig)
            saved = [-1]
            while not (line := lines.get(timeout=60)).startswith("exit"):
                saved.append(int(line.split()[1]))
            rounds.append(max(saved) + 1)
            record = read_model_record(path)  # raises on a torn file
            # The previous file (of the first setup or of an earlier round) or a new one.
            assert record["metadata"]["round"] == "old" or record["metadata"]["round"] <= max(
                rounds)
            if sig == signal.SIGINT:  # Ctrl-C: the temporary file is removed on the way out
                assert _leftovers(tmp_path, "m.joblib") == ["warm-up.joblib"]
    finally:
        if pid is not None:  # a saver that outlived a failure must not save on
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        zygote.kill()
        zygote.communicate()


def _wait_for_save(folder: Path, name: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Poll until the save's temporary file appears next to ``name`` (True) or the run ends."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if any(p.name.startswith(f".{Path(name).stem}.") for p in folder.iterdir()):
            return True
        time.sleep(0.0005)
    return False


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    from sklearn_ser.datasets import make_emotional_speech

    out = tmp_path_factory.mktemp("tiny")
    make_emotional_speech(n_speakers=2, n_clips_per_emotion=2, duration=0.5, out_dir=out,
                          random_state=0)
    return out


def test_killing_sklearn_ser_train_while_it_saves_keeps_a_loadable_model(tiny_corpus, tmp_path,
                                                                           ge2e_weights):
    # The command itself, sent SIGKILL the instant its save starts writing m.joblib.
    path = tmp_path / "m.joblib"
    _old_model(path)
    command = [sys.executable, "-m", "sklearn_ser", "train", "--corpus",
               f"synthetic={tiny_corpus}", "--preset", "recommended", "--protocol", "none",
               "--out", str(path), "--report-dir", str(tmp_path / "report"), "-q"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert _wait_for_save(tmp_path, "m.joblib", proc, timeout=300), (
            "the save never started: " + proc.communicate()[1])
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    record = read_model_record(path)  # the previous model or the new one, never torn
    assert record["metadata"].get("round") == "old" or record["metadata"]["preset"] == (
        "recommended")


def test_concurrent_saves_and_loads_see_whole_files(tmp_path):
    # Two writers save the same path while a reader loads it (joblib's compression runs
    # without the GIL, so the threads really overlap): every load is one writer's file.
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "m.joblib"
    _old_model(path)
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    blob = np.random.default_rng(0).bytes(1 << 20)
    done = threading.Event()
    seen, errors = [], []

    def writer(name):
        try:
            for i in range(8):
                save_model(model, path, metadata={"round": f"{name}{i}", "blob": blob})
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def reader():
        while not done.is_set():
            try:
                seen.append(read_model_record(path)["metadata"]["round"])
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in "ab"]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    assert errors == []
    assert len(seen) > 3 and set(seen) <= {"old"} | {f"{n}{i}" for n in "ab" for i in range(8)}
    assert read_model_record(path)["metadata"]["round"] in ("a7", "b7")
    assert _leftovers(tmp_path, "m.joblib") == []
