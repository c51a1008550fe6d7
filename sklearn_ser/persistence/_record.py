"""What both formats record besides the model: versions, classes, creation time.

Reading either format compares the recorded library versions with the installed
ones and warns (:class:`~sklearn_ser.exceptions.ModelVersionWarning`) naming each
difference.
"""

from __future__ import annotations

import datetime as _dt
import platform
import warnings
from importlib import metadata as _metadata
from typing import Any

from sklearn_ser.exceptions import ModelVersionWarning


def to_json_types(value: Any) -> Any:
    """:func:`sklearn_ser.evaluation.to_json_types`, imported when used.

    The evaluation module imports pandas; loading a model to predict does not need it.
    """
    from sklearn_ser.evaluation import to_json_types as convert

    return convert(value)


# Distributions whose versions are recorded, and the names used in the record.
_DISTRIBUTIONS = {
    "sklearn_ser": "sklearn-ser",
    "scikit-learn": "scikit-learn",
    "keras": "keras",
    "tensorflow": "tensorflow",
    "librosa": "librosa",
    "numpy": "numpy",
    "scikeras": "scikeras",
}
# Any difference in these changes how a saved model is read or behaves.
_CHECKED = ("sklearn_ser", "scikit-learn", "keras", "tensorflow", "librosa", "numpy", "scikeras")


def versions() -> dict[str, str | None]:
    """Versions of the package and the libraries a saved model depends on.

    Returns
    -------
    dict of str to str or None
        Keys ``sklearn_ser``, ``scikit-learn``, ``keras``, ``tensorflow``,
        ``librosa``, ``numpy``, ``scikeras`` and ``python``; None for a
        distribution that is not installed.
    """
    out: dict[str, str | None] = {}
    for key, dist in _DISTRIBUTIONS.items():
        try:
            out[key] = _metadata.version(dist)
        except _metadata.PackageNotFoundError:
            out[key] = None
    if out["sklearn_ser"] is None:  # running from a source tree that is not installed
        import sklearn_ser

        out["sklearn_ser"] = sklearn_ser.__version__
    out["python"] = platform.python_version()
    return out


def _check_versions(saved: dict[str, Any], source: str) -> None:
    """Warn once, naming each library whose version differs from the saved one."""
    current = versions()
    diffs = [
        f"{name} {saved.get(name)} (now {current.get(name)})"
        for name in _CHECKED
        if saved.get(name) is not None and saved.get(name) != current.get(name)
    ]
    if diffs:
        warnings.warn(
            f"{source} was saved with other library versions: {'; '.join(diffs)}. "
            "Predictions may differ or fail; retrain the model or install the saved versions.",
            ModelVersionWarning,
            stacklevel=3,
        )


def _classes(pipeline: Any) -> list:
    classes = getattr(pipeline, "classes_", None)
    if classes is None:
        raise ValueError("the pipeline is not fitted (it has no classes_); fit it before saving")
    return [to_json_types(c) for c in classes]


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")



def _new_record(fmt: str, classes: list, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The record both formats start with (``save_model`` adds the pipeline to it).

    Parameters
    ----------
    fmt : str
        The format tag (``FORMAT`` or ``EXPORT_FORMAT``).
    classes : list
        The labels, as JSON types (from :func:`_classes`).
    metadata : dict or None
        The caller's own notes.

    Returns
    -------
    dict
        Keys ``format``, ``versions``, ``classes``, ``created`` and ``metadata``,
        in that order (the order of the keys written to metadata.json).
    """
    return {
        "format": fmt,
        "versions": versions(),
        "classes": classes,
        "created": _now(),
        "metadata": dict(metadata or {}),
    }
