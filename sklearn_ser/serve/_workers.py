"""Where the model runs: a fixed number of inference threads fed by one queue.

Every request's model work is one job on the queue; ``workers`` threads take
jobs in order, so a long recording holds one thread and the others go on.
Clips that wait together are predicted together: a thread that takes a
``predict_proba`` job also takes the ``predict_proba`` jobs queued behind it
(up to ``max_batch`` clips) and runs one call for all of them. With one
client at a time that is a batch of one (no waiting is added); under load
it is the pretrained encoder's batched path (``benchmarks/bench_serve.py``
measures the gain). A clip that
the loader refuses fails only its own request: the others of its batch are
predicted again without it.

Uploads are saved and checked on a separate small pool of threads (disk,
not model), so they never wait behind predictions.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Workers"]


@dataclass
class _Job:
    """One request's model work: clips to ``predict_proba``, or any call (run alone)."""

    future: Future
    paths: list[str] = field(default_factory=list)
    call: Callable[[], Any] | None = None


class Workers:
    """Inference threads behind one queue, a bounded number of waiting requests, an I/O pool.

    Parameters
    ----------
    predict_proba : callable
        ``predict_proba(paths) -> ndarray`` of the served model.
    workers : int
        Inference threads.
    max_queue : int
        Requests that may wait beyond those being served; more get 503.
    max_batch : int
        Most clips predicted in one call.
    """

    def __init__(self, predict_proba: Callable[[list[str]], Any], workers: int,
                 max_queue: int, max_batch: int = 16):
        self.predict_proba = predict_proba
        self.workers = workers
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.pending = 0  # requests in progress; changed on the event loop only
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._io: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- life cycle --------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.workers:
                thread = threading.Thread(target=self._loop, daemon=True,
                                          name=f"sklearn-ser-model-{len(self._threads)}")
                thread.start()
                self._threads.append(thread)
            if self._io is None:
                self._io = ThreadPoolExecutor(max(2, self.workers),
                                              thread_name_prefix="sklearn-ser-io")

    def close(self) -> None:
        """Stop the threads (at the server's shutdown); a later request starts new ones."""
        with self._lock:
            for _ in self._threads:
                self._jobs.put(None)
            self._threads = []
            io, self._io = self._io, None
        if io is not None:
            io.shutdown(wait=False, cancel_futures=True)

    # -- the request side (event loop) ---------------------------------------------------------
    def admit(self) -> None:
        """Count a request in, or refuse it (503) when the queue is full."""
        from starlette.exceptions import HTTPException

        if self.pending >= self.workers + self.max_queue:
            raise HTTPException(503, f"busy: {self.pending} requests in progress; retry later")
        self.pending += 1

    def done(self) -> None:
        self.pending -= 1

    async def io(self, fn: Callable, *args: Any) -> Any:
        """Run ``fn(*args)`` (disk work) on the I/O pool."""
        self._start()
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    async def predict(self, paths: list[str]) -> np.ndarray:
        """``predict_proba(paths)``, batched with other waiting requests."""
        return await self._submit(_Job(Future(), paths=list(paths)))

    async def call(self, fn: Callable, *args: Any) -> Any:
        """``fn(*args)`` on an inference thread, alone (a recording, a speaker's clips)."""
        return await self._submit(_Job(Future(), call=lambda: fn(*args)))

    async def _submit(self, job: _Job) -> Any:
        self._start()
        self._jobs.put(job)
        return await asyncio.wrap_future(job.future)

    # -- the inference threads -------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if job.call is not None:
                self._run_call(job)
                continue
            batch, alone = [job], None
            n = len(job.paths)
            while n < self.max_batch:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:  # closing: finish this batch, then stop
                    self._jobs.put(None)
                    break
                if more.call is not None or n + len(more.paths) > self.max_batch:
                    alone = more  # run right after the batch, in this thread (keeps the order)
                    break
                batch.append(more)
                n += len(more.paths)
            self._run_batch(batch)
            if alone is not None:
                if alone.call is not None:
                    self._run_call(alone)
                else:
                    self._run_batch([alone])

    @staticmethod
    def _run_call(job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            job.future.set_result(job.call())
        except BaseException as exc:  # noqa: BLE001 - handed to the request that asked
            job.future.set_exception(exc)

    def _run_batch(self, batch: list[_Job]) -> None:
        from sklearn_ser.exceptions import AudioFileError

        batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
        if not batch:
            return
        paths = [p for job in batch for p in job.paths]
        try:
            proba = np.asarray(self.predict_proba(paths))
        except AudioFileError as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            # Each request answers for its own clips: the refused ones get the error,
            # the others are predicted again without them.
            good = [job for job in batch if not any(p in exc.problems for p in job.paths)]
            if len(good) == len(batch):  # the error names none of them: all are told
                good = []
            for job in batch:
                if job not in good:
                    job.future.set_exception(exc)
            self._rerun(good)
            return
        except BaseException as exc:  # noqa: BLE001 - every request of the batch is told
            for job in batch:
                job.future.set_exception(exc)
            return
        start = 0
        for job in batch:
            job.future.set_result(proba[start:start + len(job.paths)])
            start += len(job.paths)

    def _rerun(self, jobs: list[_Job]) -> None:
        """Predict ``jobs`` (already marked running) again, one batch."""
        if not jobs:
            return
        fresh = [_Job(Future(), paths=job.paths) for job in jobs]
        self._run_batch(fresh)
        for job, redo in zip(jobs, fresh):
            error = redo.future.exception()
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(redo.future.result())
