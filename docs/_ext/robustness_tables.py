"""Tables of ``benchmarks/results/robustness.json`` (written by ``bench_robustness.py``).

``.. robustness-conditions:: ../benchmarks/results/robustness.json`` renders accuracy
per test condition (rows) for every preset (columns), a table per protocol;
``.. robustness-corpora::`` the cross-corpus UARs; ``.. robustness-unbalanced::``
accuracy with each test speaker limited to some emotions; ``.. robustness-provenance::``
where the numbers come from; ``.. robustness-trimming:: ../benchmarks/results/trimming.json``
what trimming keeps of noisy clips (``bench_trimming.py``). Numbers are never typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from result_tables import NBSP, _list_table, _pct  # docs/_ext: one table format


class _RobustnessDirective(Directive):
    required_arguments = 1
    has_content = False

    def result(self) -> dict:
        env = self.state.document.settings.env
        path = (Path(env.srcdir) / self.arguments[0]).resolve()
        env.note_dependency(str(path))
        return json.loads(path.read_text())

    def render(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return container.children


def _columns(rows: list[dict]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for row in rows:
        key = (row["preset"], row["protocol"])
        if key not in seen:
            seen.append(key)
    return seen


def _header(columns) -> list[str]:
    return [f"``{preset}``, {protocol}" for preset, protocol in columns]


class RobustnessConditions(_RobustnessDirective):
    """One table per protocol (columns: presets), so that each fits a page's width."""

    def run(self):
        rows = self.result()["condition_rows"]
        table = {(r["preset"], r["protocol"], r["condition"]): r for r in rows}
        conditions = list(dict.fromkeys(r["condition"] for r in rows))
        lines: list[str] = []
        for protocol in dict.fromkeys(r["protocol"] for r in rows):
            presets = [p for p, q in _columns(rows) if q == protocol]
            # "20 dB" and "0.5 s" never wrap between number and unit.
            body = [[condition.replace(" dB", f"{NBSP}dB").replace(" s", f"{NBSP}s")] + [
                f"{_pct(table[(p, protocol, condition)]['accuracy_mean'])}{NBSP}±{NBSP}"
                f"{_pct(table[(p, protocol, condition)]['accuracy_std'])}"
                for p in presets] for condition in conditions]
            lines += [f"**{protocol.capitalize()}** protocol:", ""]
            lines += _list_table(["test condition", *(f"``{p}``" for p in presets)], body)
            lines.append("")
        return self.render(lines)


class RobustnessCorpora(_RobustnessDirective):
    def run(self):
        rows = self.result()["corpus_rows"]
        columns = _columns(rows)
        table = {(r["preset"], r["protocol"], r["train"], r["test"], r["n_classes"]): r
                 for r in rows}
        cases = list(dict.fromkeys((r["train"], r["test"], r["n_classes"]) for r in rows))
        body = [[f"{train} → {test}, {n} classes"] + [
            _pct(table[(p, q, train, test, n)]["uar"]) for p, q in columns]
            for train, test, n in cases]
        return self.render(_list_table(["UAR on the shared classes", *_header(columns)], body))


class RobustnessUnbalanced(_RobustnessDirective):
    def run(self):
        rows = self.result()["unbalanced_rows"]
        columns = _columns(rows)
        table = {(r["preset"], r["protocol"], str(r["emotions_per_speaker"])): r for r in rows}
        ks = list(dict.fromkeys(str(r["emotions_per_speaker"]) for r in rows))
        body = [[f"{k} emotion{'s' if k != '1' else ''} per test speaker"] + [
            _pct(table[(p, q, k)]["accuracy_mean"]) for p, q in columns] for k in ks]
        return self.render(_list_table(["test speakers' clips", *_header(columns)], body))


def versions_text(versions: dict) -> str:
    """The library versions a result file records, as the provenance lines quote them."""
    return (f"sklearn_ser {versions.get('sklearn_ser', '?')}, scikit-learn "
            f"{versions.get('scikit-learn', '?')}, numpy {versions.get('numpy', '?')}")


class RobustnessProvenance(_RobustnessDirective):
    def run(self):
        r = self.result()
        fit = r.get("fit_time")
        text = (
            f"Measured by ``{r['command']}`` on {r['date'][:10]}: {r['data']['ravdess']}; "
            f"{r['data']['tess']}; {r['folds']} folds by actor, seed {r['seed']}, "
            f"{r['draws']} draws per unbalanced setting; SNR {r['snr']}. "
            f"{versions_text(r['versions'])}; {r['machine']['cpus']} CPUs, load average "
            f"{r['machine']['load_average_at_start'][0]:.1f} at the start "
            "(other jobs shared the machine)."
        )
        if fit:
            text += (f" Fit of ``recommended`` on {fit['n_clips']} clips (RAVDESS + TESS), "
                     f"cold, in a fresh process"
                     + (f" with n_jobs={fit['n_jobs']}" if "n_jobs" in fit else "")
                     + f": {fit['fit_seconds']:.0f} s.")
        return self.render([text])


class RobustnessTrimming(_RobustnessDirective):
    def run(self):
        r = self.result()
        rules = list(r["extra_seconds"])
        conditions = list(r["extra_seconds"][rules[0]])

        def cell(s: dict) -> str:
            return (f"{s['median']:+.2f}{NBSP}s ({s['p10']:+.2f}{NBSP}to{NBSP}"
                    f"{s['p90']:+.2f})")

        body = [[condition.replace(" dB", f"{NBSP}dB")] + [
            cell(r["extra_seconds"][rule][condition]) for rule in rules]
            for condition in conditions]
        header = ["test condition", *(f"rule: {rule}" for rule in rules)]
        rule_notes = "; ".join(f"*{rule}*: {note}" for rule, note in r["rules"].items())
        caption = (f"Seconds kept beyond the clean clip's trim: median (10th to 90th "
                   f"percentile) over {r['n_clips']} RAVDESS clips, seed {r['seed']}; "
                   f"``{r['command'].strip()}`` on {r['date'][:10]}. {rule_notes}.")
        return self.render([caption, ""] + _list_table(header, body))


def setup(app):
    app.add_directive("robustness-conditions", RobustnessConditions)
    app.add_directive("robustness-corpora", RobustnessCorpora)
    app.add_directive("robustness-unbalanced", RobustnessUnbalanced)
    app.add_directive("robustness-provenance", RobustnessProvenance)
    app.add_directive("robustness-trimming", RobustnessTrimming)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
