"""Feature extraction speed and fidelity, side by side with the straight recipe.

Run::

    python benchmarks/bench_features.py --data ../shared/data/ravdess

Sections (each prints a table):

1. **Per clip, one core**: the straight implementation (``tests/straight_recipe.py``:
   every librosa feature on the waveform, tonnetz on ``librosa.effects.harmonic``)
   against ``mode="faithful"`` and ``mode="fast"``, interleaved clip by clip so
   that machine load hits all three alike; medians of wall-clock and CPU time,
   and the ratios, for a first pass (fresh process) and a second (steady state).
   40 clips spread over the corpus by default (``--clips``).
2. **Fidelity**: per feature block, the largest difference to the straight
   recipe relative to the block's largest value (faithful must be <= 1e-4),
   and what fast mode changes.
3. **Parallelism**: clips/s of loading, augmentation and extraction with
   ``n_jobs=1`` and ``n_jobs=2`` (joblib process pool, started beforehand),
   the CPU work parallelism adds, and a control (pure CPU work) that shows
   what the machine gives two processes at the time.
4. **Cache**: a GridSearchCV over CNN parameters, cold and then again with the
   feature cache warm, and the share of each search spent extracting features.
5. ``--accuracy``: speaker-independent accuracy of a small classifier on
   faithful and on fast images (all clips; a few minutes).

Nothing here is used by the tests; numbers go to ``docs/benchmarks.rst``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the straight recipe lives with the tests

from straight_recipe import BLOCK_ROWS, straight_blocks  # noqa: E402

from sklearn_ser import AudioLoader, FeatureImageExtractor, WaveformAugmenter  # noqa: E402
from sklearn_ser.features import feature_blocks  # noqa: E402


def default_data() -> Path:
    env = os.environ.get("SKLEARN_SER_RAVDESS")
    return Path(env) if env else REPO.parent / "shared" / "data" / "ravdess"


def pick(files: list[Path], n: int) -> list[Path]:
    """``n`` clips spread evenly over the sorted list (all actors and emotions)."""
    if n >= len(files):
        return files
    return [files[i] for i in np.linspace(0, len(files) - 1, n).round().astype(int)]


def versions() -> str:
    import librosa
    import numba
    import scipy
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n"
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"librosa {librosa.__version__}, numba {numba.__version__}, "
        f"scikit-learn {sklearn.__version__}, joblib {joblib.__version__}\n"
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def table(rows: list[list], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def timed(func, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


# -- 1 and 2: per clip, one core; fidelity ------------------------------------------------
def per_clip(waves: list[np.ndarray]) -> dict:
    """Time the three implementations clip by clip, twice over the clips.

    The first pass includes the one-off work of a fresh process (faithful
    mode builds a CQT filter basis the first time it meets a tuning value,
    ~100 values in all); the second pass is the steady state of a long run.
    """
    impls = {
        "straight": lambda y: straight_blocks(y),
        "faithful": lambda y: feature_blocks(y),
        "fast": lambda y: feature_blocks(y, mode="fast"),
    }
    passes = [({k: [] for k in impls}, {k: [] for k in impls}) for _ in range(2)]
    err_faithful = {k: 0.0 for k in BLOCK_ROWS}
    err_fast = {k: [] for k in BLOCK_ROWS}
    corr_fast = []
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # Compile the numba kernels (cached on disk after the first run ever) on a
        # synthetic tone, so that no real clip's tuning value is seen before timing.
        tone = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
        for impl in impls.values():
            impl(tone)
        for wall, cpu in passes:
            for y in waves:
                out = {}
                for name, impl in impls.items():
                    out[name], w, c = timed(impl, y)
                    wall[name].append(w)
                    cpu[name].append(c)
        for y in waves:
            out = {name: impl(y) for name, impl in impls.items()}
            for block in BLOCK_ROWS:
                ref = out["straight"][block]
                scale = np.max(np.abs(ref))
                err_faithful[block] = max(
                    err_faithful[block], np.max(np.abs(out["faithful"][block] - ref)) / scale
                )
                err_fast[block].append(np.max(np.abs(out["fast"][block] - ref)) / scale)
            a, b = out["fast"]["tonnetz"], out["faithful"]["tonnetz"]
            corr_fast.append(np.mean([np.corrcoef(a[i], b[i])[0, 1] for i in range(6)]))
    return dict(passes=passes, err_faithful=err_faithful, err_fast=err_fast,
                corr_fast=corr_fast)


def report_per_clip(res: dict, n: int) -> str:
    out = [f"\n1. Per clip, one core ({n} RAVDESS clips, medians; ratios to straight)"]
    for label, (wall, cpu) in zip(("first pass (fresh process)", "second pass (steady state)"),
                                  res["passes"]):
        med = {k: np.median(v) for k, v in wall.items()}
        medc = {k: np.median(v) for k, v in cpu.items()}
        rows = [
            [name, f"{1e3 * med[name]:.1f}", f"{1e3 * medc[name]:.1f}",
             f"{1e3 * np.mean(wall[name]):.1f}", f"{med['straight'] / med[name]:.1f}x",
             f"{medc['straight'] / medc[name]:.1f}x"]
            for name in med
        ]
        out += [f"\n{label}\n", table(rows, ["implementation", "wall ms", "cpu ms",
                                              "mean wall ms", "speed-up (wall)",
                                              "speed-up (cpu)"])]
    rows = [[b, f"{res['err_faithful'][b]:.1e}", f"{np.median(res['err_fast'][b]):.1e}",
             f"{np.max(res['err_fast'][b]):.1e}"] for b in BLOCK_ROWS]
    out += [f"\n2. Fidelity: max |difference| / max |straight| per block, over {n} clips\n",
            table(rows, ["block", "faithful (max)", "fast (median)", "fast (max)"]),
            f"fast tonnetz vs faithful: per-row correlation over time, mean of the 6 rows: "
            f"median {np.median(res['corr_fast']):.2f}, min {np.min(res['corr_fast']):.2f}"]
    return "\n".join(out)


# -- 3: parallelism -----------------------------------------------------------------------
def _spin(_item: object, n: int) -> float:
    """Pure CPU work, no data: what two processes can get out of the machine right now."""
    total = 0.0
    for i in range(n):
        total += (i % 7) * 0.5
    return total


def _cpu_seconds() -> float:
    """CPU time of this process and all its children (the worker pool) so far."""
    import psutil

    me = psutil.Process()
    procs = [me, *me.children(recursive=True)]
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def scaling(paths: list[str], repeats: int = 3) -> str:
    """Throughput of each step with 1 and 2 workers: best of ``repeats`` alternated runs.

    The best run is the one least disturbed by anything else on the machine. A
    shared machine can hide scaling, so two controls are printed: the same
    comparison for pure CPU work (what the machine gives two processes at
    the time), and the CPU seconds each step spends in all processes (the
    work that parallelism adds: pickling, transfers), which load elsewhere
    does not change.
    """
    waves = AudioLoader().fit_transform(paths)
    steps = [
        ("loading", lambda n_jobs: AudioLoader(n_jobs=n_jobs), paths),
        ("augmentation (3 views)",
         lambda n_jobs: WaveformAugmenter(random_state=0, n_jobs=n_jobs), waves[: len(waves) // 4]),
        ("features, faithful", lambda n_jobs: FeatureImageExtractor(n_jobs=n_jobs),
         waves[: len(waves) // 2]),
        ("features, fast",
         lambda n_jobs: FeatureImageExtractor(mode="fast", n_jobs=n_jobs), waves),
        ("load + augment + features (faithful)",
         lambda n_jobs: Pipeline([("load", AudioLoader(n_jobs=n_jobs)),
                                  ("augment", WaveformAugmenter(random_state=0, n_jobs=n_jobs)),
                                  ("features", FeatureImageExtractor(n_jobs=n_jobs))]),
         paths[: len(paths) // 6]),
        ("pure CPU work (control)", lambda n_jobs: _Spinner(n_jobs), list(range(16))),
    ]
    # Start the process pool and warm every step in it (imports, compiled kernels). The
    # package must be imported by the workers' first task: loky restarts a worker whose
    # memory grows by 300 MB after its first task, and the imports alone would.
    for _, step, X in steps:
        for n_jobs in (2, 1):
            step(n_jobs).fit_transform(X[:8])
    rows = []
    for name, step, X in steps:
        rate = {1: 0.0, 2: 0.0}
        cpu = {1: np.inf, 2: np.inf}
        for n_jobs in (1, 2) * repeats:
            before = _cpu_seconds()
            _, wall, _ = timed(step(n_jobs).fit_transform, X)
            rate[n_jobs] = max(rate[n_jobs], len(X) / wall)
            cpu[n_jobs] = min(cpu[n_jobs], _cpu_seconds() - before)
        rows.append([name, len(X), f"{rate[1]:.1f}", f"{rate[2]:.1f}",
                     f"{rate[2] / rate[1]:.2f}x", f"{cpu[1]:.2f}", f"{cpu[2]:.2f}",
                     f"{100 * (cpu[2] / cpu[1] - 1):+.0f} %"])
    return "\n".join([
        f"\n3. Parallelism: clips/s with n_jobs=1 and n_jobs=2 (warm process pool; best of "
        f"{repeats} alternated runs), and CPU seconds in all processes (least of the runs)\n",
        table(rows, ["step", "clips", "1 worker", "2 workers", "2 vs 1", "cpu s (1)",
                     "cpu s (2)", "extra work"]),
        f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ])


class _Spinner:
    """The control workload behind the same ``fit_transform`` interface as the steps."""

    def __init__(self, n_jobs: int):
        self.n_jobs = n_jobs

    def fit_transform(self, X):
        from sklearn_ser._parallel import parallel_map

        return parallel_map(_spin, X, n_jobs=self.n_jobs, args=[(1_000_000,)] * len(X))


# -- 4: cache -------------------------------------------------------------------------------
def cache(paths: list[str], labels: np.ndarray, mode: str) -> str:
    from sklearn.model_selection import GridSearchCV

    from sklearn_ser import make_ser_pipeline

    spent = []
    original = FeatureImageExtractor._extract

    def timed_extract(self, views):
        start = time.perf_counter()
        try:
            return original(self, views)
        finally:
            spent.append(time.perf_counter() - start)

    FeatureImageExtractor._extract = timed_extract
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in ("cold cache", "warm cache"):
                spent.clear()
                pipe = make_ser_pipeline(
                    random_state=0, memory=tmp, features__mode=mode,
                    cnn__architecture="compact", cnn__conv_filters=(16, 32),
                    cnn__dense_units=(32,), cnn__epochs=5, cnn__batch_size=32,
                )
                grid = {"cnn__learning_rate": [1e-3, 3e-3], "cnn__dropout": [0.1, 0.3]}
                search = GridSearchCV(pipe, grid, cv=2)
                _, wall, _ = timed(search.fit, paths, labels)
                rows.append([run, f"{wall:.1f}", f"{sum(spent):.1f}",
                             f"{100 * sum(spent) / wall:.1f} %"])
    finally:
        FeatureImageExtractor._extract = original
    return "\n".join([
        f"\n4. Cache: GridSearchCV, 4 CNN candidates x 2 folds + refit, {len(paths)} clips "
        f"(x3 views in training), features {mode}\n",
        table(rows, ["search", "total s", "in extraction s", "extraction share"]),
    ])


# -- 5: accuracy of fast vs faithful images ----------------------------------------------
def accuracy(paths: list[str], labels: np.ndarray, actors: np.ndarray) -> str:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    waves = AudioLoader(n_jobs=2).fit_transform(paths)
    images = {
        mode: FeatureImageExtractor(mode=mode, mel_db=True, n_jobs=2).fit_transform(waves)[:, 0]
        for mode in ("faithful", "fast")
    }
    rows = []
    cv = GroupKFold(n_splits=6)
    for name, rows_kept in (("all 106 rows", slice(None)), ("without tonnetz", slice(0, 100))):
        accs = []
        for mode in ("faithful", "fast"):
            img = images[mode][:, rows_kept]
            # Per-row mean and std over time: a small, quick, speaker-independent probe.
            X = np.concatenate([img.mean(axis=2), img.std(axis=2)], axis=1)
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            scores = cross_val_score(clf, X, labels, groups=actors, cv=cv)
            accs.append(f"{scores.mean():.3f} +/- {scores.std():.3f}")
        rows.append([name, *accs])
    return "\n".join([
        f"\n5. Accuracy: logistic regression on per-row mean/std of the images, "
        f"{len(paths)} clips, 6 folds by actor (mel in dB)\n",
        table(rows, ["rows used", "faithful", "fast"]),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data(),
                        help="RAVDESS folder (default: $SKLEARN_SER_RAVDESS or "
                             "../shared/data/ravdess)")
    parser.add_argument("--clips", type=int, default=40,
                        help="clips timed one by one (0 skips sections 1 and 2)")
    parser.add_argument("--scaling-clips", type=int, default=240,
                        help="clips for the n_jobs comparison (0 skips it)")
    parser.add_argument("--scaling-repeats", type=int, default=3,
                        help="alternated runs per n_jobs; the best counts (shared machines)")
    parser.add_argument("--cache-clips", type=int, default=48,
                        help="clips in the grid search (0 skips the cache section)")
    parser.add_argument("--cache-mode", default="faithful", choices=("faithful", "fast"))
    parser.add_argument("--accuracy", action="store_true",
                        help="also compare classifier accuracy on faithful and fast images "
                             "(all clips)")
    args = parser.parse_args(argv)

    files = sorted(args.data.glob("Actor_*/*.flac")) or sorted(args.data.rglob("*.wav"))
    if not files:
        sys.exit(f"no RAVDESS clips under {args.data} (use --data DIR)")
    print(versions())
    print(f"data: {args.data} ({len(files)} clips)")

    if args.clips:
        waves = AudioLoader().fit_transform([str(p) for p in pick(files, args.clips)])
        seconds = np.median([len(w) for w in waves]) / 22050
        print(f"\nmedian clip length of the timed subset: {seconds:.2f} s")
        print(report_per_clip(per_clip(list(waves)), len(waves)))

    if args.scaling_clips:
        print(scaling([str(p) for p in pick(files, args.scaling_clips)], args.scaling_repeats))

    def emotion(p: Path) -> str:
        return p.stem.split("-")[2]

    if args.cache_clips:
        chosen = pick(files, args.cache_clips)
        print(cache([str(p) for p in chosen], np.array([emotion(p) for p in chosen]),
                    args.cache_mode))

    if args.accuracy:
        print(accuracy([str(p) for p in files], np.array([emotion(p) for p in files]),
                       np.array([p.parent.name for p in files])))


if __name__ == "__main__":
    main()
