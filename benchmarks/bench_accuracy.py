"""Accuracy on voices the model has never heard: every preset, both protocols, one result file.

Protocols (RAVDESS speech, actors in ``--data``):

* ``speaker_independent``: StratifiedGroupKFold by actor (``--folds``, shuffled with
  ``--seed``); no actor in both training and test; nothing about a test actor is used.
* ``speaker_adaptive``: the same folds, but each test actor's feature vectors are
  standardised with that actor's own *unlabeled* test clips
  (``make_ser_pipeline(..., speaker_adaptation=True)``). A different protocol: it
  needs several clips of each new speaker. Never mixed with the first.
* ``holdout``: fit on all of ``--data``, test on ``--test-data`` (other actors),
  when given.

Rows: the product's presets run end to end (audio paths in, through
``sklearn_ser.evaluation.evaluate``), ablations on encoder vectors computed once
(layers, pooling, C, speaker adaptation from k clips, augmentation views), a
shuffled-label control, and fit timings (cold, and warm with the feature cache).
Everything goes to one JSON file (``--out``) with seeds, folds, versions and the data
path; ``docs/accuracy.rst`` renders its tables and figures from that file.

Run (about 12 minutes on 2 cores without the CNN; ``--presets recommended
recommended_views cnn`` adds about 20 for the CNN)::

    python benchmarks/bench_accuracy.py --data ../shared/data/ravdess
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline

from sklearn_ser import AudioLoader, GE2EEncoder, make_ser_pipeline
from sklearn_ser._io import save_figure, write_text
from sklearn_ser.adaptation import SpeakerStandardizer
from sklearn_ser.datasets import load_ravdess
from sklearn_ser.evaluation import evaluate
from sklearn_ser.persistence import versions

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "accuracy.json"
FIGURES = REPO / "docs" / "_static" / "accuracy"
#: Every core for loading, views and encoding (as bench_robustness.py).
N_JOBS = -1

#: Published anchors on the same task (speaker-independent RAVDESS, frozen
#: self-supervised encoders): EmoBox (Ma et al., 2024). Cited, not measured here.
ANCHORS = [
    {"model": "wav2vec2-base (frozen)", "accuracy": 0.554, "source": "EmoBox 2024"},
    {"model": "WavLM-large (frozen)", "accuracy": 0.722, "source": "EmoBox 2024"},
    {"model": "Whisper-large-v3 (frozen)", "accuracy": 0.759, "source": "EmoBox 2024"},
]

#: End-to-end rows: (name, preset, make_ser_pipeline keywords, protocol).
PRESET_ROWS = {
    "recommended": [
        ("recommended", "recommended", {}, "speaker_independent"),
        ("recommended+speaker_adaptation", "recommended", {"speaker_adaptation": True},
         "speaker_adaptive"),
    ],
    # What multi-condition training costs (or gives) on clean speech: the same
    # preset trained on the clean clips alone.
    "recommended_views": [
        ("recommended+clean_training_only", "recommended",
         {"augment__views": ("clean",)}, "speaker_independent"),
    ],
    "cnn": [("cnn", "cnn", {}, "speaker_independent")],
}


def _summary(result) -> dict[str, Any]:
    out = result.to_dict()
    out.pop("test_index", None)
    report = result.classification_report
    out["per_class_recall"] = {
        str(label): float(report[str(label)]["recall"]) for label in result.labels
    }
    out["fit_seconds_per_fold"] = float(result.fold_scores["fit_time"].mean())
    return out


def _row(name, protocol, evaluation, result, **extra) -> dict[str, Any]:
    s = _summary(result)
    return {
        "name": name, "protocol": protocol, "evaluation": evaluation,
        "accuracy_mean": s["summary"]["accuracy"]["mean"],
        "accuracy_std": s["summary"]["accuracy"]["std"],
        "uar_mean": s["summary"]["balanced_accuracy"]["mean"],
        "macro_f1_mean": s["summary"]["macro_f1"]["mean"],
        "fold_accuracy": [f["accuracy"] for f in s["fold_scores"]],
        "fit_seconds_per_fold": s["fit_seconds_per_fold"],
        "per_class_recall": s["per_class_recall"],
        "labels": s["labels"],
        "confusion_matrix": s["confusion_matrix"],
        **extra,
    }


def _print(row: dict) -> None:
    print(f"{row['name']:<44} {row['protocol']:<20} acc {row['accuracy_mean']:.3f} "
          f"+- {row['accuracy_std']:.3f}  UAR {row['uar_mean']:.3f}", flush=True)


def preset_rows(data, cv, names, cache, seed, test_data) -> list[dict]:
    rows = []
    for key in names:
        for name, preset, kwargs, protocol in PRESET_ROWS[key]:
            kwargs = dict(kwargs)
            adaptation = kwargs.pop("speaker_adaptation", False)
            pipe = make_ser_pipeline(preset, speaker_adaptation=adaptation, random_state=seed,
                                     memory=cache, n_jobs=N_JOBS, **kwargs)
            params = {"preset": preset, "speaker_adaptation": adaptation, **kwargs}
            result = evaluate(pipe, data, protocol=cv, labels=None)
            rows.append(_row(name, protocol, f"{cv.n_splits}-fold by actor", result,
                             params=_jsonable(params)))
            _print(rows[-1])
            if test_data is not None:
                result = _holdout(pipe, data, test_data)
                rows.append(_row(name, protocol, "holdout: train --data, test --test-data",
                                 result, params=_jsonable(params)))
                _print(rows[-1])
    return rows


def _holdout(pipe, train, test):
    X = np.concatenate([train.filenames, test.filenames])
    y = np.concatenate([train.target, test.target])
    groups = np.concatenate([train.speaker, test.speaker])
    n = len(train.filenames)
    split = [(np.arange(n), np.arange(n, len(X)))]
    return evaluate(pipe, X, y, groups=groups, protocol=_FixedSplit(split))


class _FixedSplit:
    """A CV splitter with one given split (train on one folder, test on another)."""

    def __init__(self, split):
        self.split_ = split
        self.n_splits = 1

    def split(self, X=None, y=None, groups=None):
        yield from self.split_

    def get_n_splits(self, *args, **kwargs):
        return 1


POOLING = ("mean", "std", "delta_std")


def encoder_vectors(data, cache) -> tuple[np.ndarray, dict[str, slice]]:
    """Every GE2E output (layers 1-3, projection; each pooled 3 ways) of every clean clip."""
    layers = (1, 2, 3, "projection")
    waves = AudioLoader(sr=16000, trim_db=30.0).fit_transform(data.filenames)
    encoder = GE2EEncoder(layers=layers, pooling=POOLING, memory=cache)
    X = encoder.fit_transform(waves)
    width = 256 * len(POOLING)
    blocks = {str(layer): slice(i * width, (i + 1) * width) for i, layer in enumerate(layers)}
    return X, blocks


def ablation_rows(data, cv, cache, seed) -> list[dict]:
    X, blocks = encoder_vectors(data, cache)
    rows = []

    def run(name, features, protocol, C=0.01, min_clips=10, shuffle=False, **extra):
        y = data.target
        if shuffle:
            y = np.random.RandomState(seed).permutation(y)
        adaptive = protocol == "speaker_adaptive"
        model = make_pipeline(
            SpeakerStandardizer(per_speaker=adaptive, min_clips=min_clips),
            LogisticRegression(C=C, max_iter=5000, random_state=seed),
        )
        result = evaluate(model, features, y, groups=data.speaker, protocol=cv)
        rows.append(_row(name, protocol, f"{cv.n_splits}-fold by actor", result,
                         params={"C": C, "min_clips": min_clips, **extra}))
        _print(rows[-1])

    def layer(name, *stats):
        block = X[:, blocks[name]]
        return np.hstack([block[:, 256 * POOLING.index(s):256 * (POOLING.index(s) + 1)]
                          for s in stats])

    best = layer("2", *POOLING)
    for C in (0.003, 0.01, 0.03, 0.1, 1.0):
        run(f"ablation: layer 2 mean+std+delta_std, C={C}", best, "speaker_independent", C=C)
    run("ablation: layer 2 mean+std", layer("2", "mean", "std"), "speaker_independent")
    run("ablation: layer 2 mean only", layer("2", "mean"), "speaker_independent")
    for name in ("1", "3", "projection"):
        run(f"ablation: layer {name} mean+std+delta_std", layer(name, *POOLING),
            "speaker_independent")
    run("ablation: layers 2+3 mean+std+delta_std", np.hstack([best, layer("3", *POOLING)]),
        "speaker_independent")
    run("ablation: all layers + projection", X, "speaker_independent")
    for C in (0.003, 0.01, 0.03, 0.1):
        run(f"ablation: adaptive layer 2 mean+std+delta_std, C={C}", best, "speaker_adaptive",
            C=C)
    run("ablation: adaptive layer 2 mean+std", layer("2", "mean", "std"), "speaker_adaptive")
    run("ablation: adaptive layers 2+3 mean+std+delta_std",
        np.hstack([best, layer("3", *POOLING)]), "speaker_adaptive")
    run("control: shuffled labels, layer 2", best, "speaker_independent", shuffle=True)
    rows.extend(_adaptation_from_k_clips(best, data, cv, seed))
    return rows


def _adaptation_from_k_clips(X, data, cv, seed) -> list[dict]:
    """Speaker statistics from only k unlabeled clips of each test speaker."""
    from sklearn.metrics import accuracy_score

    rows = []
    y, groups = data.target, data.speaker
    rng = np.random.RandomState(seed)
    for k in (5, 10, 20):
        scores = []
        for train, test in cv.split(X, y, groups):
            standardizer = SpeakerStandardizer(min_clips=2)
            model = LogisticRegression(C=0.01, max_iter=5000, random_state=seed)
            model.fit(standardizer.fit_transform(X[train], groups=groups[train]), y[train])
            # Each test speaker's statistics from k of its clips, applied to all of them.
            Z = np.empty_like(X[test])
            for speaker in np.unique(groups[test]):
                rows_ = test[groups[test] == speaker]
                some = rng.choice(rows_, size=min(k, len(rows_)), replace=False)
                mean, std = X[some].mean(axis=0), X[some].std(axis=0)
                std[std < 1e-8] = 1.0
                Z[groups[test] == speaker] = (X[rows_] - mean) / std
            scores.append(accuracy_score(y[test], model.predict(Z)))
        rows.append({
            "name": f"ablation: adaptive layer 2 from k={k} unlabeled clips per test speaker",
            "protocol": "speaker_adaptive", "evaluation": f"{cv.n_splits}-fold by actor",
            "accuracy_mean": float(np.mean(scores)), "accuracy_std": float(np.std(scores)),
            "fold_accuracy": [float(s) for s in scores], "params": {"k": k, "C": 0.01},
        })
        print(f"{rows[-1]['name']:<44} acc {rows[-1]['accuracy_mean']:.3f}", flush=True)
    return rows


def timing(data, seed) -> dict[str, float]:
    """Fit of ``recommended`` on every clip: cold (empty cache), then warm (cached vectors)."""
    cache = tempfile.mkdtemp(prefix="ser-bench-")
    try:
        out = {"n_clips": len(data.filenames), "n_jobs": N_JOBS}
        for label in ("fit_cold_seconds", "fit_warm_seconds"):
            pipe = make_ser_pipeline("recommended", random_state=seed, memory=cache,
                                     n_jobs=N_JOBS)
            start = time.perf_counter()
            pipe.fit(data.filenames, data.target)
            out[label] = time.perf_counter() - start
            print(f"{label}: {out[label]:.1f}", flush=True)
        return out
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def write_figures(rows: list[dict]) -> list[str]:
    """Per-class recall and confusion matrix of the recommended preset's 6-fold rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    from sklearn_ser.plotting import plot_confusion_matrix, plot_per_class_recall

    FIGURES.mkdir(parents=True, exist_ok=True)
    written = []
    for row in rows:
        if row["name"] not in ("recommended", "recommended+speaker_adaptation"):
            continue
        if "holdout" in row["evaluation"]:
            continue
        tag = row["name"].replace("+", "_")
        # The pooled predictions, rebuilt from the confusion matrix's counts.
        labels = row["labels"]
        pairs = [(labels[i], labels[j]) for (i, j), count in
                 np.ndenumerate(np.asarray(row["confusion_matrix"])) for _ in range(count)]
        y_true, y_pred = (np.asarray(v, dtype=object) for v in zip(*pairs))
        for kind, plot in (("confusion", plot_confusion_matrix),
                           ("recall", plot_per_class_recall)):
            ax = plot(y_true, y_pred, labels=labels,
                      title=f"{row['name']} ({row['evaluation']})")
            path = FIGURES / f"{kind}_{tag}.png"
            save_figure(ax.figure, path, dpi=110, bbox_inches="tight")
            matplotlib.pyplot.close(ax.figure)
            written.append(str(path.relative_to(REPO)))
    return written


README_START = "<!-- results:accuracy:start -->"
README_END = "<!-- results:accuracy:end -->"


def readme_block(result: dict) -> str:
    """The README's accuracy table, rendered from a result file (checked by the tests)."""
    lines = [
        README_START,
        "| preset | protocol | accuracy (mean ± std over folds) | UAR |",
        "|---|---|---|---|",
    ]
    for row in result["rows"]:
        if row["name"].startswith(("ablation", "control")) or "holdout" in row["evaluation"]:
            continue
        lines.append(
            f"| `{row['name']}` | {row['protocol'].replace('_', '-')}, {row['evaluation']} | "
            f"{100 * row['accuracy_mean']:.1f} ± {100 * row['accuracy_std']:.1f} % | "
            f"{100 * row['uar_mean']:.1f} % |"
        )
    cv = result["cv"]
    lines.append("")
    lines.append(
        f"RAVDESS speech, {result['data']['n_clips']} clips of "
        f"{len(result['data']['speakers'])} actors, {cv['n_splits']} folds by actor "
        f"(seed {cv['random_state']}), {result['created'][:10]}; chance 12.5 %."
    )
    lines.append(README_END)
    return "\n".join(lines)


def update_readme(result: dict, readme: Path = REPO / "README.md") -> None:
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    write_text(readme, text[:start] + readme_block(result) + text[end:])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get(
        "SKLEARN_SER_RAVDESS", str(REPO.parent / "shared" / "data" / "ravdess")))
    parser.add_argument("--test-data", default=None,
                        help="RAVDESS folder of other actors for the holdout protocol")
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--presets", nargs="*", default=["recommended", "recommended_views"],
                        choices=list(PRESET_ROWS))
    parser.add_argument("--no-ablations", action="store_true")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--cache", default=str(REPO / ".bench_cache"))
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)

    data = load_ravdess(args.data)
    test_data = load_ravdess(args.test_data) if args.test_data else None
    cv = StratifiedGroupKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    started = time.perf_counter()
    rows = preset_rows(data, cv, args.presets, args.cache, args.seed, test_data)
    if not args.no_ablations:
        rows += ablation_rows(data, cv, args.cache, args.seed)
    result = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "data": {"path": os.path.abspath(args.data), "n_clips": len(data.filenames),
                 "speakers": sorted(set(data.speaker.tolist())),
                 "test_data": os.path.abspath(args.test_data) if args.test_data else None},
        "cv": {"splitter": "StratifiedGroupKFold", "n_splits": args.folds, "shuffle": True,
               "random_state": args.seed, "groups": "actor"},
        "seed": args.seed,
        "versions": versions(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "scikit-learn": sklearn.__version__},
        "anchors": ANCHORS,
        "rows": rows,
    }
    if not args.no_timing:
        result["timing"] = timing(data, args.seed)
    result["figures"] = write_figures(rows)
    result["total_seconds"] = time.perf_counter() - started
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, json.dumps(result, indent=1, default=str))
    print(f"wrote {out}")
    if out.resolve() == DEFAULT_OUT.resolve():
        update_readme(result)
        print("updated README.md")


if __name__ == "__main__":
    main()
