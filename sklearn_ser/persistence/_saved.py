"""``save_model`` / ``load_model``: the whole fitted pipeline in one joblib file.

The pickle is wrapped in a record of the package versions, the label set and
the creation time; loading under other versions warns. A joblib file runs code
when it is loaded: load only files from a trusted source.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Any

import joblib
from sklearn.pipeline import Pipeline

from sklearn_ser._io import dump_joblib
from sklearn_ser.exceptions import ModelFileError, ModelVersionWarning
from sklearn_ser.persistence._export import import_model
from sklearn_ser.persistence._record import _check_versions, _classes, _new_record

#: Format tag of a ``save_model`` file.
FORMAT = "sklearn_ser.model/1"


def save_model(
    pipeline: Any,
    path: str | os.PathLike,
    *,
    metadata: dict[str, Any] | None = None,
    compress: int = 3,
) -> Path:
    """Save a fitted pipeline to one joblib file with version metadata.

    The file holds a dict ``{"format", "versions", "classes", "created",
    "metadata", "pipeline"}``; :func:`load_model` checks it.

    Parameters
    ----------
    pipeline : estimator
        A fitted estimator with ``classes_``, normally the result of
        :func:`~sklearn_ser.make_ser_pipeline` after ``fit``.
    path : str or path-like
        File to write (parent folders are created). ``.joblib`` is customary. The
        file is replaced in one step (written under a temporary name in the same
        folder, then renamed): readers, a concurrent save or an interruption
        see the previous file or the new one, never part of one.
    metadata : dict, default=None
        Your own notes (data used, scores, ...); must be picklable.
    compress : int, default=3
        joblib compression level (0-9).

    Returns
    -------
    pathlib.Path
        The written file.

    Warnings
    --------
    The file is a pickle: loading it runs code. Share it only with people who
    trust you, or use :func:`export_model` instead.
    """
    record = {**_new_record(FORMAT, _classes(pipeline), metadata), "pipeline": pipeline}
    # Written under a temporary name and moved into place: an interrupted or concurrent
    # save leaves the previous file or this one, never a torn file.
    return dump_joblib(record, path, compress=compress)


def _read_pickle(path: Path) -> Any:
    """The object in a joblib file; a missing, special or unreadable file is refused first."""
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; use import_model() for exported models")
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):  # a FIFO would block joblib.load, /dev/zero never ends
        raise ModelFileError(f"{path} is not a regular file; a model file is a .joblib file")
    try:
        # joblib.load unpickles: this is the step that must only see trusted files.
        return joblib.load(path)
    except Exception as exc:  # any unpickling failure means "not our file"
        raise ModelFileError(
            f"cannot read {path} as a sklearn_ser model ({type(exc).__name__}: {exc})"
        ) from None


def _is_fitted_ser_pipeline(value: Any) -> bool:
    from sklearn_ser.pipeline import SERPipeline

    return isinstance(value, SERPipeline) and getattr(value, "classes_", None) is not None


def _check_record(record: Any, path: Path) -> dict[str, Any]:
    tag = str(record.get("format", "")) if isinstance(record, dict) else ""
    if not tag.startswith("sklearn_ser.model/"):
        kind = type(record).__name__
        what = "an unfitted " + kind if kind == "SERPipeline" else f"a {kind}"
        raise ModelFileError(
            f"{path} is not a sklearn_ser model file (it holds {what}); "
            "save fitted models with sklearn_ser.persistence.save_model"
        )
    if record["format"] != FORMAT:
        raise ModelFileError(
            f"{path} has model format {record['format']!r}; this version reads {FORMAT!r}"
        )
    return record


def read_model_record(path: str | os.PathLike) -> dict[str, Any]:
    """Load a :func:`save_model` file and return its whole record (no version check).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    dict
        Keys ``format``, ``versions``, ``classes``, ``created``, ``metadata``
        and ``pipeline``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ModelFileError
        If it is not a sklearn_ser model file (a pipeline saved with plain
        ``joblib.dump`` has no record: :func:`load_model` reads it).
    """
    path = Path(path)
    return _check_record(_read_pickle(path), path)


def load_model(path: str | os.PathLike) -> Pipeline:
    """Load a model saved by :func:`save_model` (or a folder from :func:`export_model`).

    A fitted pipeline of this package saved with plain :func:`joblib.dump` (the
    usual scikit-learn way) is accepted too, with a :class:`ModelVersionWarning`
    saying that its library versions were not recorded and cannot be checked.

    Parameters
    ----------
    path : str or path-like
        A ``.joblib`` file from :func:`save_model` (or :func:`joblib.dump` of
        a fitted pipeline made by :func:`~sklearn_ser.make_ser_pipeline`), or a
        folder written by :func:`export_model` (then :func:`import_model`
        reads it, without pickle).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The fitted pipeline.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        If ``path`` is not a sklearn_ser model (nor a fitted pipeline of this
        package), or is not a regular file or folder.

    Warns
    -----
    ModelVersionWarning
        When the model was saved with other versions of sklearn_ser,
        scikit-learn, Keras, TensorFlow, librosa, NumPy or SciKeras, or
        without a record of them (plain ``joblib.dump``).

    Warnings
    --------
    A ``.joblib`` file is a pickle and runs code when loaded: load only
    files from a trusted source.
    """
    path = Path(path)
    if path.is_dir():
        return import_model(path)
    content = _read_pickle(path)
    if _is_fitted_ser_pipeline(content):
        warnings.warn(
            f"{path} holds a pipeline saved without sklearn_ser.persistence.save_model (e.g. "
            "with joblib.dump): the library versions it was made with were not recorded, so "
            "they cannot be checked; predictions may differ if they have changed",
            ModelVersionWarning,
            stacklevel=2,
        )
        return content
    record = _check_record(content, path)
    _check_versions(record.get("versions", {}), f"model {path}")
    return record["pipeline"]
