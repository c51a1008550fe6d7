"""How long a newcomer waits for ``sklearn-ser demo``: cold runs in fresh processes.

Each run starts a new ``sklearn-ser demo`` process on an empty output folder (no
feature cache, no compiled bytecode of the demo's data, nothing from an earlier
run) and records its wall time, its CPU time, the scores it wrote to
``report.json`` and the chance level. The target is 60 s on 2 cores for the
default (``recommended``) preset. Results go to benchmarks/results/demo.json;
``docs/benchmarks.rst`` renders them.

Run by hand (no data needed: the demo generates its own)::

    python benchmarks/bench_demo.py                       # the default preset, 3 runs
    python benchmarks/bench_demo.py --presets recommended reference --runs 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sklearn_ser._io import write_text
from sklearn_ser.cli._demo import DEMO_PRESETS
from sklearn_ser.persistence import versions

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "demo.json"
CLI = Path(sys.executable).with_name("sklearn-ser")
TARGET_SECONDS = 60.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(preset: str) -> dict:
    """One cold ``sklearn-ser demo --preset PRESET`` in a fresh process and folder."""
    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        out = Path(tmp) / "demo"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        cpu = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run([str(CLI), "demo", "--preset", preset, "--out", str(out), "-q"],
                              capture_output=True, text=True, env=env, timeout=1800)
        wall = time.perf_counter() - start
        cpu = _children_cpu() - cpu
        if done.returncode != 0:
            raise SystemExit(f"sklearn-ser demo --preset {preset} failed:\n{done.stderr[-3000:]}")
        report = json.loads((out / "report.json").read_text())
        n_classes = len(report["labels"])
        return {
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "accuracy": report["accuracy"],
            "uar": report["uar"],
            "macro_f1": report["macro_f1"],
            "chance": 1 / n_classes,
            "n_clips": report["n_samples"],
            "timeline_png": (out / "timeline.png").stat().st_size > 0,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", choices=DEMO_PRESETS, default=[DEMO_PRESETS[0]])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    load_before = os.getloadavg()
    rows = []
    for preset in args.presets:
        runs = [run_once(preset) for _ in range(args.runs)]
        for i, run in enumerate(runs):
            print(f"{preset} run {i + 1}: {run['wall_seconds']:.1f} s wall, "
                  f"{run['cpu_seconds']:.1f} s CPU, accuracy {run['accuracy']:.3f} "
                  f"(chance {run['chance']:.3f})", flush=True)
        walls = [r["wall_seconds"] for r in runs]
        rows.append({
            "preset": preset,
            "command": f"sklearn-ser demo --preset {preset}",
            "runs": runs,
            "wall_seconds_median": statistics.median(walls),
            "wall_seconds_max": max(walls),
            "accuracy": runs[0]["accuracy"],
            "uar": runs[0]["uar"],
            "chance": runs[0]["chance"],
            "within_target": max(walls) <= TARGET_SECONDS if preset == DEMO_PRESETS[0] else None,
        })
    result = {
        "benchmark": "sklearn-ser demo, cold: a fresh process and an empty output folder per "
                     "run (generation, speaker-independent CV, final fit, save, report, "
                     "predictions, long-recording timeline)",
        "command": "python benchmarks/bench_demo.py " + " ".join(sys.argv[1:]),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "target_seconds": TARGET_SECONDS,
        "rows": rows,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before_after": [round(load_before[0], 2),
                                          round(os.getloadavg()[0], 2)],
        },
        "versions": {k: v for k, v in versions().items() if v},
    }
    write_text(RESULTS, json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
