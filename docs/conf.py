"""Sphinx configuration of the sklearn_ser documentation.

Build (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing is fetched from the network: intersphinx is not enabled.
"""

import os
import re
import sys
from datetime import date

import sklearn_ser

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.abspath(".."))

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
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False


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


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shape_attributes, priority=600)
