"""Tables of ``benchmarks/results/corpora.json`` (written by ``bench_corpora.py``).

``.. corpora-cross:: ../benchmarks/results/corpora.json`` renders the cross-corpus rows
(trained on one corpus, tested on the other, per class set); ``.. corpora-multi::`` the
multi-corpus rows (new RAVDESS actors, trained on RAVDESS alone or with TESS, per
weighting); ``.. corpora-provenance::`` where the numbers come from. Numbers are never
typed by hand.
"""

from __future__ import annotations

from result_tables import NBSP, _list_table, _pct  # docs/_ext: one table format
from robustness_tables import _RobustnessDirective, versions_text  # JSON in, rst out

#: What each class set of bench_corpora.CLASS_SETS trains on and scores.
CLASS_SET_WORDS = {
    "4": ("the 4 shared classes", "4"),
    "6": ("the 6 shared classes", "6"),
    "all": ("all its classes", "all shared"),
    "all->4": ("all its classes", "4"),
    "all->6": ("all its classes", "6"),
}
WEIGHT_WORDS = {None: "none", "corpus": "per corpus", "corpus_class": "per corpus and class"}


def _section(result: dict, section: str) -> list[dict]:
    return [row for row in result["rows"] if row["section"] == section]


class CorporaCross(_RobustnessDirective):
    """One row per direction and class set; UAR without and with class weights."""

    def run(self):
        rows = _section(self.result(), "cross_corpus")
        table = {(r["train"][0], r["test"][0], r["classes"], r["sample_weight"]): r
                 for r in rows}
        cases = list(dict.fromkeys((r["train"][0], r["test"][0], r["classes"]) for r in rows))
        body = []
        for train, test, classes in cases:
            plain = table[(train, test, classes, None)]
            weighted = table.get((train, test, classes, "corpus_class"))
            trained_on, scored = CLASS_SET_WORDS.get(classes, (classes, classes))
            n_scored = len(plain["folds"][0]["scored_classes"]) if plain["folds"] else ""
            body.append([
                f"{train}{NBSP}→{NBSP}{test}", trained_on, f"{scored} ({n_scored})",
                _pct(plain["uar"]), _pct(plain["shared_uar"]),
                _pct(weighted["shared_uar"]) if weighted else "",
            ])
        header = ["direction", "trained on", "scored (classes)", "UAR",
                  "UAR on the shared classes", "the same, class weights"]
        return self.render(_list_table(header, body))


class CorporaMulti(_RobustnessDirective):
    """New RAVDESS actors: trained on RAVDESS alone, or with every TESS clip."""

    def run(self):
        rows = _section(self.result(), "multi_corpus")
        body = [[" + ".join(r["train"]), WEIGHT_WORDS.get(r["sample_weight"],
                                                          str(r["sample_weight"])),
                 _pct(r["accuracy"]), f"{_pct(r['uar'])}{NBSP}±{NBSP}{_pct(r['uar_std'])}"]
                for r in rows]
        header = ["trained on", "sample weights", "accuracy", "UAR (± std over folds)"]
        return self.render(_list_table(header, body))


class CorporaProvenance(_RobustnessDirective):
    """The command, date, data, folds, seed, versions and run time of the result file."""

    def run(self):
        r = self.result()
        return self.render([provenance_text(r, f"preset ``{r['preset']}``")])


def provenance_text(result: dict, subject: str) -> str:
    """Where a RAVDESS + TESS result file's numbers come from, ``subject`` first."""
    r = result
    clips = ", ".join(f"{n} {name}" for name, n in r["clips"].items())
    return (
        f"Measured by ``{r['command']}`` on {r['date'][:10]}: {subject}, {clips} clips, "
        f"{r['folds']} folds by RAVDESS actor, seed {r['seed']}; "
        f"{versions_text(r['versions'])}; {r['seconds'] / 60:.0f} min in all."
    )


def setup(app):
    app.add_directive("corpora-cross", CorporaCross)
    app.add_directive("corpora-multi", CorporaMulti)
    app.add_directive("corpora-provenance", CorporaProvenance)
    return {"parallel_read_safe": True}
