"""The argument parser of ``sklearn-ser``: argparse only, nothing heavy imported.

Building it reads the corpus registry (standard library only) and the demo's
settings; ``sklearn-ser --help`` stays well under half a second.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
from pathlib import Path
from typing import Any

from sklearn_ser.cli._demo import DEMO_PARAMS, DEMO_PRESETS, QUICK_PARAMS

PROG = "sklearn-ser"

#: Suffixes that ``predict`` picks up when expanding a folder.
PREDICT_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")

#: The corpus name of a folder written by ``make_emotional_speech`` (e.g. the demo's data).
SYNTHETIC = "synthetic"

# Evaluation protocols (sklearn_ser.evaluation.PROTOCOLS) plus "none"; listed
# here so that building the parser imports nothing heavy (a test keeps them equal).
PROTOCOL_NAMES = (
    "speaker_kfold",
    "leave_one_speaker_out",
    "speaker_holdout",
    "leave_one_corpus_out",
    "random_clip",
    "none",
)


def _protocol_name(text: str) -> str:
    """A protocol name; ``leave-one-corpus-out`` is read as ``leave_one_corpus_out``."""
    return text.strip().replace("-", "_")


#: ``--sample-weight`` choices: none, or a ``sklearn_ser.datasets.corpus_weights`` mode.
SAMPLE_WEIGHT_NAMES = ("none", "corpus", "corpus_class")


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
    """``NAME=DIR`` -> (canonical name, dir); the name is looked up in the corpus registry."""
    from sklearn_ser.datasets import resolve_corpus_name

    name, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(
            f"expected NAME=DIR such as ravdess=~/data/ravdess, got {text!r}"
        )
    try:
        key = resolve_corpus_name(name.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
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
    from sklearn_ser.datasets import corpus_names

    parser.add_argument(
        "--corpus", metavar="NAME=DIR", action="append", type=_parse_corpus, required=required,
        default=[],
        help="a corpus folder, repeatable; NAME is one of " + ", ".join(corpus_names()),
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
    from sklearn_ser.datasets import corpus_names

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
        "clips, save the model and the report, and predict clips and a long recording of "
        "unseen speakers. Offline; about a minute on 2 cores with the default 'recommended' "
        "preset, several minutes with --preset reference (the CNN).",
    )
    p.add_argument("--out", type=Path, default=Path("sklearn_ser_demo"), metavar="DIR",
                   help="output folder (default: ./sklearn_ser_demo)")
    p.add_argument("--preset", choices=DEMO_PRESETS, default=DEMO_PRESETS[0],
                   help="recommended (pretrained speech encoder + logistic regression, the "
                   "best measured model) or reference (the published CNN recipe) "
                   f"(default: {DEMO_PRESETS[0]})")
    p.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                   help="CNN training epochs, --preset reference only (default: "
                   f"{DEMO_PARAMS['reference']['cnn__epochs']}, "
                   f"--quick: {QUICK_PARAMS['reference']['cnn__epochs']})")
    p.add_argument("--quick", action="store_true",
                   help="a tiny data set and network: seconds (for tests and CI)")
    _add_run_args(p)

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
    p.add_argument("--preset", default="recommended",
                   help="pipeline preset: recommended (pretrained speech encoder + logistic "
                   "regression; best on new voices), reference (the published CNN recipe) or "
                   "cnn (default: recommended)")
    p.add_argument("--speaker-adaptation", action="store_true",
                   help="encoder presets: standardise each speaker with that speaker's own "
                   "clips; evaluation then uses each test speaker's UNLABELED clips and is "
                   "reported as the separate speaker-adaptive protocol")
    p.add_argument("--set", metavar="STEP__PARAM=VALUE", action="append", type=_parse_setting,
                   default=[], dest="settings",
                   help="a pipeline parameter, repeatable, e.g. --set cnn__epochs=30 "
                   "--set 'features__features=(\"mel\", \"mfcc\")'")
    p.add_argument("--protocol", choices=PROTOCOL_NAMES, default="speaker_kfold",
                   type=_protocol_name,
                   help="evaluation before the final fit (default: speaker_kfold; none: skip; "
                   "leave_one_corpus_out: train on the other --corpus folders, score the "
                   "classes both sides have)")
    p.add_argument("--n-splits", type=_positive_int, default=None, metavar="K",
                   help="folds of speaker_kfold (default: 5, or one per speaker when the data "
                   "have fewer), repetitions of random_clip (default: 5)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache feature images in DIR (faster repeated runs)")
    p.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                   help="report folder (default: next to --out, named <model>_report)")
    _add_run_args(p)

    p = sub.add_parser(
        "evaluate", help="score a saved model on corpus folders (or cross-validate its settings)",
        description="With --protocol none (default) the saved model predicts every clip of "
        "the corpora and is scored on them: use corpora or speakers it was not trained on. "
        "With another protocol its settings are cross-validated (refit per fold).",
    )
    p.add_argument("model", type=Path, help="a model saved by 'train' or 'demo'")
    _add_corpus_args(p, required=True)
    p.add_argument("--protocol", choices=PROTOCOL_NAMES, default="none", type=_protocol_name,
                   help="none (default): test the saved model; else refit per fold "
                   "(leave_one_corpus_out: train on the other --corpus folders)")
    p.add_argument("--sample-weight", choices=SAMPLE_WEIGHT_NAMES, default="none",
                   type=_protocol_name,
                   help="with a refitting --protocol: weight the training clips so that each "
                   "corpus (corpus_class: each corpus and class) counts the same (default: none)")
    p.add_argument("--n-splits", type=_positive_int, default=5, metavar="K",
                   help="folds of speaker_kfold, repetitions of random_clip (default: 5)")
    p.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                   help="report folder (default: next to the model, named <model>_evaluation)")
    _add_run_args(p)

    p = sub.add_parser(
        "predict", help="predict the emotion of audio files",
        description="Predict each file; folders are searched recursively for "
        f"{'/'.join(PREDICT_SUFFIXES)} files and glob patterns are expanded.",
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

    p = sub.add_parser(
        "serve", help="serve a saved model: an HTTP API and a page to upload or record",
        description="Load MODEL once and serve it: POST /predict (clips -> labels and "
        "probabilities), POST /segments (a recording -> emotion over time), GET /model, "
        "GET /health, GET /openapi.json, and a page at / to upload or record a clip. "
        "Needs the serve extra (pip install 'sklearn-ser[serve]'). Loopback only unless "
        "--host names another address, which then needs --token (or SKLEARN_SER_TOKEN).",
    )
    p.add_argument("model", type=Path, help="a saved model (.joblib) or an exported folder")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=_non_negative_int, default=8000,
                   help="port (default: 8000)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="threads running predictions (default: CPU count, at most 4)")
    p.add_argument("--token", default=None,
                   help="require this token on every request (default: $SKLEARN_SER_TOKEN); "
                   "needed for a non-loopback --host")
    p.add_argument("--max-upload-mb", type=_positive_seconds, default=50.0, metavar="MB",
                   help="largest request body in MiB (default: 50)")
    p.add_argument("--max-clip-seconds", type=_positive_seconds, default=30.0, metavar="S",
                   help="longest clip /predict accepts (default: 30)")
    p.add_argument("--max-recording-seconds", type=_positive_seconds, default=600.0,
                   metavar="S", help="longest recording /segments accepts (default: 600)")
    p.add_argument("-q", "--quiet", action="store_true", help="no request log")

    p = sub.add_parser(
        "fetch", help="download a corpus into the data cache",
        description="Download, verify and unpack a corpus into the cache "
        "(<data home>/sklearn_ser/NAME/); corpora without a public archive explain how "
        "to get them.",
    )
    p.add_argument("name", choices=[n for n in corpus_names() if n != SYNTHETIC])
    p.add_argument("--data-home", type=Path, default=None, metavar="DIR",
                   help="cache root (default: scikit-learn's data home)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser(
        "datasets", help="list the known corpora and what is cached",
        description="List the corpora sklearn_ser knows: licence, whether 'fetch' can "
        "download them, and where a cached copy is.",
    )
    p.add_argument("--data-home", type=Path, default=None, metavar="DIR",
                   help="cache root (default: scikit-learn's data home)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    return parser
