"""Tables of ``benchmarks/results/heads.json`` (written by ``bench_heads.py``).

``.. heads-table:: ../benchmarks/results/heads.json`` renders one row per head fitted on
the ``recommended`` preset's frozen vectors (UAR on 4 and 6 shared classes from each
corpus to the other, accuracy on new RAVDESS actors, each with its difference from the
preset's own head); ``.. heads-conditions::`` the accuracy on new RAVDESS actors under each
recording condition; ``.. heads-provenance::`` where the numbers come from. Numbers are never typed
by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from corpora_tables import provenance_text  # the provenance of RAVDESS + TESS results
from result_tables import NBSP, _list_table, _pct  # docs/_ext: one table format
from robustness_tables import _RobustnessDirective  # JSON in, rst out

#: The columns: (row key, header).
COLUMNS = (
    ("ravdess_to_tess_uar_4", "RAVDESS → TESS, 4 classes"),
    ("ravdess_to_tess_uar_6", "RAVDESS → TESS, 6 classes"),
    ("tess_to_ravdess_uar_4", "TESS → RAVDESS, 4 classes"),
    ("tess_to_ravdess_uar_6", "TESS → RAVDESS, 6 classes"),
    ("ravdess_accuracy", "new RAVDESS actors, 8 classes (accuracy)"),
)


def _points(value: float, reference: float) -> str:
    """``value - reference`` in percentage points, signed (a minus sign, not a hyphen).

    Taken between the rounded percentages, so that it is the difference a reader
    computes from the table's cells.
    """
    points = round(round(100 * value, 1) - round(100 * reference, 1), 1)
    if points == 0:
        return "±0.0"
    return f"+{points:.1f}" if points > 0 else f"−{-points:.1f}"


def _table(rows: list[dict], columns: list[tuple[str, Callable[[dict], float]]],
           label: str = "head") -> list[str]:
    """One row per ``row[label]``, a cell per column with its difference from the first row's."""
    reference = rows[0]
    body = []
    for row in rows:
        cells = [row[label]]
        for _, value in columns:
            cell = _pct(value(row))
            if row is not reference:
                cell += f"{NBSP}({_points(value(row), value(reference))})"
            cells.append(cell)
        body.append(cells)
    return _list_table([label, *(header for header, _ in columns)], body)


class HeadsTable(_RobustnessDirective):
    """Across corpora and on new actors; the first row (the preset's head) is the reference."""

    #: (row key, header) of each column, and the row key that names a row.
    columns: tuple[tuple[str, str], ...] = COLUMNS
    label = "head"

    def run(self):
        columns = [(header, itemgetter(key)) for key, header in self.columns]
        return self.render(_table(self.result()["rows"], columns, self.label))


class HeadsConditions(_RobustnessDirective):
    """Accuracy on new RAVDESS actors' clips, clean and under each recording condition."""

    label = "head"

    def run(self):
        rows = self.result()["rows"]
        columns = [("clean", itemgetter("ravdess_accuracy"))]
        columns += [(name, lambda row, name=name: row["conditions"][name])
                    for name in rows[0]["conditions"]]
        return self.render(_table(rows, columns, self.label))


class HeadsProvenance(_RobustnessDirective):
    """The command, date, data, folds, seed, versions and run time of the result file."""

    def run(self):
        r = self.result()
        subject = f"the ``{r['preset']}`` preset's {r['n_features']} features"
        return self.render([provenance_text(r, subject)])


def setup(app):
    app.add_directive("heads-table", HeadsTable)
    app.add_directive("heads-conditions", HeadsConditions)
    app.add_directive("heads-provenance", HeadsProvenance)
    return {"parallel_read_safe": True}
