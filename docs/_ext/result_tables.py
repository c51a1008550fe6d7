"""Tables and numbers rendered from the benchmark result files, never typed by hand.

``.. result-table:: ../benchmarks/results/accuracy.json`` renders rows of a result
file written by ``benchmarks/bench_accuracy.py``::

    .. result-table:: ../benchmarks/results/accuracy.json
       :match: ^recommended
       :protocol: speaker_independent
       :columns: name, evaluation, accuracy, uar, folds

``:match:`` is a regular expression on the row name, ``:protocol:`` keeps one
protocol, ``:columns:`` picks from the ``COLUMNS`` below. ``.. result-recall::``
renders the per-class recall of one row (``:row:``), ``.. result-anchors::`` the
published anchors the file cites, ``.. result-provenance::`` where the numbers come
from (command, date, versions, data, folds).

The role ``:result:`file.json#row name#field``` puts one number inline.

``.. result-if-exists:: ../benchmarks/results/robustness.json`` renders its content
only when that result file exists: a page can show a benchmark that has not been
run yet once it has been, without a build error before.

Numbers keep their unit on the same line (``68.9 %`` never wraps between the two).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList
from sphinx.transforms import SphinxTransform

# A no-break space: a narrow column must not wrap "68.9 %" into "68.9" and "%".
NBSP = "\u00a0"


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.1f}{NBSP}%"


COLUMNS = {
    # A zero-width space after "+" lets a long combined name wrap there in a narrow column.
    "name": ("configuration", lambda r: "``" + r["name"].replace("+", "+\u200b") + "``"),
    "protocol": ("protocol", lambda r: r["protocol"].replace("_", "-")),
    "evaluation": ("evaluation", lambda r: r["evaluation"]),
    "accuracy": ("accuracy (mean ± std over folds)",
                 lambda r: f"{_pct(r['accuracy_mean'])}{NBSP}±{NBSP}{_pct(r['accuracy_std'])}"),
    "uar": ("UAR", lambda r: _pct(r.get("uar_mean"))),
    "f1": ("macro-F1", lambda r: _pct(r.get("macro_f1_mean"))),
    "folds": ("per fold", lambda r: ", ".join(f"{100 * a:.0f}" for a in r["fold_accuracy"])),
    "fit": ("fit s / fold", lambda r: f"{r['fit_seconds_per_fold']:.0f}"
            if r.get("fit_seconds_per_fold") is not None else ""),
}


def _load(env, argument: str) -> tuple[dict, Path]:
    source = Path(env.srcdir)
    path = (source / argument).resolve()
    env.note_dependency(str(path))
    return json.loads(path.read_text()), path


def _list_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", "   :class: result-numbers", ""]
    for row in [header, *rows]:
        first, *rest = (_literal_start(cell) for cell in row)
        lines.append(f"   * - {first}")
        lines.extend(f"     - {cell}" for cell in rest)
    return lines


def _literal_start(cell: str) -> str:
    """``cell`` with a leading bullet mark escaped: a name such as "+ pitch" is text, not a list."""
    return "\\" + cell if re.match(r"[-+*•‣⁃] ", cell) else cell


class _ResultDirective(Directive):
    required_arguments = 1
    has_content = False

    def render(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return container.children

    def result(self) -> tuple[dict, Path]:
        env = self.state.document.settings.env
        return _load(env, self.arguments[0])

    def rows(self, result: dict) -> list[dict]:
        rows = result["rows"]
        if "match" in self.options:
            rows = [r for r in rows if re.search(self.options["match"], r["name"])]
        if "protocol" in self.options:
            rows = [r for r in rows if r["protocol"] == self.options["protocol"]]
        if "evaluation" in self.options:
            rows = [r for r in rows if re.search(self.options["evaluation"], r["evaluation"])]
        if not rows:
            raise self.error(f"no rows of {self.arguments[0]} match {dict(self.options)}")
        return rows


class ResultTable(_ResultDirective):
    option_spec = {"match": directives.unchanged, "protocol": directives.unchanged,
                   "evaluation": directives.unchanged, "columns": directives.unchanged}

    def run(self):
        result, _ = self.result()
        names = [c.strip() for c in self.options.get(
            "columns", "name, evaluation, accuracy, uar, folds").split(",")]
        unknown = [c for c in names if c not in COLUMNS]
        if unknown:
            raise self.error(f"unknown column {unknown[0]!r}; known: {', '.join(COLUMNS)}")
        header = [COLUMNS[c][0] for c in names]
        body = [[COLUMNS[c][1](row) for c in names] for row in self.rows(result)]
        return self.render(_list_table(header, body))


class ResultRecall(_ResultDirective):
    option_spec = {"match": directives.unchanged, "protocol": directives.unchanged,
                   "evaluation": directives.unchanged}

    def run(self):
        result, _ = self.result()
        row = self.rows(result)[0]
        recall = row["per_class_recall"]
        return self.render(_list_table(["class", "recall"],
                                       [[label, _pct(value)] for label, value in recall.items()]))


class ResultAnchors(_ResultDirective):
    def run(self):
        result, _ = self.result()
        rows = [[a["model"], _pct(a["accuracy"]), a["source"]] for a in result["anchors"]]
        return self.render(_list_table(["published model (not run here)", "accuracy", "source"],
                                       rows))


class ResultProvenance(_ResultDirective):
    def run(self):
        result, path = self.result()
        v = result["versions"]
        cv = result["cv"]
        timing = result.get("timing", {})
        repo = Path(self.state.document.settings.env.srcdir).parent
        lines = [
            f"* result file: ``{path.relative_to(repo)}``,"
            f" written {result['created']} by ``python benchmarks/{result['command']}``",
            f"* data: {result['data']['n_clips']} clips of {len(result['data']['speakers'])} "
            "actors (RAVDESS speech)",
            f"* folds: {cv['splitter']}, {cv['n_splits']} folds by {cv['groups']}, shuffle, "
            f"random_state={cv['random_state']}; model seed {result['seed']}",
            f"* machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}",
            "* versions: " + ", ".join(f"{k} {v[k]}" for k in sorted(v) if v[k]),
        ]
        if timing:
            lines.append(
                f"* fit of ``recommended`` on all {timing['n_clips']} clips: "
                f"{timing['fit_cold_seconds']:.0f} s cold, {timing['fit_warm_seconds']:.0f} s "
                "warm (cached encoder vectors)"
            )
        return self.render(lines)


class ResultFields(_ResultDirective):
    """A two-column table of values picked from any result file by dotted path.

    Content lines: ``label = path.to.value`` (list items by index, e.g. ``rows.0.name``).
    """

    has_content = True

    def run(self):
        result, _ = self.result()
        rows = []
        for line in self.content:
            if not line.strip():
                continue
            label, _, path = (part.strip() for part in line.partition("="))
            value = result
            try:
                for key in path.split("."):
                    value = value[int(key)] if isinstance(value, list) else value[key]
            except (KeyError, IndexError, ValueError, TypeError):
                raise self.error(f"{self.arguments[0]} has no {path!r}") from None
            rows.append([label, f"{value:.3g}" if isinstance(value, float) else str(value)])
        return self.render(_list_table(["what", "value"], rows))


class ResultIfExists(Directive):
    """The content, rendered only if the result file named by the argument exists."""

    required_arguments = 1
    has_content = True

    def run(self):
        env = self.state.document.settings.env
        path = (Path(env.srcdir) / self.arguments[0]).resolve()
        if not path.is_file():
            return []
        env.note_dependency(str(path))
        container = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, container)
        return container.children


def result_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:result:`file.json#row name#field``` -> the value, as a percentage for fractions.

    ``:result:`file.json#dotted.path``` -> any value of the file (list items by
    index, ``len(...)`` around the path for a count), e.g. ``data.n_clips``.
    """
    env = inliner.document.settings.env
    parts = text.split("#")
    result, _ = _load(env, parts[0])
    if len(parts) == 2:
        path, count = parts[1], False
        if path.startswith("len(") and path.endswith(")"):
            path, count = path[4:-1], True
        value = result
        try:
            for key in path.split("."):
                value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            msg = inliner.reporter.error(f"{parts[0]} has no {path!r}", line=lineno)
            return [inliner.problematic(rawtext, rawtext, msg)], [msg]
        return [nodes.Text(str(len(value) if count else value))], []
    file, row_name, field = parts
    rows = [r for r in result["rows"] if r["name"] == row_name]
    if not rows:
        msg = inliner.reporter.error(f"no row {row_name!r} in {file}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    value = rows[0][field]
    shown = _pct(value) if isinstance(value, float) and value <= 1 else str(value)
    return [nodes.Text(shown)], []


_UNIT_SPACE = re.compile(r"(?<=\d) (?=(?:%|±|ms\b|s\b|x\b|MB\b|GB\b|Hz\b|kHz\b))|(?<=±) (?=\d)")


class KeepNumbersWithUnits(SphinxTransform):
    """On every page, "68.9 %", "± 6.3", "120 ms" keep their parts on one line."""

    default_priority = 800

    def apply(self, **kwargs) -> None:
        for node in list(self.document.findall(nodes.Text)):
            if isinstance(node.parent, (nodes.literal, nodes.literal_block, nodes.raw)):
                continue
            text = str(node)
            fixed = _UNIT_SPACE.sub(NBSP, text)
            if fixed != text:
                node.parent.replace(node, nodes.Text(fixed))


class ChecksumsAreNotLinks(SphinxTransform):
    """``md5:...`` is a registered URI scheme to docutils, so a checksum in a docstring
    (``known_hash='md5:bc69...'``) became a link to nowhere; show it as code instead."""

    default_priority = 800
    _SCHEMES = ("md5:", "sha1:", "sha256:", "sha512:")

    def apply(self, **kwargs) -> None:
        for node in list(self.document.findall(nodes.reference)):
            if node.get("refuri", "").lower().startswith(self._SCHEMES):
                node.parent.replace(node, nodes.literal(node.astext(), node.astext()))


def setup(app):
    app.add_transform(KeepNumbersWithUnits)
    app.add_transform(ChecksumsAreNotLinks)
    app.add_directive("result-table", ResultTable)
    app.add_directive("result-recall", ResultRecall)
    app.add_directive("result-anchors", ResultAnchors)
    app.add_directive("result-provenance", ResultProvenance)
    app.add_directive("result-fields", ResultFields)
    app.add_directive("result-if-exists", ResultIfExists)
    app.add_role("result", result_role)
    return {"parallel_read_safe": True, "version": "1"}
