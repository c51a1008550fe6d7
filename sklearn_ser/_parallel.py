"""One place for running a function over many clips, in parallel and with progress.

Work is sent to joblib in chunks of clips: one task per chunk keeps the
per-task overhead (pickling, scheduling, dask round trips) small next to a
clip's tens of milliseconds, while chunks stay small enough for an even
load and a progress bar that moves. Inside a chunk BLAS/OpenMP pools are
limited to one thread: every clip's matrices are small, and ``n_jobs``
processes each starting a pool per core would oversubscribe the machine.
"""

from __future__ import annotations

import functools
import math
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from joblib import Parallel, cpu_count, delayed, effective_n_jobs
from joblib.parallel import get_active_backend
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

# Chunks per worker: enough for load balancing and a moving bar, few enough to
# keep the task overhead negligible.
_CHUNKS_PER_WORKER = 4
_MAX_CHUNK = 32
# Requested n_jobs values already reported as capped (the warning is given once each).
_CAPPED: set[int] = set()


def shows_progress(stream: Any = None) -> bool:
    """Whether a progress bar can be drawn on ``stream`` (default: ``sys.stderr``).

    A bar redraws itself with ``\\r`` frames: right on a terminal or in a
    notebook (``tqdm.auto`` then draws a widget), wrong in a log file, a pipe
    (``| tee``) or CI output, which would collect every frame. So: a notebook's
    bar, or a stream that is a terminal; nothing else.

    Parameters
    ----------
    stream : file object, default=None
        Where the bar would be written; None means ``sys.stderr``.

    Returns
    -------
    bool
    """
    if "notebook" in tqdm.__module__:  # tqdm.auto chose the notebook widget
        return True
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def progress_bar(*, disable: bool = False, file: Any = None, **kwargs: Any) -> tqdm:
    """A ``tqdm.auto`` bar that is drawn only where :func:`shows_progress` says it can be.

    In a log or a pipe the bar is disabled (it still counts): no ``\\r`` frames.

    Parameters
    ----------
    disable : bool, default=False
        Never show it.
    file : file object, default=None
        Stream of the bar (``sys.stderr`` when None).
    **kwargs
        Passed to ``tqdm``.

    Returns
    -------
    tqdm.tqdm
    """
    return tqdm(disable=disable or not shows_progress(file), file=file, **kwargs)


def cap_n_jobs(n_jobs: int | None) -> int | None:
    """Cap a positive ``n_jobs`` at the machine's cores, warning once per value.

    More local worker processes than cores only cost memory (each loads the
    libraries and its share of the data): ``n_jobs=4000`` would start 4000
    processes. A ``joblib.parallel_backend`` other than the local ones (dask)
    schedules on its own workers and is left alone, as are ``None`` and
    negative values (joblib already counts those from the cores).

    Parameters
    ----------
    n_jobs : int or None
        The requested number of workers.

    Returns
    -------
    int or None
        ``min(n_jobs, cores)`` for positive values, else ``n_jobs`` unchanged.
    """
    if n_jobs is None or n_jobs <= 0:
        return n_jobs
    backend, _ = get_active_backend()
    if type(backend).__name__ not in ("LokyBackend", "MultiprocessingBackend",
                                      "ThreadingBackend", "SequentialBackend"):
        return n_jobs
    cores = cpu_count()
    if n_jobs <= cores:
        return n_jobs
    if n_jobs not in _CAPPED:
        _CAPPED.add(n_jobs)
        warnings.warn(
            f"n_jobs={n_jobs} is more than the {cores} CPU cores of this machine; "
            f"using n_jobs={cores}",
            UserWarning,
            stacklevel=4,
        )
    return cores


def parallel_imap(
    func: Callable[..., Any],
    items: Sequence[Any],
    *,
    n_jobs: int | None = None,
    verbose: int | bool = 0,
    desc: str = "",
    args: Iterable[tuple] | None = None,
) -> Iterator[Any]:
    """Yield ``func(item, *extra)`` for each item, in order, as results arrive.

    Parameters
    ----------
    func : callable
        Called as ``func(item, *extra)``; must be picklable for ``n_jobs > 1``.
    items : sequence
        The work items (paths, waveforms, ...).
    n_jobs : int or None
        joblib's ``n_jobs``; ``None`` means one worker unless a
        ``joblib.parallel_backend`` context says otherwise (``"dask"`` works).
    verbose : int or bool
        Show a progress bar (clips done, rate, time left) when truthy, on a
        terminal or in a notebook only (:func:`progress_bar`).
    desc : str
        Label of the progress bar.
    args : iterable of tuple, optional
        Extra positional arguments per item (zipped with ``items``).

    Yields
    ------
    result
        ``func(item, *extra)``, in the order of ``items``. Results are
        yielded as soon as their chunk is done, so a caller can store each
        one and drop it: nothing accumulates here.
    """
    items = list(items)
    extras = list(args) if args is not None else [()] * len(items)
    if len(extras) != len(items):
        raise ValueError(f"got {len(extras)} argument tuples for {len(items)} items")
    n_jobs = cap_n_jobs(n_jobs)
    here = n_jobs == 1 or (n_jobs is None and _inside_dask_task())
    n_workers = 1 if here else max(1, effective_n_jobs(n_jobs))
    size = max(1, min(_MAX_CHUNK, math.ceil(len(items) / (_CHUNKS_PER_WORKER * n_workers))))
    tasks = (
        (func, items[start : start + size], extras[start : start + size])
        for start in range(0, len(items), size)
    )
    if here:
        chunks = (_run_chunk(*task) for task in tasks)
    else:
        if n_workers > 1:  # n_jobs=None without a backend context runs here too
            compile_librosa_here()
        # return_as="generator" keeps the order and hands each chunk over when it is done.
        chunks = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_run_chunk)(*task) for task in tasks
        )
    with progress_bar(total=len(items), desc=desc, disable=not verbose, unit="clip",
                      leave=False) as bar:
        for results in chunks:
            yield from results
            bar.update(len(results))


def parallel_map(
    func: Callable[..., Any],
    items: Sequence[Any],
    *,
    n_jobs: int | None = None,
    verbose: int | bool = 0,
    desc: str = "",
    args: Iterable[tuple] | None = None,
) -> list[Any]:
    """Apply ``func`` to each item, keeping order: :func:`parallel_imap` as a list.

    Parameters and progress bar as for :func:`parallel_imap`.

    Returns
    -------
    list
        ``[func(item, *extra) for item, extra in zip(items, args)]``.
    """
    return list(parallel_imap(func, items, n_jobs=n_jobs, verbose=verbose, desc=desc, args=args))


@functools.cache
def compile_librosa_here() -> None:
    """Import librosa's numba-compiled modules in this process, before workers start.

    librosa compiles several gufuncs when these modules are imported, with
    ``cache=True``. In a fresh environment, worker processes importing librosa
    at the same moment write the two cache files of a gufunc concurrently and
    can pair files written by different processes; every later call of that
    gufunc, in any process, then crashes with a segmentation fault (numba issue
    #10128, seen here as a crash in ``piptrack``). Compiled here first, the
    workers only read the cache. Costs librosa's import (about a second) once
    per process, and only when work goes to other processes.
    """
    import librosa.core.audio  # noqa: F401  (zero crossings)
    import librosa.core.pitch  # noqa: F401  (piptrack's parabolic interpolation)
    import librosa.util.utils  # noqa: F401  (localmax, localmin, ...)


def _inside_dask_task() -> bool:
    """Whether this code runs inside a task on a dask worker.

    joblib's dask backend sends nested ``Parallel`` calls back to the cluster;
    a task waiting on them leaves its worker slot, which then starts another
    task in the same process. For a pipeline step inside a GridSearchCV task
    that means several fits at once in one process: oversubscribed cores, and
    TensorFlow's seeded fits racing on global state (results that change from
    run to run). The outer level already keeps every worker busy, so by
    default the steps run their clips in the task itself.
    """
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _run_chunk(func: Callable[..., Any], items: list, extras: list) -> list:
    with threadpool_limits(limits=1):
        return [func(item, *extra) for item, extra in zip(items, extras)]
