"""Tables of ``benchmarks/results/views.json`` (written by ``bench_views.py``).

``.. views-table:: ../benchmarks/results/views.json`` renders one row per candidate set
of training views (UAR on 4 and 6 shared classes across corpora, without and with one
domain's statistics, accuracy on new RAVDESS actors, each with its difference from the
preset's views); ``.. views-conditions::`` the accuracy on new RAVDESS actors under each
recording condition; ``.. views-provenance::`` where the numbers come from. Numbers are
never typed by hand.
"""

from __future__ import annotations

from corpora_tables import provenance_text  # the provenance of RAVDESS + TESS results
from heads_tables import HeadsConditions, HeadsTable  # one row per candidate
from robustness_tables import _RobustnessDirective  # JSON in, rst out

#: The columns: (row key, header).
COLUMNS = (
    ("ravdess_to_tess_independent_uar_4", "RAVDESS → TESS, 4 classes"),
    ("ravdess_to_tess_independent_uar_6", "RAVDESS → TESS, 6 classes"),
    ("tess_to_ravdess_independent_uar_4", "TESS → RAVDESS, 4 classes"),
    ("ravdess_to_tess_one_domain_uar_4", "RAVDESS → TESS, 4 classes, one domain"),
    ("ravdess_to_tess_one_domain_uar_6", "RAVDESS → TESS, 6 classes, one domain"),
    ("tess_to_ravdess_one_domain_uar_4", "TESS → RAVDESS, 4 classes, one domain"),
    ("ravdess_accuracy", "new RAVDESS actors (accuracy)"),
    ("ravdess_adaptive_accuracy", "new RAVDESS actors, per speaker (accuracy)"),
)


class ViewsTable(HeadsTable):
    """Across corpora and on new actors; the first row (the preset's views) is the reference."""

    columns = COLUMNS
    label = "candidate"


class ViewsConditions(HeadsConditions):
    """Accuracy on new RAVDESS actors' clips, clean and under each recording condition."""

    label = "candidate"


class ViewsProvenance(_RobustnessDirective):
    """The command, date, data, folds, seed, versions and run time of the result file."""

    def run(self):
        r = self.result()
        settings = ", ".join(f"``{k}={tuple(v)}``" for k, v in r["view_settings"].items())
        subject = f"the ``{r['preset']}`` preset with views added ({settings})"
        return self.render([provenance_text(r, subject)])


def setup(app):
    app.add_directive("views-table", ViewsTable)
    app.add_directive("views-conditions", ViewsConditions)
    app.add_directive("views-provenance", ViewsProvenance)
    return {"parallel_read_safe": True}
