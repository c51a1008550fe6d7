"""The ``sklearn-ser`` command line (also ``python -m sklearn_ser``).

Subcommands: ``demo``, ``train``, ``evaluate``, ``predict``, ``fetch`` and
``datasets``; ``sklearn-ser COMMAND --help`` describes each.

Exit status: 0 on success, 2 for a usage error (bad or missing arguments),
1 for any other failure (bad audio files, missing model, failed download).
Errors are one ``sklearn-ser: error: ...`` line on stderr (a list of bad
audio files takes one line per file); ``--debug`` shows the traceback.
Predictions go to stdout, progress and notes to stderr.

TensorFlow is imported only by the subcommands that need it, so ``--help``
is quick.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import glob
import io
import json
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

PROG = "sklearn-ser"

#: Suffixes that ``predict`` picks up when expanding a folder.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")

#: Corpus names ``--corpus NAME=DIR`` accepts ("synthetic" reads a folder
#: written by ``make_emotional_speech``, e.g. the demo's ``data/``).
CORPUS_NAMES = ("ravdess", "crema_d", "tess", "savee", "synthetic")

# Evaluation protocols (sklearn_ser.evaluation.PROTOCOLS) plus "none"; listed
# here so that building the parser imports nothing heavy.
PROTOCOL_NAMES = (
    "speaker_kfold",
    "leave_one_speaker_out",
    "speaker_holdout",
    "leave_one_corpus_out",
    "random_clip",
    "none",
)

#: Settings of ``sklearn-ser demo``: the reference augmentation (3 views per
#: clip) and the reference CNN, on smaller images of the four cheap feature
#: blocks, 30 epochs. Tonnetz (a constant-Q transform) is the slowest block.
DEMO_PARAMS: dict[str, Any] = {
    "features__features": ("mel", "chroma", "mfcc_delta2", "contrast"),
    "features__mel_db": True,
    "features__standardize": "block",
    "features__n_columns": 64,
    "cnn__epochs": 30,
}
DEMO_DATA = {"n_speakers": 8, "n_clips_per_emotion": 5, "duration": 2.0}
DEMO_FOLDS = 4

#: ``demo --quick``: seconds, for tests and CI; the scores mean little.
QUICK_PARAMS: dict[str, Any] = {
    "features__features": ("mel", "mfcc_delta2"),
    "features__n_mfcc": 13,
    "features__mel_db": True,
    "features__standardize": "block",
    "features__n_columns": 32,
    "cnn__architecture": "compact",
    "cnn__conv_filters": (8, 16),
    "cnn__dense_units": (16,),
    "cnn__epochs": 3,
    "cnn__batch_size": 16,
    "cnn__learning_rate": 0.005,
}
QUICK_DATA = {"n_speakers": 4, "n_clips_per_emotion": 2, "duration": 1.0}
QUICK_FOLDS = 2

_EMOTIONS = ("neutral", "happy", "sad", "angry")


class UsageError(Exception):
    """A bad argument found after parsing (exit status 2)."""


# -- argument parsing -------------------------------------------------------------------
def _parse_setting(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value); the value is a Python literal or else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not re.fullmatch(r"[A-Za-z_]\w*(__\w+)+", key):
        raise argparse.ArgumentTypeError(
            f"expected STEP__PARAM=VALUE such as cnn__epochs=30, got {text!r}"
        )
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw  # a bare word such as compact or block
    return key, value


def _parse_corpus(text: str) -> tuple[str, str]:
    """``NAME=DIR`` -> (name, dir), the name checked against :data:`CORPUS_NAMES`."""
    name, sep, path = text.partition("=")
    key = name.strip().lower().replace("-", "_")
    key = {"cremad": "crema_d", "crema": "crema_d"}.get(key, key)
    if not sep or not path:
        raise argparse.ArgumentTypeError(
            f"expected NAME=DIR such as ravdess=~/data/ravdess, got {text!r}"
        )
    if key not in CORPUS_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown corpus {name!r}; known: {', '.join(CORPUS_NAMES)}"
        )
    return key, os.path.expanduser(path)


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected an integer >= 1, got 0")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a number), got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer (-1: all cores), got {text!r}"
        ) from None
    if value == 0:
        raise argparse.ArgumentTypeError("n-jobs must not be 0 (use 1, 2, ... or -1 for all cores)")
    return value


def _add_corpus_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--corpus", metavar="NAME=DIR", action="append", type=_parse_corpus, required=required,
        default=[],
        help="a corpus folder, repeatable; NAME is one of " + ", ".join(CORPUS_NAMES),
    )
    parser.add_argument(
        "--drop-label", metavar="LABEL", action="append", default=[],
        help="leave out clips with this label (repeatable), e.g. --drop-label calm",
    )


def _add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-jobs", type=_n_jobs, default=None, metavar="N",
                        help="parallel workers for audio loading and features (-1: all cores)")
    parser.add_argument("--random-state", type=_non_negative_int, default=0, metavar="SEED",
                        help="seed of the splits, augmentation and network (default: 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sklearn-ser`` (all subcommands)."""
    from sklearn_ser import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Speech emotion recognition with scikit-learn pipelines: "
        "audio files in, emotion labels out.",
        epilog="Start with 'sklearn-ser demo'. Exit status: 0 ok, 1 failure, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "demo", help="train and evaluate on generated speech, save a model and a report",
        description="Generate a small SYNTHETIC emotional speech set, evaluate the pipeline "
        "speaker-independently (no speaker in both training and test folds), train on all "
        "clips, save the model and the report, and predict clips of an unseen speaker. "
        "Offline; about 2-3 minutes on 2 cores.",
    )
    p.add_argument("--out", type=Path, default=Path("sklearn_ser_demo"), metavar="DIR",
                   help="output folder (default: ./sklearn_ser_demo)")
    p.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                   help=f"training epochs (default: {DEMO_PARAMS['cnn__epochs']}, "
                   f"--quick: {QUICK_PARAMS['cnn__epochs']})")
    p.add_argument("--quick", action="store_true",
                   help="a tiny data set and network: seconds (for tests and CI)")
    _add_run_args(p)
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser(
        "train", help="evaluate and train a pipeline on corpus folders",
        description="Load the corpora, evaluate the pipeline under --protocol, write the "
        "report, then train on all clips and save the model.",
    )
    _add_corpus_args(p, required=True)
    p.add_argument("--out", type=Path, default=Path("model.joblib"), metavar="FILE",
                   help="where to save the fitted model (default: model.joblib)")
    p.add_argument("--export", type=Path, default=None, metavar="DIR",
                   help="also export the model without pickle to DIR (JSON files, plus "
                   "network.keras for the CNN presets)")
    p.add_argument("--preset", default="reference",
                   help="pipeline preset: reference (the published CNN recipe), cnn, or "
                   "recommended (pretrained speech encoder + logistic regression; best on new "
                   "voices) (default: reference)")
    p.add_argument("--speaker-adaptation", action="store_true",
                   help="encoder presets: standardise each speaker with that speaker's own "
                   "clips; evaluation then uses each test speaker's UNLABELED clips and is "
                   "reported as the separate speaker-adaptive protocol")
    p.add_argument("--set", metavar="STEP__PARAM=VALUE", action="append", type=_parse_setting,
                   default=[], dest="settings",
                   help="a pipeline parameter, repeatable, e.g. --set cnn__epochs=30 "
                   "--set 'features__features=(\"mel\", \"mfcc\")'")
    p.add_argument("--protocol", choices=PROTOCOL_NAMES, default="speaker_kfold",
                   help="evaluation before the final fit (default: speaker_kfold; none: skip)")
    p.add_argument("--n-splits", type=_positive_int, default=None, metavar="K",
                   help="folds of speaker_kfold (default: 5, or one per speaker when the data "
                   "have fewer), repetitions of random_clip (default: 5)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache feature images in DIR (faster repeated runs)")
    p.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                   help="report folder (default: next to --out, named <model>_report)")
    _add_run_args(p)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser(
        "evaluate", help="score a saved model on corpus folders (or cross-validate its settings)",
        description="With --protocol none (default) the saved model predicts every clip of "
        "the corpora and is scored on them: use corpora or speakers it was not trained on. "
        "With another protocol its settings are cross-validated (refit per fold).",
    )
    p.add_argument("model", type=Path, help="a model saved by 'train' or 'demo'")
    _add_corpus_args(p, required=True)
    p.add_argument("--protocol", choices=PROTOCOL_NAMES, default="none",
                   help="none (default): test the saved model; else refit per fold")
    p.add_argument("--n-splits", type=_positive_int, default=5, metavar="K",
                   help="folds of speaker_kfold, repetitions of random_clip (default: 5)")
    p.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                   help="report folder (default: next to the model, named <model>_evaluation)")
    _add_run_args(p)
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser(
        "predict", help="predict the emotion of audio files",
        description="Predict each file; folders are searched recursively for "
        f"{'/'.join(AUDIO_SUFFIXES)} files and glob patterns are expanded.",
    )
    p.add_argument("model", type=Path, help="a saved model (.joblib) or an exported folder")
    p.add_argument("inputs", nargs="+", metavar="AUDIO",
                   help="audio files, folders or glob patterns")
    p.add_argument("--proba", action="store_true", help="also print each class' probability")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table",
                   help="output format (default: table)")
    p.add_argument("--batch-size", type=_positive_int, default=64, metavar="N",
                   help="files (with --segments: windows) processed at a time (default: 64)")
    p.add_argument("--n-jobs", type=_n_jobs, default=None, metavar="N",
                   help="parallel workers for loading and features")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--segments", action="store_true",
                   help="emotion over time in ONE recording of any length: a row per window "
                   "of speech and per stretch without speech, read in bounded memory "
                   "(--proba: with probabilities; csv and json always have them)")
    p.add_argument("--window", type=_positive_seconds, default=None, metavar="S",
                   help="with --segments: window length in seconds (default: 3)")
    p.add_argument("--hop", type=_positive_seconds, default=None, metavar="S",
                   help="with --segments: seconds between window starts (default: 1)")
    p.add_argument("--smooth", type=_positive_int, default=None, metavar="N",
                   help="with --segments: average the probabilities over N neighbouring windows")
    p.add_argument("--speaker", default=None, metavar="ID",
                   help="the speaker of the files (or of the --segments recording), for a "
                   "model with speaker adaptation: the files are then standardised with their "
                   "own statistics, predicted in one batch")
    p.add_argument("--plot", type=Path, default=None, metavar="PNG",
                   help="with --segments: also write the timeline plot to this file")
    p.set_defaults(handler=cmd_predict)

    p = sub.add_parser(
        "fetch", help="download a corpus into the data cache",
        description="Download, verify and unpack a corpus into the cache "
        "(<data home>/sklearn_ser/NAME/); corpora without a public archive explain how "
        "to get them.",
    )
    p.add_argument("name", choices=("ravdess", "crema_d", "tess", "savee"))
    p.add_argument("--data-home", type=Path, default=None, metavar="DIR",
                   help="cache root (default: scikit-learn's data home)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_fetch)

    p = sub.add_parser(
        "datasets", help="list the known corpora and what is cached",
        description="List the corpora sklearn_ser knows: licence, whether 'fetch' can "
        "download them, and where a cached copy is.",
    )
    p.add_argument("--data-home", type=Path, default=None, metavar="DIR",
                   help="cache root (default: scikit-learn's data home)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=cmd_datasets)
    return parser


# -- output helpers ---------------------------------------------------------------------
def _note(message: str) -> None:
    """Progress notes go to stderr so that stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned columns; numbers right-aligned."""
    cells = [[str(h) for h in header]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [bool(rows) and all(isinstance(r[i], int | float) for r in rows)
               for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


def _set_backend() -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; works without a display


@contextlib.contextmanager
def _cli_warnings(debug: bool) -> Iterator[None]:
    """Show warnings as one ``sklearn-ser: warning:`` line (no source location)."""
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if debug:
            original(message, category, filename, lineno, file, line)
        else:
            print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)

    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            # Library deprecation chatter is not for end users.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        warnings.showwarning = original


def _epoch_bar(desc: str):
    """A Keras callback drawing one tqdm bar over the epochs (instead of Keras' lines)."""
    import keras
    from tqdm.auto import tqdm

    class EpochBar(keras.callbacks.Callback):
        def __init__(self, desc: str):
            super().__init__()
            self.desc = desc
            self._bar = None

        def on_train_begin(self, logs=None):
            self._bar = tqdm(total=self.params.get("epochs"), desc=self.desc, unit="epoch",
                             leave=False, file=sys.stderr)

        def on_epoch_end(self, epoch, logs=None):
            shown = {k: f"{v:.3f}" for k, v in (logs or {}).items()
                     if k in ("loss", "accuracy", "val_loss", "val_accuracy")}
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update()

        def on_train_end(self, logs=None):
            if self._bar is not None:
                self._bar.close()
                self._bar = None

        def __reduce__(self):
            # Rebuilt by name: clone() (deep copy) gives each fold a fresh bar, and
            # pickling works although the class is made inside a function.
            return _epoch_bar, (self.desc,)

    return EpochBar(desc)


def _make_pipeline(preset: str, params: dict[str, Any], *, random_state: int,
                   n_jobs: int | None, memory: Any, quiet: bool,
                   speaker_adaptation: bool = False):
    from sklearn_ser._validation import validate_pipeline
    from sklearn_ser.pipeline import make_ser_pipeline

    try:
        pipe = make_ser_pipeline(preset, random_state=random_state, n_jobs=n_jobs,
                                 memory=memory, verbose=0 if quiet else 1,
                                 speaker_adaptation=speaker_adaptation, **params)
        # Every step's parameters, before any step loads audio: a bad --set value
        # fails now, naming it, not after minutes of feature extraction.
        validate_pipeline(pipe)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    if not quiet:
        _show_progress(pipe)
    return pipe


def _show_progress(pipe) -> None:
    """Progress bars for the audio steps; an epoch bar for a network."""
    steps = pipe.named_steps
    pipe.set_params(**{f"{name}__verbose": 1 for name in ("load", "augment", "features",
                                                           "encoder") if name in steps})
    if "cnn" in steps:
        pipe.set_params(cnn__verbose=0, cnn__callbacks=[_epoch_bar("training")])


def _adaptive(pipe) -> bool:
    from sklearn_ser.adaptation import uses_speaker_ids

    return uses_speaker_ids(pipe)


def _history(pipe):
    cnn = pipe.named_steps.get("cnn")
    return None if cnn is None else cnn.history_


def _feature_image(pipe, path):
    """One clip's feature image for the report, when the pipeline makes images."""
    from sklearn_ser.reporting import clip_feature_image

    return clip_feature_image(pipe, path) if "features" in pipe.named_steps else None


def _prepare_for_saving(pipeline) -> None:
    """Progress output and the local cache are CLI details: never store them in a model."""
    for name in ("load", "augment", "features", "encoder"):
        if name in pipeline.named_steps:
            pipeline.named_steps[name].set_params(verbose=0)
    for name in ("features", "encoder"):
        if name in pipeline.named_steps:
            # A cache folder of this machine; elsewhere predict would try to write there.
            pipeline.named_steps[name].set_params(memory=None)
    cnn = pipeline.named_steps.get("cnn")
    if cnn is not None and cnn.get_params().get("callbacks") is not None:
        cnn.set_params(callbacks=None)
        # SciKeras keeps the callbacks it was fitted with; make them match the
        # parameter, as a fit with callbacks=None would have left them.
        for attr in ("_fit_callbacks", "_predict_callbacks"):
            if hasattr(cnn, attr):
                setattr(cnn, attr, [])


# -- data --------------------------------------------------------------------------------
_SYNTH_NAME = re.compile(r"^(?P<speaker>.+_spk\d+)_(?P<emotion>[a-z]+)_\d+$")


def _load_synthetic(folder: str):
    """Read a folder written by ``make_emotional_speech`` (labels from the file names)."""
    import numpy as np
    from sklearn.utils import Bunch

    from sklearn_ser.datasets import find_audio_files

    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"synthetic corpus folder not found: {root}")
    rows = []
    for file in find_audio_files(root, extensions=AUDIO_SUFFIXES):
        match = _SYNTH_NAME.match(file.stem)
        if match:
            rows.append((str(file), match["emotion"], match["speaker"]))
    if not rows:
        raise ValueError(
            f"no files named like synth_spk01_angry_001.wav under {root} "
            "(the names make_emotional_speech writes)"
        )
    filenames, target, speaker = (np.asarray(col) for col in zip(*rows))
    return Bunch(filenames=filenames, target=target, speaker=speaker,
                 corpus=np.full(len(filenames), "synthetic"))


def load_data(corpora: Sequence[tuple[str, str]], drop_labels: Sequence[str]):
    """Load ``--corpus`` folders into one Bunch (filenames, target, speaker, corpus)."""
    import numpy as np
    from sklearn.utils import Bunch

    from sklearn_ser.datasets import load_corpora

    names = [name for name, _ in corpora]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"corpus {twice[0]!r} given twice")
    parts = []
    real = {name: path for name, path in corpora if name != "synthetic"}
    if real:
        data = load_corpora(real, drop_labels=drop_labels or None)
        parts.append((data.filenames, data.target, data.speaker, data.corpus))
    for name, path in corpora:
        if name == "synthetic":
            data = _load_synthetic(path)
            keep = ~np.isin(data.target, list(drop_labels))
            parts.append((data.filenames[keep], data.target[keep], data.speaker[keep],
                          data.corpus[keep]))
    columns = [np.concatenate([np.asarray(p[i], dtype=object) for p in parts]) for i in range(4)]
    filenames, target, speaker, corpus = (c.astype(str) for c in columns)
    if len(filenames) == 0:
        raise ValueError("no clips left to use")
    return Bunch(filenames=filenames, target=target, speaker=speaker, corpus=corpus)


def _check_training_labels(data) -> None:
    """Refuse data no classifier can be trained on (one class), before any audio is read."""
    from sklearn_ser._validation import check_labels

    check_labels(data.target, what="the training data")


def _describe_data(data) -> str:
    import numpy as np

    labels, counts = np.unique(data.target, return_counts=True)
    per_label = ", ".join(f"{label} {count}" for label, count in zip(labels, counts))
    return (f"{len(data.filenames)} clips, {len(np.unique(data.speaker))} speakers, "
            f"corpora {', '.join(np.unique(data.corpus))}; {per_label}")


def expand_inputs(items: Sequence[str]) -> list[str]:
    """Expand folders (recursively) and glob patterns into audio file paths.

    Raises :class:`~sklearn_ser.AudioFileError` listing every input that is
    missing, an empty folder or a pattern without matches.
    """
    from sklearn_ser.exceptions import AudioFileError

    files: list[str] = []
    problems: dict[str, str] = {}

    def add_folder(folder: Path, item: str) -> None:
        found = sorted(
            str(f) for f in folder.rglob("*")
            if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES
            and not any(part.startswith(".") for part in f.relative_to(folder).parts)
        )
        if not found:
            problems[item] = f"folder holds no {'/'.join(AUDIO_SUFFIXES)} files"
        files.extend(found)

    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            add_folder(path, item)
        elif path.exists():
            files.append(str(path))
        elif glob.has_magic(item):
            matches = sorted(glob.glob(os.path.expanduser(item), recursive=True))
            if not matches:
                problems[item] = "pattern matches no files"
            for match in matches:
                if Path(match).is_dir():
                    add_folder(Path(match), match)
                else:
                    files.append(match)
        else:
            problems[item] = "file not found"
    if problems:
        raise AudioFileError(problems)
    return list(dict.fromkeys(files))  # once each, first occurrence order


# -- commands ------------------------------------------------------------------------------
def _display_path(path: str | os.PathLike) -> str:
    """Relative to the working folder when inside it, else absolute."""
    rel = os.path.relpath(path)
    return os.fspath(path) if rel.startswith("..") else rel


def _report_files(written: dict[str, Path]) -> str:
    return "\n".join(f"  {_display_path(path)}" for path in written.values())


def _model_extra(pipeline, data=None, **more) -> dict[str, Any]:
    import numpy as np

    extra: dict[str, Any] = {"classes": [str(c) for c in pipeline.classes_]}
    if data is not None:
        extra["data"] = _describe_data(data)
        extra["speakers"] = int(len(np.unique(data.speaker)))
    extra.update(more)
    return extra


def _final_fit(pipe, data, quiet: bool):
    if not quiet:
        _note(f"fitting on all {len(data.filenames)} clips ...")
    start = time.perf_counter()
    pipe.fit(data.filenames, data.target)
    return time.perf_counter() - start


#: Folds of speaker_kfold (and repetitions of random_clip) when --n-splits is not given.
DEFAULT_N_SPLITS = 5
_SPEAKER_PROTOCOLS = ("speaker_kfold", "leave_one_speaker_out", "speaker_holdout")


def _run_evaluation(pipe, data, protocol: str, n_splits: int | None, random_state: int,
                    quiet: bool, *, skip_if_one_speaker: bool = False):
    """Evaluate under ``protocol``; None when it was skipped (one speaker, with notice).

    Without an explicit ``n_splits``, speaker_kfold uses as many folds as the data
    have speakers, up to :data:`DEFAULT_N_SPLITS` (from 2 speakers on this is
    leave-one-speaker-out), so a first small folder trains.
    """
    from sklearn_ser.evaluation import evaluate

    n_speakers = len(set(data.speaker))
    if protocol in _SPEAKER_PROTOCOLS and n_speakers < 2 and skip_if_one_speaker:
        _note(f"note: the data have only {n_speakers} speaker, so there is no unseen speaker "
              f"to test on: evaluation ({protocol}) skipped; the model is still trained and "
              "saved (add clips of other speakers to evaluate it)")
        return None
    if protocol == "speaker_kfold":
        if n_splits is None:
            n_splits = min(DEFAULT_N_SPLITS, n_speakers)
            if n_splits < DEFAULT_N_SPLITS:
                _note(f"note: the data have {n_speakers} speakers: evaluating with "
                      f"{n_splits} speaker folds (leave-one-speaker-out)")
        if n_speakers < max(n_splits, 2):
            raise UsageError(
                f"--protocol speaker_kfold with --n-splits {n_splits} needs at least "
                f"{max(n_splits, 2)} speakers, the data have {n_speakers}; lower --n-splits"
            )
    if n_splits is None:
        n_splits = DEFAULT_N_SPLITS
    if not quiet:
        _note(f"evaluating with protocol {protocol} ...")
    return evaluate(pipe, data, protocol=protocol, n_splits=n_splits,
                    random_state=random_state, verbose=0 if quiet else 1)


def cmd_demo(args: argparse.Namespace) -> int:
    """``sklearn-ser demo``: the whole workflow on generated speech."""
    _set_backend()
    from sklearn_ser.datasets import make_emotional_speech
    from sklearn_ser.persistence import export_model, save_model
    from sklearn_ser.reporting import clip_feature_image, format_summary, write_report

    started = time.perf_counter()
    out: Path = args.out
    params = dict(QUICK_PARAMS if args.quick else DEMO_PARAMS)
    if args.epochs is not None:
        params["cnn__epochs"] = args.epochs
    spec = QUICK_DATA if args.quick else DEMO_DATA
    n_folds = QUICK_FOLDS if args.quick else DEMO_FOLDS
    out.mkdir(parents=True, exist_ok=True)

    print(f"sklearn-ser demo -> {_display_path(out)}/")
    print(
        f"1. Generating SYNTHETIC speech-like audio (not real speech): {spec['n_speakers']} "
        f"speakers x {len(_EMOTIONS)} emotions x {spec['n_clips_per_emotion']} clips of "
        f"{spec['duration']:g} s -> {_display_path(out / 'data')}/"
    )
    data = make_emotional_speech(**spec, emotions=_EMOTIONS, out_dir=out / "data",
                                 random_state=args.random_state)
    if args.quick:
        why = "--quick: a tiny network and 3 epochs, to check that everything runs"
    else:
        why = ("the reference augmentation (3 views per clip: clean, noise, "
               "noise+pitch+stretch) and reference CNN on 64-column images of four feature "
               "blocks (dB mel, chroma, MFCC deltas, spectral contrast), standardised per "
               "block, so that the demo takes minutes; the full reference recipe "
               "(make_ser_pipeline(): + tonnetz, 160 columns, 100 epochs) takes several "
               "times longer")
    print(f"2. Pipeline: {why}.")
    print("   settings: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))

    with tempfile.TemporaryDirectory(prefix="sklearn_ser_demo_cache_") as cache:
        # Augmented views are seeded by clip content, so folds and the final
        # fit share every feature image through this cache.
        pipe = _make_pipeline("reference", params, random_state=args.random_state,
                              n_jobs=args.n_jobs, memory=cache, quiet=args.quiet)
        print(f"3. Speaker-independent evaluation: {n_folds}-fold cross-validation grouped "
              "by speaker (every test speaker is unseen in training) ...", flush=True)
        result = _run_evaluation(pipe, data, "speaker_kfold", n_folds, args.random_state,
                                 args.quiet)
        print("   " + format_summary(_summary(result), result).replace("\n", "\n   "))
        print("4. Training on all clips ...", flush=True)
        fit_time = _final_fit(pipe, data, quiet=True)
        print(f"   trained in {fit_time:.0f} s")
        _prepare_for_saving(pipe)  # also drops the cache folder, which is about to go

    model_path = save_model(pipe, out / "model.joblib", metadata={
        "trained_on": "synthetic demo data", "settings": {k: repr(v) for k, v in params.items()},
    })
    export_dir = export_model(pipe, out / "model_export",
                              metadata={"trained_on": "synthetic demo data"})
    image = clip_feature_image(pipe, data.filenames[0])
    written = write_report(
        out, evaluation=result, history=pipe.named_steps["cnn"].history_, feature_image=image,
        title="sklearn-ser demo (synthetic data, speaker-independent evaluation)",
        extra=_model_extra(pipe, data, model=str(model_path)),
    )
    print(f"5. Saved the model to {_display_path(model_path)} (and, without pickle, to "
          f"{_display_path(export_dir)}/) and "
          "the report:")
    print(_report_files(written))

    unseen = make_emotional_speech(n_speakers=1, n_clips_per_emotion=1, emotions=_EMOTIONS,
                                   duration=spec["duration"], out_dir=out / "unseen_speaker",
                                   random_state=args.random_state + 1000)
    proba = pipe.predict_proba(unseen.filenames)
    classes = pipe.classes_
    rows = []
    for path, truth, p in zip(unseen.filenames, unseen.target, proba):
        rows.append([_display_path(path), truth, classes[p.argmax()], float(p.max())])
    print("6. Predictions for clips of a new synthetic speaker:")
    print("   " + format_table(["file", "true", "predicted", "probability"], rows)
          .replace("\n", "\n   "))
    print(f"\nDone in {time.perf_counter() - started:.0f} s. Next:")
    print(f"  sklearn-ser predict {_display_path(model_path)} "
          f"{_display_path(unseen.filenames[0])} --proba")
    print(f"  sklearn-ser train --corpus synthetic={_display_path(out / 'data')} "
          f"--set cnn__epochs=10 --out {_display_path(out / 'model2.joblib')}")
    print("  sklearn-ser train --corpus ravdess=PATH/TO/RAVDESS --drop-label calm "
          "--out ravdess.joblib")
    return 0


def _summary(result):
    from sklearn_ser.reporting import classification_summary

    return classification_summary(result.y_true, result.y_pred, labels=result.labels)


def cmd_train(args: argparse.Namespace) -> int:
    """``sklearn-ser train``: evaluate, write the report, fit on everything, save."""
    _set_backend()
    from sklearn_ser.persistence import export_model, save_model
    from sklearn_ser.reporting import format_summary, write_report

    params = dict(args.settings)
    # Every --set value is checked before any corpus is read or any audio decoded.
    pipe = _make_pipeline(args.preset, params, random_state=args.random_state,
                          n_jobs=args.n_jobs,
                          memory=None if args.cache is None else str(args.cache),
                          quiet=args.quiet, speaker_adaptation=args.speaker_adaptation)
    data = load_data(args.corpus, args.drop_label)
    print(f"data: {_describe_data(data)}", flush=True)
    _check_training_labels(data)
    result = None
    if args.protocol != "none":
        result = _run_evaluation(pipe, data, args.protocol, args.n_splits, args.random_state,
                                 args.quiet, skip_if_one_speaker=True)
    if result is not None:
        print(f"evaluation ({result.protocol}, {len(result.splits)} folds): "
              + format_summary(_summary(result), result))
    fit_time = _final_fit(pipe, data, args.quiet)
    print(f"trained on all {len(data.filenames)} clips in {fit_time:.0f} s")
    _prepare_for_saving(pipe)
    meta = {
        "corpora": {name: str(path) for name, path in args.corpus},
        "drop_labels": list(args.drop_label), "preset": args.preset,
        "speaker_adaptation": args.speaker_adaptation,
        "settings": {k: repr(v) for k, v in params.items()},
        "protocol": args.protocol,
    }
    if result is not None:
        meta["evaluation"] = result.summary().to_dict()
    model_path = save_model(pipe, args.out, metadata=meta)
    print(f"model saved to {model_path}")
    if args.export is not None:
        exported = export_model(pipe, args.export, metadata=_jsonable(meta))
        print(f"exported (no pickle) to {exported}")
    report_dir = args.report_dir or args.out.with_name(args.out.stem + "_report")
    if result is not None:
        written = write_report(
            report_dir, evaluation=result, history=_history(pipe),
            feature_image=_feature_image(pipe, data.filenames[0]),
            title=f"sklearn-ser train: {result.protocol} evaluation",
            extra=_model_extra(pipe, data, model=str(model_path), preset=args.preset,
                               settings=meta["settings"]),
        )
    else:
        # No held-out predictions: report the training fit (optimistic, and said so).
        written = write_report(
            report_dir, data.target, pipe.predict(data.filenames),
            history=_history(pipe),
            feature_image=_feature_image(pipe, data.filenames[0]),
            title="sklearn-ser train: scores on the TRAINING clips (no evaluation protocol; "
            "optimistic)",
            extra=_model_extra(pipe, data, model=str(model_path), preset=args.preset),
        )
    print(f"report written to {report_dir}/:\n{_report_files(written)}")
    return 0


def _jsonable(meta: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(meta, default=str))


def _load(path: Path):
    from sklearn_ser.persistence import load_model

    return load_model(path)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``sklearn-ser evaluate``: test a saved model on corpora, or cross-validate its settings."""
    _set_backend()
    from sklearn.base import clone

    from sklearn_ser.reporting import (
        classification_summary,
        format_summary,
        write_report,
    )

    model = _load(args.model)  # before the data: a bad model path fails fast
    data = load_data(args.corpus, args.drop_label)
    print(f"data: {_describe_data(data)}", flush=True)
    unknown = sorted(set(data.target) - {str(c) for c in model.classes_})
    if unknown:
        warnings.warn(
            f"labels the model was not trained on (always counted wrong): {', '.join(unknown)}; "
            "leave them out with --drop-label", UserWarning, stacklevel=2,
        )
    report_dir = args.report_dir or args.model.with_name(args.model.stem + "_evaluation")
    if args.protocol == "none":
        y_pred = _predict_labels(model, list(data.filenames), 64, quiet=args.quiet,
                                 speakers=data.speaker)
        labels = list(dict.fromkeys([*map(str, model.classes_), *sorted(unknown)]))
        summary = classification_summary(data.target, y_pred, labels=labels)
        print("saved model on these clips: " + format_summary(summary))
        written = write_report(
            report_dir, data.target, y_pred, labels=labels,
            feature_image=_feature_image(model, data.filenames[0]),
            title=f"sklearn-ser evaluate: {args.model} on {len(data.filenames)} clips"
            + (" (speaker-adaptive: each speaker's unlabeled clips used)"
               if _adaptive(model) else ""),
            extra=_model_extra(model, data, model=str(args.model)),
        )
    else:
        pipe = clone(model)
        _prepare_for_saving(pipe)
        if not args.quiet:
            _show_progress(pipe)
        result = _run_evaluation(pipe, data, args.protocol, args.n_splits, args.random_state,
                                 args.quiet)
        print(f"{result.protocol} ({len(result.splits)} folds) with the model's settings: "
              + format_summary(_summary(result), result))
        written = write_report(
            report_dir, evaluation=result,
            title=f"sklearn-ser evaluate: settings of {args.model}, {result.protocol}",
            extra=_model_extra(model, data, model=str(args.model)),
        )
    print(f"report written to {report_dir}/:\n{_report_files(written)}")
    return 0


def _predict_proba(model, files: list[str], batch_size: int, quiet: bool, speakers=None):
    import numpy as np
    from tqdm.auto import tqdm

    from sklearn_ser.adaptation import uses_speaker_ids

    if speakers is not None and uses_speaker_ids(model):
        # Speaker adaptation: each speaker's statistics come from all of its clips,
        # so the files go in one call with their speaker ids (metadata routing).
        from sklearn import config_context

        with config_context(enable_metadata_routing=True):
            return model.predict_proba(files, groups=np.asarray(speakers))
    chunks = [files[i:i + batch_size] for i in range(0, len(files), batch_size)]
    parts = []
    with tqdm(total=len(files), desc="predicting", unit="file", disable=quiet or len(chunks) < 2,
              leave=False, file=sys.stderr) as bar:
        for chunk in chunks:
            parts.append(model.predict_proba(chunk))
            bar.update(len(chunk))
    return np.concatenate(parts)


def _predict_labels(model, files: list[str], batch_size: int, quiet: bool, speakers=None):
    proba = _predict_proba(model, files, batch_size, quiet, speakers)
    return model.classes_[proba.argmax(axis=1)].astype(str)


def _check_audio_inputs(model, files: list[str], batch_size: int) -> None:
    """Decode every file with the model's own loader; raise one error naming all bad files.

    Done batch by batch (the waveforms are dropped), before the first
    prediction: a bad file in the last batch must not cost the work on the
    others, nor hide the bad files of other batches.
    """
    from sklearn_ser.audio import AudioLoader
    from sklearn_ser.exceptions import AudioFileError

    loader = getattr(model, "named_steps", {}).get("load")
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
    """``sklearn-ser predict``: one line (or record) per file on stdout."""
    if args.segments:
        return _predict_segments(args)
    segment_only = [flag for flag, value in (("--window", args.window), ("--hop", args.hop),
                    ("--smooth", args.smooth), ("--plot", args.plot)) if value is not None]
    if segment_only:
        raise UsageError(f"{segment_only[0]} needs --segments")
    files = expand_inputs(args.inputs)  # before loading the model: fail fast on typos
    model = _load(args.model)
    if args.n_jobs is not None:
        for step in ("load", "augment", "features", "encoder"):
            if step in model.named_steps:
                model.named_steps[step].set_params(n_jobs=args.n_jobs)
    # All files are checked before any prediction, so a bad one fails the run
    # (exit status 1) rather than leaving a partial output, and every bad file is named.
    _check_audio_inputs(model, files, args.batch_size)
    speakers = None if args.speaker is None else [args.speaker] * len(files)
    proba = _predict_proba(model, files, args.batch_size, args.quiet, speakers)
    classes = [str(c) for c in model.classes_]
    labels = [classes[i] for i in proba.argmax(axis=1)]
    if args.format == "json":
        records = []
        for path, label, p in zip(files, labels, proba):
            record: dict[str, Any] = {"path": path, "label": label}
            if args.proba:
                record["proba"] = {c: round(float(v), 6) for c, v in zip(classes, p)}
            records.append(record)
        print(json.dumps(records, indent=2))
    elif args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["path", "label", *(classes if args.proba else [])])
        for path, label, p in zip(files, labels, proba):
            writer.writerow([path, label, *([f"{v:.6f}" for v in p] if args.proba else [])])
        sys.stdout.write(buffer.getvalue())
    else:
        header = ["path", "label", *(classes if args.proba else [])]
        rows = [[path, label, *([float(v) for v in p] if args.proba else [])]
                for path, label, p in zip(files, labels, proba)]
        print(format_table(header, rows))
    return 0


def _predict_segments(args: argparse.Namespace) -> int:
    """``sklearn-ser predict --segments``: emotion over time in one recording."""
    import math

    files = expand_inputs(args.inputs)
    if len(files) != 1:
        raise UsageError(f"--segments takes one audio file, got {len(files)}")
    window = 3.0 if args.window is None else args.window
    hop = min(1.0, window) if args.hop is None else args.hop
    if hop > window:
        raise UsageError(f"--hop ({hop:g} s) must not exceed --window ({window:g} s)")
    if args.plot is not None:
        _set_backend()
    from sklearn_ser.segments import predict_segments

    model = _load(args.model)
    if args.n_jobs is not None:
        for step in ("load", "augment", "features", "encoder"):
            if step in model.named_steps:
                model.named_steps[step].set_params(n_jobs=args.n_jobs)
    frame = predict_segments(model, files[0], window=window, hop=hop, smooth=args.smooth,
                             speaker=args.speaker, batch_size=args.batch_size,
                             verbose=0 if args.quiet else 1)
    classes = [str(c) for c in frame.columns[4:]]

    def value(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        return round(v, 6) if isinstance(v, float) else v

    if args.format == "json":
        records = [{k: value(v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                   for row in frame.to_dict(orient="records")]
        print(json.dumps({"path": files[0], "classes": classes, "segments": records},
                         indent=2))
    elif args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False, float_format="%.6f", lineterminator="\n"))
    else:
        shown = ["start", "end", "label", *(classes if args.proba else [])]
        rows = [[value(float(v)) if isinstance(v, float) else v for v in row]
                for row in frame[shown].itertuples(index=False)]
        print(format_table(shown, rows))
    if args.plot is not None:
        from sklearn_ser.plotting import plot_segments

        fig = plot_segments(frame, title=f"{Path(files[0]).name}: emotion over time")
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        _note(f"timeline written to {_display_path(args.plot)}")
    n_speech = int(frame["speech"].sum())
    _note(f"{len(frame)} segments, {n_speech} windows of speech, "
          f"{float(frame['end'].max()):.1f} s of audio")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """``sklearn-ser fetch NAME``: download into the cache (or say how to get it)."""
    from sklearn_ser import datasets

    fetch = getattr(datasets, f"fetch_{args.name}")
    data = fetch(data_home=args.data_home, progressbar=not args.quiet)
    folder = os.path.commonpath(list(data.filenames)) if len(data.filenames) else "?"
    print(f"{args.name}: {len(data.filenames)} clips, labels {', '.join(data.target_names)}")
    print(f"cached in {folder}")
    print(f"use it with: sklearn-ser train --corpus {args.name}={folder}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """``sklearn-ser datasets``: known corpora and cached copies."""
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


# -- entry point ---------------------------------------------------------------------------
def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sklearn-ser`` with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : sequence of str, default=None
        Command line arguments without the program name.

    Returns
    -------
    int
        Exit status: 0 success, 1 failure, 2 usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0)
    from sklearn_ser.exceptions import AudioFileError

    try:
        with _cli_warnings(args.debug):
            return int(args.handler(args) or 0)
    except UsageError as exc:
        if args.debug:
            traceback.print_exc()
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `sklearn-ser predict ... | head`): not an error.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # silence the flush at exit
        return 0
    except AudioFileError as exc:
        if args.debug:
            traceback.print_exc()
        _error(str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI's contract: one line, no traceback
        if args.debug:
            traceback.print_exc()
        message = str(exc).strip() or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        _error(message)
        return 1
