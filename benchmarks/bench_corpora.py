"""Training on several corpora, and testing on a corpus never trained on.

The ``recommended`` preset end to end (audio paths in, through
:func:`sklearn_ser.evaluation.cross_corpus` and :func:`~sklearn_ser.evaluation.evaluate`),
on RAVDESS speech (actors 01-18) and TESS:

* ``cross_corpus``: RAVDESS -> TESS and TESS -> RAVDESS, on the four classes
  angry/happy/neutral/sad (``4``: trained and tested on them), on six (``6``: no calm,
  no surprise), on all classes of each corpus (``all``), and trained on all classes
  but tested on four or six (``all->4``, ``all->6``), without and with class-balancing
  weights
  (``sample_weight="corpus_class"``; with one training corpus, ``"corpus"``
  weights are all 1). A fold scores the classes of both the training and the test
  clips (``scored_classes``); ``uar`` counts a prediction of any other class as an
  error, ``shared_uar`` decides among the scored classes only (argmax of
  ``predict_proba`` over them): the "UAR on the shared classes".
* ``multi_corpus``: 6 folds by RAVDESS actor (StratifiedGroupKFold, ``--seed``); each
  fold trains on the other RAVDESS actors, alone or with all 2,800 TESS clips
  (``sample_weight`` none, ``"corpus"`` or ``"corpus_class"``), and tests on the
  held-out RAVDESS actors (8 classes, accuracy and UAR). Does a second corpus help
  new RAVDESS speakers, and do the weights keep TESS from drowning RAVDESS?

The preset's ``load`` step (decode, resample to 16 kHz, trim silence) runs once on
every clip and the pipelines get its output with ``load="passthrough"`` -- the same
computation, not repeated per fit; encoder vectors are computed once per clip
(``memory=`` under ``--cache``). One JSON file (``--out``) holds the rows with
seed, versions, command and date.

Run (about 35 minutes on 2 cores with a cold cache, 20 of them the
multi-corpus section; less once the vectors are cached)::

    python benchmarks/bench_corpora.py --ravdess ../shared/data/ravdess \\
        --tess ../shared/data/tess
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import load_corpora
from sklearn_ser.evaluation import cross_corpus, evaluate
from sklearn_ser.persistence import versions

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "corpora.json"
SHARED = REPO.parent / "shared" / "data"

FOUR = ("neutral", "happy", "sad", "angry")
SIX = ("neutral", "happy", "sad", "angry", "fear", "disgust")

#: The class sets of the cross-corpus rows: name -> (classes kept on both sides,
#: classes kept on the test side); None keeps every class of each corpus.
CLASS_SETS: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...] | None]] = {
    "4": (FOUR, None),
    "6": (SIX, None),
    "all": (None, None),
    "all->4": (None, FOUR),
    "all->6": (None, SIX),
}


def _pipeline(cache: str, seed: int, n_jobs: int | None):
    """The recommended preset; its ``load`` step is applied once up front (:func:`_preload`)."""
    pipe = make_ser_pipeline("recommended", random_state=seed, memory=cache, n_jobs=n_jobs)
    return pipe.set_params(load="passthrough")


def _preload(filenames, seed: int, n_jobs: int | None) -> np.ndarray:
    """The preset's own ``load`` step on every clip, once: its output is what each fold's
    pipeline would compute again (decoding 3,880 files per fit would dominate the run)."""
    loader = make_ser_pipeline("recommended", random_state=seed, n_jobs=n_jobs).named_steps["load"]
    return loader.fit_transform(filenames)


def _fold_record(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("fold", "n_train", "n_test", "n_scored", "scored_classes", "test_corpora",
            "accuracy", "balanced_accuracy", "macro_f1", "shared_accuracy",
            "shared_balanced_accuracy", "shared_macro_f1", "fit_time", "score_time")
    return {key: _jsonable(row[key]) for key in keep if key in row}


def _record(section: str, name: str, result, **extra) -> dict[str, Any]:
    summary = result.summary()
    out = {
        "section": section,
        "name": name,
        "protocol": result.protocol,
        **extra,
        "accuracy": float(summary.loc["accuracy", "mean"]),
        "uar": float(summary.loc["balanced_accuracy", "mean"]),
        "uar_std": float(summary.loc["balanced_accuracy", "std"]),
        "shared_accuracy": float(summary.loc["shared_accuracy", "mean"]),
        "shared_uar": float(summary.loc["shared_balanced_accuracy", "mean"]),
        "labels": [str(label) for label in result.labels],
        "confusion_matrix": result.confusion_matrix.tolist(),
        "folds": [_fold_record(row) for row in result.fold_scores.to_dict(orient="records")],
    }
    print(f"{section:<12} {name:<44} acc {out['accuracy']:.3f}  UAR {out['uar']:.3f}  "
          f"shared UAR {out['shared_uar']:.3f}", flush=True)
    return out


def cross_corpus_rows(data, X, cache: str, seed: int, n_jobs: int | None) -> list[dict]:
    rows = []
    for train, test in (("ravdess", "tess"), ("tess", "ravdess")):
        for set_name, (classes, test_classes) in CLASS_SETS.items():
            for weights in (None, "corpus_class"):
                start = time.perf_counter()
                result = cross_corpus(
                    _pipeline(cache, seed, n_jobs), data, X=X, train=train, test=test,
                    classes=classes, test_classes=test_classes, sample_weight=weights,
                )
                rows.append(_record(
                    "cross_corpus", f"{train}->{test} classes={set_name} weights={weights}",
                    result, train=[train], test=[test], classes=set_name,
                    sample_weight=weights, seconds=time.perf_counter() - start,
                ))
    return rows


class _Folds:
    """Fixed (train, test) index pairs as a scikit-learn splitter."""

    def __init__(self, splits):
        self.splits = splits

    def split(self, X=None, y=None, groups=None):
        yield from self.splits

    def get_n_splits(self, *args, **kwargs):
        return len(self.splits)


def multi_corpus_rows(data, X, cache: str, seed: int, n_jobs: int | None,
                      n_folds: int) -> list[dict]:
    ravdess = np.flatnonzero(data.corpus == "ravdess")
    tess = np.flatnonzero(data.corpus == "tess")
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    by_actor = [(ravdess[tr], ravdess[te]) for tr, te in
                cv.split(ravdess, data.target[ravdess], data.speaker[ravdess])]
    rows = []
    configs = [("ravdess", None, False), ("ravdess+tess", None, True),
               ("ravdess+tess", "corpus", True), ("ravdess+tess", "corpus_class", True)]
    for train_name, weights, with_tess in configs:
        splits = [(np.concatenate([tr, tess]) if with_tess else tr, te) for tr, te in by_actor]
        start = time.perf_counter()
        result = evaluate(_pipeline(cache, seed, n_jobs), X, data.target, groups=data.speaker,
                          corpus=data.corpus, protocol=_Folds(splits), sample_weight=weights)
        rows.append(_record(
            "multi_corpus", f"train {train_name} weights={weights}, test RAVDESS actors",
            result, train=train_name.split("+"), test=["ravdess"], classes="all",
            sample_weight=weights, seconds=time.perf_counter() - start,
        ))
    return rows


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a result file is for everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus, fold, cache and process options (shared with ``bench_heads.py``)."""
    parser.add_argument("--ravdess", type=Path, default=Path(os.environ.get(
        "SKLEARN_SER_RAVDESS", SHARED / "ravdess")), help="RAVDESS speech folder")
    parser.add_argument("--tess", type=Path, default=Path(os.environ.get(
        "SKLEARN_SER_TESS", SHARED / "tess")), help="TESS folder")
    parser.add_argument("--actors", default="1-18",
                        help="RAVDESS actors to use, FIRST-LAST (default: 1-18)")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                        "sklearn_ser_corpora_cache"),
                        help="joblib cache of encoder vectors (kept between runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=6, help="RAVDESS actor folds")
    parser.add_argument("--n-jobs", type=int, default=-1,
                        help="processes for loading, views and encoding (default: every core)")


def load_data(args: argparse.Namespace):
    """RAVDESS (actors ``--actors``) and TESS as one dataset; the actors; clips per corpus."""
    first, _, last = args.actors.partition("-")
    actors = set(range(int(first), int(last or first) + 1))
    data = load_corpora({"ravdess": args.ravdess, "tess": args.tess})
    # Speaker ids are "ravdess_01" ...; TESS speakers are kept whole.
    keep = np.array([corpus != "ravdess" or int(speaker.rsplit("_", 1)[1]) in actors
                     for corpus, speaker in zip(data.corpus, data.speaker)])
    for key in ("filenames", "target", "speaker", "corpus"):
        data[key] = data[key][keep]
    data["groups"] = data["speaker"]
    counts = {name: int((data.corpus == name).sum()) for name in ("ravdess", "tess")}
    print(f"clips: {counts}", flush=True)
    return data, actors, counts


def write_result(args: argparse.Namespace, benchmark: str, actors, counts: dict,
                 start: float, rows: list[dict], **extra: Any) -> None:
    """Write the rows of a RAVDESS + TESS benchmark with what reproduces them (atomically)."""
    result = {
        "benchmark": benchmark,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": args.seed,
        "preset": "recommended",
        "ravdess_actors": sorted(actors),
        "clips": counts,
        "folds": args.folds,
        "versions": versions(),
        **extra,
        "seconds": time.perf_counter() - start,
        "rows": rows,
    }
    _write_atomically(args.out, json.dumps(_jsonable(result), indent=1, default=str) + "\n")
    print(f"written {args.out}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--sections", nargs="+", default=["cross_corpus", "multi_corpus"],
                        choices=["cross_corpus", "multi_corpus"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    data, actors, counts = load_data(args)
    start = time.perf_counter()
    X = _preload(data.filenames, args.seed, args.n_jobs)
    load_seconds = time.perf_counter() - start
    print(f"loaded in {load_seconds:.0f} s", flush=True)
    rows: list[dict] = []
    if "cross_corpus" in args.sections:
        rows += cross_corpus_rows(data, X, args.cache, args.seed, args.n_jobs)
    if "multi_corpus" in args.sections:
        rows += multi_corpus_rows(data, X, args.cache, args.seed, args.n_jobs, args.folds)
    write_result(args, "bench_corpora", actors, counts, start, rows,
                 load_seconds=load_seconds)


if __name__ == "__main__":
    main()
