"""How much of a noisy clip is not its speech after trimming.

Takes ``--n-clips`` RAVDESS clips (a fixed random draw), degrades each under the
recording conditions of bench_robustness.py (babble from four talkers among
*other speakers'* clips of the draw), trims it the way the ``recommended`` loader
does (:func:`sklearn_ser.audio.trim_to_speech`, ``top_db=30``, ``floor_db=6``) and
records how many seconds it keeps beyond what the same rule keeps of the clean
clip: positive is noise (or other voices) left in, negative is speech cut off.

The same numbers for the rule of earlier builds are recorded beside it: a frame
is speech when it is more than ``floor_db`` above the recording's noise floor (the
10th percentile of its frame energies), from the first such frame to the last.

Results go to benchmarks/results/trimming.json. Run by hand::

    python benchmarks/bench_trimming.py --ravdess ../shared/data/ravdess
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from sklearn_ser import AudioLoader, conditions
from sklearn_ser._io import write_text
from sklearn_ser.audio import trim_to_speech
from sklearn_ser.audio._activity import frame_energies_db
from sklearn_ser.datasets import load_ravdess
from sklearn_ser.persistence import versions

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "trimming.json"
SR = 16000
TOP_DB, FLOOR_DB = 30.0, 6.0
CONDITIONS = {  # name: (condition, SNR in dB), as in bench_robustness.py
    "white 20 dB": ("white", 20.0), "white 10 dB": ("white", 10.0),
    "white 5 dB": ("white", 5.0), "pink 10 dB": ("pink", 10.0),
    "babble 10 dB": ("babble", 10.0), "telephone": ("telephone", None),
    "reverb 0.5 s": ("reverb", None),
}


def floor_margin_trim(y: np.ndarray) -> np.ndarray:
    """The earlier builds' rule: more than FLOOR_DB over the floor, within TOP_DB of the peak."""
    db, frame, hop = frame_energies_db(y, sr=SR)
    peak = db.max()
    threshold = min(max(peak - TOP_DB, np.percentile(db, 10.0) + FLOOR_DB), peak - 3.0)
    speech = np.flatnonzero(db > threshold)
    return y[int(speech[0]) * hop: int(speech[-1]) * hop + frame]


def current_trim(y: np.ndarray) -> np.ndarray:
    return trim_to_speech(y, sr=SR, top_db=TOP_DB, floor_db=FLOOR_DB)


def summary(seconds: list[float]) -> dict:
    values = np.asarray(seconds)
    return {"median": round(float(np.median(values)), 3),
            "p10": round(float(np.percentile(values, 10)), 3),
            "p90": round(float(np.percentile(values, 90)), 3),
            "mean_abs": round(float(np.mean(np.abs(values))), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ravdess", default=os.environ.get(
        "SKLEARN_SER_RAVDESS", str(REPO.parent / "shared" / "data" / "ravdess")))
    parser.add_argument("--n-clips", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    started = time.perf_counter()
    data = load_ravdess(args.ravdess)
    pick = np.random.RandomState(args.seed).choice(len(data.filenames), args.n_clips,
                                                     replace=False)
    raw = AudioLoader(sr=SR).fit_transform(data.filenames[pick])
    speakers = np.asarray(data.speaker)[pick]
    extra = {rule: {name: [] for name in CONDITIONS} for rule in ("current", "floor margin")}
    for i, y in enumerate(raw):
        reference = len(current_trim(y))
        others = [raw[j] for j in np.flatnonzero(speakers != speakers[i])[::3]]
        for name, (condition, snr) in CONDITIONS.items():
            rng = np.random.RandomState(args.seed * 100_003 + int(pick[i]))
            degraded = conditions.degrade(y, condition, sr=SR, rng=rng, snr_db=snr or 10.0,
                                          rt60=0.5, others=others)
            extra["current"][name].append((len(current_trim(degraded)) - reference) / SR)
            extra["floor margin"][name].append(
                (len(floor_margin_trim(degraded)) - reference) / SR)
    record = {
        "benchmark": "seconds kept beyond the clean clip's trim, per recording condition",
        "command": "python benchmarks/bench_trimming.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "corpus": "RAVDESS", "n_clips": args.n_clips, "seed": args.seed,
        "top_db": TOP_DB, "floor_db": FLOOR_DB,
        "rules": {"current": "sklearn_ser.audio.trim_to_speech",
                  "floor margin": "earlier builds: > floor_db over the 10th percentile"},
        "extra_seconds": {rule: {name: summary(v) for name, v in by_condition.items()}
                          for rule, by_condition in extra.items()},
        "wall_seconds": round(time.perf_counter() - started, 1),
        "versions": versions(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, json.dumps(record, indent=1) + "\n")
    for rule, by_condition in record["extra_seconds"].items():
        print(rule, {name: s["median"] for name, s in by_condition.items()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
