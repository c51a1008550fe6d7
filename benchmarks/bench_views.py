"""Which training views: voice-changing views added to the preset's, across corpora.

The ``recommended`` preset trains on each clip clean, under one drawn recording
condition and under babble at another speed. Its largest remaining gap (issue 17) is
RAVDESS -> TESS on 6 shared classes without test statistics: most TESS neutral and sad
clips are called disgust (docs/robustness.rst). TESS is two other voices in another
studio; this benchmark asks whether views that change the *voice* (pitch, speed, tempo)
teach the classifier what another voice is not. Each candidate is the preset with views
added after its own; the preset's front (``augment`` with every view any candidate uses,
``encoder``) runs once per split, and each candidate fits the preset's ``scale`` and
``classifier`` steps on its views. (A view's draws come from its clip's own random
stream after the views before it, so the preset's views are the same with or without
the added ones.) Three protocols:

* ``ravdess->tess`` and ``tess->ravdess``, trained on one corpus (every class), tested on
  every clip of the other; UAR on the 4 and 6 shared classes, deciding among the scored
  classes: independent (no test statistics) and adaptive with all test clips one domain
  (trained with speaker ids), as ``bench_robustness.py``'s corpus rows;
* ``ravdess``: ``--folds`` folds by RAVDESS actor (StratifiedGroupKFold, ``--seed``, the
  folds of the other benchmarks); independent accuracy on the held-out actors' clean
  clips and on ``bench_robustness.py``'s degraded copies of them, and adaptive accuracy
  (the held-out actors' own speaker ids) on the clean clips.

One JSON file (``--out``) holds every candidate's scores, per fold, with seed, versions,
command and date; ``docs/robustness.rst`` renders it.

Run (28 minutes on 2 cores with the preset's vectors already under ``--cache``, shared
with ``bench_corpora.py`` and ``bench_heads.py``: 11 of them encoding the added views and
the degraded copies, about 3.5 per candidate)::

    python benchmarks/bench_views.py --ravdess ../shared/data/ravdess \\
        --tess ../shared/data/tess
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from bench_corpora import _preload, add_data_arguments, load_data, write_result
from bench_heads import FOUR, SIX, _shared_uar, encode_conditions
from bench_heads import _Split as _HeadsSplit
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline

from sklearn_ser import make_ser_pipeline
from sklearn_ser.exceptions import SpeakerAdaptationWarning
from sklearn_ser.pipeline import PRESETS
from sklearn_ser.views import Views

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "views.json"

#: The preset's own views, first in every candidate.
PRESET_VIEWS: tuple[str, ...] = tuple(PRESETS["recommended"]["augment__views"])
#: name -> views added to the preset's.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "recommended (clean, mixed, babble+speed)": (),
    "+ pitch (-3..+3 semitones)": ("pitch",),
    "+ speed (0.85-1.15x)": ("speed",),
    "+ tempo (0.8-1.25x, pitch kept)": ("stretch",),
    "+ pitch and + speed": ("pitch", "speed"),
}
#: Settings of the added views (the preset's views do not read them).
VIEW_SETTINGS = {"augment__pitch_steps": (-3.0, 3.0), "augment__stretch_rate": (0.8, 1.25)}
CORPUS_SPLITS = ("ravdess->tess", "tess->ravdess")


def _all_views() -> tuple[str, ...]:
    added = dict.fromkeys(v for views in CANDIDATES.values() for v in views)
    return PRESET_VIEWS + tuple(added)


def _select(views: Views, names: tuple[str, ...]) -> Views:
    index = [views.names.index(n) for n in names]
    return Views(views.data[:, index], names)


def _head(template: Pipeline) -> Pipeline:
    """The preset's ``scale`` and ``classifier`` steps, unfitted."""
    return Pipeline([(name, clone(template.named_steps[name]))
                     for name in ("scale", "classifier")])


class _Split(_HeadsSplit):
    """``bench_heads``'s split (every view of the training clips, the test vectors, the
    test clips under each recording condition) with the speaker ids of both sides."""

    def __init__(self, front: Pipeline, X, y, speakers, train, test):
        super().__init__(front, X, y, train, test)
        self.speakers_train, self.speakers_test = speakers[train], speakers[test]

    def fit(self, template: Pipeline, views: tuple[str, ...], adaptive: bool) -> Pipeline:
        params = {"groups": self.speakers_train} if adaptive else {}
        return _head(template).fit(_select(self.train_views, views), self.y_train, **params)


def _predict_proba(head: Pipeline, X: np.ndarray, groups=None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpeakerAdaptationWarning)
        return head.predict_proba(X, **({} if groups is None else {"groups": groups}))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES),
                        choices=list(CANDIDATES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    sklearn.set_config(enable_metadata_routing=True)  # speaker ids reach the scale step

    data, actors, counts = load_data(args)
    start = time.perf_counter()
    X = _preload(data.filenames, args.seed, args.n_jobs)
    y = np.asarray(data.target)
    speakers = np.asarray(data.speaker)
    independent = make_ser_pipeline("recommended", random_state=args.seed)
    adaptive = make_ser_pipeline("recommended", speaker_adaptation=True, random_state=args.seed)
    full = make_ser_pipeline("recommended", random_state=args.seed, memory=args.cache,
                             n_jobs=args.n_jobs, augment__views=_all_views(), **VIEW_SETTINGS)
    front = Pipeline(full.steps[1:3])  # augment, encoder (load ran up front)

    ravdess = np.flatnonzero(data.corpus == "ravdess")
    tess = np.flatnonzero(data.corpus == "tess")
    cv = StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.seed)
    fold_positions = list(cv.split(ravdess, y[ravdess], speakers[ravdess]))
    splits = {"ravdess->tess": (ravdess, tess), "tess->ravdess": (tess, ravdess),
              **{f"fold {i}": (ravdess[tr], ravdess[te])
                 for i, (tr, te) in enumerate(fold_positions)}}
    encoded = {}
    for name, (train, test) in splits.items():
        t0 = time.perf_counter()
        encoded[name] = _Split(clone(front), X, y, speakers, train, test)
        print(f"{name}: {len(train)} training clips x {encoded[name].train_views.n_views} "
              f"views, {len(test)} test clips, {time.perf_counter() - t0:.0f} s", flush=True)
    encode_conditions(encoded, data.filenames[ravdess], fold_positions, speakers[ravdess],
                      args)
    encode_seconds = time.perf_counter() - start

    rows = []
    for candidate in args.candidates:
        t0 = time.perf_counter()
        views = PRESET_VIEWS + CANDIDATES[candidate]
        row: dict[str, Any] = {"candidate": candidate, "views": list(views)}
        for direction in CORPUS_SPLITS:
            split = encoded[direction]
            key = direction.replace("->", "_to_")
            for protocol, template in (("independent", independent), ("one_domain", adaptive)):
                head = split.fit(template, views, adaptive=template is adaptive)
                # Adaptive: no ids at predict, so every test clip is one domain.
                proba = _predict_proba(head, split.test_vectors)
                for n, shared in ((4, FOUR), (6, SIX)):
                    row[f"{key}_{protocol}_uar_{n}"] = _shared_uar(head.classes_, proba,
                                                                   split.y_test, shared)
        row["folds"] = []
        for i in range(len(fold_positions)):
            split = encoded[f"fold {i}"]
            head = split.fit(independent, views, adaptive=False)
            speaker_head = split.fit(adaptive, views, adaptive=True)
            per_speaker = speaker_head.classes_[np.argmax(_predict_proba(
                speaker_head, split.test_vectors, groups=split.speakers_test), axis=1)]
            row["folds"].append({
                "fold": i,
                "accuracy": float(np.mean(head.predict(split.test_vectors) == split.y_test)),
                "adaptive_accuracy": float(np.mean(per_speaker == split.y_test)),
                "conditions": {name: float(np.mean(head.predict(vectors) == split.y_test))
                               for name, vectors in split.condition_vectors.items()},
            })
        for measure in ("accuracy", "adaptive_accuracy"):
            row[f"ravdess_{measure}"] = float(np.mean([f[measure] for f in row["folds"]]))
        row["conditions"] = {name: float(np.mean([f["conditions"][name] for f in row["folds"]]))
                             for name in row["folds"][0]["conditions"]}
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(f"{candidate:<42} R->T 4/6 {row['ravdess_to_tess_independent_uar_4']:.3f}/"
              f"{row['ravdess_to_tess_independent_uar_6']:.3f} one domain "
              f"{row['ravdess_to_tess_one_domain_uar_4']:.3f}/"
              f"{row['ravdess_to_tess_one_domain_uar_6']:.3f}  T->R one domain 4 "
              f"{row['tess_to_ravdess_one_domain_uar_4']:.3f}  RAVDESS "
              f"{row['ravdess_accuracy']:.3f} adaptive {row['ravdess_adaptive_accuracy']:.3f} "
              f"({row['seconds']:.0f} s)", flush=True)

    write_result(args, "bench_views", actors, counts, start, rows,
                 view_settings=VIEW_SETTINGS, encode_seconds=encode_seconds)


if __name__ == "__main__":
    main()
