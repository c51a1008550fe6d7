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
    # The docs build runs them as the tests do: quick settings, synthetic data.
    assert conf["quick"] == "1"
    assert conf["ravdess"] is None


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


def test_gallery_order():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from gallery_helpers import example_order
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    names = ["plot_grid_search.py", "plot_train_ravdess.py", "plot_zzz.py",
             "plot_quickstart.py", "plot_feature_images.py"]
    assert sorted(names, key=example_order) == [
        "plot_quickstart.py", "plot_train_ravdess.py", "plot_feature_images.py",
        "plot_grid_search.py", "plot_zzz.py",
    ]
    assert example_order("/some/dir/plot_quickstart.py") == example_order("plot_quickstart.py")
