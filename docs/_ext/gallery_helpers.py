"""Helpers of the example gallery, referenced from ``conf.py`` by name.

Sphinx caches its configuration with pickle; a function defined in
``conf.py`` could not be cached, so sphinx-gallery is given these as
``"gallery_helpers.<name>"`` strings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
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


#: A score an example prints, with the chance level next to it:
#: ``accuracy 0.875 (chance 0.250)`` (fractions, as every example prints them).
SCORE = re.compile(r"(?P<score>\d*\.\d+)\s*(?:\+-\s*\d*\.\d+\s*)?\(chance (?P<chance>\d*\.\d+)\)")
#: Words that mean an output reports how well a model did.
_SCORE_WORDS = re.compile(r"\b(?:accuracy|UAR|macro-F1|balanced accuracy)\b")
#: How far above chance every reported score must be (in fractions: 10 points).
MIN_ABOVE_CHANCE = 0.10


def script_outputs(rst: str) -> list[str]:
    """The printed output blocks of one example page written by sphinx-gallery.

    Parameters
    ----------
    rst : str
        The page's reStructuredText (``auto_examples/plot_*.rst``).

    Returns
    -------
    outputs : list of str
        The text of each ``sphx-glr-script-out`` block.
    """
    outputs = []
    lines = rst.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".. rst-class:: sphx-glr-script-out":
            continue
        block, started = [], False
        for following in lines[i + 1:]:
            if not started:
                started = following.strip().startswith(".. code-block::")
                continue
            if following.strip() and not following.startswith(" "):
                break
            block.append(following)
        outputs.append("\n".join(block))
    return outputs


def score_problems(name: str, output: str) -> list[str]:
    """What is wrong with the scores an example printed (empty: nothing).

    Every score printed as ``<score> (chance <chance>)`` must be at least
    :data:`MIN_ABOVE_CHANCE` above its chance level, and an example whose
    output talks of accuracy, UAR or F1 must print at least one such score.

    Parameters
    ----------
    name : str
        The example, for the messages.
    output : str
        Everything it printed.

    Returns
    -------
    problems : list of str
    """
    found = list(SCORE.finditer(output))
    if not found and _SCORE_WORDS.search(output):
        return [f"{name}: prints a score without its chance level; print scores as "
                "'accuracy 0.875 (chance 0.250)'"]
    problems = []
    for match in found:
        score, chance = float(match["score"]), float(match["chance"])
        if score < chance + MIN_ABOVE_CHANCE:
            line = output[output.rfind("\n", 0, match.start()) + 1:output.find("\n",
                                                                          match.end())]
            problems.append(f"{name}: a score within {MIN_ABOVE_CHANCE:.0%} of chance "
                            f"({score:.3f}, chance {chance:.3f}): {line.strip()!r}")
    return problems


def check_example_scores(app) -> None:
    """Fail the build when an executed example reports a score near chance.

    Connected to ``builder-inited`` after sphinx-gallery has executed the
    examples and written their pages; reads the printed output of every page.
    A gallery thumbnail of a model that learned nothing would otherwise pass
    for the product's quality.
    """
    from sphinx.errors import ExtensionError

    gallery = Path(app.srcdir) / app.config.sphinx_gallery_conf["gallery_dirs"]
    problems = []
    for page in sorted(gallery.glob("plot_*.rst")):
        output = "\n".join(script_outputs(page.read_text(encoding="utf-8")))
        problems += score_problems(page.stem, output)
    if problems:
        raise ExtensionError("examples that report no learning:\n  " + "\n  ".join(problems))
