"""Sphinx configuration of the sklearn_ser documentation.

Build (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing is fetched from the network: intersphinx is not enabled.

The example gallery (sphinx-gallery) executes every ``examples/plot_*.py``
during the build with the examples' quick settings
(``SKLEARN_SER_EXAMPLE_QUICK=1``: fewer speakers), on the RAVDESS clips when
``SKLEARN_SER_RAVDESS`` names their folder (as in CI) and on synthetic audio
otherwise, so the whole build takes a few minutes. The build fails when an
executed example reports a score within 10 points of chance
(``gallery_helpers.check_example_scores``). ``SKLEARN_SER_EXAMPLE_QUICK=0``
runs the full settings; ``-D plot_gallery=0`` builds without running them.
"""

import os
import re
import sys
from datetime import date

import sklearn_ser

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Set before sphinx-gallery runs the examples (they read it when executed). The
# examples read SKLEARN_SER_RAVDESS themselves: real clips when the folder is there.
QUICK_EXAMPLES = os.environ.setdefault("SKLEARN_SER_EXAMPLE_QUICK", "1") == "1"
sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))  # docs/_ext: gallery_helpers, result_tables, ...

project = "sklearn_ser"
author = "sklearn_ser developers"
copyright = f"{date.today().year}, {author}"
release = sklearn_ser.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "result_tables",  # docs/_ext: tables rendered from benchmarks/results/*.json
    "robustness_tables",  # docs/_ext: the tables of benchmarks/results/robustness.json
    "corpora_tables",  # docs/_ext: the tables of benchmarks/results/corpora.json
    "heads_tables",  # docs/_ext: the table of benchmarks/results/heads.json
    "views_tables",  # docs/_ext: the table of benchmarks/results/views.json
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# API pages are generated into docs/generated/ (ignored by git).
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc docstrings already state the types
add_module_names = False

# numpydoc: no member tables (autodoc lists the members), no style validation
# (docstrings of every module are checked by review, not by the build).
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_ser {release}"
html_static_path = ["_static"]
html_css_files = ["sklearn_ser.css"]  # code blocks wrap instead of being cut off
# Example pages get the width of the left navigation for their code (prev/next and
# the breadcrumbs still lead through the gallery): 100-character lines fit unwrapped.
html_sidebars = {"auto_examples/*": []}
html_theme_options = {
    # A page without sub-pages gets no left column at all (by default the theme keeps
    # an empty "Section Navigation" column of ~230 px, so tables wrapped their numbers).
    "sidebar_includehidden": False,
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False

# -- Example gallery -------------------------------------------------------------
# Every examples/plot_*.py is executed; its printed output and matplotlib figures
# are embedded, and it is offered as a script and a notebook. API pages list the
# examples that use each object (the "Examples using" mini-gallery of the
# autosummary templates, from the backreferences written into generated/).
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": re.escape(os.sep) + r"plot_.*\.py$",
    "within_subsection_order": "gallery_helpers.example_order",
    "minigallery_sort_order": "gallery_helpers.example_order",
    "backreferences_dir": "generated",
    "doc_module": ("sklearn_ser",),
    "image_scrapers": ("matplotlib",),
    # The examples run one after another in this process: reset global state.
    "reset_modules": ("matplotlib", "gallery_helpers.reset_sklearn_config"),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "download_all_examples": True,
    "thumbnail_size": (400, 280),
    # No sg_execution_times pages: they load scripts from CDNs and would be a page
    # outside every toctree; each example page states its own running time.
    "write_computation_times": False,
    "show_memory": False,
    "abort_on_example_error": False,  # report every failing example, then fail the build
}


# In reStructuredText a bare word ending in "_" is a hyperlink reference, so a
# docstring shape such as "(n_rows_, 1)" (a fitted attribute inside a shape
# tuple) would fail the build with 'Unknown target name'. Escape such words in
# shape tuples, outside ``literals``, after numpydoc has rendered the docstring.
_SHAPE_WORD = re.compile(r"(?:(?<=\()|(?<=, ))([A-Za-z]\w*)_(?=[,)])")


def _escape_shape_attributes(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        parts = line.split("``")
        parts[::2] = [_SHAPE_WORD.sub(r"\1\\_", part) for part in parts[::2]]
        lines[i] = "``".join(parts)


def _check_example_scores(app):
    from gallery_helpers import check_example_scores

    check_example_scores(app)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shape_attributes, priority=600)
    # After sphinx-gallery (default priority 500) has run the examples and written pages.
    app.connect("builder-inited", _check_example_scores, priority=800)
