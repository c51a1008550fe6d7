"""One vector per clip, computed in length-sorted batches and cached on disk.

Shared by the pretrained encoders: each clip's vector is keyed by the clip's
samples (a BLAKE2 digest), the encoder's name, every parameter that changes the
vector, the weights' digest and a version tag. Cached clips are not recomputed;
the misses are computed in batches of similar lengths, in parallel with joblib.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_memory

from sklearn_ser._io import quiet_cache_reload
from sklearn_ser._parallel import parallel_map
from sklearn_ser.exceptions import CacheMissError


def _cached_vector(clip_digest: str, version: tuple, params: dict, vector=None):
    """Identity on ``vector``: its other arguments key joblib's cache, ``vector`` is ignored.

    A hit returns the stored vector. When the stored entry is missing or cannot be
    read, joblib calls this function without ``vector``: it raises, so that nothing
    (never None) is stored and the caller computes the vector; storing it uses
    ``.call`` with ``vector``, which overwrites any entry.
    """
    if vector is None:
        raise CacheMissError(clip_digest)
    return vector


# joblib keys its cache folder by the function's module: keep the one this function had
# before the encoders became a package, so that caches written then are still found.
_cached_vector.__module__ = "sklearn_ser.encoders"


def _checked_vector(value: Any, n_features: int) -> np.ndarray | None:
    """A cached vector if it is ``n_features`` finite numbers, else None (recompute it)."""
    try:
        vector = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if vector.shape != (n_features,) or not np.all(np.isfinite(vector)):
        return None
    return vector


def _clip_digest(wav: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{wav.dtype.str}{wav.shape}".encode())
    h.update(np.ascontiguousarray(wav).data)
    return h.hexdigest()


def check_clips(clips: Sequence[np.ndarray]) -> None:
    """Refuse empty clips and clips holding NaN or infinity, naming the first."""
    for i, w in enumerate(clips):
        if w.size == 0 or not np.all(np.isfinite(w)):
            raise ValueError(f"clip {i} is empty or holds NaN/infinity")


def encode_with_cache(
    clips: Sequence[np.ndarray],
    compute: Callable[..., np.ndarray],
    args: tuple,
    *,
    n_features: int,
    memory: Any,
    version: tuple,
    params: dict,
    batch_size: int,
    n_jobs: int | None,
    verbose: int,
    desc: str,
) -> np.ndarray:
    """Vectors of ``clips``: cache look-ups, then the misses in sorted batches.

    Parameters
    ----------
    clips : sequence of ndarray
        Waveforms.
    compute : callable
        ``compute(batch_of_clips, *args)`` -> (len(batch), n_features) array;
        module level, so that joblib workers can run it.
    args : tuple
        Its other arguments (picklable).
    n_features : int
        Length of each vector (a cached entry of another length is recomputed).
    memory : None, str, path or joblib.Memory
        Where vectors are cached; None caches nothing.
    version, params : tuple, dict
        Together with the clip's digest, the cache key: everything that
        changes a vector must be in them.
    batch_size, n_jobs, verbose, desc
        Clips per batch, joblib workers, progress bar and its label.

    Returns
    -------
    vectors : ndarray of shape (len(clips), n_features), float32
    """
    out = np.empty((len(clips), n_features), dtype=np.float32)
    memory = os.fspath(memory) if isinstance(memory, os.PathLike) else memory
    memory = check_memory(memory)
    cached = None
    if getattr(memory, "location", None) is not None:  # Memory(None) caches nothing
        cached = memory.cache(_cached_vector, ignore=["vector"])
    todo = list(range(len(clips)))
    if cached is not None:
        keys = [(_clip_digest(w), version, params) for w in clips]
        todo = []
        for i, key in enumerate(keys):
            # Whatever comes back is checked: a truncated, planted or stale entry
            # (joblib may warn that it recomputes) is computed again and overwritten.
            vector = None
            if cached.check_call_in_cache(*key):
                try:
                    with quiet_cache_reload():
                        vector = _checked_vector(cached(*key), n_features)
                except Exception:  # noqa: BLE001 - any unreadable entry is a miss
                    vector = None
            if vector is None:
                todo.append(i)
            else:
                out[i] = vector
    if todo:
        # Longest first, so each batch holds clips of similar lengths.
        todo.sort(key=lambda i: -clips[i].size)
        batches = [todo[s : s + batch_size] for s in range(0, len(todo), batch_size)]
        results = parallel_map(
            compute, [[clips[i] for i in b] for b in batches],
            n_jobs=n_jobs, verbose=verbose, desc=desc, args=[args] * len(batches),
        )
        for batch, vectors in zip(batches, results):
            out[batch] = vectors
            if cached is not None:
                for i, vector in zip(batch, vectors):
                    cached.call(*keys[i], vector=vector)  # stores, replacing a bad entry
    return out
