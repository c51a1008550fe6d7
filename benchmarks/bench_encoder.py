"""GE2EEncoder speed on one core: batched (batch_size=32) against unbatched (batch_size=1).

Run by hand::

    python benchmarks/bench_encoder.py            # RAVDESS if found, else synthetic clips
    python benchmarks/bench_encoder.py --clips 100 --rounds 3

Clips: ~100 RAVDESS speech clips spread over the actors, loaded at 16 kHz with
``AudioLoader(sr=16000, trim_db=30)`` from $SKLEARN_SER_RAVDESS (default
``../shared/data/ravdess`` next to the repository); without them, synthetic
3.5 s clips. The whole transform is timed (mel spectrogram and network, with
the ``recommended`` preset's layers and pooling), with BLAS limited to one
thread, no cache. Batch sizes alternate round by round so that machine load
hits them alike; the table shows the median over rounds of wall-clock and CPU
time per clip. Results go to benchmarks/results/encoder_speed.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn_ser import AudioLoader  # noqa: E402
from sklearn_ser._io import write_text  # noqa: E402
from sklearn_ser.encoders import GE2EEncoder, load_ge2e_weights  # noqa: E402
from sklearn_ser.pipeline import PRESETS  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "encoder_speed.json"
TARGET_MS = 10.0


def ravdess_clips(n: int) -> tuple[list[np.ndarray], str] | None:
    env = os.environ.get("SKLEARN_SER_RAVDESS")
    path = Path(env) if env else REPO.parent / "shared" / "data" / "ravdess"
    if not path.is_dir():
        return None
    from sklearn_ser.datasets import load_ravdess

    files = load_ravdess(path).filenames
    picked = files[np.linspace(0, len(files) - 1, min(n, len(files))).astype(int)]
    clips = AudioLoader(sr=16000, trim_db=30).fit_transform(list(picked))
    return list(clips), str(path)


def synthetic_clips(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(int(3.5 * 16000)) / 16000
    out = []
    for _ in range(n):
        f0 = 100 + 150 * rng.random() + 30 * np.sin(2 * np.pi * rng.random() * 3 * t)
        voice = sum(np.sin(k * 2 * np.pi * np.cumsum(f0) / 16000) / k for k in range(1, 8))
        out.append((0.05 * voice + 0.005 * rng.standard_normal(t.size)).astype(np.float32))
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def time_transform(encoder: GE2EEncoder, clips: list[np.ndarray]) -> tuple[float, float]:
    """(wall, cpu) seconds of one transform of all clips."""
    wall, cpu = time.perf_counter(), time.process_time()
    encoder.transform(clips)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 1])
    args = parser.parse_args()

    found = ravdess_clips(args.clips)
    clips, source = found if found else (synthetic_clips(args.clips), "synthetic 3.5 s clips")
    seconds = np.array([c.size / 16000 for c in clips])
    print(f"{len(clips)} clips from {source}: {seconds.mean():.2f} s on average "
          f"({seconds.min():.2f}-{seconds.max():.2f} s)")

    load_ge2e_weights()  # parse the weight file once, outside the timings
    # This benchmark times the GE2E half of the recommended encoder step.
    preset = {k.rsplit("__", 1)[1]: v for k, v in PRESETS["recommended"].items()
              if k.startswith("encoder__ge2e__")}
    encoders = {b: GE2EEncoder(batch_size=b, **preset).fit(clips) for b in args.batch_sizes}
    times: dict[int, list[tuple[float, float]]] = {b: [] for b in args.batch_sizes}
    load_before = os.getloadavg()
    with threadpool_limits(limits=1):
        encoders[args.batch_sizes[0]].transform(clips[:4])  # warm caches and code paths
        for _ in range(args.rounds):
            for b in args.batch_sizes:
                times[b].append(time_transform(encoders[b], clips))
    load_after = os.getloadavg()

    results = {}
    print(f"{'batch_size':>10} {'wall ms/clip':>13} {'cpu ms/clip':>12}")
    for b in args.batch_sizes:
        wall = statistics.median(t[0] for t in times[b]) / len(clips) * 1000
        cpu = statistics.median(t[1] for t in times[b]) / len(clips) * 1000
        results[str(b)] = {
            "wall_ms_per_clip": round(wall, 2),
            "cpu_ms_per_clip": round(cpu, 2),
            "rounds_wall_s": [round(t[0], 3) for t in times[b]],
            "rounds_cpu_s": [round(t[1], 3) for t in times[b]],
        }
        print(f"{b:>10} {wall:>13.2f} {cpu:>12.2f}")
    if "32" in results and "1" in results:
        ratio = results["1"]["cpu_ms_per_clip"] / results["32"]["cpu_ms_per_clip"]
        print(f"unbatched / batched (cpu): {ratio:.2f}x; target <= {TARGET_MS} ms/clip batched")
    else:
        ratio = None

    record = {
        "benchmark": "GE2EEncoder.transform, one BLAS thread, no cache, "
                     f"recommended preset's encoder settings {preset}",
        "command": "python benchmarks/bench_encoder.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": source,
        "n_clips": len(clips),
        "clip_seconds_mean": round(float(seconds.mean()), 3),
        "clip_seconds_min_max": [round(float(seconds.min()), 3), round(float(seconds.max()), 3)],
        "rounds": args.rounds,
        "per_batch_size": results,
        "unbatched_over_batched_cpu": None if ratio is None else round(ratio, 2),
        "target_ms_per_clip_batched": TARGET_MS,
        "machine": {
            "cpu": cpu_model(),
            "logical_cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
            "blas": [
                {k: i.get(k) for k in ("internal_api", "version", "architecture")}
                for i in threadpool_info()
            ],
        },
        "versions": {
            "python": platform.python_version(),
            **{name: _version(name) for name in
               ("sklearn-ser", "numpy", "scipy", "scikit-learn", "librosa", "resemblyzer")},
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text(RESULTS, json.dumps(record, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
