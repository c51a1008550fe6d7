"""Integration tests on the real RAVDESS speech clips, when they are present.

The data folder is ``$SKLEARN_SER_RAVDESS`` or ``<repo>/../shared/data/ravdess``
(``Actor_XX/03-01-EE-II-SS-RR-AA.flac``); every test here is skipped when it
is missing. The counts are checked against the corpus' published structure
for the actors present; training a short pipeline is marked ``slow``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import skip_or_fail_without_data
from sklearn.model_selection import GroupKFold

from sklearn_ser.datasets import LABELS, find_audio_files, load_ravdess
from sklearn_ser.evaluation import evaluate

pytestmark = pytest.mark.realdata

DATA = Path(
    os.environ.get(
        "SKLEARN_SER_RAVDESS",
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess",
    )
)


@pytest.fixture(scope="module")
def ravdess():
    if not DATA.is_dir() or not find_audio_files(DATA):
        skip_or_fail_without_data(f"RAVDESS data not found at {DATA} (set SKLEARN_SER_RAVDESS)")
    # strict: every audio file must follow the naming scheme, none skipped.
    return load_ravdess(DATA, strict=True, as_frame=True)


def _actors_present() -> list[int]:
    return sorted(
        int(m.group(1))
        for p in DATA.iterdir()
        if p.is_dir() and (m := re.fullmatch(r"Actor_(\d{2})", p.name))
    )


def test_counts_match_published_structure(ravdess):
    actors = _actors_present()
    assert actors, "expected Actor_XX folders"
    frame = ravdess.frame
    n = len(actors) * 60
    assert len(ravdess.filenames) == n, "60 speech clips per actor"
    assert sorted(set(ravdess.speaker)) == [f"ravdess_{a:02d}" for a in actors]
    assert set(ravdess.corpus) == {"ravdess"}
    assert set(ravdess.vocal_channel) == {"speech"} and set(ravdess.modality) == {"audio-only"}
    assert ravdess.target_names == list(LABELS)

    per_actor = frame.groupby(["speaker", "target"]).size().unstack()
    assert (per_actor["neutral"] == 4).all()
    assert (per_actor.drop(columns="neutral") == 8).all().all()
    totals = pd.Series(ravdess.target).value_counts()
    # Neutral has no strong intensity, so half as many clips as each other emotion.
    assert (totals.drop("neutral") == 2 * totals["neutral"]).all()
    assert set(frame.loc[frame.target == "neutral", "emotion_intensity"]) == {"normal"}
    assert (frame["statement"].value_counts() == n // 2).all()
    assert (frame["repetition"].value_counts() == n // 2).all()

    actor_num = np.array([int(s.split("_")[1]) for s in ravdess.speaker])
    np.testing.assert_array_equal(ravdess.gender, np.where(actor_num % 2 == 1, "male", "female"))
    assert all(Path(f).is_file() for f in ravdess.filenames)
    assert list(ravdess.filenames) == sorted(ravdess.filenames)


def test_speaker_groups_split_cleanly(ravdess):
    n_splits = min(5, len(set(ravdess.speaker)))
    if n_splits < 2:
        pytest.skip("needs at least two actors")
    for train, test in GroupKFold(n_splits).split(
        ravdess.filenames, ravdess.target, ravdess.groups
    ):
        assert not set(ravdess.speaker[train]) & set(ravdess.speaker[test])


@pytest.mark.slow
def test_short_pipeline_speaker_independent(ravdess):
    from sklearn_ser import make_ser_pipeline

    speakers = sorted(set(ravdess.speaker))[:4]
    if len(speakers) < 2:
        pytest.skip("needs at least two actors")
    keep = np.isin(ravdess.speaker, speakers)
    result = evaluate(
        make_ser_pipeline("reference", random_state=0, cnn__epochs=3),
        ravdess.filenames[keep],
        ravdess.target[keep],
        groups=ravdess.speaker[keep],
        protocol="speaker_holdout",
        test_size=1,
        random_state=0,
    )
    ((train, test),) = result.splits
    speaker = ravdess.speaker[keep]
    assert len(set(speaker[test])) == 1 and not set(speaker[train]) & set(speaker[test])
    assert len(result.y_pred) == 60
    assert set(result.y_pred) <= set(LABELS)
    assert result.confusion_matrix.sum() == 60
    uar = result.fold_scores.loc[0, "balanced_accuracy"]
    # Three epochs on three actors: only "better than guessing" is expected.
    assert uar > 1 / 8, str(result)
