"""Metrics summaries and report folders (text, JSON and plots).

:func:`write_report` turns predictions -- or an
:class:`~sklearn_ser.evaluation.EvaluationResult` -- into a folder with

* ``report.txt``: accuracy, macro-F1, unweighted average recall (UAR), the
  per-fold scores of an evaluation, the classification report and the
  confusion matrix as text;
* ``report.json``: the same numbers for programs;
* ``confusion_matrix.png``, and when given ``training_curves.png`` (loss and
  accuracy per epoch) and ``feature_image.png`` (one clip's feature image).

The metrics themselves come from :mod:`sklearn_ser.evaluation`, so a report
and an evaluation always agree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

# evaluation owns the metric definitions and the label order; reuse them.
from sklearn_ser._io import save_figure, write_text
from sklearn_ser.evaluation import fold_metrics, label_order, to_json_types
from sklearn_ser.pipeline import AUGMENT, FEATURES, LOAD

__all__ = [
    "classification_summary",
    "clip_feature_image",
    "format_summary",
    "write_report",
]


def classification_summary(
    y_true: Any, y_pred: Any, labels: Sequence | None = None
) -> dict[str, Any]:
    """Accuracy, macro-F1, UAR, the per-class report and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence, default=None
        Label order of the report and the matrix; by default the labels
        present, in :data:`sklearn_ser.datasets.LABELS` order when they
        belong to it.

    Returns
    -------
    dict
        ``n_samples``, ``accuracy``, ``macro_f1``, ``uar`` (unweighted average
        recall, i.e. :func:`~sklearn.metrics.balanced_accuracy_score`),
        ``labels``, ``classification_report`` (``output_dict=True``),
        ``classification_report_text`` and ``confusion_matrix`` (nested
        lists, rows true labels). JSON-serialisable.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D of the same length, got {y_true.shape} "
            f"and {y_pred.shape}"
        )
    if y_true.size == 0:
        raise ValueError("no predictions to summarise")
    if labels is None:
        labels = label_order(np.concatenate([y_true, y_pred]))
    labels = list(labels)
    metrics = fold_metrics(y_true, y_pred)
    kwargs = dict(labels=labels, zero_division=0)
    return {
        "n_samples": int(y_true.size),
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "uar": metrics["balanced_accuracy"],
        "labels": [to_json_types(label) for label in labels],
        "classification_report": to_json_types(
            classification_report(y_true, y_pred, output_dict=True, **kwargs)
        ),
        "classification_report_text": classification_report(y_true, y_pred, **kwargs),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def format_summary(summary: Mapping[str, Any], evaluation: Any = None) -> str:
    """One line with accuracy, macro-F1 and UAR (plus fold mean and spread).

    Parameters
    ----------
    summary : mapping
        The output of :func:`classification_summary`.
    evaluation : EvaluationResult, default=None
        When given, the per-fold mean and standard deviation are appended.

    Returns
    -------
    str
    """
    line = (
        f"accuracy {summary['accuracy']:.3f}   macro-F1 {summary['macro_f1']:.3f}   "
        f"UAR {summary['uar']:.3f}   ({summary['n_samples']} clips)"
    )
    if evaluation is not None and len(evaluation.splits) > 1:
        s = evaluation.summary()
        line += (
            f"\nper fold (mean +/- std over {len(evaluation.splits)} folds): "
            f"accuracy {s.loc['accuracy', 'mean']:.3f} +/- {s.loc['accuracy', 'std']:.3f}   "
            f"macro-F1 {s.loc['macro_f1', 'mean']:.3f} +/- {s.loc['macro_f1', 'std']:.3f}   "
            f"UAR {s.loc['balanced_accuracy', 'mean']:.3f} "
            f"+/- {s.loc['balanced_accuracy', 'std']:.3f}"
        )
    return line


def _matrix_text(matrix: Sequence[Sequence[int]], labels: Sequence) -> str:
    names = [str(label) for label in labels]
    width = max(6, *(len(n) for n in names)) + 1
    cell = max(5, *(len(str(v)) + 1 for row in matrix for v in row))
    head = " " * width + "".join(f"{n[: cell - 1]:>{cell}}" for n in names)
    rows = [f"{n:<{width}}" + "".join(f"{v:>{cell}}" for v in row) for n, row in zip(names, matrix)]
    return "\n".join(["rows: true label, columns: predicted label", head, *rows])


def _folds_text(evaluation: Any) -> str:
    frame = evaluation.fold_scores
    lines = ["fold  n_train  n_test  accuracy  macro_f1     UAR  test speakers"]
    for _, row in frame.iterrows():
        speakers = row.get("test_speakers")
        corpora = row.get("test_corpora")
        held = speakers if speakers is not None else corpora
        held = ", ".join(map(str, held)) if held is not None else "-"
        if len(held) > 60:
            held = held[:57] + "..."
        lines.append(
            f"{int(row['fold']):>4}  {int(row['n_train']):>7}  {int(row['n_test']):>6}  "
            f"{row['accuracy']:>8.3f}  {row['macro_f1']:>8.3f}  {row['balanced_accuracy']:>6.3f}  "
            f"{held}"
        )
    return "\n".join(lines)


def clip_feature_image(pipeline: Any, path: str | os.PathLike) -> tuple[np.ndarray, dict, float]:
    """The feature image a fitted pipeline's network sees for one audio file.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A fitted pipeline from :func:`~sklearn_ser.make_ser_pipeline`.
    path : str or path-like
        An audio file.

    Returns
    -------
    image : ndarray of shape (rows, columns)
        The (standardised, if the pipeline standardises) clean image.
    block_slices : dict of str to slice
        Rows of each feature block.
    duration : float
        Length of the clip in seconds as loaded.
    """
    steps = pipeline.named_steps
    waves = steps[LOAD].transform([os.fspath(path)])
    duration = waves[0].shape[0] / steps[LOAD].sr
    clean = steps[AUGMENT].transform(waves) if AUGMENT in steps else waves
    images = steps[FEATURES].transform(clean)
    return images[0], dict(steps[FEATURES].block_slices_), duration


def write_report(
    directory: str | os.PathLike,
    y_true: Any = None,
    y_pred: Any = None,
    *,
    evaluation: Any = None,
    history: Mapping[str, Sequence[float]] | None = None,
    feature_image: tuple[np.ndarray, Mapping[str, slice], float | None] | None = None,
    labels: Sequence | None = None,
    title: str = "sklearn_ser report",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the text and JSON report and the plots into a folder.

    Parameters
    ----------
    directory : str or path-like
        Output folder (created if missing; files in it are overwritten, each
        in one step: a reader sees the old file or the new one).
    y_true, y_pred : array-like, default=None
        True and predicted labels. Not needed when ``evaluation`` is given
        (its pooled test predictions are used).
    evaluation : EvaluationResult, default=None
        Result of :func:`sklearn_ser.evaluation.evaluate`: adds the protocol,
        per-fold scores and their mean and spread.
    history : mapping, default=None
        Per-epoch training history (``pipeline["cnn"].history_``); writes
        ``training_curves.png``.
    feature_image : (image, block_slices, duration), default=None
        One clip's feature image, e.g. from :func:`clip_feature_image`;
        writes ``feature_image.png``.
    labels : sequence, default=None
        Label order (default: the evaluation's, else as in
        :func:`classification_summary`).
    title : str, default="sklearn_ser report"
        First line of ``report.txt``.
    extra : mapping, default=None
        More JSON-serialisable facts (model, data, settings) stored under
        ``"extra"`` in ``report.json`` and listed in ``report.txt``.

    Returns
    -------
    dict of str to pathlib.Path
        The files written, keyed ``report.txt``, ``report.json``,
        ``confusion_matrix.png`` and, when drawn, ``training_curves.png``
        and ``feature_image.png``.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        # Writing files only: never open a window (and work without a display).
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_ser.plotting import (
        plot_confusion_matrix,
        plot_feature_image,
        plot_training_history,
    )

    if evaluation is not None:
        y_true, y_pred = evaluation.y_true, evaluation.y_pred
        labels = evaluation.labels if labels is None else labels
    if y_true is None or y_pred is None:
        raise ValueError("pass y_true and y_pred, or evaluation=")
    summary = classification_summary(y_true, y_pred, labels=labels)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    payload = {k: v for k, v in summary.items() if k != "classification_report_text"}
    if evaluation is not None:
        payload["evaluation"] = evaluation.to_dict()
    if history:
        payload["history"] = {k: [float(v) for v in vals] for k, vals in history.items()}
    if extra:
        payload["extra"] = to_json_types(dict(extra))
    written["report.json"] = directory / "report.json"
    write_text(written["report.json"], json.dumps(payload, indent=2, default=str) + "\n")

    lines = [title, "=" * len(title), ""]
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {value}")
    if extra:
        lines.append("")
    if evaluation is not None:
        lines += [f"protocol: {evaluation.protocol} ({len(evaluation.splits)} folds)", ""]
    lines += [
        "pooled test predictions: " + format_summary(summary, evaluation),
        "",
        "UAR (unweighted average recall) is the mean of the per-class recalls "
        "(balanced accuracy): chance is 1 / number of classes.",
        "",
    ]
    if evaluation is not None:
        lines += [_folds_text(evaluation), ""]
    lines += [summary["classification_report_text"], _matrix_text(
        summary["confusion_matrix"], summary["labels"]), ""]
    written["report.txt"] = directory / "report.txt"
    write_text(written["report.txt"], "\n".join(lines))

    what = f" - {evaluation.protocol}" if evaluation is not None else ""
    fig = plot_confusion_matrix(y_true, y_pred, labels=summary["labels"])
    fig.axes[0].set_title(
        f"Confusion matrix{what}, {summary['n_samples']} test clips\n"
        f"rows sum to 1 (recall on the diagonal); UAR {summary['uar']:.3f}",
        fontsize=10,
    )
    written["confusion_matrix.png"] = directory / "confusion_matrix.png"
    save_figure(fig, written["confusion_matrix.png"], dpi=120)
    plt.close(fig)

    if history and history.get("loss"):
        held_out = "val_loss" in history
        fig = plot_training_history(
            history,
            title="Training curves of the fitted network"
            + ("" if held_out else " (training clips only: no validation split)"),
        )
        written["training_curves.png"] = directory / "training_curves.png"
        save_figure(fig, written["training_curves.png"], dpi=120)
        plt.close(fig)

    if feature_image is not None:
        image, block_slices, duration = feature_image
        fig = plot_feature_image(
            image, block_slices=block_slices, duration=duration,
            title="Feature image of one clip, as the network sees it "
            "(each block scaled to its own range)",
        )
        written["feature_image.png"] = directory / "feature_image.png"
        save_figure(fig, written["feature_image.png"], dpi=120)
        plt.close(fig)
    return written
