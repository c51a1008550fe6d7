"""Speaker adaptation: per-speaker statistics through metadata routing, never across folds."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_ser.adaptation import SpeakerStandardizer, uses_speaker_ids
from sklearn_ser.evaluation import evaluate
from sklearn_ser.exceptions import SpeakerAdaptationWarning
from sklearn_ser.views import Views


def _voices(n_speakers=8, n_per_class=6, dim=5, seed=0):
    """Two emotions as a small shift away from each speaker's own, much larger, offset."""
    rng = np.random.RandomState(seed)
    X, y, groups = [], [], []
    for speaker in range(n_speakers):
        voice = rng.normal(scale=5.0, size=dim)
        for label, shift in (("calm", -0.6), ("angry", 0.6)):
            X.append(voice + shift + rng.normal(scale=0.3, size=(n_per_class, dim)))
            y += [label] * n_per_class
            groups += [f"spk{speaker}"] * n_per_class
    return np.vstack(X), np.array(y), np.array(groups)


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_each_speaker_standardised_with_its_own_clips():
    X, _, groups = _voices()
    Z = SpeakerStandardizer(min_clips=5).fit_transform(X, groups=groups)
    for speaker in np.unique(groups):
        rows = Z[groups == speaker]
        np.testing.assert_allclose(rows.mean(axis=0), 0, atol=1e-10)
        np.testing.assert_allclose(rows.std(axis=0), 1, atol=1e-10)


def test_per_speaker_false_is_a_standard_scaler():
    from sklearn.preprocessing import StandardScaler

    X, _, groups = _voices()
    ours = SpeakerStandardizer(per_speaker=False).fit(X, groups=groups)
    np.testing.assert_allclose(ours.transform(X, groups=groups),
                               StandardScaler().fit_transform(X))
    assert not uses_speaker_ids(ours)


def test_fallbacks_for_few_clips_unknown_speakers_and_no_ids():
    X, _, groups = _voices()
    train = groups != "spk7"
    scaler = SpeakerStandardizer(min_clips=5).fit(X[train], groups=groups[train])
    global_ = (X - scaler.mean_) / scaler.scale_
    # A known speaker with too few clips in the batch: its training statistics.
    known = np.flatnonzero(groups == "spk0")[:3]
    i = list(scaler.speakers_).index("spk0")
    np.testing.assert_allclose(
        scaler.transform(X[known], groups=groups[known]),
        (X[known] - scaler.speaker_mean_[i]) / scaler.speaker_scale_[i],
    )
    # An unknown speaker with too few clips: the global statistics, with a warning.
    new = np.flatnonzero(groups == "spk7")[:3]
    with pytest.warns(SpeakerAdaptationWarning, match="3 of 3 clips"):
        out = scaler.transform(X[new], groups=groups[new])
    np.testing.assert_allclose(out, global_[new])
    # An unknown speaker with enough clips: its own statistics.
    new = np.flatnonzero(groups == "spk7")
    out = scaler.transform(X[new], groups=groups[new])
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    # No ids at all: global statistics, with a warning saying how to pass them.
    with pytest.warns(SpeakerAdaptationWarning, match="enable_metadata_routing"):
        np.testing.assert_allclose(scaler.transform(X), global_)


def test_views_use_clean_statistics_for_every_view():
    X, _, groups = _voices(n_speakers=2)
    noisy = X + 10.0  # an augmented view far from the clean one
    views = Views(np.stack([noisy, X], axis=1), ("noise", "clean"))
    out = SpeakerStandardizer(min_clips=5).fit_transform(views, groups=groups)
    assert isinstance(out, Views) and out.names == ("noise", "clean")
    expected = SpeakerStandardizer(min_clips=5).fit_transform(X, groups=groups)
    np.testing.assert_allclose(out.clean(), expected)


def test_bad_parameters_and_inputs_are_named():
    X, _, groups = _voices()
    with pytest.raises(ValueError, match="min_clips"):
        SpeakerStandardizer(min_clips=1).fit(X, groups=groups)
    with pytest.raises(ValueError, match="one speaker id per clip"):
        SpeakerStandardizer().fit(X, groups=groups[:3])
    with pytest.raises(ValueError, match="NaN"):
        SpeakerStandardizer().fit(np.full((4, 2), np.nan))


def test_adaptation_beats_global_statistics_on_new_speakers(routing):
    X, y, groups = _voices(n_speakers=10)
    adaptive = make_pipeline(SpeakerStandardizer(min_clips=5), LogisticRegression())
    plain = make_pipeline(SpeakerStandardizer(per_speaker=False), LogisticRegression())
    cv = GroupKFold(n_splits=5)
    # With routing on, groups go in params: to the splitter, fit and the scorer alike.
    a = cross_validate(adaptive, X, y, cv=cv, params={"groups": groups})
    b = cross_validate(plain, X, y, cv=cv, params={"groups": groups})
    assert a["test_score"].mean() > 0.95
    assert a["test_score"].mean() > b["test_score"].mean() + 0.2


class _Spy(SpeakerStandardizer):
    """Records which speakers each fitted copy learned from and adapted."""

    log: list = []

    def fit(self, X, y=None, groups=None):
        _Spy.log.append(("fit", id(self), frozenset(groups.tolist())))
        return super().fit(X, y, groups=groups)

    def transform(self, X, groups=None):
        _Spy.log.append(("transform", id(self), frozenset(groups.tolist())))
        return super().transform(X, groups=groups)


def test_grid_search_routes_groups_and_keeps_statistics_inside_each_side(routing):
    X, y, groups = _voices(n_speakers=6)
    _Spy.log = []
    pipe = make_pipeline(_Spy(min_clips=5), LogisticRegression())
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=GroupKFold(3))
    search.fit(X, y, groups=groups)
    assert search.best_score_ > 0.95
    fitted = {}
    n_scored = 0
    for kind, who, speakers in _Spy.log:
        if kind == "fit":
            fitted[who] = speakers
            continue
        if speakers == fitted[who]:
            continue  # fit_transform on its own training clips
        n_scored += 1
        # Scoring: the test speakers, none of them seen in this copy's fit.
        assert speakers and not speakers & fitted[who]
    assert n_scored == 2 * 3  # every candidate x fold was scored with test speaker ids


def test_evaluate_reports_the_adaptive_protocol_separately():
    X, y, groups = _voices(n_speakers=6)
    adaptive = make_pipeline(SpeakerStandardizer(min_clips=5), LogisticRegression())
    result = evaluate(adaptive, X, y, groups=groups, protocol="speaker_kfold", n_splits=3,
                      random_state=0)
    assert result.speaker_adaptive and result.protocol == "speaker_kfold+speaker_adaptation"
    assert "SPEAKER-ADAPTIVE" in str(result) and result.to_dict()["speaker_adaptive"]
    assert result.summary().loc["accuracy", "mean"] > 0.95
    with pytest.warns(SpeakerAdaptationWarning, match="no speaker ids"):
        plain = evaluate(clone(adaptive), X, y, groups=groups, protocol="speaker_kfold",
                         n_splits=3, random_state=0, speaker_adaptation=False)
    assert not plain.speaker_adaptive and plain.protocol == "speaker_kfold"
