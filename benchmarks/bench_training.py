"""Training and prediction throughput: SERClassifier against plain Keras on the same arrays.

Run::

    python benchmarks/bench_training.py            # reference CNN, 106 x 160 images

Both sides train the same network (``sklearn_ser.models.build_cnn``), with
the same optimizer, loss, batch size and float32 data; the only difference
is the scikit-learn wrapper around ``model.fit``. Per-epoch wall times come
from a Keras callback, the first epoch (graph tracing) is left out, and the
throughput is samples / median epoch time. Whole ``fit`` calls (wrapper
set-up included) are timed too, and prediction throughput with the
wrapper's batched ``predict_proba`` against ``model.predict``'s default.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from sklearn_ser.cli._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from sklearn_ser.models import SERClassifier, build_cnn  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock and CPU seconds (all threads of the process) of every epoch."""

    def __init__(self):
        super().__init__()
        self.times: list[tuple[float, float]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        self.times.append((time.perf_counter() - self._start[0],
                           time.process_time() - self._start[1]))


def keras_fit(X, y, *, architecture, epochs, batch_size, seed):
    keras.utils.set_random_seed(seed)
    model = build_cnn(X.shape[1:] + (1,), int(y.max()) + 1, architecture=architecture)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    start = time.perf_counter()
    model.fit(X[..., None], y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[timer])
    return model, timer.times, time.perf_counter() - start


def wrapper_fit(X, y, *, architecture, epochs, batch_size, seed):
    timer = EpochTimer()
    clf = SERClassifier(architecture=architecture, epochs=epochs, batch_size=batch_size,
                        random_state=seed, callbacks=[timer])
    start = time.perf_counter()
    clf.fit(X, y)
    return clf, timer.times, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--architecture", default="reference", choices=("reference", "compact"))
    parser.add_argument("--repeats", type=int, default=3, help="fits per side, alternated")
    args = parser.parse_args(argv)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"python {platform.python_version()}, numpy {np.__version__}, "
          f"tensorflow {tf.__version__}, keras {keras.__version__}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.samples, 106, 160)).astype(np.float32)
    y = rng.integers(0, 8, size=args.samples)
    kw = dict(architecture=args.architecture, epochs=args.epochs, batch_size=args.batch_size,
              seed=0)

    epochs = {"plain Keras model.fit": [], "SERClassifier.fit": []}
    totals = {k: [] for k in epochs}
    for _ in range(args.repeats):  # alternate, so that machine load hits both alike
        model, times, total = keras_fit(X, y, **kw)
        epochs["plain Keras model.fit"] += times[1:]
        totals["plain Keras model.fit"].append(total)
        clf, times, total = wrapper_fit(X, y, **kw)
        epochs["SERClassifier.fit"] += times[1:]
        totals["SERClassifier.fit"].append(total)

    print(f"\nTraining: {args.samples} samples of 106 x 160 float32, {args.architecture} CNN "
          f"({model.count_params():,} parameters), batch {args.batch_size}, "
          f"{args.epochs} epochs x {args.repeats} fits per side (first epoch of each fit "
          "excluded)\n")
    base = args.samples / np.median([w for w, _ in epochs["plain Keras model.fit"]])
    # CPU seconds are less disturbed than wall seconds by other work on the machine.
    base_cpu = args.samples / np.median([c for _, c in epochs["plain Keras model.fit"]])
    print(f"{'':24s} {'samples/s':>10s} {'vs Keras':>9s} {'samples/cpu-s':>14s} "
          f"{'vs Keras':>9s} {'median fit s':>13s}")
    for name in epochs:
        rate = args.samples / np.median([w for w, _ in epochs[name]])
        rate_cpu = args.samples / np.median([c for _, c in epochs[name]])
        print(f"{name:24s} {rate:10.1f} {100 * (rate / base - 1):+8.1f}% {rate_cpu:14.1f} "
              f"{100 * (rate_cpu / base_cpu - 1):+8.1f}% {np.median(totals[name]):13.1f}")

    # Prediction: the wrapper's batch (predict_batch_size) against Keras' own at equal
    # and at default batch sizes; best of 5 runs each, alternated.
    images = X[:, None]  # (n_clips, n_views=1, rows, cols), as the pipeline passes them
    batch = clf.predict_batch_size
    runs = {
        "model.predict (batch 32, Keras default)":
            lambda: model.predict(X[..., None], verbose=0),
        f"model.predict (batch {batch})":
            lambda: model.predict(X[..., None], batch_size=batch, verbose=0),
        f"SERClassifier.predict_proba (batch {batch})": lambda: clf.predict_proba(images),
    }
    rates = {name: 0.0 for name in runs}
    for run in runs.values():  # trace the prediction graphs
        run()
    for _ in range(5):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            rates[name] = max(rates[name], args.samples / (time.perf_counter() - start))
    print()
    for name, rate in rates.items():
        print(f"{name:45s} {rate:10.1f} samples/s")


if __name__ == "__main__":
    main()
