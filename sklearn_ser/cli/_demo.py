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

#: Presets ``demo --preset`` offers; the first is the default.
DEMO_PRESETS = ("recommended", "reference")

#: Pipeline settings of the demo, per preset, on top of the preset itself.
#: ``recommended``: the preset as it is (it takes seconds). ``reference``: the
#: reference augmentation (3 views per clip) and the reference CNN, on smaller
#: images of the four cheap feature blocks, 30 epochs (tonnetz, a constant-Q
#: transform, is the slowest block).
DEMO_PARAMS: dict[str, dict[str, Any]] = {
    "recommended": {},
    "reference": {
        "features__features": ("mel", "chroma", "mfcc_delta2", "contrast"),
        "features__mel_db": True,
        "features__standardize": "block",
        "features__n_columns": 64,
        "cnn__epochs": 30,
    },
}
DEMO_DATA = {"n_speakers": 8, "n_clips_per_emotion": 5, "duration": 2.0}
DEMO_FOLDS = 4

#: ``demo --quick``: seconds, for tests and CI (a tiny network for the CNN).
QUICK_PARAMS: dict[str, dict[str, Any]] = {
    "recommended": {},
    "reference": {
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
    },
}
QUICK_DATA = {"n_speakers": 4, "n_clips_per_emotion": 2, "duration": 1.0}
QUICK_FOLDS = 2

#: The long recording: one clip per emotion of a new speaker, joined by pauses.
RECORDING = {"clip_seconds": 3.0, "pause_seconds": (1.0, 1.8), "window": 2.0, "hop": 0.5}

_EMOTIONS = ("neutral", "happy", "sad", "angry")

_WHY = {
    ("recommended", False): (
        "make_ser_pipeline() -- the 'recommended' preset: two pretrained speech encoders "
        "(Whisper base and GE2E, run in numpy) describe each clip, a logistic regression "
        "reads the emotion from them; the model the documentation recommends, unchanged"
    ),
    ("recommended", True): "--quick: the 'recommended' preset on a tiny data set",
    ("reference", False): (
        "the 'reference' preset -- the published CNN recipe -- reduced so that the demo "
        "takes minutes: the reference augmentation (3 views per clip: clean, noise, "
        "noise+pitch+stretch) and reference CNN on 64-column images of four feature blocks "
        "(dB mel, chroma, MFCC deltas, spectral contrast), standardised per block; the full "
        "recipe (make_ser_pipeline('reference'): + tonnetz, 160 columns, 100 epochs) takes "
        "several times longer"
    ),
    ("reference", True): "--quick: a tiny CNN and 3 epochs, to check that everything runs",
}


def demo_settings(preset: str, quick: bool, epochs: int | None) -> dict[str, Any]:
    """The demo's pipeline parameters for ``preset`` (``--epochs`` applied).

    Parameters
    ----------
    preset : {"recommended", "reference"}
    quick : bool
    epochs : int or None
        ``--epochs``: CNN presets only.

    Returns
    -------
    params : dict
    """
    from sklearn_ser.exceptions import UsageError

    params = dict((QUICK_PARAMS if quick else DEMO_PARAMS)[preset])
    if epochs is not None:
        if "cnn__epochs" not in params:
            raise UsageError(f"--epochs applies to the CNN (--preset reference), not to "
                             f"the {preset!r} preset, which trains no network")
        params["cnn__epochs"] = epochs
    return params


def write_recording(clips: Any, path: Path, *, pause_seconds: tuple[float, float],
                    random_state: int) -> list[tuple[float, float]]:
    """Join ``clips`` (same rate) with pauses of near-silence into one file, atomically.

    Returns the (start, end) seconds of every clip in the recording.
    """
    import numpy as np
    import soundfile as sf

    from sklearn_ser._io import atomic_path

    rng = np.random.default_rng(random_state)
    parts, spans, position, sr = [], [], 0, None
    for file in clips:
        clip, rate = sf.read(file, dtype="float32")
        sr = rate if sr is None else sr
        if rate != sr:
            raise ValueError(f"{file}: sample rate {rate} Hz, the other clips have {sr} Hz")
        pause = int(rng.uniform(*pause_seconds) * sr)
        parts.append((1e-4 * rng.standard_normal(pause)).astype(np.float32))  # -80 dB floor
        position += pause
        parts.append(clip)
        spans.append((position / sr, (position + len(clip)) / sr))
        position += len(clip)
    parts.append((1e-4 * rng.standard_normal(sr)).astype(np.float32))
    with atomic_path(path) as tmp:
        sf.write(tmp, np.concatenate(parts), sr, subtype="PCM_16")
    return spans


def _timeline(pipe, out: Path, seed: int, duration: float) -> list[list[Any]]:
    """A long recording of a new speaker, its emotion over time and the timeline PNG."""
    from sklearn_ser._io import atomic_path
    from sklearn_ser.cli._output import display_path
    from sklearn_ser.datasets import make_emotional_speech
    from sklearn_ser.plotting import plot_segments
    from sklearn_ser.segments import predict_segments

    clips = make_emotional_speech(n_speakers=1, n_clips_per_emotion=1, emotions=_EMOTIONS,
                                  duration=duration, out_dir=out / "recording_clips",
                                  random_state=seed)
    recording = out / "long_recording.wav"
    spans = write_recording(clips.filenames, recording,
                            pause_seconds=RECORDING["pause_seconds"], random_state=seed)
    frame = predict_segments(pipe, recording, window=min(RECORDING["window"], duration),
                             hop=RECORDING["hop"], smooth=3)
    fig = plot_segments(frame, title=f"Synthetic recording of a new speaker ({pipe_name(pipe)})")
    with atomic_path(out / "timeline.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    centre = (frame["start"] + frame["end"]) / 2
    rows = []
    for (start, end), truth in zip(spans, clips.target):
        inside = frame[frame["speech"] & (centre >= start) & (centre <= end)]
        label = inside["label"].mode().iloc[0] if len(inside) else "-"
        rows.append([f"{start:.1f}-{end:.1f} s", truth, label, len(inside)])
    print(f"7. A {frame['end'].max():.0f} s recording of another new speaker "
          f"({display_path(recording)}): emotion over time in windows of "
          f"{min(RECORDING['window'], duration):g} s every {RECORDING['hop']:g} s, timeline "
          f"in {display_path(out / 'timeline.png')}")
    return rows


def pipe_name(pipe) -> str:
    """'encoder + logistic regression' or 'CNN', for titles."""
    from sklearn_ser.pipeline import CNN

    return "CNN" if CNN in pipe.named_steps else "encoder + logistic regression"


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate data, evaluate by speaker, train, save, report, predict new speakers."""
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
    preset = args.preset
    params = demo_settings(preset, args.quick, args.epochs)
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
    print(f"2. Pipeline: {_WHY[preset, args.quick]}.")
    if params:
        print("   settings: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    if preset == "recommended":
        print("   (--preset reference shows the published CNN recipe instead.)")
    print(f"3. Speaker-independent evaluation: {n_folds}-fold cross-validation grouped "
          "by speaker (every test speaker is unseen in training), then training on all "
          "clips ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="sklearn_ser_demo_cache_") as cache:
        # Augmented views are seeded by clip content, so folds and the final fit share
        # every feature image or encoder vector through this cache (dropped before saving).
        # Both encoders are the demo's cost: all cores unless --n-jobs says otherwise.
        n_jobs = -1 if args.n_jobs is None else args.n_jobs
        pipe = make_pipeline(preset, params, random_state=args.random_state,
                             n_jobs=n_jobs, memory=cache, quiet=args.quiet)
        result = run_experiment(
            pipe, data, protocol="speaker_kfold", n_splits=n_folds,
            random_state=args.random_state, model_path=out / "model.joblib",
            export_dir=out / "model_export", report_dir=out,
            metadata={"trained_on": "synthetic demo data", "preset": preset,
                      "settings": {k: repr(v) for k, v in params.items()}},
            title=f"sklearn-ser demo, preset {preset!r} (synthetic data)",
            verbose=0 if args.quiet else 1,
        )
    print("   " + summary_line(result.evaluation).replace("\n", "\n   "))
    print(f"   (chance: {1 / len(_EMOTIONS):.3f} for {len(_EMOTIONS)} balanced classes)")
    print(f"4. Trained on all clips in {result.fit_time:.1f} s")
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

    spans = _timeline(pipe, out, args.random_state + 2000,
                      min(RECORDING["clip_seconds"], 2 * spec["duration"]))
    print("   " + format_table(["utterance", "true", "most windows", "windows"], spans)
          .replace("\n", "\n   "))

    print(f"\nDone in {time.perf_counter() - started:.0f} s. Next:")
    print(f"  sklearn-ser predict {display_path(result.model_path)} "
          f"{display_path(unseen.filenames[0])} --proba")
    print(f"  sklearn-ser predict {display_path(result.model_path)} "
          f"{display_path(out / 'long_recording.wav')} --segments --plot timeline.png")
    if preset == "recommended":
        print("  sklearn-ser demo --preset reference          # the published CNN recipe")
    print("  sklearn-ser train --corpus ravdess=PATH/TO/RAVDESS --drop-label calm "
          "--out ravdess.joblib")
    return 0
