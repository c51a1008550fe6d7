"""The public ``load_<corpus>`` functions, one per registry entry.

Each loader is a real function made by :func:`_make_loader` from its
:class:`~sklearn_ser.datasets._registry.Corpus` entry: the signature (with
the corpus' own options, e.g. RAVDESS' ``include_song``) is set as
``__signature__`` and the numpydoc docstring is filled from one template, so
``help()``, :func:`inspect.signature` and Sphinx autodoc show each loader
like a hand-written ``def``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from ._base import bind_loader_arguments, build_corpus, loader_signature
from ._registry import CORPUS_TABLE, Corpus

__all__ = [
    "LOADERS",
    "load_crema_d",
    "load_ravdess",
    "load_savee",
    "load_synthetic",
    "load_tess",
]

# The docstring of every loader; {fields} are filled from the registry entry
# (indented pieces already carry their four spaces).
_DOC_TEMPLATE = """\
Load the {title} audio files found below a folder.

{intro}

Parameters
----------
path : str or path-like
{path}
{options}drop_labels : str or iterable of str, default=None
{drop_labels}
native_labels : bool, default=False
{native_labels}
extensions : iterable of str, default={extensions}
    Audio file suffixes to pick up (case-insensitive).
strict : bool, default=False
    Raise a :class:`ValueError` instead of a
    :class:`~sklearn_ser.datasets.SkippedFilesWarning` when audio files do
    not follow the naming scheme, and on duplicate recordings.
as_frame : bool, default=False
    Also return the data as a :class:`pandas.DataFrame` in ``frame``.
return_X_y : bool, default=False
    Return ``(filenames, target)`` instead of the Bunch.

Returns
-------
data : :class:`~sklearn.utils.Bunch`
{returns}
(filenames, target) : tuple of ndarray
    With ``return_X_y=True``.

Raises
------
FileNotFoundError
    If the folder does not exist or holds no audio files.
ValueError
    If no audio file follows the {title} naming scheme, or with
    ``strict=True`` if any does not.

Warns
-----
SkippedFilesWarning
    Listing the files whose names do not follow the scheme.
DatasetWarning
    For duplicate copies of one recording (only the first is kept).
"""


def _indent(text: str) -> str:
    return textwrap.indent(text, "    ")


def loader_docstring(corpus: Corpus) -> str:
    """The numpydoc docstring of ``load_<corpus.name>``."""
    doc = corpus.doc
    options = "".join(
        f"{option.name} : bool, default={option.default}\n{_indent(option.doc)}\n"
        for option in corpus.options
    )
    text = _DOC_TEMPLATE.format(
        title=corpus.title,
        intro=doc.intro,
        path=_indent(doc.path),
        options=options,
        drop_labels=_indent(doc.drop_labels),
        native_labels=_indent(doc.native_labels),
        extensions="(" + ", ".join(f'"{ext}"' for ext in corpus.extensions) + ")",
        returns=_indent(doc.returns),
    )
    # Indented like the docstring of a def, which help() and Sphinx expect.
    summary, _, body = text.partition("\n")
    return f"{summary}\n{_indent(body)}"


def _make_loader(corpus: Corpus) -> Callable[..., Any]:
    def loader(*args: Any, **kwargs: Any):
        # Called straight from the loader, as the warnings' stacklevel expects.
        return build_corpus(corpus, **bind_loader_arguments(corpus, args, kwargs))

    loader.__name__ = loader.__qualname__ = f"load_{corpus.name}"
    loader.__module__ = __name__
    loader.__signature__ = loader_signature(corpus)  # type: ignore[attr-defined]
    loader.__doc__ = loader_docstring(corpus)
    return loader


#: ``load_<name>`` of every corpus of the registry, by canonical name.
LOADERS: dict[str, Callable[..., Any]] = {
    corpus.name: _make_loader(corpus) for corpus in CORPUS_TABLE
}

load_ravdess = LOADERS["ravdess"]
load_crema_d = LOADERS["crema_d"]
load_tess = LOADERS["tess"]
load_savee = LOADERS["savee"]
load_synthetic = LOADERS["synthetic"]
