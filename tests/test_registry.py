"""Tests of the corpus registry: names, what is made from it, and its import cost."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_ser.datasets as datasets
from sklearn_ser.datasets import CORPORA, corpus_names, resolve_corpus_name
from sklearn_ser.datasets._loaders import LOADERS
from sklearn_ser.datasets._registry import CORPUS_TABLE, get_corpus

PACKAGE = Path(datasets.__file__).parent
COMMON = ("drop_labels", "native_labels", "extensions", "strict", "as_frame", "return_X_y")


def test_corpus_names_in_table_order():
    assert corpus_names() == ("ravdess", "crema_d", "tess", "savee", "synthetic")
    assert corpus_names() == tuple(corpus.name for corpus in CORPUS_TABLE)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ravdess", "ravdess"),
        (" RAVDESS ", "ravdess"),
        ("CREMA-D", "crema_d"),
        ("crema_d", "crema_d"),
        ("cremad", "crema_d"),
        ("Crema", "crema_d"),
        ("Synthetic", "synthetic"),
    ],
)
def test_resolve_corpus_name(given, expected):
    assert resolve_corpus_name(given) == expected
    assert get_corpus(given).name == expected


def test_unknown_corpus_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown corpus 'iemocap'; known corpora: ravdess, "):
        resolve_corpus_name("iemocap")
    with pytest.raises(ValueError, match="synthetic"):
        resolve_corpus_name("")


def test_corpora_and_loaders_come_from_the_table():
    # The synthetic set has no download information and so no CORPORA entry.
    assert list(CORPORA) == [c.name for c in CORPUS_TABLE if c.fetch is not None]
    assert "synthetic" not in CORPORA
    for name, info in CORPORA.items():
        corpus, fetch = get_corpus(name), get_corpus(name).fetch
        assert info.title == corpus.full_title and info.loader is LOADERS[name]
        assert (info.url, info.licence, info.homepage) == (fetch.url, fetch.licence, fetch.homepage)
        assert fetch.size in getattr(datasets, f"fetch_{name}").__doc__
    for name in corpus_names():
        assert getattr(datasets, f"load_{name}") is LOADERS[name]


@pytest.mark.parametrize("name", ["ravdess", "crema_d", "tess", "savee", "synthetic"])
def test_loader_signature_and_docstring(name):
    loader, corpus = LOADERS[name], get_corpus(name)
    assert loader.__name__ == f"load_{name}" and inspect.isfunction(loader)
    params = inspect.signature(loader).parameters
    own = ("include_song", "include_video") if name == "ravdess" else ()
    assert tuple(params) == ("path", *own, *COMMON)
    assert all(params[p].kind is inspect.Parameter.KEYWORD_ONLY for p in (*own, *COMMON))
    assert params["extensions"].default == corpus.extensions
    assert params["drop_labels"].default is None and params["return_X_y"].default is False
    doc = inspect.getdoc(loader)
    assert doc.startswith(f"Load the {corpus.title} audio files")
    for section in ("Parameters", "Returns", "Raises", "Warns", *own, *COMMON):
        assert section in doc
    assert corpus.doc.intro.splitlines()[0] in doc
    # Called like a def: wrong calls are TypeErrors naming the loader.
    with pytest.raises(TypeError, match=f"load_{name}\\(\\)"):
        loader("somewhere", True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        loader("somewhere", foo=1)


def test_public_names_and_dir():
    for name in datasets.__all__:
        assert getattr(datasets, name) is not None, name
    assert set(datasets.__all__) <= set(dir(datasets))
    with pytest.raises(AttributeError):
        datasets.no_such_name  # noqa: B018


def test_registry_and_names_import_the_standard_library_only():
    code = (
        "import sys, sklearn_ser.datasets as d; d.corpus_names(); d.resolve_corpus_name('tess'); "
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'scipy', 'pooch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _relative_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    return {
        "." * node.level + (node.module or "")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level
    }


@pytest.mark.parametrize("module", ["_ravdess", "_crema_d", "_tess", "_savee", "_synthetic_files"])
def test_corpus_modules_import_nothing_above_them(module):
    # The registry imports them; they must not import the registry or the loaders.
    assert _relative_imports(module) <= {"..exceptions", "._common"}


def test_registry_imports_only_corpus_modules():
    assert _relative_imports("_registry") == {".", "._common"}
