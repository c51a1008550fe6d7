"""Metric summaries and report folders."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.metrics import balanced_accuracy_score, f1_score  # noqa: E402

from sklearn_ser.evaluation import evaluate  # noqa: E402
from sklearn_ser.reporting import (  # noqa: E402
    classification_summary,
    format_summary,
    write_report,
)


def _labels():
    y_true = np.array(["sad", "sad", "sad", "angry", "angry", "happy"])
    y_pred = np.array(["sad", "sad", "angry", "angry", "sad", "happy"])
    return y_true, y_pred


def test_classification_summary_metrics():
    y_true, y_pred = _labels()
    s = classification_summary(y_true, y_pred)
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["uar"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert s["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    # Common label order (LABELS), not alphabetical.
    assert s["labels"] == ["happy", "sad", "angry"]
    assert s["confusion_matrix"] == [[1, 0, 0], [0, 2, 1], [0, 1, 1]]
    assert s["classification_report"]["sad"]["recall"] == pytest.approx(2 / 3)
    assert "macro avg" in s["classification_report_text"]
    json.dumps({k: v for k, v in s.items()})  # JSON-serialisable


def test_classification_summary_checks_input():
    with pytest.raises(ValueError, match="same length"):
        classification_summary(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no predictions"):
        classification_summary([], [])
    s = classification_summary(["b", "a"], ["b", "b"], labels=["b", "a", "c"])
    assert s["labels"] == ["b", "a", "c"] and len(s["confusion_matrix"]) == 3


def test_write_report_from_predictions(tmp_path):
    y_true, y_pred = _labels()
    history = {"loss": [1.0, 0.5, 0.3], "accuracy": [0.4, 0.7, 0.9]}
    image = (np.random.RandomState(0).normal(size=(10, 16)),
             {"a": slice(0, 4), "b": slice(4, 10)}, 1.5)
    written = write_report(tmp_path / "r", y_true, y_pred, history=history,
                           feature_image=image, extra={"model": "m.joblib"}, title="T")
    assert set(written) == {"report.txt", "report.json", "confusion_matrix.png",
                            "training_curves.png", "feature_image.png"}
    for path in written.values():
        assert path.exists() and path.stat().st_size > 100
    payload = json.loads((tmp_path / "r" / "report.json").read_text())
    assert payload["accuracy"] == pytest.approx(4 / 6)
    assert payload["extra"] == {"model": "m.joblib"}
    assert payload["history"]["loss"] == [1.0, 0.5, 0.3]
    text = (tmp_path / "r" / "report.txt").read_text()
    assert text.startswith("T\n=")
    assert "UAR 0.722" in text and "model: m.joblib" in text
    assert "rows: true label, columns: predicted label" in text


def test_write_report_from_an_evaluation(tmp_path):
    rng = np.random.RandomState(0)
    y = np.repeat(["neutral", "sad"], 20)
    X = rng.normal(size=(40, 2))
    speakers = np.tile(["s1", "s2", "s3", "s4"], 10)
    result = evaluate(DummyClassifier(strategy="stratified", random_state=0), X, y,
                      groups=speakers, protocol="speaker_kfold", n_splits=2, random_state=0)
    written = write_report(tmp_path, evaluation=result)
    assert "training_curves.png" not in written  # no history given
    payload = json.loads(written["report.json"].read_text())
    assert payload["evaluation"]["protocol"] == "speaker_kfold"
    assert len(payload["evaluation"]["fold_scores"]) == 2
    text = written["report.txt"].read_text()
    assert "protocol: speaker_kfold (2 folds)" in text
    assert "per fold (mean +/- std over 2 folds)" in text
    line = format_summary(classification_summary(result.y_true, result.y_pred), result)
    assert line.count("\n") == 1


def test_write_report_needs_predictions(tmp_path):
    with pytest.raises(ValueError, match="y_true and y_pred"):
        write_report(tmp_path)
