"""Plots of results and features: confusion matrix, training curves, feature images.

Every function draws with matplotlib into ``ax`` (or a new figure) and
returns the :class:`~matplotlib.figure.Figure`, so ``fig.savefig(path)``
writes it. Nothing here chooses a backend; scripts without a display should
call ``matplotlib.use("Agg")`` first (the command line does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "plot_confusion_matrix",
    "plot_feature_image",
    "plot_per_class_recall",
    "plot_segments",
    "plot_training_history",
]


def _new_axes(ax, figsize: tuple[float, float]):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence | None = None,
    normalize: str | None = "true",
    ax=None,
    title: str | None = None,
    cmap: str = "Blues",
):
    """Plot a confusion matrix with :class:`sklearn.metrics.ConfusionMatrixDisplay`.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence, default=None
        Label order of rows and columns; by default the sorted labels present.
    normalize : {"true", "pred", "all"} or None, default="true"
        ``"true"`` divides each row by its number of clips, so the diagonal
        is each class' recall and classes of different sizes compare; None
        shows counts.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    title : str, default=None
        Axes title; by default it says what the cells show.
    cmap : str, default="Blues"
        Colormap.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if labels is None:
        labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()), key=str)
    n = len(labels)
    size = max(4.5, 0.6 * n + 3.0)
    fig, ax = _new_axes(ax, (size + 0.8, size))
    display = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(labels), normalize=normalize, ax=ax, cmap=cmap,
        values_format=".2f" if normalize else "d", colorbar=True, im_kw={"vmin": 0},
        xticks_rotation=45 if n > 4 else "horizontal",
    )
    if normalize == "true":
        display.im_.set_clim(0, 1)
    if normalize:
        # Show the clip counts under the shares: a 1.00 of 2 clips is not a 1.00 of 200.
        from sklearn.metrics import confusion_matrix

        counts = confusion_matrix(y_true, y_pred, labels=list(labels))
        for (i, j), text in np.ndenumerate(display.text_):
            text.set_text(f"{text.get_text()}\n({counts[i, j]})")
            text.set_fontsize(9 if n <= 6 else 7)
    if title is None:
        title = {
            "true": "Confusion matrix (each row sums to 1: recall on the diagonal)",
            "pred": "Confusion matrix (each column sums to 1: precision on the diagonal)",
            "all": "Confusion matrix (share of all clips)",
            None: "Confusion matrix (clips)",
        }[normalize]
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("Predicted emotion")
    ax.set_ylabel("True emotion")
    return fig


def plot_training_history(
    history: Mapping[str, Sequence[float]],
    *,
    ax=None,
    show_learning_rate: bool = True,
    title: str | None = None,
):
    """Plot loss and accuracy per epoch (and the validation curves when present).

    Parameters
    ----------
    history : mapping of str to sequence of float
        Per-epoch values, e.g. ``pipeline["cnn"].history_`` or a Keras
        ``History.history``: ``loss``, ``accuracy``, optionally
        ``val_loss``, ``val_accuracy`` and ``learning_rate`` (or ``lr``).
    ax : pair of matplotlib Axes, default=None
        Axes for the loss and the accuracy panel; a new 1x2 figure when None.
    show_learning_rate : bool, default=True
        Draw the learning rate (log scale, right axis of the loss panel) when
        it changed during training.
    title : str, default=None
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not history or "loss" not in history:
        raise ValueError("history must hold at least a 'loss' entry per epoch")
    if ax is None:
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    else:
        ax_loss, ax_acc = ax
        fig = ax_loss.figure
    epochs = np.arange(1, len(history["loss"]) + 1)
    marker = "o" if len(epochs) <= 30 else None

    def curve(axis, key, label, style):
        values = history.get(key)
        if values is not None and len(values):
            axis.plot(epochs[: len(values)], values, style, label=label, marker=marker,
                      markersize=3)

    curve(ax_loss, "loss", "training", "-")
    curve(ax_loss, "val_loss", "validation", "--")
    ax_loss.set_title("Loss (cross-entropy)")
    ax_loss.set_ylabel("loss")
    curve(ax_acc, "accuracy", "training", "-")
    curve(ax_acc, "val_accuracy", "validation", "--")
    ax_acc.set_title("Accuracy")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(-0.02, 1.02)
    for axis in (ax_loss, ax_acc):
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    ax_acc.legend(loc="lower right")

    lr = history.get("learning_rate", history.get("lr"))
    handles, labels = ax_loss.get_legend_handles_labels()
    if show_learning_rate and lr is not None and len(lr) and np.ptp(np.asarray(lr)) > 0:
        ax_lr = ax_loss.twinx()
        (line,) = ax_lr.plot(epochs[: len(lr)], lr, ":", color="0.45", label="learning rate")
        ax_lr.set_yscale("log")
        ax_lr.set_ylabel("learning rate", color="0.45")
        ax_lr.tick_params(axis="y", colors="0.45", which="both")
        handles.append(line)
        labels.append("learning rate")
    ax_loss.legend(handles, labels, loc="upper right")
    if title:
        fig.suptitle(title)
    return fig


def _block_layout(
    n_rows: int, block_slices: Mapping[str, slice] | None
) -> list[tuple[str, int, int]]:
    if not block_slices:
        return []
    layout = []
    for name, rows in block_slices.items():
        start, stop, _ = rows.indices(n_rows)
        layout.append((name, start, stop))
    return layout


def plot_feature_image(
    image: Any,
    *,
    block_slices: Mapping[str, slice] | None = None,
    duration: float | None = None,
    scale: str | None = "block",
    ax=None,
    title: str | None = None,
    cmap: str = "magma",
):
    """Show a feature image with its blocks named on the y axis.

    Parameters
    ----------
    image : array-like of shape (rows, columns)
        One image as the network sees it, e.g. ``extractor.transform(w)[0]``
        or :func:`sklearn_ser.feature_image`; leading axes of size 1 are
        dropped. Row 0 is drawn at the top, as it is stacked.
    block_slices : mapping of str to slice, default=None
        Rows of each block, e.g. ``FeatureImageExtractor.block_slices_``;
        blocks get a label and a separating line.
    duration : float, default=None
        Clip length in seconds, to label the x axis in seconds (the image's
        columns are the clip resampled to a fixed width); columns otherwise.
    scale : {"block", None}, default="block"
        ``"block"`` maps each block to its own 1st-99th percentile range for
        display, because the raw blocks differ by orders of magnitude (mel
        power against chroma in [0, 1]) and one colour scale would show only
        the largest; None uses one scale for the whole image (with a colorbar).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    title : str, default=None
        Axes title.
    cmap : str, default="magma"
        Colormap.

    Returns
    -------
    matplotlib.figure.Figure
    """
    image = np.asarray(image, dtype=float)
    while image.ndim > 2 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (rows, columns), got shape {image.shape}")
    if scale not in ("block", None):
        raise ValueError(f"scale must be 'block' or None, got {scale!r}")
    n_rows, n_cols = image.shape
    layout = _block_layout(n_rows, block_slices)
    shown = image
    if scale == "block":
        shown = np.empty_like(image)
        for _, start, stop in layout or [("all", 0, n_rows)]:
            block = image[start:stop]
            low, high = np.percentile(block, [1, 99])
            shown[start:stop] = np.clip((block - low) / (high - low or 1.0), 0, 1)

    fig, ax = _new_axes(ax, (9, max(4.5, n_rows / 18)))
    x_max = duration if duration else n_cols
    im = ax.imshow(shown, aspect="auto", origin="upper", cmap=cmap, interpolation="nearest",
                   extent=(0, x_max, n_rows, 0))
    if scale is None:
        fig.colorbar(im, ax=ax, label="value")
    ax.set_xlabel("time (s)" if duration else "column (time, resampled to a fixed width)")
    if layout:
        ax.set_yticks([(start + stop) / 2 for _, start, stop in layout])
        # Thin blocks (contrast: 7 rows, tonnetz: 6) get a one-line label so that
        # neighbouring labels do not overlap; the right axis gives the row numbers.
        ax.set_yticklabels([
            f"{name}\n({stop - start} rows)" if stop - start >= 0.15 * n_rows else name
            for name, start, stop in layout
        ])
        ax.tick_params(axis="y", length=0)
        for _, start, _stop in layout[1:]:
            ax.axhline(start, color="white", linewidth=1.5)
        # Row numbers on the right, so the stacking order stays readable.
        right = ax.secondary_yaxis("right")
        right.set_yticks([start for _, start, _ in layout] + [n_rows])
        right.set_ylabel("row")
    else:
        ax.set_ylabel("row")
    if title is None:
        title = "Feature image" + (" (each block scaled to its own range)" if scale else "")
    ax.set_title(title, fontsize=10)
    return fig


def plot_per_class_recall(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence | None = None,
    ax=None,
    title: str | None = None,
):
    """Bar chart of each class' recall, with the chance level and the UAR.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence, default=None
        Classes to show, in order; by default the sorted labels of ``y_true``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    title : str, default=None
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.metrics import recall_score

    y_true = np.asarray(y_true)
    if labels is None:
        labels = sorted(set(y_true.tolist()), key=str)
    recall = recall_score(y_true, y_pred, labels=list(labels), average=None, zero_division=0)
    fig, ax = _new_axes(ax, (6, 0.45 * len(labels) + 1.8))
    positions = np.arange(len(labels))
    ax.barh(positions, recall, color="tab:blue")
    for pos, value in zip(positions, recall):
        ax.text(min(value + 0.01, 0.9), pos, f"{value:.2f}", va="center")
    ax.set_yticks(positions, [str(label) for label in labels])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.axvline(1 / len(labels), color="0.4", linestyle=":", label="chance")
    ax.axvline(float(np.mean(recall)), color="tab:red", linestyle="--",
               label=f"UAR {np.mean(recall):.2f}")
    ax.set_xlabel("recall")
    ax.legend(loc="lower right")
    ax.set_title(title or "Recall per class", fontsize=10)
    return fig


def plot_segments(
    segments: Any,
    *,
    ax=None,
    title: str | None = None,
    cmap: str = "tab10",
):
    """Timeline of emotion over a recording, from :func:`sklearn_ser.predict_segments`.

    Each class' probability is a line over time (one point per window, at
    its centre); the predicted label is a coloured band under each window's
    share of the time (between the midpoints to its neighbours); stretches
    without speech are grey, and the probability lines break there.

    Parameters
    ----------
    segments : pandas.DataFrame
        What :func:`~sklearn_ser.predict_segments` returns: columns
        ``start``, ``end``, ``speech``, ``label`` and one probability column
        per class (the columns after ``label``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    title : str, default=None
        Axes title.
    cmap : str, default="tab10"
        Qualitative colormap of the classes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    required = ["start", "end", "speech", "label"]
    missing = [c for c in required if c not in getattr(segments, "columns", ())]
    if missing:
        raise ValueError(
            f"segments must be the DataFrame of predict_segments; missing columns {missing}"
        )
    frame = segments.sort_values("start", kind="stable").reset_index(drop=True)
    classes = [str(c) for c in frame.columns[frame.columns.get_loc("label") + 1:]]
    colours = plt.get_cmap(cmap)
    colour = {c: colours(i % colours.N) for i, c in enumerate(classes)}
    start = frame["start"].to_numpy(float)
    end = frame["end"].to_numpy(float)
    speech = frame["speech"].to_numpy(bool)
    labels = frame["label"].astype(str).to_numpy()
    centre = (start + end) / 2
    total = float(end.max()) if len(end) else 1.0
    fig, ax = _new_axes(ax, (max(8.0, min(16.0, 4.0 + total / 30.0)), 4.2))

    # Label bands: each speech window owns the time between the midpoints to its
    # neighbours in the same stretch of speech (windows of a stretch overlap).
    i = 0
    while i < len(frame):
        if not speech[i]:
            ax.axvspan(start[i], end[i], color="0.85", linewidth=0, zorder=0)
            i += 1
            continue
        j = i
        while j + 1 < len(frame) and speech[j + 1] and start[j + 1] <= end[j]:
            j += 1
        bounds = [start[i], *((centre[k] + centre[k + 1]) / 2 for k in range(i, j)), end[j]]
        for k in range(i, j + 1):
            ax.axvspan(bounds[k - i], bounds[k - i + 1], ymax=0.08,
                       color=colour.get(labels[k], "0.5"), alpha=0.9, linewidth=0, zorder=1)
            ax.axvspan(bounds[k - i], bounds[k - i + 1],
                       color=colour.get(labels[k], "0.5"), alpha=0.12, linewidth=0, zorder=0)
        i = j + 1

    for c in classes:
        values = frame[c].to_numpy(float).copy()
        values[~speech] = np.nan
        ax.plot(centre, values, color=colour[c], linewidth=1.4, zorder=2,
                marker="o" if speech.sum() <= 60 else None, markersize=3)
    ax.set_xlim(0, total)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    handles = [Patch(color=colour[c], label=c) for c in classes]
    handles.append(Patch(color="0.85", label="no speech"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9,
              title="band: label", title_fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(title or "Emotion over time (lines: probabilities; bands: predicted label)",
                 fontsize=10)
    return fig
