"""The documentation's structure: every page in a toctree, every public name in the API page."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _toctree_entries(text):
    entries = set()
    for block in re.findall(r"\.\. toctree::\n((?:[ \t]+.*\n|\n)+)", text):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith(":"):
                entries.add(line)
    return entries


def test_every_page_is_in_the_index_toctree():
    pages = {p.stem for p in DOCS.glob("*.rst")} - {"index"}
    entries = _toctree_entries((DOCS / "index.rst").read_text())
    assert pages <= entries, f"pages not in a toctree: {sorted(pages - entries)}"
    assert {"benchmarks", "accuracy", "changelog", "api"} <= entries


@pytest.mark.parametrize("module", ["persistence", "plotting", "reporting", "experiment",
                                    "evaluation", "exceptions", "datasets"])
def test_api_page_lists_public_functions(module):
    import importlib

    names = importlib.import_module(f"sklearn_ser.{module}").__all__
    api = (DOCS / "api.rst").read_text()
    documented = set(re.findall(r"^   (\w+)$", api, flags=re.MULTILINE))
    constants = {name for name in names if name.isupper()}
    assert set(names) - constants <= documented


def test_examples_page_includes_every_example():
    text = (DOCS / "examples.rst").read_text()
    for script in (DOCS.parent / "examples").glob("*.py"):
        assert f"../examples/{script.name}" in text, script.name


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_readme_accuracy_table_matches_the_result_file():
    """The README's numbers are rendered from benchmarks/results/accuracy.json, not typed."""
    import importlib.util
    import json

    repo = DOCS.parent
    results = repo / "benchmarks" / "results" / "accuracy.json"
    if not results.exists():
        pytest.skip("no accuracy result file yet")
    spec = importlib.util.spec_from_file_location("bench_accuracy",
                                                  repo / "benchmarks" / "bench_accuracy.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    block = bench.readme_block(json.loads(results.read_text()))
    assert block in (repo / "README.md").read_text()
