"""Keep TensorFlow's start-up chatter out of the command line's terminal.

Used by ``sklearn-ser`` only: the library itself never changes log levels,
environment variables or warning filters (a user's own TensorFlow logs are
theirs). Set ``SKLEARN_SER_TF_LOGS=1`` to see TensorFlow's lines.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def quiet_tensorflow_logs() -> None:
    """Silence TensorFlow's info logs and Python warnings about retracing.

    Level 3 also hides TensorFlow's C++ error *logs* (such as data-pipeline
    attribute notices during ``fit``); real failures still raise Python
    exceptions. Uses ``setdefault`` so that a user who sets
    ``TF_CPP_MIN_LOG_LEVEL`` keeps their choice.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*triggered tf\.function retracing.*")
    warnings.filterwarnings("ignore", message=r".*Do not pass an `input_shape`.*")


@contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null (C++ code writes there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _show_tensorflow_logs() -> bool:
    return "tensorflow" in sys.modules or os.environ.get("SKLEARN_SER_TF_LOGS") == "1"


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its start-up lines (oneDNN notice, CUDA probing).

    TensorFlow >= 2.18 prints them through absl before ``TF_CPP_MIN_LOG_LEVEL``
    takes effect, so the only way to hide them is to mute stderr during the
    import. Import errors still raise.
    """
    quiet_tensorflow_logs()
    if _show_tensorflow_logs():
        return
    with _stderr_to_devnull():
        import tensorflow

        # Device discovery (cuInit) logs an error on machines without a GPU; do it now.
        tensorflow.config.list_physical_devices("GPU")


def call_quietly(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func``, which may import TensorFlow (e.g. unpickling a CNN model), muted.

    Python warnings raised meanwhile are replayed afterwards (through the
    filters in force), so muting stderr loses none of them; exceptions propagate.
    """
    quiet_tensorflow_logs()
    if _show_tensorflow_logs():
        return func(*args, **kwargs)
    import warnings as _warnings

    with _warnings.catch_warnings(record=True) as caught:
        with _stderr_to_devnull():
            result = func(*args, **kwargs)
            if "tensorflow" in sys.modules:
                sys.modules["tensorflow"].config.list_physical_devices("GPU")
    for w in caught:
        _warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result
