"""Plots: each function draws into a figure that saves, with readable labels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sklearn_ser.plotting import (  # noqa: E402
    plot_confusion_matrix,
    plot_feature_image,
    plot_per_class_recall,
    plot_training_history,
)

LABELS = ["neutral", "happy", "sad", "angry"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _predictions():
    rng = np.random.RandomState(0)
    y_true = np.repeat(LABELS, 10)
    y_pred = np.where(rng.uniform(size=40) < 0.7, y_true, rng.choice(LABELS, 40))
    return y_true, y_pred


def test_confusion_matrix_rows_sum_to_one_and_follow_label_order(tmp_path):
    y_true, y_pred = _predictions()
    fig = plot_confusion_matrix(y_true, y_pred, labels=LABELS)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    assert [t.get_text() for t in ax.get_yticklabels()] == LABELS
    assert ax.get_xlabel() == "Predicted emotion" and ax.get_ylabel() == "True emotion"
    values = np.asarray(ax.images[0].get_array()).reshape(4, 4)
    np.testing.assert_allclose(values.sum(axis=1), 1)
    assert "recall on the diagonal" in ax.get_title()
    fig.savefig(tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_confusion_matrix_counts_and_existing_axes():
    y_true, y_pred = _predictions()
    fig, ax = plt.subplots()
    out = plot_confusion_matrix(y_true, y_pred, normalize=None, ax=ax)
    assert out is fig
    values = np.asarray(ax.images[0].get_array())
    assert values.sum() == 40
    # Labels default to the sorted labels present.
    assert [t.get_text() for t in ax.get_xticklabels()] == sorted(LABELS)


def test_training_history_with_validation_and_learning_rate(tmp_path):
    history = {
        "loss": [1.4, 1.0, 0.7, 0.5], "accuracy": [0.3, 0.5, 0.7, 0.8],
        "val_loss": [1.4, 1.2, 1.1, 1.1], "val_accuracy": [0.3, 0.4, 0.5, 0.5],
        "learning_rate": [1e-3, 1e-3, 7.5e-4, 7.5e-4],
    }
    fig = plot_training_history(history, title="curves")
    ax_loss, ax_acc, ax_lr = fig.axes
    assert [line.get_label() for line in ax_acc.get_lines()] == ["training", "validation"]
    assert ax_lr.get_yscale() == "log"
    assert ax_loss.get_xlabel() == "epoch"
    np.testing.assert_array_equal(ax_loss.get_lines()[0].get_xdata(), [1, 2, 3, 4])
    assert fig._suptitle.get_text() == "curves"
    fig.savefig(tmp_path / "h.png")


def test_training_history_without_validation_or_changing_rate():
    fig = plot_training_history({"loss": [1.0, 0.5], "accuracy": [0.5, 0.9],
                                 "learning_rate": [1e-3, 1e-3]})
    assert len(fig.axes) == 2  # a constant learning rate gets no axis
    with pytest.raises(ValueError, match="loss"):
        plot_training_history({})


def test_feature_image_names_blocks_and_separates_them(tmp_path):
    rng = np.random.RandomState(0)
    image = np.vstack([rng.uniform(0, 1e4, (31, 40)), rng.uniform(0, 1, (12, 40)),
                       rng.normal(size=(7, 40))])
    blocks = {"mel": slice(0, 31), "chroma": slice(31, 43), "contrast": slice(43, 50)}
    fig = plot_feature_image(image[None, None], block_slices=blocks, duration=2.0)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["mel\n(31 rows)", "chroma\n(12 rows)", "contrast"]
    separators = [line.get_ydata()[0] for line in ax.get_lines()]
    assert separators == [31, 43]
    assert ax.get_xlabel() == "time (s)" and ax.get_xlim() == (0.0, 2.0)
    shown = np.asarray(ax.images[0].get_array())
    # Each block is scaled to its own range, so chroma is as visible as mel power.
    assert shown[31:43].max() > 0.9 and shown[:31].max() > 0.9
    fig.savefig(tmp_path / "f.png")


def test_feature_image_raw_scale_and_errors():
    fig = plot_feature_image(np.arange(20.0).reshape(4, 5), scale=None, title="raw")
    assert len(fig.axes) == 2  # image + colorbar
    assert fig.axes[0].get_title() == "raw"
    assert "column" in fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="2-D"):
        plot_feature_image(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="scale"):
        plot_feature_image(np.zeros((3, 4)), scale="row")


def test_per_class_recall():
    y_true, y_pred = _predictions()
    fig = plot_per_class_recall(y_true, y_pred, labels=LABELS)
    ax = fig.axes[0]
    widths = [patch.get_width() for patch in ax.patches]
    assert len(widths) == 4 and all(0 <= w <= 1 for w in widths)
    assert any("UAR" in t.get_text() for t in ax.get_legend().get_texts())
