"""One place for running a function over many clips, in parallel and with progress."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from joblib import Parallel, delayed
from tqdm.auto import tqdm


def parallel_map(
    func: Callable[..., Any],
    items: Sequence[Any],
    *,
    n_jobs: int | None = None,
    verbose: int | bool = 0,
    desc: str = "",
    args: Iterable[tuple] | None = None,
) -> list[Any]:
    """Apply ``func`` to each item, keeping order, with joblib and a tqdm bar.

    Parameters
    ----------
    func : callable
        Called as ``func(item, *extra)``.
    items : sequence
        The work items (paths, waveforms, ...).
    n_jobs : int or None
        joblib's ``n_jobs``; ``None`` means one worker unless a
        ``joblib.parallel_backend`` context says otherwise (dask works too).
    verbose : int or bool
        Show a progress bar when truthy.
    desc : str
        Label of the progress bar.
    args : iterable of tuple, optional
        Extra positional arguments per item (zipped with ``items``).

    Returns
    -------
    list
        ``[func(item, *extra) for item, extra in zip(items, args)]``.
    """
    extras = list(args) if args is not None else [()] * len(items)
    # n_jobs=None runs in this process unless a joblib.parallel_backend context
    # (loky, dask, ...) says otherwise; return_as="generator" keeps order and
    # lets the bar move as clips finish.
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    results = runner(delayed(func)(item, *extra) for item, extra in zip(items, extras))
    with tqdm(total=len(items), desc=desc, disable=not verbose, unit="clip", leave=False) as bar:
        out = []
        for result in results:
            out.append(result)
            bar.update()
    return out
