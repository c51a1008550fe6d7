"""The served model: loaded once, with what ``GET /model`` says about it."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ServedModel", "load_served_model"]

# Metrics of an evaluation summary reported in the card (fractions, mean and std over folds).
_CARD_METRICS = ("accuracy", "uar", "macro_f1")


@dataclass
class ServedModel:
    """A fitted pipeline and the facts about it that the server reports.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        The fitted pipeline (its first step the ``load`` AudioLoader).
    record : dict, default={}
        The saved record: ``versions``, ``created``, ``metadata`` (as
        :func:`sklearn_ser.persistence.save_model` writes it); empty for a
        pipeline that was never saved.
    source : str, default="(in memory)"
        What to call the model: the file or folder name (not its full path).
    """

    pipeline: Any
    record: dict[str, Any] = field(default_factory=dict)
    source: str = "(in memory)"

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def describe(self) -> dict[str, Any]:
        """Classes, preset, steps, versions and the model card summary, as JSON values."""
        from sklearn_ser.adaptation import uses_speaker_ids
        from sklearn_ser.persistence import versions
        from sklearn_ser.pipeline import LOAD

        meta = self.record.get("metadata") or {}
        meta = meta if isinstance(meta, dict) else {}
        loader = self.pipeline.named_steps[LOAD]
        saved = self.record.get("versions") or {}
        return {
            "source": self.source,
            "classes": self.classes,
            "preset": meta.get("preset") or _preset_of(self.pipeline),
            "steps": [[name, type(step).__name__] for name, step in self.pipeline.steps],
            "sample_rate": int(loader.sr),
            "speaker_adaptation": bool(uses_speaker_ids(self.pipeline)),
            "versions": {"model": saved if isinstance(saved, dict) else {},
                         "server": versions()},
            "card": _card(self.record, meta, loader),
        }


def _preset_of(pipeline) -> str:
    """The preset a pipeline's steps and settings match (metadata says it when training did)."""
    from sklearn_ser.pipeline import CNN_STEPS, ENCODER_STEPS, PRESETS

    names = tuple(name for name, _ in pipeline.steps)
    if names == ENCODER_STEPS:
        return "recommended"
    if names == CNN_STEPS:
        params = pipeline.get_params()
        for name, settings in PRESETS.items():  # a CNN preset whose settings all hold
            if settings and all(k in params and params[k] == v for k, v in settings.items()):
                return name
        return "reference"
    return "custom"


def _card(record: dict[str, Any], meta: dict[str, Any], loader) -> dict[str, Any]:
    """The model card summary: what it was trained on and how well it did, from the record."""
    card: dict[str, Any] = {"created": record.get("created")}
    corpora = meta.get("corpora")
    # Corpus names only: the training machine's folders are nobody's business.
    card["trained_on"] = (sorted(corpora) if isinstance(corpora, dict)
                          else meta.get("trained_on"))
    if meta.get("drop_labels"):
        card["dropped_labels"] = list(meta["drop_labels"])
    if meta.get("settings"):
        card["settings"] = meta["settings"]
    evaluation = meta.get("evaluation")
    if isinstance(evaluation, dict):
        summary = evaluation.get("summary", {})
        card["evaluation"] = {
            "protocol": evaluation.get("protocol"),
            "folds": evaluation.get("n_splits"),
            **{m: summary[m] for m in _CARD_METRICS if isinstance(summary.get(m), dict)},
        }
    card["clip"] = {"duration": loader.duration, "trim_db": loader.trim_db,
                    "min_duration": loader.min_duration}
    return card


def load_served_model(path: str | os.PathLike) -> ServedModel:
    """Load a saved model file or an exported folder once, with its record.

    Parameters
    ----------
    path : str or path-like
        A ``.joblib`` file from :func:`sklearn_ser.persistence.save_model`
        (a pickle: serve only files you trust) or a folder from
        :func:`sklearn_ser.persistence.export_model` (no pickle).

    Returns
    -------
    ServedModel

    Raises
    ------
    FileNotFoundError, ModelFileError
        As :func:`sklearn_ser.persistence.load_model` raises them.
    TypeError
        When the model is not a fitted pipeline of this package (first step
        the ``load`` AudioLoader).

    Warns
    -----
    ModelVersionWarning
        When it was saved with other library versions.
    """
    from sklearn_ser.exceptions import ModelVersionWarning
    from sklearn_ser.persistence import import_model, read_model_record, versions

    path = Path(path)
    if path.is_dir():
        pipeline = import_model(path)  # checks everything, warns about versions
        # import_model has just read and checked this JSON file.
        record = json.loads((path / "metadata.json").read_text())
    else:
        # One unpickling: read_model_record gives the pipeline and its record together.
        record = read_model_record(path)
        pipeline = record.pop("pipeline")
        saved, now = record.get("versions") or {}, versions()
        diffs = [f"{k} {v} (now {now.get(k)})" for k, v in saved.items()
                 if k != "python" and v is not None and v != now.get(k)]
        if diffs:
            warnings.warn(f"model {path.name} was saved with other library versions: "
                          f"{'; '.join(diffs)}", ModelVersionWarning, stacklevel=2)
    _check_pipeline(pipeline, path)
    return ServedModel(pipeline, record, path.name)


def _check_pipeline(pipeline, path: Path) -> None:
    from sklearn.pipeline import Pipeline

    from sklearn_ser.audio import AudioLoader
    from sklearn_ser.pipeline import LOAD

    if not (isinstance(pipeline, Pipeline) and pipeline.steps[0][0] == LOAD
            and isinstance(pipeline.steps[0][1], AudioLoader) and hasattr(pipeline, "classes_")):
        raise TypeError(f"{path}: not a fitted sklearn_ser pipeline (its first step must be "
                        "the AudioLoader named 'load')")
