"""Speaker-independent accuracy on RAVDESS: the ablation behind the presets.

Each configuration is a full pipeline (audio paths in) evaluated with
StratifiedGroupKFold by actor (``sklearn_ser.evaluation.evaluate``,
``protocol="speaker_kfold"``). Features are cached on disk (``--cache``), so a
second run of the same configuration only trains.

Run::

    python benchmarks/bench_accuracy.py --data ../shared/data/ravdess \\
        --configs baseline scaling recommended_clean_only recommended

and the table (mean and std of accuracy over folds, UAR, macro-F1, training
seconds per fold, parameters) is printed and written to ``--out`` (CSV).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from sklearn_ser import make_ser_pipeline
from sklearn_ser.datasets import load_ravdess
from sklearn_ser.evaluation import evaluate
from sklearn_ser.features import block_rows
from sklearn_ser.models import build_cnn
from sklearn_ser.plotting import plot_per_class_recall
from sklearn_ser.reporting import write_report

REPO = Path(__file__).resolve().parents[1]

#: The reference features and network, trained briefly on clean clips: the
#: baseline each lever is measured against (100 epochs x 3 views is ~20x slower).
BASELINE = {"augment__views": ("clean",), "cnn__epochs": 25}
SCALING = {"features__mel_db": True, "features__standardize": "row"}
TRIM = {"load__trim_db": 30.0}
COMPACT_FEATURES = {
    "features__features": ("mel", "mfcc", "chroma", "contrast"),
    "features__mel_pool": 2, "features__mel_groups": None, "features__n_mfcc": 20,
    "features__n_columns": 128,
}
SPECAUGMENT = {"cnn__freq_mask": 8, "cnn__time_mask": 16}

CONFIGS: dict[str, tuple[str, dict]] = {
    "baseline": ("reference", BASELINE),
    "scaling": ("reference", {**BASELINE, **SCALING}),
    "trim": ("reference", {**BASELINE, **TRIM}),
    "compact_features": ("reference", {**BASELINE, **SCALING, **COMPACT_FEATURES}),
    "specaugment": ("reference", {**BASELINE, **SCALING, **SPECAUGMENT}),
    "recommended_clean_only": ("recommended", {"augment__views": ("clean",)}),
    "recommended_clean_only+specaugment": ("recommended", {"augment__views": ("clean",),
                                                           **SPECAUGMENT}),
    "recommended_clean_only+clip_normalization": (
        "recommended", {"augment__views": ("clean",), "cnn__clip_normalization": True}),
    "recommended": ("recommended", {}),
}


def network_parameters(pipe, n_classes: int) -> int:
    """Parameter count of the pipeline's network for its feature-image shape."""
    features, cnn = pipe["features"], pipe["cnn"]
    rows = sum(block_rows(f, n_mfcc=features.n_mfcc, n_mels=features.n_mels,
                          mel_pool=features.mel_pool, mel_groups=features.mel_groups)
               for f in features.features)
    return build_cnn(
        (rows, features.n_columns, 1), n_classes, architecture=cnn.architecture,
        conv_filters=cnn.conv_filters, kernel_size=cnn.kernel_size, dropout=cnn.dropout,
        dense_units=cnn.dense_units,
    ).count_params()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get(
        "SKLEARN_SER_RAVDESS", str(REPO.parent / "shared" / "data" / "ravdess")))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=str(REPO / ".bench_cache"))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "accuracy_results.csv"))
    parser.add_argument("--report-dir", default=None,
                        help="also write each configuration's report (confusion matrix, "
                             "per-class recall, JSON) into REPORT_DIR/<config>/")
    args = parser.parse_args(argv)

    data = load_ravdess(args.data)
    print(f"RAVDESS: {len(data.filenames)} clips, {len(set(data.speaker))} actors, "
          f"{args.folds} speaker-independent folds, seed {args.seed}")
    rows = []
    for name in args.configs:
        preset, params = CONFIGS[name]
        pipe = make_ser_pipeline(preset, random_state=args.seed, n_jobs=args.n_jobs,
                                 memory=args.cache, **params)
        start = time.perf_counter()
        result = evaluate(pipe, data, protocol="speaker_kfold", n_splits=args.folds,
                          random_state=args.seed)
        folds = result.fold_scores
        if args.report_dir:
            write_report(Path(args.report_dir) / name, evaluation=result,
                         title=f"RAVDESS speaker-independent, {name}")
            figure = plot_per_class_recall(result.y_true, result.y_pred, labels=result.labels)
            figure.savefig(Path(args.report_dir) / name / "per_class_recall.png", dpi=120)
        rows.append({
            "config": name, "preset": preset,
            "accuracy_mean": folds["accuracy"].mean(), "accuracy_std": folds["accuracy"].std(),
            "uar_mean": folds["balanced_accuracy"].mean(),
            "macro_f1_mean": folds["macro_f1"].mean(),
            "fit_seconds_per_fold": folds["fit_time"].mean(),
            "network_parameters": network_parameters(pipe, len(set(data.target))),
            "total_seconds": time.perf_counter() - start,
            "params": {k: v for k, v in params.items()},
        })
        print(pd.DataFrame(rows).drop(columns="params").to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
