"""The export format's JSON: tagged encoding of parameters and fitted state, and
the checked reading of ``pipeline.json`` / ``metadata.json``.

Values that plain JSON cannot hold are tagged (``{"__tuple__": [...]}``,
``{"__ndarray__": [...], "dtype": ..., "shape": ...}``, ...). Reading never
trusts a tag's type: learned arrays are rebuilt from their lists and checked
by the layout that uses them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sklearn_ser._io import read_bounded
from sklearn_ser.exceptions import ModelFileError

#: Largest pipeline.json / metadata.json read (bytes): the feature statistics of the
#: largest allowed image fit many times over.
_MAX_JSON_BYTES = 64 << 20
#: Deepest nesting read: an export nests about 8 levels; the decoders recurse, and a
#: deeper file must be the folder's error, not a RecursionError.
_MAX_JSON_DEPTH = 64


def _encode(value: Any, where: str) -> Any:
    """Turn a parameter or fitted attribute into tagged JSON, or raise naming it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": value.shape}
    if isinstance(value, np.ndarray) and value.dtype.kind in "US":
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": value.shape}
    raise ValueError(
        f"cannot export {where}={value!r}: only numbers, strings, None, tuples, lists, "
        "dicts and numeric arrays can go into pipeline.json"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"].items()}
        if "__slice__" in value:
            return slice(*value["__slice__"])
        if "__ndarray__" in value:
            try:
                dtype = np.dtype(value["dtype"])
            except (TypeError, ValueError):
                dtype = None
            if dtype is None or dtype.kind not in "biuf":
                raise ModelFileError(f"unexpected array type in pipeline.json: {value['dtype']!r}")
            array = np.asarray(value["__ndarray__"], dtype=dtype)
            return array.reshape(value["shape"])
        raise ModelFileError(f"unexpected object in pipeline.json: {sorted(value)}")
    return value


def _fitted_state(step: Any, name: str) -> dict[str, Any]:
    """The fitted attributes (trailing underscore) of an audio step, JSON-encoded."""
    state = {}
    for attr, value in vars(step).items():
        if attr.endswith("_") and not attr.startswith("_"):
            state[attr] = _encode(value, f"{name}.{attr}")
    return state



def _refuse(directory: Path, message: str) -> ModelFileError:
    return ModelFileError(f"{directory}: {message}")


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > _MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _read_json(file: Path, directory: Path) -> dict[str, Any]:
    """A JSON object from a model folder: a regular file, size- and depth-limited.

    Every failure (not a regular file, too large, not UTF-8, not JSON, nested
    deeper than any export) is the folder's :class:`ModelFileError`.
    """
    raw = read_bounded(file, _MAX_JSON_BYTES,
                       error=lambda message: _refuse(directory, message))
    too_deep = False
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        data, too_deep = None, True
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _refuse(directory, f"{file.name} is not valid JSON ({exc})") from None
    if too_deep or _depth(data) > _MAX_JSON_DEPTH:
        raise _refuse(directory, f"{file.name} is nested deeper than {_MAX_JSON_DEPTH} levels")
    if not isinstance(data, dict):
        raise _refuse(directory, f"{file.name} does not hold a JSON object")
    return data


def _import_classes(state: dict[str, Any], meta: dict[str, Any], directory: Path,
                    where: str = "fitted.cnn.classes_") -> np.ndarray:
    """The class labels, checked against metadata.json, as full-length values."""
    raw = state.get("classes_")
    listed = raw.get("__ndarray__") if isinstance(raw, dict) else raw
    if not isinstance(listed, list) or not listed:
        raise _refuse(directory, f"pipeline.json has no class labels ({where})")
    kinds = {type(c) for c in listed}
    if not (kinds == {str} or kinds == {int}) or any(isinstance(c, bool) for c in listed):
        raise _refuse(directory, "class labels must be all strings or all integers")
    if len(set(listed)) != len(listed) or len(listed) < 2:
        raise _refuse(directory, f"class labels must be 2 or more distinct values, got {listed}")
    if any(isinstance(c, str) and len(c) > 1000 for c in listed):
        raise _refuse(directory, "a class label is longer than 1000 characters")
    if listed != sorted(listed):
        raise _refuse(directory, "class labels in pipeline.json are not in sorted order")
    if meta.get("classes") != listed:
        raise _refuse(
            directory,
            f"the classes in metadata.json ({meta.get('classes')}) differ from those in "
            f"pipeline.json ({listed})",
        )
    # From the list, never from the file's dtype: a fixed-width '<U7' would cut
    # 'surprise' to 'surpris'. Strings come back as Python str objects.
    return np.asarray(listed, dtype=object if kinds == {str} else np.int64)
