"""Predicting one clip from a saved model in a fresh process: ``sklearn-ser predict``.

Trains the ``recommended`` preset on a fifth of the RAVDESS clips (the model's size
does not depend on it), saves it with ``save_model``, then runs
``sklearn-ser predict model.joblib CLIP`` ``--runs`` times, each in a new process,
and records the wall time of each run and whether TensorFlow, torch or librosa's
core were imported (they must not be: the model has no Keras part). Results go to
benchmarks/results/predict_latency.json.

Run by hand::

    python benchmarks/bench_predict_latency.py --data ../shared/data/ravdess
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sklearn_ser import make_ser_pipeline
from sklearn_ser._io import write_text
from sklearn_ser.datasets import load_ravdess
from sklearn_ser.persistence import save_model, versions

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "predict_latency.json"
CLI = Path(sys.executable).with_name("sklearn-ser")
PROBE = (
    "import sys, runpy; sys.argv = ['sklearn-ser', 'predict', {model!r}, {clip!r}];"
    "code = 0\n"
    "try:\n    runpy.run_module('sklearn_ser', run_name='__main__')\n"
    "except SystemExit as exit:\n    code = exit.code\n"
    "print('MODULES', 'tensorflow' in sys.modules, 'torch' in sys.modules,"
    " 'librosa.core.audio' in sys.modules)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get(
        "SKLEARN_SER_RAVDESS", str(REPO.parent / "shared" / "data" / "ravdess")))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    data = load_ravdess(args.data)
    subset = np.arange(0, len(data.filenames), 5)
    clip = str(data.filenames[1])
    with tempfile.TemporaryDirectory() as tmp:
        model = str(Path(tmp) / "model.joblib")
        pipe = make_ser_pipeline("recommended", random_state=0)
        save_model(pipe.fit(data.filenames[subset], data.target[subset]), model)
        walls = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([str(CLI), "predict", model, clip], check=True,
                           capture_output=True, timeout=120)
            walls.append(time.perf_counter() - start)
        probe = subprocess.run([sys.executable, "-c", PROBE.format(model=model, clip=clip)],
                               check=True, capture_output=True, text=True, timeout=120)
    line = next(x for x in probe.stdout.splitlines() if x.startswith("MODULES"))
    tf, torch, librosa_core = (word == "True" for word in line.split()[1:])
    record = {
        "benchmark": "sklearn-ser predict model.joblib CLIP, fresh process, recommended preset",
        "command": "python benchmarks/bench_predict_latency.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "clip": clip,
        "runs": args.runs,
        "wall_seconds": [round(w, 3) for w in walls],
        "median_wall_seconds": round(statistics.median(walls), 3),
        "imports_tensorflow": tf,
        "imports_torch": torch,
        "imports_librosa_core": librosa_core,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "versions": versions(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text(RESULTS, json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: record[k] for k in ("wall_seconds", "median_wall_seconds",
                                              "imports_tensorflow", "imports_librosa_core")}))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
