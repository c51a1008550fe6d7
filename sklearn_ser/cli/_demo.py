"""``sklearn-ser demo``: the whole workflow on generated speech, offline.

Only the standard library is imported at module level: the parser reads the
demo's settings for its help text.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

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

_WHY_QUICK = "--quick: a tiny network and 3 epochs, to check that everything runs"
_WHY_DEMO = (
    "the reference augmentation (3 views per clip: clean, noise, noise+pitch+stretch) and "
    "reference CNN on 64-column images of four feature blocks (dB mel, chroma, MFCC deltas, "
    "spectral contrast), standardised per block, so that the demo takes minutes; the full "
    "reference recipe (make_ser_pipeline(): + tonnetz, 160 columns, 100 epochs) takes "
    "several times longer"
)


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate data, evaluate by speaker, train, save, report, predict a new speaker."""
    from sklearn_ser.cli._commands import make_pipeline, summary_line
    from sklearn_ser.cli._output import (
        display_path,
        format_table,
        report_files,
        use_file_backend,
    )
    from sklearn_ser.datasets import make_emotional_speech
    from sklearn_ser.experiment import run_experiment

    use_file_backend()
    started = time.perf_counter()
    out: Path = args.out
    params = dict(QUICK_PARAMS if args.quick else DEMO_PARAMS)
    if args.epochs is not None:
        params["cnn__epochs"] = args.epochs
    spec = QUICK_DATA if args.quick else DEMO_DATA
    n_folds = QUICK_FOLDS if args.quick else DEMO_FOLDS
    out.mkdir(parents=True, exist_ok=True)

    print(f"sklearn-ser demo -> {display_path(out)}/")
    print(
        f"1. Generating SYNTHETIC speech-like audio (not real speech): {spec['n_speakers']} "
        f"speakers x {len(_EMOTIONS)} emotions x {spec['n_clips_per_emotion']} clips of "
        f"{spec['duration']:g} s -> {display_path(out / 'data')}/"
    )
    data = make_emotional_speech(**spec, emotions=_EMOTIONS, out_dir=out / "data",
                                 random_state=args.random_state)
    print(f"2. Pipeline: {_WHY_QUICK if args.quick else _WHY_DEMO}.")
    print("   settings: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    print(f"3. Speaker-independent evaluation: {n_folds}-fold cross-validation grouped "
          "by speaker (every test speaker is unseen in training), then training on all "
          "clips ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="sklearn_ser_demo_cache_") as cache:
        # Augmented views are seeded by clip content, so folds and the final
        # fit share every feature image through this cache (dropped before saving).
        pipe = make_pipeline("reference", params, random_state=args.random_state,
                             n_jobs=args.n_jobs, memory=cache, quiet=args.quiet)
        result = run_experiment(
            pipe, data, protocol="speaker_kfold", n_splits=n_folds,
            random_state=args.random_state, model_path=out / "model.joblib",
            export_dir=out / "model_export", report_dir=out,
            metadata={"trained_on": "synthetic demo data",
                      "settings": {k: repr(v) for k, v in params.items()}},
            title="sklearn-ser demo (synthetic data)", verbose=0 if args.quiet else 1,
        )
    print("   " + summary_line(result.evaluation).replace("\n", "\n   "))
    print(f"4. Trained on all clips in {result.fit_time:.0f} s")
    print(f"5. Saved the model to {display_path(result.model_path)} (and, without pickle, to "
          f"{display_path(result.export_path)}/) and the report:")
    print(report_files(result.report_files))

    unseen = make_emotional_speech(n_speakers=1, n_clips_per_emotion=1, emotions=_EMOTIONS,
                                   duration=spec["duration"], out_dir=out / "unseen_speaker",
                                   random_state=args.random_state + 1000)
    proba = pipe.predict_proba(unseen.filenames)
    rows = [[display_path(path), truth, pipe.classes_[p.argmax()], float(p.max())]
            for path, truth, p in zip(unseen.filenames, unseen.target, proba)]
    print("6. Predictions for clips of a new synthetic speaker:")
    print("   " + format_table(["file", "true", "predicted", "probability"], rows)
          .replace("\n", "\n   "))
    print(f"\nDone in {time.perf_counter() - started:.0f} s. Next:")
    print(f"  sklearn-ser predict {display_path(result.model_path)} "
          f"{display_path(unseen.filenames[0])} --proba")
    print(f"  sklearn-ser train --corpus synthetic={display_path(out / 'data')} "
          f"--set cnn__epochs=10 --out {display_path(out / 'model2.joblib')}")
    print("  sklearn-ser train --corpus ravdess=PATH/TO/RAVDESS --drop-label calm "
          "--out ravdess.joblib")
    return 0
