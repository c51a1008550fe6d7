"""What ``sklearn-ser`` writes: tables, JSON and CSV on stdout; notes, warnings, errors on stderr.

stdout carries only results, so that it can be piped; everything else goes to
stderr.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sklearn_ser.cli._parser import PROG


def note(message: str) -> None:
    """A progress note on stderr (stdout stays machine-readable)."""
    print(message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    """The one ``sklearn-ser: error: ...`` line of a failed command."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned columns; numbers right-aligned.

    Parameters
    ----------
    header : sequence of str
    rows : sequence of sequences
        Floats are shown with 3 decimals, None as ``-``.

    Returns
    -------
    str
    """
    cells = [[str(h) for h in header]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [bool(rows) and all(isinstance(r[i], int | float) for r in rows)
               for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


def display_path(path: str | os.PathLike) -> str:
    """Relative to the working folder when inside it, else absolute."""
    rel = os.path.relpath(path)
    return os.fspath(path) if rel.startswith("..") else rel


def report_files(written: dict[str, Path]) -> str:
    """One indented line per file of a report."""
    return "\n".join(f"  {display_path(path)}" for path in written.values())


def use_file_backend() -> None:
    """Plots go to files only: works without a display."""
    import matplotlib

    matplotlib.use("Agg")


@contextlib.contextmanager
def warnings_as_lines(debug: bool) -> Iterator[None]:
    """Show warnings as one ``sklearn-ser: warning:`` line (no source location)."""
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if debug:
            original(message, category, filename, lineno, file, line)
        else:
            print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)

    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            # Library deprecation chatter is not for end users.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        warnings.showwarning = original


def write_predictions(files: Sequence[str], classes: Sequence[str], proba: Any, *,
                      fmt: str, with_proba: bool) -> None:
    """One row (or JSON record) per file: path, label and, optionally, probabilities."""
    labels = [classes[i] for i in proba.argmax(axis=1)]
    if fmt == "json":
        records = []
        for path, label, p in zip(files, labels, proba):
            record: dict[str, Any] = {"path": path, "label": label}
            if with_proba:
                record["proba"] = {c: round(float(v), 6) for c, v in zip(classes, p)}
            records.append(record)
        print(json.dumps(records, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["path", "label", *(classes if with_proba else [])])
        for path, label, p in zip(files, labels, proba):
            writer.writerow([path, label, *([f"{v:.6f}" for v in p] if with_proba else [])])
        sys.stdout.write(buffer.getvalue())
    else:
        header = ["path", "label", *(classes if with_proba else [])]
        rows = [[path, label, *([float(v) for v in p] if with_proba else [])]
                for path, label, p in zip(files, labels, proba)]
        print(format_table(header, rows))


def _plain(value: Any) -> Any:
    """JSON/table value: NaN -> None, floats rounded to 6 decimals."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def write_segments(frame: Any, path: str, *, fmt: str, with_proba: bool) -> None:
    """The timeline of :func:`sklearn_ser.predict_segments` as a table, CSV or JSON."""
    classes = [str(c) for c in frame.columns[4:]]
    if fmt == "json":
        records = [{k: _plain(v) for k, v in row.items()}
                   for row in frame.to_dict(orient="records")]
        print(json.dumps({"path": path, "classes": classes, "segments": records}, indent=2))
    elif fmt == "csv":
        sys.stdout.write(frame.to_csv(index=False, float_format="%.6f", lineterminator="\n"))
    else:
        shown = ["start", "end", "label", *(classes if with_proba else [])]
        rows = [[_plain(float(v)) if isinstance(v, float) else v for v in row]
                for row in frame[shown].itertuples(index=False)]
        print(format_table(shown, rows))
