"""Helpers of the example gallery, referenced from ``conf.py`` by name.

Sphinx caches its configuration with pickle; a function defined in
``conf.py`` could not be cached, so sphinx-gallery is given these as
``"gallery_helpers.<name>"`` strings.
"""

from __future__ import annotations

import os
from typing import Any

import sklearn

#: Shown first, in this order; every other example follows by file name, so a
#: new example needs no entry here.
FIRST = ("plot_quickstart.py", "plot_train_ravdess.py")

# scikit-learn's configuration when the build starts (before any example ran).
_SKLEARN_CONFIG = sklearn.get_config()


def example_order(filename: str) -> tuple[int, str]:
    """Sort key of an example file (a bare file name or a full path).

    Parameters
    ----------
    filename : str

    Returns
    -------
    key : tuple of (int, str)
    """
    name = os.path.basename(str(filename))
    rank = FIRST.index(name) if name in FIRST else len(FIRST)
    return rank, name


def reset_sklearn_config(gallery_conf: dict[str, Any], fname: str | None) -> None:
    """Undo an example's ``sklearn.set_config`` before the next example runs.

    The examples share the build's process; one that enables metadata routing
    (speaker adaptation) must not change how the next one runs.
    """
    sklearn.set_config(**_SKLEARN_CONFIG)
