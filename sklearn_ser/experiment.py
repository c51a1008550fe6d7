"""Train, evaluate by speaker and write the report in one call.

:func:`run_experiment` is what ``sklearn-ser train`` does, as a library
function for notebooks and scripts: check the labels, evaluate the pipeline
under a protocol (speaker-independent by default), fit it on every clip, save
it (joblib and, optionally, the pickle-free export) and write the report.

>>> from sklearn_ser import make_ser_pipeline  # doctest: +SKIP
>>> from sklearn_ser.datasets import load_ravdess  # doctest: +SKIP
>>> from sklearn_ser.experiment import run_experiment  # doctest: +SKIP
>>> data = load_ravdess("~/data/ravdess", drop_labels="calm")  # doctest: +SKIP
>>> result = run_experiment(make_ser_pipeline("recommended"), data,
...                         model_path="ravdess.joblib", report_dir="report")  # doctest: +SKIP
>>> result.evaluation.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sklearn_ser.pipeline import CNN, FEATURES, audio_estimators

__all__ = [
    "DEFAULT_N_SPLITS",
    "ExperimentResult",
    "check_output_locations",
    "describe_data",
    "resolve_n_splits",
    "run_experiment",
    "without_runtime_settings",
]

#: Folds of speaker_kfold (and repetitions of random_clip) when ``n_splits`` is None.
DEFAULT_N_SPLITS = 5

# Protocols whose test folds are whole speakers: they need two speakers at least.
_SPEAKER_PROTOCOLS = ("speaker_kfold", "leave_one_speaker_out", "speaker_holdout")


@dataclass
class ExperimentResult:
    """Outcome of :func:`run_experiment`.

    Attributes
    ----------
    pipeline : estimator
        The pipeline, fitted on every clip (runtime settings cleared when it was saved).
    evaluation : EvaluationResult or None
        The protocol's result; None when ``protocol="none"`` or when the data
        have a single speaker (nobody to test on).
    fit_time : float
        Seconds of the final fit on every clip.
    model_path : pathlib.Path or None
        Where the model was saved (joblib).
    export_path : pathlib.Path or None
        Where the pickle-free export was written.
    report_files : dict of str to pathlib.Path
        The report's files (empty without ``report_dir``).
    """

    pipeline: Any
    evaluation: Any
    fit_time: float
    model_path: Path | None = None
    export_path: Path | None = None
    report_files: dict[str, Path] = field(default_factory=dict)


def describe_data(data: Any) -> str:
    """One line about a dataset Bunch: clips, speakers, corpora and clips per label.

    Parameters
    ----------
    data : Bunch
        With ``filenames``, ``target``, ``speaker`` and ``corpus``.

    Returns
    -------
    str
    """
    labels, counts = np.unique(data.target, return_counts=True)
    per_label = ", ".join(f"{label} {count}" for label, count in zip(labels, counts))
    return (f"{len(data.filenames)} clips, {len(np.unique(data.speaker))} speakers, "
            f"corpora {', '.join(np.unique(data.corpus))}; {per_label}")


def resolve_n_splits(protocol: str, n_splits: int | None, speakers: Any) -> int | None:
    """The number of folds to use, or None when the data allow no speaker-independent test.

    Without an explicit ``n_splits``, ``speaker_kfold`` uses as many folds as
    the data have speakers, up to :data:`DEFAULT_N_SPLITS` (from two speakers
    on this is leave-one-speaker-out), so that a first small folder trains.
    Both that reduction and the skip are announced with a ``UserWarning``:
    they change what the reported score means.

    Parameters
    ----------
    protocol : str
        An evaluation protocol name (:data:`sklearn_ser.evaluation.PROTOCOLS`).
    n_splits : int or None
        Folds asked for; None for the default.
    speakers : array-like
        One speaker id per clip.

    Returns
    -------
    int or None
        None when a speaker protocol meets data with a single speaker.

    Raises
    ------
    ValueError
        When an explicit ``n_splits`` exceeds the number of speakers.
    """
    n_speakers = len(set(np.asarray(speakers).tolist()))
    if protocol in _SPEAKER_PROTOCOLS and n_speakers < 2:
        warnings.warn(
            f"the data have only {n_speakers} speaker, so there is no unseen speaker to test "
            f"on: evaluation ({protocol}) skipped; the model is still trained (add clips of "
            "other speakers to evaluate it)", UserWarning, stacklevel=2,
        )
        return None
    if protocol != "speaker_kfold":
        return DEFAULT_N_SPLITS if n_splits is None else n_splits
    if n_splits is None:
        n_splits = min(DEFAULT_N_SPLITS, n_speakers)
        if n_splits < DEFAULT_N_SPLITS:
            warnings.warn(
                f"the data have {n_speakers} speakers: evaluating with {n_splits} speaker "
                "folds (leave-one-speaker-out)", UserWarning, stacklevel=2,
            )
    if n_speakers < max(n_splits, 2):
        raise ValueError(
            f"protocol speaker_kfold with n_splits={n_splits} needs at least "
            f"{max(n_splits, 2)} speakers, the data have {n_speakers}; lower n_splits"
        )
    return n_splits


def without_runtime_settings(pipeline: Any) -> Any:
    """Clear what belongs to this run, not to the model: progress output, caches, callbacks.

    A cache folder of this machine would make ``predict`` write there on another
    one; progress bars and training callbacks are the caller's display. The
    pipeline is changed in place (its fitted state is untouched) and returned.

    Parameters
    ----------
    pipeline : Pipeline
        A pipeline of this package (other steps are left alone).

    Returns
    -------
    pipeline : Pipeline
    """
    steps = pipeline.named_steps
    for estimator in audio_estimators(pipeline):
        estimator.set_params(verbose=0)
        if "memory" in estimator.get_params(deep=False):
            estimator.set_params(memory=None)
    cnn = steps.get(CNN)
    if cnn is not None and cnn.get_params().get("callbacks") is not None:
        # Only a network pipeline gets here: the SciKeras module imports TensorFlow.
        from sklearn_ser._scikeras_compat import clear_fitted_callbacks

        cnn.set_params(callbacks=None)
        clear_fitted_callbacks(cnn)
    return pipeline


def check_output_locations(
    *,
    model_path: str | os.PathLike | None = None,
    export_dir: str | os.PathLike | None = None,
    report_dir: str | os.PathLike | None = None,
) -> None:
    """Make sure every output of :func:`run_experiment` can be written, before any work.

    The model file's folder and the report folder are created and a file is
    written and removed in each; the export folder must be a new folder or an
    earlier export, in a writable folder. :func:`run_experiment` calls this
    first, so that a bad location fails in a second, not after the evaluation
    and the fit.

    Parameters
    ----------
    model_path, export_dir, report_dir : str or path-like or None
        As for :func:`run_experiment`; None is not checked.

    Raises
    ------
    OSError
        Naming the location that cannot be written.
    ValueError
        If ``export_dir`` holds files that are not part of a model export.
    """
    from sklearn_ser._io import check_writable_file, check_writable_folder
    from sklearn_ser.persistence._export import check_export_destination

    if model_path is not None:
        check_writable_file(model_path)
    if report_dir is not None:
        check_writable_folder(report_dir)
    if export_dir is not None:
        check_export_destination(export_dir)


def run_experiment(
    pipeline: Any,
    data: Any,
    *,
    protocol: str = "speaker_kfold",
    n_splits: int | None = None,
    random_state: int | None = 0,
    model_path: str | os.PathLike | None = None,
    export_dir: str | os.PathLike | None = None,
    report_dir: str | os.PathLike | None = None,
    metadata: dict[str, Any] | None = None,
    title: str = "sklearn_ser experiment",
    verbose: int = 0,
) -> ExperimentResult:
    """Evaluate a pipeline by speaker, fit it on every clip, save it and write the report.

    Parameters
    ----------
    pipeline : Pipeline
        Unfitted, e.g. from :func:`sklearn_ser.make_ser_pipeline`. It is the
        pipeline that gets fitted (each evaluation fold fits a clone).
    data : Bunch
        A dataset from :mod:`sklearn_ser.datasets` (``filenames``, ``target``,
        ``speaker``, ``corpus``).
    protocol : str, default="speaker_kfold"
        Evaluation before the final fit (:func:`sklearn_ser.evaluation.evaluate`);
        ``"none"`` skips it. A speaker protocol on data of one speaker is
        skipped with a warning.
    n_splits : int or None, default=None
        Folds; None: see :func:`resolve_n_splits`.
    random_state : int or None, default=0
        Seed of the splits.
    model_path : str or path-like, default=None
        Save the fitted model here (:func:`sklearn_ser.persistence.save_model`).
    export_dir : str or path-like, default=None
        Also export it without pickle (:func:`sklearn_ser.persistence.export_model`).
    report_dir : str or path-like, default=None
        Write the report here (:func:`sklearn_ser.reporting.write_report`). Without an
        evaluation it reports the scores on the training clips, and says they are
        optimistic.
    metadata : dict, default=None
        Stored with the saved model and listed in the report.
    title : str, default="sklearn_ser experiment"
        Start of the report's first line (the protocol, or that the scores are
        on the training clips, follows).
    verbose : int, default=0
        Progress notes (and the evaluation's progress) on stderr when > 0.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    OSError, ValueError
        Before any audio is read, if an output location cannot be written
        (:func:`check_output_locations`).
    """
    from sklearn_ser._validation import check_labels
    from sklearn_ser.evaluation import evaluate

    check_labels(data.target, what="the training data")  # before any audio is read
    check_output_locations(model_path=model_path, export_dir=export_dir, report_dir=report_dir)
    metadata = dict(metadata or {})
    evaluation = None
    if protocol != "none":
        folds = resolve_n_splits(protocol, n_splits, data.speaker)
        if folds is not None:
            _note(verbose, f"evaluating with protocol {protocol} ...")
            evaluation = evaluate(pipeline, data, protocol=protocol, n_splits=folds,
                                  random_state=random_state, verbose=verbose)
            metadata["evaluation"] = evaluation.summary().to_dict()
    _note(verbose, f"fitting on all {len(data.filenames)} clips ...")
    start = time.perf_counter()
    pipeline.fit(data.filenames, data.target)
    result = ExperimentResult(pipeline, evaluation, time.perf_counter() - start)
    if model_path is not None or export_dir is not None:
        _save(result, model_path, export_dir, metadata)
    if report_dir is not None:
        result.report_files = _write_report(result, data, report_dir, title, metadata)
    return result


def _note(verbose: int, message: str) -> None:
    if verbose:
        print(message, file=sys.stderr, flush=True)


def _save(result: ExperimentResult, model_path, export_dir, metadata: dict[str, Any]) -> None:
    import json

    from sklearn_ser.persistence import export_model, save_model

    without_runtime_settings(result.pipeline)
    if model_path is not None:
        result.model_path = save_model(result.pipeline, model_path, metadata=metadata)
    if export_dir is not None:
        # The export is JSON only: anything else in the metadata goes as its text.
        plain = json.loads(json.dumps(metadata, default=str))
        result.export_path = export_model(result.pipeline, export_dir, metadata=plain)


def _write_report(result: ExperimentResult, data: Any, report_dir, title: str,
                  metadata: dict[str, Any]) -> dict[str, Path]:
    from sklearn_ser.reporting import clip_feature_image, write_report

    pipeline = result.pipeline
    steps = pipeline.named_steps
    extra: dict[str, Any] = {
        "classes": [str(c) for c in pipeline.classes_],
        "data": describe_data(data),
        "speakers": int(len(np.unique(data.speaker))),
    }
    if result.model_path is not None:
        extra["model"] = str(result.model_path)
    extra.update({k: v for k, v in metadata.items() if k != "evaluation"})
    common = {
        "history": steps[CNN].history_ if CNN in steps else None,
        "feature_image": (clip_feature_image(pipeline, data.filenames[0])
                          if FEATURES in steps else None),
        "extra": extra,
    }
    if result.evaluation is not None:
        return write_report(
            report_dir, evaluation=result.evaluation,
            title=f"{title}: {result.evaluation.protocol} evaluation", **common,
        )
    # No held-out predictions: report the training fit (optimistic, and said so).
    return write_report(
        report_dir, data.target, pipeline.predict(data.filenames),
        title=f"{title}: scores on the TRAINING clips (no evaluation protocol; optimistic)",
        **common,
    )
