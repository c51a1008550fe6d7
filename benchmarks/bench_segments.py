"""Long recordings: memory, speed and accuracy of ``predict_segments`` (issue 11).

Two measurements, one result file (``--out``, JSON) and the table that
``docs/long_recordings.rst`` includes (``docs/long_recordings_results.inc``):

(a) **Memory and speed.** A recording of ``--minutes`` (60) of 16 kHz mono audio,
    built from RAVDESS clips (all actors) joined by 1-2 s pauses (noise at about
    -80 dB), written as 16-bit WAV. Each path runs in its own fresh Python process,
    which reports its peak resident memory (``resource.getrusage`` ``ru_maxrss``):

    * ``model_only``: load the saved model, nothing else (the floor of the others);
    * ``segments``: ``predict_segments(model, file)`` with the defaults;
    * ``segments_all_speech``: the same with a speech threshold below any level, so
      that every window of the hour is classified (the cost of uninterrupted speech);
    * ``whole_file``: the model's own ``AudioLoader`` on the whole file, the way
      ``model.predict([file])`` starts (loading only: features and classifier
      would come on top).

    Wall time and the real-time factor (audio seconds per second of
    ``predict_segments``) are measured in the ``segments`` process.

(b) **Accuracy.** The model is trained on the clips of ``--train-actors`` and
    tested on other actors (``--test-actors``): each test clip is predicted alone
    (clip level), and all test clips, shuffled, are joined by 1-2 s pauses into one
    recording (48 kHz, as the clips) that ``predict_segments`` reads. Per clip, the
    majority label of the speech windows whose centre lies inside the clip is
    compared with the truth, next to the clip-level accuracy; every pause is
    checked for being marked as no speech (its midpoint in a row without speech,
    and at least half of it covered by such rows; the share covered to 90 % is
    reported too).

The model is ``make_ser_pipeline("recommended")``, whatever that preset is when the
script runs (the result file records its steps). Without the RAVDESS clips the
script falls back to synthetic speech (``make_emotional_speech``) and says so.

Run (about 10 minutes on 2 cores)::

    python benchmarks/bench_segments.py --data ../shared/data/ravdess
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "bench_segments.json"
DOCS_INCLUDE = REPO / "docs" / "long_recordings_results.inc"
COMMAND = "python benchmarks/bench_segments.py --data \"$SKLEARN_SER_RAVDESS\""
#: speech_pad values compared; the default (0.2) was chosen on the validation split.
PADS = (0.0, 0.1, 0.2, 0.3)


def _default_data() -> Path:
    env = os.environ.get("SKLEARN_SER_RAVDESS")
    return Path(env) if env else REPO.parent / "shared" / "data" / "ravdess"


def _actors(text: str) -> list[int]:
    """``1-4,9`` -> [1, 2, 3, 4, 9]."""
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def _peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its finished children (MB)."""
    to_mb = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20  # KB on Linux
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb,
    }


# -- child processes: one path each, a fresh interpreter ------------------------------------
def child(mode: str, model_path: str, audio: str, out: str) -> None:
    from sklearn_ser.persistence import load_model

    result: dict[str, Any] = {"mode": mode}
    start = time.perf_counter()
    model = load_model(model_path)
    result["model_load_s"] = time.perf_counter() - start
    result["rss_after_model_mb"] = _peak_rss_mb()["self"]
    duration = sf.info(audio).duration
    if mode in ("segments", "segments_all_speech"):
        from sklearn_ser import predict_segments

        # all_speech: a threshold below any level, so every window is classified
        # (the cost of an hour of uninterrupted speech).
        options = {"speech_threshold_db": -300.0} if mode == "segments_all_speech" else {}
        cpu = time.process_time()
        start = time.perf_counter()
        frame = predict_segments(model, audio, **options)
        result["wall_s"] = time.perf_counter() - start
        result["cpu_s"] = time.process_time() - cpu
        result["rows"] = len(frame)
        result["speech_windows"] = int(frame["speech"].sum())
        result["realtime_factor"] = duration / result["wall_s"]
    elif mode == "whole_file":
        loader = model["load"]
        if "max_duration" in loader.get_params():  # the guard that points to predict_segments
            loader.set_params(max_duration=None)
        start = time.perf_counter()
        waves = loader.transform([audio])
        result["wall_s"] = time.perf_counter() - start
        result["samples"] = int(len(waves[0]))
    result["audio_s"] = duration
    result["peak_rss_mb"] = _peak_rss_mb()["self"]
    result["peak_rss_children_mb"] = _peak_rss_mb()["children"]
    from sklearn_ser._io import write_text  # atomic; imported after the measurement above

    write_text(out, json.dumps(result))


def _run_child(mode: str, model_path: Path, audio: Path, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{mode}.json"
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", mode, str(model_path), str(audio),
                    str(out)], check=True, timeout=3600)
    result = json.loads(out.read_text())
    result["process_wall_s"] = time.perf_counter() - start
    print(f"  {mode}: peak RSS {result['peak_rss_mb']:.0f} MB"
          + (f", {result['wall_s']:.1f} s" if "wall_s" in result else ""), flush=True)
    return result


# -- data ------------------------------------------------------------------------------------
def _load_clips(data: Path, seed: int):
    """RAVDESS clips (filenames, target, actor number), or synthetic ones if absent."""
    if data.is_dir() and any(data.iterdir()):
        from sklearn_ser.datasets import load_ravdess

        ravdess = load_ravdess(data)
        actor = np.asarray([int(str(s)[-2:]) for s in ravdess.speaker])  # ravdess_07 -> 7
        return ravdess.filenames, ravdess.target, actor, f"RAVDESS speech ({data})"
    from sklearn_ser.datasets import make_emotional_speech

    synth = make_emotional_speech(n_speakers=18, n_clips_per_emotion=6, duration=3.5,
                                  out_dir=tempfile.mkdtemp(prefix="bench_segments_"),
                                  random_state=seed)
    actor = np.asarray([int(s[-2:]) for s in synth.speaker])
    return synth.filenames, synth.target, actor, "SYNTHETIC speech (RAVDESS not found)"


def _write_recording(path: Path, clips: list[str], *, sr: int, seconds: float | None,
                     seed: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Join clips (cycled until ``seconds`` when given) with 1-2 s pauses, block by block.

    Returns the spans of the clips and of the pauses, in seconds.
    """
    from sklearn_ser import load_audio

    rng = np.random.default_rng(seed)
    spans, gaps, position = [], [], 0
    limit = None if seconds is None else int(seconds * sr)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        i = 0
        while True:
            if limit is None and i == len(clips):
                break
            pause = int(rng.uniform(1.0, 2.0) * sr)
            clip = load_audio(clips[i % len(clips)], sr=sr)
            if limit is not None and position + pause + len(clip) > limit:
                rest = limit - position
                f.write((1e-4 * rng.standard_normal(rest)).astype(np.float32))
                position += rest
                break
            f.write((1e-4 * rng.standard_normal(pause)).astype(np.float32))
            gaps.append((position / sr, (position + pause) / sr))
            position += pause
            f.write(clip)
            spans.append((position / sr, (position + len(clip)) / sr))
            position += len(clip)
            i += 1
    return spans, gaps


# -- accuracy --------------------------------------------------------------------------------
def _accuracy(model, filenames, target, *, workdir: Path, seed: int,
              variants: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Clip level against the majority of segments, on one recording of the clips.

    ``variants`` maps a name to ``predict_segments`` options, each scored on the same
    recording; the defaults are always scored and give the top-level numbers.
    """
    from sklearn_ser import predict_segments

    order = np.random.default_rng(seed).permutation(len(filenames))
    files = [str(filenames[i]) for i in order]
    truth = np.asarray(target)[order]
    start = time.perf_counter()
    clip_pred = np.asarray(model.predict(files), dtype=object)
    clip_s = time.perf_counter() - start
    native_sr = sf.info(files[0]).samplerate
    recording = workdir / "heldout_recording.wav"
    spans, gaps = _write_recording(recording, files, sr=native_sr, seconds=None, seed=seed)
    result: dict[str, Any] = {}
    for name, options in {"defaults": {}, **(variants or {})}.items():
        start = time.perf_counter()
        frame = predict_segments(model, recording, **options)
        scores = _score(frame, spans, gaps, truth, clip_pred)
        scores["segments_s"] = time.perf_counter() - start
        if name == "defaults":
            result.update(scores)
        else:
            result.setdefault("variants", {})[name] = {"options": options, **scores}
    result.update(n_clips=len(files), recording_sr=native_sr, clip_level_predict_s=clip_s)
    return result


def _score(frame, spans, gaps, truth, clip_pred) -> dict[str, Any]:
    from sklearn_ser.segments import NO_SPEECH

    centre = ((frame["start"] + frame["end"]) / 2).to_numpy()
    speech = frame["speech"].to_numpy()
    labels = frame["label"].to_numpy()
    majority = []
    for a, b in spans:
        inside = labels[speech & (centre >= a) & (centre <= b)]
        if len(inside):
            values, counts = np.unique(inside.astype(str), return_counts=True)
            majority.append(values[np.argmax(counts)])
        else:
            majority.append(NO_SPEECH)
    majority = np.asarray(majority, dtype=object)
    quiet = frame[~frame["speech"]]
    coverage = []
    for a, b in gaps:
        covered = np.clip(np.minimum(quiet["end"], b) - np.maximum(quiet["start"], a), 0, None)
        coverage.append(float(covered.sum()) / (b - a))
    coverage = np.asarray(coverage)
    midpoint_quiet = np.asarray([
        bool(((quiet["start"] <= (a + b) / 2) & (quiet["end"] >= (a + b) / 2)).any())
        for a, b in gaps
    ])
    clip_acc = float(np.mean(clip_pred == truth))
    seg_acc = float(np.mean(majority == truth))
    return {
        "recording_s": float(frame["end"].max()),
        "speech_windows": int(speech.sum()),
        "clip_level_accuracy": clip_acc,
        "segment_majority_accuracy": seg_acc,
        "difference_points": 100 * (seg_acc - clip_acc),
        "agreement_with_clip_level": float(np.mean(majority == clip_pred)),
        "clips_without_speech_window": int(np.sum(majority == NO_SPEECH)),
        "n_gaps": len(gaps),
        # Marked: the pause's midpoint lies in a row without speech that, with its
        # neighbours, covers at least half of the pause (speech_pad widens speech).
        "gaps_marked_no_speech": float(np.mean(midpoint_quiet & (coverage >= 0.5))),
        "gap_midpoints_in_no_speech": float(np.mean(midpoint_quiet)),
        "gaps_covered_90pct": float(np.mean(coverage >= 0.9)),
        "mean_gap_coverage": float(coverage.mean()),
    }


# -- report ------------------------------------------------------------------------------------
def _docs_include(result: dict[str, Any], out: Path) -> str:
    m, a = result["memory_speed"], result["accuracy"]
    sel = result["speech_pad_selection"]
    seg, whole, idle = m["segments"], m["whole_file"], m["model_only"]
    full = m["segments_all_speech"]
    rel = os.path.relpath(out, REPO)
    lines = [
        ".. Generated by benchmarks/bench_segments.py from "
        f"{rel}; do not edit.",
        "",
        f"Measured {result['date']} on {result['machine']['cpus']} CPU cores "
        f"({result['machine']['processor'] or result['machine']['platform']}), model "
        f"``{result['model']['description']}`` trained on {a['n_train_clips']} clips of "
        f"actors {a['train_actors']}; data: {result['data'].split(' (')[0]}. Result file "
        f"``{rel}``, command ``{result['command']}``.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - measure",
        "     - value",
        "     - target",
        "   * - recording (a)",
        f"     - {seg['audio_s'] / 60:.1f} min, 16 kHz mono WAV",
        "     -",
        "   * - peak RSS, ``predict_segments``",
        f"     - {seg['peak_rss_mb']:.0f} MB",
        "     - <= 1024 MB",
        "   * - peak RSS, loading the model only",
        f"     - {idle['peak_rss_mb']:.0f} MB",
        "     -",
        "   * - peak RSS, whole-file path (``AudioLoader`` on the whole file)",
        f"     - {whole['peak_rss_mb']:.0f} MB",
        "     -",
        "   * - wall time of ``predict_segments``",
        f"     - {seg['wall_s']:.1f} s ({seg['realtime_factor']:.0f}x real time; "
        f"{seg['speech_windows']} windows of speech)",
        "     - <= 120 s (>= 30x)",
        "   * - the same, every window classified as if all were speech",
        f"     - {full['wall_s']:.1f} s ({full['realtime_factor']:.0f}x real time; "
        f"{full['speech_windows']} windows), peak RSS {full['peak_rss_mb']:.0f} MB",
        "     -",
        "   * - accuracy (b): clip level, held-out actors",
        f"     - {100 * a['clip_level_accuracy']:.1f} % ({a['n_clips']} clips, actors "
        f"{a['test_actors']})",
        "     -",
        "   * - accuracy (b): majority segment label per clip",
        f"     - {100 * a['segment_majority_accuracy']:.1f} % "
        f"({a['difference_points']:+.1f} points)",
        "     - within 5 points",
        "   * - majority segment label = clip-level prediction",
        f"     - {100 * a['agreement_with_clip_level']:.1f} %",
        "     -",
        "   * - pauses of 1-2 s marked as no speech (midpoint and >= 50 % of the pause in "
        "rows without speech)",
        f"     - {100 * a['gaps_marked_no_speech']:.1f} % of {a['n_gaps']}",
        "     - >= 90 %",
        "   * - pauses with >= 90 % of their duration in rows without speech",
        f"     - {100 * a['gaps_covered_90pct']:.1f} % (mean coverage "
        f"{100 * a['mean_gap_coverage']:.1f} %)",
        "     -",
        "",
        f"``speech_pad`` (seconds added around each stretch of speech): the default 0.2 was "
        f"chosen on validation actors {sel['val_actors']} with a model trained on actors "
        f"{sel['train_actors']} (c), before looking at the held-out actors (b):",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - ``speech_pad``",
        "     - (c) majority = clip level",
        "     - (c) pauses marked",
        "     - (b) majority = clip level",
        "     - (b) majority accuracy (clip level "
        f"{100 * a['clip_level_accuracy']:.1f} %)",
        "     - (b) pauses marked / >= 90 % covered",
    ]
    for name in sel["variants"]:
        v, t = sel["variants"][name], a["variants"][name]
        lines += [
            f"   * - {v['options']['speech_pad']:g}",
            f"     - {100 * v['agreement_with_clip_level']:.1f} %",
            f"     - {100 * v['gaps_marked_no_speech']:.1f} %",
            f"     - {100 * t['agreement_with_clip_level']:.1f} %",
            f"     - {100 * t['segment_majority_accuracy']:.1f} %",
            f"     - {100 * t['gaps_marked_no_speech']:.1f} % / "
            f"{100 * t['gaps_covered_90pct']:.1f} %",
        ]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="length of recording (a) (default: 60)")
    parser.add_argument("--train-actors", type=_actors, default=_actors("1-12"))
    parser.add_argument("--test-actors", type=_actors, default=_actors("13-18"))
    parser.add_argument("--val-train-actors", type=_actors, default=_actors("1-6"),
                        help="(c): actors to train on when comparing speech_pad values")
    parser.add_argument("--val-actors", type=_actors, default=_actors("7-12"),
                        help="(c): validation actors of the speech_pad comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--docs", type=Path, default=DOCS_INCLUDE,
                        help="rst include written for the docs page (--docs '' skips it)")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "MODEL", "AUDIO", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    from sklearn_ser import make_ser_pipeline
    from sklearn_ser.persistence import save_model, versions

    started = time.perf_counter()
    filenames, target, actor, data_note = _load_clips(args.data, args.seed)
    print(f"data: {data_note}, {len(filenames)} clips", flush=True)
    train = np.isin(actor, args.train_actors)
    test = np.isin(actor, args.test_actors)
    if not train.any() or not test.any() or (train & test).any():
        raise SystemExit("--train-actors and --test-actors must be disjoint and non-empty")

    model = make_ser_pipeline("recommended", random_state=args.seed)
    steps = [(name, type(step).__name__) for name, step in model.steps]
    uses_ge2e = any(kind == "GE2EEncoder" for _, kind in steps)
    print(f"model: recommended preset, steps {steps}", flush=True)
    start = time.perf_counter()
    model.fit(filenames[train], target[train])
    fit_s = time.perf_counter() - start
    print(f"trained on {int(train.sum())} clips in {fit_s:.0f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_segments_") as tmp:
        workdir = Path(tmp)
        model_path = save_model(model, workdir / "model.joblib")

        pads = {f"speech_pad={p:g}": {"speech_pad": p} for p in PADS}
        print("(c) speech_pad on validation actors ...", flush=True)
        val_train = np.isin(actor, args.val_train_actors)
        val = np.isin(actor, args.val_actors)
        val_model = make_ser_pipeline("recommended", random_state=args.seed)
        val_model.fit(filenames[val_train], target[val_train])
        selection = _accuracy(val_model, filenames[val], target[val], workdir=workdir,
                              seed=args.seed, variants=pads)
        selection.update(train_actors=_span_text(args.val_train_actors),
                         val_actors=_span_text(args.val_actors))
        del val_model

        print("(b) accuracy on held-out actors ...", flush=True)
        accuracy = _accuracy(model, filenames[test], target[test], workdir=workdir,
                             seed=args.seed, variants=pads)
        accuracy.update(train_actors=_span_text(args.train_actors),
                        test_actors=_span_text(args.test_actors),
                        n_train_clips=int(train.sum()), fit_s=fit_s)
        print(f"  clip level {accuracy['clip_level_accuracy']:.3f}, majority of segments "
              f"{accuracy['segment_majority_accuracy']:.3f}, gaps marked "
              f"{accuracy['gaps_marked_no_speech']:.3f}", flush=True)

        print(f"(a) a {args.minutes:g}-minute 16 kHz recording ...", flush=True)
        long_file = workdir / "long_16k.wav"
        start = time.perf_counter()
        order = np.random.default_rng(args.seed + 1).permutation(len(filenames))
        _write_recording(long_file, [str(filenames[i]) for i in order], sr=16000,
                         seconds=60 * args.minutes, seed=args.seed + 1)
        build_s = time.perf_counter() - start
        memory_speed = {mode: _run_child(mode, model_path, long_file, workdir)
                        for mode in ("model_only", "segments", "segments_all_speech",
                                     "whole_file")}
        memory_speed["file_mb"] = long_file.stat().st_size / 2**20
        memory_speed["build_s"] = build_s

    result = {
        "benchmark": "bench_segments",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": COMMAND if args.minutes == 60 else " ".join(["python", *sys.argv]),
        "data": data_note,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "versions": versions(),
        "model": {
            "preset": "recommended",
            "steps": steps,
            "uses_ge2e_encoder": uses_ge2e,
            "description": "make_ser_pipeline('recommended'): "
            + " -> ".join(kind for _, kind in steps),
        },
        "predict_segments_defaults": {"window": 3.0, "hop": 1.0, "speech_threshold_db": -55.0,
                                      "min_silence": 0.5, "min_speech": 0.2,
                                      "speech_pad": 0.2, "batch_size": 32},
        "memory_speed": memory_speed,
        "accuracy": accuracy,
        "speech_pad_selection": selection,
        "total_s": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from sklearn_ser._io import write_text

    write_text(args.out, json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    if str(args.docs):
        write_text(args.docs, _docs_include(result, args.out))
        print(f"wrote {args.docs}")
    return 0


def _span_text(actors: list[int]) -> str:
    actors = sorted(actors)
    if len(actors) > 1 and actors == list(range(actors[0], actors[-1] + 1)):
        return f"{actors[0]}-{actors[-1]}"
    return ",".join(map(str, actors))


if __name__ == "__main__":
    sys.exit(main())
