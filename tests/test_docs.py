"""The documentation's structure: every page in a toctree, every public name in the API page."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_benchmark

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
    import numpydoc  # noqa: F401 - the test extra brings the docs requirements
    import sphinx  # noqa: F401
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_readme_accuracy_table_matches_the_result_file():
    """The README's numbers are rendered from benchmarks/results/accuracy.json, not typed."""
    import json

    repo = DOCS.parent
    results = repo / "benchmarks" / "results" / "accuracy.json"
    if not results.exists():
        pytest.skip("no accuracy result file yet")
    block = load_benchmark("bench_accuracy").readme_block(json.loads(results.read_text()))
    assert block in (repo / "README.md").read_text()


# -- what a newcomer reads -------------------------------------------------------------------
REPO = DOCS.parent


def _readme_commands() -> str:
    text = (REPO / "README.md").read_text()
    return re.search(r"```bash\n(.*?)```", text, flags=re.DOTALL).group(1)


def test_front_page_has_the_readme_commands_numbers_and_a_figure():
    commands = _readme_commands().strip().splitlines()
    assert len(commands) == 2  # CI runs the README's first bash block verbatim
    index = (DOCS / "index.rst").read_text()
    block = index[index.index(".. code-block:: bash"):]
    assert [line.strip() for line in block.splitlines()[2:4]] == commands
    # Numbers come from the result files through the directives, never typed.
    assert ".. result-table:: ../benchmarks/results/accuracy.json" in index
    assert ".. result-if-exists:: ../benchmarks/results/robustness.json" in index
    assert not re.search(r"\d+\.\d\s*%", index), "a percentage typed into the front page"
    figure = re.search(r"\.\. figure:: (\S+)", index).group(1)
    assert (DOCS / figure).is_file()
    # One line of Python gets the recommended model.
    assert "make_ser_pipeline().fit(" in index


_PRIVATE = re.compile(r"``_[A-Za-z]\w*``|\b_[A-Z][A-Z_]{2,}\b")


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.rst"))
                         + sorted(p.name for p in DOCS.glob("*.inc")))
def test_no_page_names_the_shared_folder_or_a_private_name(page):
    text = (DOCS / page).read_text()
    assert "../shared" not in text and "shared/data" not in text, page
    assert not _PRIVATE.findall(text), (page, _PRIVATE.findall(text))


def test_the_private_name_check_can_fail():
    assert _PRIVATE.findall("an allow-list (``_IMPORTABLE`` in persistence), _LAYOUTS")
    assert not _PRIVATE.findall("``__init__``, ``n_jobs``, ``Views``, STEP__PARAM")


def test_presets_are_introduced_once_with_the_reference_by_name():
    guide = (DOCS / "user_guide.rst").read_text()
    assert len(re.findall(r"^Presets\n-------$", guide, flags=re.MULTILINE)) == 1
    section = guide[guide.index("Presets\n-------"):]
    section = section[:section.index("\n---", 20)]
    assert '``"recommended"`` (the default)' in section
    assert '``"reference"``' in section and "published recipe, unchanged" in section


def test_changelog_is_an_entry_for_this_release():
    import sklearn_ser

    text = (DOCS / "changelog.rst").read_text()
    assert f"{sklearn_ser.__version__} (unreleased)" in text
    assert "First release." not in text and "previous" not in text.lower()
    assert "make_ser_pipeline" in text and '"reference"' in text


def test_install_page_says_how_to_get_build_and_weigh_in():
    text = (DOCS / "install.rst").read_text()
    for needed in ("Getting the code", "python -m build", '--no-deps "resemblyzer==0.1.4"',
                   "Why", "Extras", "``opensmile``", "``serve``", "``docs``"):
        assert needed in text, needed


def test_tables_scroll_inside_themselves():
    css = (DOCS / "_static" / "sklearn_ser.css").read_text()
    assert ".pst-scrollable-table-container" in css
    conf = (DOCS / "conf.py").read_text()
    assert '"sidebar_includehidden": False' in conf  # no empty navigation column


def _mini_build(tmp_path, index: str, result: dict | None,
                extension: str = "result_tables") -> str:
    """Build a one-page Sphinx project with one docs/_ext extension; return its HTML."""
    import json

    src = tmp_path / "src"
    (src / "results").mkdir(parents=True)
    if result is not None:
        (src / "results" / "r.json").write_text(json.dumps(result))
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        f"extensions = [{extension!r}]\n")
    (src / "index.rst").write_text(index)
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src),
         str(tmp_path / "html")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return (tmp_path / "html" / "index.html").read_text()


_ROW = {"name": "recommended", "protocol": "speaker_independent", "evaluation": "6-fold",
        "accuracy_mean": 0.701, "accuracy_std": 0.063, "uar_mean": 0.689,
        "fold_accuracy": [0.7, 0.7]}
_PAGE = """Title
=====

Before: +23 % faster, 120 ms, ``5 %`` as code, hash md5:0123abcd.

.. result-if-exists:: results/r.json

   Inside the block.

   .. result-table:: results/r.json
      :columns: name, accuracy, uar

After; clips: :result:`results/r.json#data.n_clips`.
"""


def test_result_block_renders_only_when_the_file_exists(tmp_path):
    html = _mini_build(tmp_path / "with", _PAGE, {"rows": [_ROW], "data": {"n_clips": 1080}})
    assert "Inside the block." in html and "After" in html
    # A number and its unit never wrap apart in a narrow column.
    assert "70.1\u00a0%\u00a0±\u00a06.3\u00a0%" in html and "68.9\u00a0%" in html
    assert "clips: 1080" in html
    # Numbers typed into any page keep their units too; code stays as written.
    assert "+23\u00a0% faster, 120\u00a0ms" in html
    assert '<span class="pre">5</span> <span class="pre">%</span>' in html
    # A checksum is shown as code, not as a link to "md5:...".
    assert 'href="md5:' not in html and "md5:0123abcd</span>" in html
    without = _PAGE.replace("After; clips: :result:`results/r.json#data.n_clips`.", "After.")
    html = _mini_build(tmp_path / "without", without, None)
    assert "Before" in html and "After." in html and "Inside the block." not in html


def _corpus_row(section, train, test, classes, weights, uar, shared_uar, **extra):
    return {"section": section, "train": train, "test": test, "classes": classes,
            "sample_weight": weights, "uar": uar, "shared_uar": shared_uar,
            "folds": [{"scored_classes": ["angry", "happy", "neutral", "sad"]}], **extra}


def test_corpora_tables_render_the_result_file(tmp_path):
    result = {
        "command": "bench_corpora.py --seed 3", "date": "2026-12-04T06:00:00+00:00",
        "preset": "recommended", "clips": {"ravdess": 1080, "tess": 2800}, "folds": 6,
        "seed": 3, "versions": {"sklearn_ser": "9.9"}, "seconds": 1800.0,
        "rows": [
            _corpus_row("cross_corpus", ["ravdess"], ["tess"], "all->4", None, 0.1234, 0.6544),
            _corpus_row("cross_corpus", ["ravdess"], ["tess"], "all->4", "corpus_class",
                        0.1111, 0.6611),
            _corpus_row("cross_corpus", ["tess"], ["ravdess"], "6", None, 0.4321, 0.4321),
            _corpus_row("multi_corpus", ["ravdess", "tess"], ["ravdess"], "all", "corpus",
                        0.7012, 0.7012, accuracy=0.7123, uar_std=0.0456),
        ],
    }
    page = ("T\n=\n\n.. corpora-provenance:: results/r.json\n\n"
            ".. corpora-cross:: results/r.json\n\n.. corpora-multi:: results/r.json\n")
    html = _mini_build(tmp_path, page, result, extension="corpora_tables")
    nbsp = "\u00a0"
    # Cross-corpus: a class set's row holds UAR, shared UAR and the weighted shared UAR.
    cross = html[html.index("ravdess" + nbsp + "→"):]
    assert cross.index(f"12.3{nbsp}%") < cross.index(f"65.4{nbsp}%") < cross.index(f"66.1{nbsp}%")
    assert "all its classes" in cross and "4 (4)" in cross
    # A row without a weighted run leaves its cell empty instead of failing.
    assert f"tess{nbsp}→{nbsp}ravdess" in html and "the 6 shared classes" in html
    # Multi-corpus: accuracy, then UAR with its spread over folds.
    assert f"71.2{nbsp}%" in html and f"70.1{nbsp}%{nbsp}±{nbsp}4.6{nbsp}%" in html
    assert "ravdess + tess" in html and "per corpus" in html
    assert '<span class="pre">--seed</span> <span class="pre">3</span>' in html
    assert "on 2026-12-04" in html and "1080 ravdess, 2800 tess clips" in html
    assert "30 min in all" in html


def test_heads_table_renders_each_head_against_the_presets(tmp_path):
    def row(head, four, six, accuracy):
        # The other direction gets numbers of its own (0.5 and 0.25 apart from these).
        return {"head": head, "ravdess_to_tess_uar_4": four, "ravdess_to_tess_uar_6": six,
                "tess_to_ravdess_uar_4": four - 0.5, "tess_to_ravdess_uar_6": six - 0.25,
                "ravdess_accuracy": accuracy, "folds": [],
                "conditions": {"white 10 dB": accuracy - 0.1, "telephone": accuracy - 0.02}}

    result = {
        "command": "bench_heads.py --seed 2", "date": "2026-12-04T14:00:00+00:00",
        "preset": "recommended", "n_features": 2816, "clips": {"ravdess": 1080, "tess": 2800},
        "folds": 6, "seed": 2, "versions": {"sklearn_ser": "9.9"}, "seconds": 1260.0,
        # 65.44 -> 65.4 and 68.96 -> 69.0: the difference shown is 3.6, not 3.52.
        "rows": [row("preset head", 0.6544, 0.4070, 0.7830),
                 row("other head", 0.6896, 0.3880, 0.7830),
                 row("worse head", 0.6000, 0.5550, 0.7290)],
    }
    page = ("T\n=\n\n.. heads-provenance:: results/r.json\n\n.. heads-table:: results/r.json\n\n"
            "S\n-\n\n.. heads-conditions:: results/r.json\n")
    html = _mini_build(tmp_path, page, result, extension="heads_tables")
    nbsp = "\u00a0"
    preset = html[html.index("preset head"):html.index("other head")]
    assert f"65.4{nbsp}%" in preset and "(" not in preset  # the reference row has no change
    html, conditions = html[:html.index('id="s"')], html[html.index('id="s"'):]
    other = html[html.index("other head"):html.index("worse head")]
    assert f"69.0{nbsp}%{nbsp}(+3.6)" in other
    assert f"38.8{nbsp}%{nbsp}(\u22121.9)" in other and f"78.3{nbsp}%{nbsp}(±0.0)" in other
    worse = html[html.index("worse head"):]
    assert f"60.0{nbsp}%{nbsp}(\u22125.4)" in worse and f"55.5{nbsp}%{nbsp}(+14.8)" in worse
    # Columns in order: R->T 4, R->T 6, T->R 4, T->R 6, new actors.
    cells = [f"{v}{nbsp}%" for v in ("69.0", "38.8", "19.0", "13.8", "78.3")]
    positions = [other.index(cell) for cell in cells]
    assert positions == sorted(positions)
    assert "2816 features" in html and "1080 ravdess, 2800 tess clips" in html
    # Conditions: clean, then each condition in the file's order, against the first row.
    assert conditions.index("clean") < conditions.index("white 10 dB") < conditions.index(
        "telephone")
    worse = conditions[conditions.index("worse head"):]
    cells = [f"72.9{nbsp}%{nbsp}(\u22125.4)", f"62.9{nbsp}%{nbsp}(\u22125.4)",
             f"70.9{nbsp}%{nbsp}(\u22125.4)"]
    assert [worse.index(cell) for cell in cells] == sorted(worse.index(cell) for cell in cells)
    assert f"68.3{nbsp}%" in conditions[:conditions.index("other head")]
    assert "seed 2" in html and "on 2026-12-04" in html and "21 min in all" in html


def test_views_table_renders_each_candidate_against_the_presets_views(tmp_path):
    keys = ("ravdess_to_tess_independent_uar_4", "ravdess_to_tess_independent_uar_6",
            "tess_to_ravdess_independent_uar_4", "ravdess_to_tess_one_domain_uar_4",
            "ravdess_to_tess_one_domain_uar_6", "tess_to_ravdess_one_domain_uar_4",
            "ravdess_accuracy", "ravdess_adaptive_accuracy")

    def row(candidate, first):
        # Each column its own number (first, first - 0.01, ...), so the order shows.
        return {"candidate": candidate, "views": ["clean"], "folds": [],
                **{key: first - 0.01 * i for i, key in enumerate(keys)},
                "conditions": {"white 5 dB": first - 0.2, "telephone": first - 0.05}}

    result = {
        "command": "bench_views.py --seed 4", "date": "2026-12-05T01:00:00+00:00",
        "preset": "recommended", "clips": {"ravdess": 1080, "tess": 2800}, "folds": 6,
        "seed": 4, "versions": {"sklearn_ser": "9.9"}, "seconds": 1800.0,
        "view_settings": {"augment__pitch_steps": [-3.0, 3.0]},
        "rows": [row("preset views", 0.7544), row("+ pitch", 0.7896)],
    }
    page = ("T\n=\n\n.. views-provenance:: results/r.json\n\n.. views-table:: results/r.json\n\n"
            "S\n-\n\n.. views-conditions:: results/r.json\n")
    html = _mini_build(tmp_path, page, result, extension="views_tables")
    nbsp = "\u00a0"
    html, conditions = html[:html.index('id="s"')], html[html.index('id="s"'):]
    preset = html[html.index("preset views"):html.index("+ pitch")]
    assert f"75.4{nbsp}%" in preset and "(" not in preset  # the reference row has no change
    pitch = html[html.index("+ pitch"):]
    # 75.44 -> 75.4 and 78.96 -> 79.0: the difference shown is 3.6, not 3.52; every column.
    cells = [f"{100 * (0.7896 - 0.01 * i):.1f}{nbsp}%{nbsp}(+3.6)" for i in range(len(keys))]
    assert [pitch.index(cell) for cell in cells] == sorted(pitch.index(cell) for cell in cells)
    assert "one domain" in html and "per speaker" in html
    assert "augment__pitch_steps=(-3.0,</span> <span class=\"pre\">3.0)" in html
    assert "seed 4" in html
    assert "1080 ravdess, 2800 tess clips" in html and "30 min in all" in html
    # Conditions: clean, then each condition in the file's order.
    assert conditions.index("clean") < conditions.index("white 5 dB") < conditions.index(
        "telephone")
    assert f"59.0{nbsp}%{nbsp}(+3.6)" in conditions  # 0.7896 - 0.2
