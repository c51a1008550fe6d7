"""The commands of ``sklearn-ser``: each parses nothing and computes nothing itself.

A command turns its arguments into calls of public library functions
(:func:`sklearn_ser.experiment.run_experiment`, :func:`sklearn_ser.evaluation.evaluate`,
:func:`sklearn_ser.datasets.load_corpora`, :func:`sklearn_ser.predict_segments`,
:mod:`sklearn_ser.persistence`) and hands the results to :mod:`._output`.
Library imports happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sklearn_ser.cli._demo import cmd_demo
from sklearn_ser.cli._output import (
    format_table,
    note,
    report_files,
    use_file_backend,
    write_predictions,
    write_segments,
)
from sklearn_ser.cli._parser import PREDICT_SUFFIXES
from sklearn_ser.cli._serve import cmd_serve
from sklearn_ser.exceptions import UsageError

# -- shared by the commands -----------------------------------------------------------------


def make_pipeline(preset: str, params: dict[str, Any], *, random_state: int,
                  n_jobs: int | None, memory: Any, quiet: bool,
                  speaker_adaptation: bool = False):
    """``make_ser_pipeline`` with every parameter checked now, and progress bars unless quiet."""
    from sklearn_ser._validation import validate_pipeline
    from sklearn_ser.cli._quiet import call_quietly
    from sklearn_ser.pipeline import make_ser_pipeline

    try:
        pipe = call_quietly(  # a CNN preset imports TensorFlow
            make_ser_pipeline, preset, random_state=random_state, n_jobs=n_jobs,
            memory=memory, verbose=0 if quiet else 1,
            speaker_adaptation=speaker_adaptation, **params,
        )
        # Every step's parameters, before any step loads audio: a bad --set value
        # fails now, naming it, not after minutes of feature extraction.
        validate_pipeline(pipe)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    if not quiet:
        show_progress(pipe)
    return pipe


def show_progress(pipe) -> None:
    """Progress bars for the audio steps; an epoch bar instead of Keras' lines for a network."""
    from sklearn_ser.pipeline import CNN, audio_estimators

    steps = pipe.named_steps
    for estimator in audio_estimators(pipe):
        estimator.set_params(verbose=1)
    if CNN in steps:
        from sklearn_ser.models import EpochProgressBar

        pipe.set_params(**{f"{CNN}__verbose": 0, f"{CNN}__callbacks": [EpochProgressBar()]})


def summary_line(result) -> str:
    """Accuracy, UAR and the per-fold spread of an evaluation, as text."""
    from sklearn_ser.reporting import classification_summary, format_summary

    summary = classification_summary(result.y_true, result.y_pred, labels=result.labels)
    return format_summary(summary, result)


def load_corpus_args(corpora: Sequence[tuple[str, str]], drop_labels: Sequence[str]):
    """The ``--corpus`` folders as one dataset Bunch (and a line about it on stdout)."""
    from sklearn_ser.datasets import load_corpora
    from sklearn_ser.experiment import describe_data

    names = [name for name, _ in corpora]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"corpus {twice[0]!r} given twice")
    data = load_corpora(dict(corpora), drop_labels=list(drop_labels) or None)
    print(f"data: {describe_data(data)}", flush=True)
    return data


def _load_model(path: Path):
    from sklearn_ser.cli._quiet import call_quietly
    from sklearn_ser.persistence import load_model

    return call_quietly(load_model, path)  # a CNN model imports TensorFlow


def _set_n_jobs(model, n_jobs: int | None) -> None:
    from sklearn_ser.pipeline import audio_estimators

    if n_jobs is not None:
        for estimator in audio_estimators(model):
            estimator.set_params(n_jobs=n_jobs)


def expand_inputs(items: Sequence[str]) -> list[str]:
    """Expand folders (recursively) and glob patterns into audio file paths.

    Folders are searched by :func:`sklearn_ser.datasets.find_audio_files` for
    ``.wav``, ``.flac``, ``.ogg`` and ``.mp3`` files; paths keep the form given
    (a relative folder gives relative paths), and each file is listed once.

    Parameters
    ----------
    items : sequence of str
        Files, folders or glob patterns.

    Returns
    -------
    list of str

    Raises
    ------
    AudioFileError
        Listing every input that is missing, an empty folder or a pattern
        without matches.
    """
    from sklearn_ser.datasets import find_audio_files
    from sklearn_ser.exceptions import AudioFileError

    files: list[str] = []
    problems: dict[str, str] = {}

    def add_folder(folder: str, item: str) -> None:
        root = Path(folder).expanduser()
        found = find_audio_files(root, extensions=PREDICT_SUFFIXES)
        if not found:
            problems[item] = f"folder holds no {'/'.join(PREDICT_SUFFIXES)} files"
        files.extend(str(root / f.relative_to(root.absolute())) for f in found)

    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            add_folder(item, item)
        elif path.exists():
            files.append(str(path))
        elif glob.has_magic(item):
            matches = sorted(glob.glob(os.path.expanduser(item), recursive=True))
            if not matches:
                problems[item] = "pattern matches no files"
            for match in matches:
                if Path(match).is_dir():
                    add_folder(match, match)
                else:
                    files.append(match)
        else:
            problems[item] = "file not found"
    if problems:
        raise AudioFileError(problems)
    return list(dict.fromkeys(files))  # once each, first occurrence order


# -- train ------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    """Evaluate, write the report, fit on everything, save: :func:`run_experiment`."""
    from sklearn_ser._validation import check_labels
    from sklearn_ser.experiment import resolve_n_splits, run_experiment

    use_file_backend()
    params = dict(args.settings)
    # Every --set value is checked before any corpus is read or any audio decoded.
    pipe = make_pipeline(args.preset, params, random_state=args.random_state,
                         n_jobs=args.n_jobs,
                         memory=None if args.cache is None else str(args.cache),
                         quiet=args.quiet, speaker_adaptation=args.speaker_adaptation)
    report_dir = args.report_dir or args.out.with_name(args.out.stem + "_report")
    _check_outputs(args.out, args.export, report_dir)  # before any corpus or audio is read
    data = load_corpus_args(args.corpus, args.drop_label)
    # Before the folds are settled: one class is the first thing to say.
    check_labels(data.target, what="the training data")
    protocol, n_splits = args.protocol, args.n_splits
    if protocol != "none":
        try:
            n_splits = resolve_n_splits(protocol, n_splits, data.speaker)
        except ValueError as exc:
            raise UsageError(str(exc).replace("n_splits=", "--n-splits ")) from None
        if n_splits is None:  # one speaker: nothing to test on (warned)
            protocol = "none"
    result = run_experiment(
        pipe, data, protocol=protocol, n_splits=n_splits, random_state=args.random_state,
        model_path=args.out, export_dir=args.export,
        report_dir=report_dir,
        metadata={
            "corpora": {name: str(path) for name, path in args.corpus},
            "drop_labels": list(args.drop_label), "preset": args.preset,
            "speaker_adaptation": args.speaker_adaptation,
            "settings": {k: repr(v) for k, v in params.items()},
            "protocol": args.protocol,
        },
        title="sklearn-ser train", verbose=0 if args.quiet else 1,
    )
    if result.evaluation is not None:
        print(f"evaluation ({result.evaluation.protocol}, {len(result.evaluation.splits)} "
              "folds): " + summary_line(result.evaluation))
        for line in result.evaluation.scoring_lines():
            print(line)
    print(f"trained on all {len(data.filenames)} clips in {result.fit_time:.0f} s")
    print(f"model saved to {result.model_path}")
    if result.export_path is not None:
        print(f"exported (no pickle) to {result.export_path}")
    report_dir = next(iter(result.report_files.values())).parent
    print(f"report written to {report_dir}/:\n{report_files(result.report_files)}")
    return 0


def _check_outputs(out: Path, export: Path | None, report_dir: Path) -> None:
    """Every place ``train`` writes, checked (and created) now: a usage error naming the option."""
    from sklearn_ser._io import check_writable_file, check_writable_folder
    from sklearn_ser.persistence._export import check_export_destination

    for option, check, path in (("--out", check_writable_file, out),
                                ("--report-dir", check_writable_folder, report_dir),
                                ("--export", check_export_destination, export)):
        if path is not None:
            try:
                check(path)
            except (OSError, ValueError) as exc:
                raise UsageError(f"{option}: {exc}") from None


# -- evaluate ---------------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    """Test a saved model on corpora, or cross-validate its settings (refit per fold)."""
    import numpy as np
    from sklearn.base import clone

    from sklearn_ser.adaptation import uses_speaker_ids
    from sklearn_ser.evaluation import evaluate, label_order
    from sklearn_ser.experiment import describe_data, without_runtime_settings
    from sklearn_ser.reporting import (
        classification_summary,
        format_summary,
        write_report,
    )

    use_file_backend()
    model = _load_model(args.model)  # before the data: a bad model path fails fast
    data = load_corpus_args(args.corpus, args.drop_label)
    unknown = sorted(set(data.target) - {str(c) for c in model.classes_})
    if args.protocol == "none" and not set(data.target) - set(unknown):
        raise UsageError(f"none of the clips has a label the model was trained on "
                         f"({', '.join(map(str, model.classes_))})")
    if unknown and args.protocol == "none":
        # The rule of sklearn_ser.evaluation: only classes of both sides are scored.
        warnings.warn(
            f"labels the model was not trained on (their clips are not scored): "
            f"{', '.join(unknown)}; leave them out with --drop-label", UserWarning, stacklevel=2,
        )
    report_dir = args.report_dir or args.model.with_name(args.model.stem + "_evaluation")
    extra = {"classes": [str(c) for c in model.classes_], "data": describe_data(data),
             "speakers": len(set(data.speaker)), "model": str(args.model)}
    if args.protocol == "none":
        proba = predict_proba(model, list(data.filenames), 64, quiet=args.quiet,
                              speakers=data.speaker)
        classes = model.classes_.astype(str)
        y_pred = classes[proba.argmax(axis=1)]
        scored = np.isin(data.target, classes)
        y_true, y_pred, proba = data.target[scored], y_pred[scored], proba[scored]
        labels = [str(c) for c in model.classes_]
        summary = classification_summary(y_true, y_pred, labels=labels)
        print("saved model on these clips: " + format_summary(summary))
        shared = np.isin(classes, y_true)
        if not shared.all():  # the model knows classes these clips lack
            y_shared = classes[shared][proba[:, shared].argmax(axis=1)]
            names = label_order(classes[shared])
            summary = classification_summary(y_true, y_shared, labels=names)
            print(f"deciding among the {len(names)} classes of these clips only "
                  f"({', '.join(names)}): " + format_summary(summary))
        adaptive = " (speaker-adaptive: each speaker's unlabeled clips used)"
        written = write_report(
            report_dir, y_true, y_pred, labels=labels,
            feature_image=_feature_image(model, data.filenames[0]),
            title=f"sklearn-ser evaluate: {args.model} on {len(data.filenames)} clips"
            + (adaptive if uses_speaker_ids(model) else ""),
            extra=extra,
        )
    else:
        pipe = without_runtime_settings(clone(model))
        if not args.quiet:
            show_progress(pipe)
            note(f"evaluating with protocol {args.protocol} ...")
        weights = None if args.sample_weight == "none" else args.sample_weight
        result = evaluate(pipe, data, protocol=args.protocol, n_splits=args.n_splits,
                          random_state=args.random_state, sample_weight=weights,
                          verbose=0 if args.quiet else 1)
        print(f"{result.protocol} ({len(result.splits)} folds) with the model's settings: "
              + summary_line(result))
        for line in result.scoring_lines():
            print(line)
        written = write_report(
            report_dir, evaluation=result,
            title=f"sklearn-ser evaluate: settings of {args.model}, {result.protocol}",
            extra=extra,
        )
    print(f"report written to {report_dir}/:\n{report_files(written)}")
    return 0


def _feature_image(pipe, path):
    """One clip's feature image for the report, when the pipeline makes images."""
    from sklearn_ser.pipeline import FEATURES
    from sklearn_ser.reporting import clip_feature_image

    return clip_feature_image(pipe, path) if FEATURES in pipe.named_steps else None


# -- predict ----------------------------------------------------------------------------------
def predict_proba(model, files: list[str], batch_size: int, quiet: bool, speakers=None):
    """Probabilities per file, in batches with a progress bar (one call with speaker ids)."""
    import numpy as np

    from sklearn_ser._parallel import progress_bar
    from sklearn_ser.adaptation import uses_speaker_ids

    if speakers is not None and uses_speaker_ids(model):
        # Speaker adaptation: each speaker's statistics come from all of its clips,
        # so the files go in one call with their speaker ids (metadata routing).
        from sklearn import config_context

        with config_context(enable_metadata_routing=True):
            return model.predict_proba(files, groups=np.asarray(speakers))
    chunks = [files[i:i + batch_size] for i in range(0, len(files), batch_size)]
    parts = []
    with progress_bar(total=len(files), desc="predicting", unit="file",
                      disable=quiet or len(chunks) < 2, leave=False, file=sys.stderr) as bar:
        for chunk in chunks:
            parts.append(model.predict_proba(chunk))
            bar.update(len(chunk))
    return np.concatenate(parts)


def _check_audio_inputs(model, files: list[str], batch_size: int) -> None:
    """Decode every file with the model's own loader; raise one error naming all bad files.

    Done batch by batch (the waveforms are dropped), before the first
    prediction: a bad file in the last batch must not cost the work on the
    others, nor hide the bad files of other batches.
    """
    from sklearn_ser.audio import AudioLoader
    from sklearn_ser.exceptions import AudioFileError
    from sklearn_ser.pipeline import LOAD

    loader = getattr(model, "named_steps", {}).get(LOAD)
    if not isinstance(loader, AudioLoader):
        return  # not a sklearn_ser pipeline: its own first step reports what it can
    problems: dict[str, str] = {}
    for start in range(0, len(files), batch_size):
        try:
            loader.transform(files[start:start + batch_size])
        except AudioFileError as exc:
            problems.update(exc.problems)
    if problems:
        raise AudioFileError(problems)


def cmd_predict(args: argparse.Namespace) -> int:
    """One line (or record) per file on stdout; ``--segments``: a timeline of one recording."""
    if args.segments:
        return _predict_segments(args)
    segment_only = [flag for flag, value in (("--window", args.window), ("--hop", args.hop),
                    ("--smooth", args.smooth), ("--plot", args.plot)) if value is not None]
    if segment_only:
        raise UsageError(f"{segment_only[0]} needs --segments")
    files = expand_inputs(args.inputs)  # before loading the model: fail fast on typos
    model = _load_model(args.model)
    _set_n_jobs(model, args.n_jobs)
    # All files are checked before any prediction, so a bad one fails the run
    # (exit status 1) rather than leaving a partial output, and every bad file is named.
    _check_audio_inputs(model, files, args.batch_size)
    speakers = None if args.speaker is None else [args.speaker] * len(files)
    proba = predict_proba(model, files, args.batch_size, args.quiet, speakers)
    write_predictions(files, [str(c) for c in model.classes_], proba, fmt=args.format,
                      with_proba=args.proba)
    return 0


def _predict_segments(args: argparse.Namespace) -> int:
    files = expand_inputs(args.inputs)
    if len(files) != 1:
        raise UsageError(f"--segments takes one audio file, got {len(files)}")
    window = 3.0 if args.window is None else args.window
    hop = min(1.0, window) if args.hop is None else args.hop
    if hop > window:
        raise UsageError(f"--hop ({hop:g} s) must not exceed --window ({window:g} s)")
    if args.plot is not None:
        from sklearn_ser._io import check_writable_file

        check_writable_file(args.plot)  # before the recording is read
        use_file_backend()
    from sklearn_ser.segments import predict_segments

    model = _load_model(args.model)
    _set_n_jobs(model, args.n_jobs)
    frame = predict_segments(model, files[0], window=window, hop=hop, smooth=args.smooth,
                             speaker=args.speaker, batch_size=args.batch_size,
                             verbose=0 if args.quiet else 1)
    write_segments(frame, files[0], fmt=args.format, with_proba=args.proba)
    if args.plot is not None:
        from sklearn_ser._io import save_figure
        from sklearn_ser.cli._output import display_path
        from sklearn_ser.plotting import plot_segments

        fig = plot_segments(frame, title=f"{Path(files[0]).name}: emotion over time")
        written = save_figure(fig, args.plot, dpi=110)
        note(f"timeline written to {display_path(written)}")
    n_speech = int(frame["speech"].sum())
    note(f"{len(frame)} segments, {n_speech} windows of speech, "
         f"{float(frame['end'].max()):.1f} s of audio")
    return 0


# -- corpora ----------------------------------------------------------------------------------
def cmd_fetch(args: argparse.Namespace) -> int:
    """Download a corpus into the cache (or say how to get it)."""
    from sklearn_ser import datasets

    fetch = getattr(datasets, f"fetch_{args.name}")
    data = fetch(data_home=args.data_home, progressbar=not args.quiet)
    folder = os.path.commonpath(list(data.filenames)) if len(data.filenames) else "?"
    print(f"{args.name}: {len(data.filenames)} clips, labels {', '.join(data.target_names)}")
    print(f"cached in {folder}")
    print(f"use it with: sklearn-ser train --corpus {args.name}={folder}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """Known corpora, their licences and cached copies."""
    import json

    from sklearn_ser.datasets import get_data_home, list_corpora

    frame = list_corpora(data_home=args.data_home)
    if args.format == "json":
        print(json.dumps(frame.to_dict(orient="records"), indent=2))
        return 0
    rows = [
        [r.name, "yes" if r.fetchable else "no (manual)",
         "yes" if r.needs_registration else "no", r.licence, r.cached_path or "-"]
        for r in frame.itertuples()
    ]
    print(format_table(["name", "fetch", "registration", "licence", "cached"], rows))
    print(f"\ncache: {get_data_home(args.data_home)}")
    print("homepages: " + "; ".join(f"{r.name} {r.homepage}" for r in frame.itertuples()))
    print("a synthetic set needs no download: sklearn-ser demo, or "
          "sklearn_ser.datasets.make_emotional_speech")
    return 0


#: The handler of each subcommand.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "fetch": cmd_fetch,
    "datasets": cmd_datasets,
    "serve": cmd_serve,
}
