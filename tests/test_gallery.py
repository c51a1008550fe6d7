"""The example gallery's wiring (sphinx-gallery): fast checks without building the docs.

The build itself (every example executed with its quick settings, warnings as
errors) is ``tests/test_docs.py::test_sphinx_build_has_no_warnings`` (slow) and CI.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"

_READ_CONF = """
import json, os, sys
os.chdir(sys.argv[1])
os.environ["SKLEARN_SER_RAVDESS"] = "/somewhere"
os.environ.pop("SKLEARN_SER_EXAMPLE_QUICK", None)
namespace = {"__file__": os.path.join(sys.argv[1], "conf.py")}
exec(compile(open("conf.py").read(), "conf.py", "exec"), namespace)
print(json.dumps({
    "conf": {k: v for k, v in namespace["sphinx_gallery_conf"].items()
             if isinstance(v, (str, int, float, bool, list, tuple, type(None)))},
    "extensions": namespace["extensions"],
    "quick": os.environ.get("SKLEARN_SER_EXAMPLE_QUICK"),
    "ravdess": os.environ.get("SKLEARN_SER_RAVDESS"),
}))
"""


def _conf() -> dict:
    out = subprocess.run([sys.executable, "-c", _READ_CONF, str(DOCS)], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_conf_runs_every_example_in_quick_mode():
    conf = _conf()
    assert "sphinx_gallery.gen_gallery" in conf["extensions"]
    gallery = conf["conf"]
    assert gallery["examples_dirs"] == "../examples"
    assert gallery["gallery_dirs"] == "auto_examples"
    assert gallery["doc_module"] == ["sklearn_ser"]
    assert gallery["backreferences_dir"]
    assert "gallery_helpers.reset_sklearn_config" in gallery["reset_modules"]
    # Every example is executed, whatever its name after plot_.
    scripts = sorted(EXAMPLES.glob("*.py"))
    assert scripts
    for script in scripts:
        assert script.name.startswith("plot_"), f"{script.name}: gallery scripts are plot_*.py"
        assert re.search(gallery["filename_pattern"], str(script)), script.name
    # The docs build runs them with quick settings, on the real clips when the build
    # has them (SKLEARN_SER_RAVDESS is left for the examples to read).
    assert conf["quick"] == "1"
    assert conf["ravdess"] == "/somewhere"


def test_gallery_sources_and_pages():
    readme = EXAMPLES / "README.rst"
    assert readme.is_file(), "sphinx-gallery needs examples/README.rst"
    assert readme.read_text().splitlines()[3].startswith("=")  # a title
    page = (DOCS / "examples.rst").read_text()
    assert "auto_examples/index" in page
    assert ".. minigallery::" in page
    for script in EXAMPLES.glob("*.py"):  # a thumbnail for each on the Examples page
        assert f"   ../examples/{script.name}\n" in page, script.name
    assert "literalinclude" not in page
    for template in ("class.rst", "function.rst"):
        text = (DOCS / "_templates" / "autosummary" / template).read_text()
        assert ".. minigallery:: {{ module }}.{{ objname }}" in text
    assert (DOCS / "_static" / "sklearn_ser.css").is_file()


def _helpers():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import gallery_helpers
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return gallery_helpers


def test_gallery_order():
    example_order = _helpers().example_order
    names = ["plot_grid_search.py", "plot_train_ravdess.py", "plot_zzz.py",
             "plot_quickstart.py", "plot_feature_images.py"]
    assert sorted(names, key=example_order) == [
        "plot_quickstart.py", "plot_train_ravdess.py", "plot_feature_images.py",
        "plot_grid_search.py", "plot_zzz.py",
    ]
    assert example_order("/some/dir/plot_quickstart.py") == example_order("plot_quickstart.py")


# -- every executed example must show a model that learned ----------------------------------
def _page(*outputs: str) -> str:
    """An example page as sphinx-gallery writes it: code, then each printed output."""
    parts = ["Title\n=====\n", ".. code-block:: Python\n\n    print(f'accuracy {a:.3f}')\n"]
    for out in outputs:
        body = "\n".join("    " + line for line in out.splitlines())
        parts.append(f".. rst-class:: sphx-glr-script-out\n\n .. code-block:: none\n\n{body}\n")
        parts.append("Next section\n------------\n\ntext mentioning accuracy 0.1 (chance 0.25)\n")
    return "\n".join(parts)


def test_script_outputs_are_read_from_a_gallery_page():
    helpers = _helpers()
    page = _page("accuracy 0.875 (chance 0.250)\n  indented\n\nafter a blank line",
                 "second block")
    outputs = helpers.script_outputs(page)
    assert len(outputs) == 2
    assert "accuracy 0.875 (chance 0.250)" in outputs[0] and "after a blank line" in outputs[0]
    # The narrative after a block is not output: its near-chance number is not read.
    assert "text mentioning" not in outputs[0] + outputs[1]


@pytest.mark.parametrize(("output", "flagged"), [
    ("accuracy 0.875 (chance 0.250)", False),
    ("UAR 0.351 (chance 0.250)", False),  # 10.1 points above
    ("UAR 0.349 (chance 0.250)", True),  # 9.9 points above
    ("accuracy 0.250 (chance 0.250)", True),  # the degenerate "always angry" model
    ("accuracy 0.10 (chance 0.143), the rest 0.9 (chance 0.143)", True),
    ("accuracy 0.938 (chance 0.250) +- 0.068 over 5 folds", False),
    ("cnn: accuracy 0.300 +- 0.050 (chance 0.250)", True),
    ("accuracy 0.900 without a chance level", True),  # a score must say its chance level
    ("no score here, 0.2 of a second", False),
])
def test_scores_near_chance_are_problems(output, flagged):
    problems = _helpers().score_problems("plot_x", output)
    assert bool(problems) is flagged, problems
    if flagged:
        assert problems[0].startswith("plot_x: ")


def test_the_docs_build_fails_on_a_near_chance_example(tmp_path):
    from types import SimpleNamespace

    from sphinx.errors import ExtensionError

    helpers = _helpers()
    gallery = tmp_path / "auto_examples"
    gallery.mkdir()
    (gallery / "plot_good.rst").write_text(_page("accuracy 0.9 (chance 0.25)"))
    app = SimpleNamespace(srcdir=str(tmp_path),
                          config=SimpleNamespace(sphinx_gallery_conf={"gallery_dirs":
                                                                      "auto_examples"}))
    helpers.check_example_scores(app)  # nothing to say
    (gallery / "plot_bad.rst").write_text(_page("accuracy 0.26 (chance 0.25)"))
    with pytest.raises(ExtensionError, match="plot_bad: a score within 10% of chance"):
        helpers.check_example_scores(app)


def test_the_check_is_connected_after_the_gallery_runs():
    text = (DOCS / "conf.py").read_text()
    assert 'app.connect("builder-inited", _check_example_scores, priority=800)' in text


# -- what the examples show -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["SERClassifier", "WaveformAugmenter", "Views",
                                  "ViewsClassifier", "OpenSmileFunctionals", "GE2EEncoder"])
def test_an_example_uses_each_estimator(name):
    """sphinx-gallery lists "Examples using X" on X's API page only if an example names it."""
    users = [script.name for script in EXAMPLES.glob("plot_*.py")
             if re.search(rf"^from sklearn_ser import .*\b{name}\b", script.read_text(),
                          flags=re.MULTILINE)
             or f":class:`~sklearn_ser.{name}`" in script.read_text()]
    assert users, f"no example uses {name}"


def test_examples_use_the_real_clips_when_there_and_the_default_model():
    for script in EXAMPLES.glob("plot_*.py"):
        text = script.read_text()
        assert "SKLEARN_SER_RAVDESS" in text, f"{script.name} never uses the real clips"
        assert "../shared" not in text and "shared/data" not in text, script.name
    quickstart = (EXAMPLES / "plot_quickstart.py").read_text()
    assert "make_ser_pipeline(random_state=0)" in quickstart  # the default: recommended
