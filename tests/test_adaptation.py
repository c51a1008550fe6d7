"""Speaker adaptation: per-speaker statistics through metadata routing, never across folds."""

import warnings

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


def _stats(rows):
    """Mean and population std of each column, computed here (not by the code under test)."""
    mean = rows.mean(axis=0)
    std = rows.std(axis=0)
    std[std < 1e-8] = 1.0
    return mean, std


def test_each_speaker_standardised_with_its_own_clips_shrunk_toward_the_domain():
    X, y, groups = _voices()
    train, test = groups < "spk5", groups >= "spk5"
    scaler = SpeakerStandardizer(min_clips=5, shrinkage=4.0, max_imbalance=None)
    scaler.fit(X[train], y[train], groups=groups[train])
    out = scaler.transform(X[test], groups=groups[test])
    # Domain: all clips of the call (no domain ids given), as one group.
    domain_mean, domain_std = _stats(X[test])
    for speaker in np.unique(groups[test]):
        rows = groups[test] == speaker
        n = rows.sum()
        w = n / (n + 4.0)
        own_mean, own_std = _stats(X[test][rows])
        mean = w * own_mean + (1 - w) * domain_mean
        std = w * own_std + (1 - w) * domain_std
        np.testing.assert_allclose(out[rows], (X[test][rows] - mean) / std, rtol=1e-10)


@pytest.mark.parametrize("domain_std", [True, False])
def test_a_domain_moves_the_centre_and_its_spread_only_with_domain_std(domain_std):
    X, y, groups = _voices()
    train, test = groups < "spk5", groups >= "spk5"
    scaler = SpeakerStandardizer(min_clips=5, shrinkage=4.0, max_imbalance=None,
                                 domain_std=domain_std)
    scaler.fit(X[train], y[train], groups=groups[train])
    _, train_std = _stats(X[train])
    shifted = X[test] * 1.5 + 20.0  # another recording setting: louder, further away
    domain_mean, domain_std_by_hand = _stats(shifted)
    spread = domain_std_by_hand if domain_std else train_std
    out = scaler.transform(shifted, domain=np.array(["call"] * len(shifted)))
    np.testing.assert_allclose(out, (shifted - domain_mean) / spread, rtol=1e-10)
    # Speakers shrink toward that domain: its centre, and its spread or the training one.
    out = scaler.transform(shifted, groups=groups[test])
    for speaker in np.unique(groups[test]):
        rows = groups[test] == speaker
        w = rows.sum() / (rows.sum() + 4.0)
        own_mean, own_std = _stats(shifted[rows])
        mean = w * own_mean + (1 - w) * domain_mean
        std = w * own_std + (1 - w) * spread
        np.testing.assert_allclose(out[rows], (shifted[rows] - mean) / std, rtol=1e-10)


def test_shrinkage_zero_is_plain_per_speaker_standardisation():
    X, y, groups = _voices()
    Z = SpeakerStandardizer(min_clips=5, shrinkage=0.0, max_imbalance=None).fit(
        X, y, groups=groups).transform(X, groups=groups)
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


def test_training_speakers_keep_their_own_training_statistics():
    """A training speaker seen again with few clips gets *its* fit statistics, not the pool's."""
    X, y, groups = _voices()
    scaler = SpeakerStandardizer(min_clips=5, shrinkage=5.0, max_imbalance=None)
    scaler.fit(X, y, groups=groups)
    few = np.flatnonzero(groups == "spk3")[:3]
    # Three clips: too few for a domain or a speaker of their own -> spk3's training
    # statistics (weight min_clips / (min_clips + shrinkage)), the rest global training.
    own_mean, own_std = _stats(X[groups == "spk3"])
    all_mean, all_std = _stats(X)
    w = 5 / (5 + 5.0)
    expected = (X[few] - (w * own_mean + (1 - w) * all_mean)) / (w * own_std + (1 - w) * all_std)
    np.testing.assert_allclose(scaler.transform(X[few], groups=groups[few]), expected,
                               rtol=1e-10)


def test_unknown_speaker_with_too_few_clips_gets_training_statistics_and_a_warning():
    X, y, groups = _voices()
    train = groups != "spk7"
    scaler = SpeakerStandardizer(min_clips=5, max_imbalance=None)
    scaler.fit(X[train], y[train], groups=groups[train])
    new = np.flatnonzero(groups == "spk7")[:3]
    mean, std = _stats(X[train])
    with pytest.warns(SpeakerAdaptationWarning, match="3 of 3 clips"):
        out = scaler.transform(X[new], groups=groups[new])
    np.testing.assert_allclose(out, (X[new] - mean) / std, rtol=1e-10)


def test_no_ids_take_the_call_as_one_domain_with_a_warning():
    X, y, groups = _voices()
    train = groups != "spk7"
    scaler = SpeakerStandardizer(min_clips=5, max_imbalance=None).fit(
        X[train], y[train], groups=groups[train])
    new = groups == "spk7"
    mean, std = _stats(X[new])
    with pytest.warns(SpeakerAdaptationWarning, match="one domain"):
        out = scaler.transform(X[new])
    np.testing.assert_allclose(out, (X[new] - mean) / std, rtol=1e-10)


def _emotional_voices(seed=0, n_speakers=12, n_per_class=10, dim=6):
    """Four emotions as large shifts from each speaker's offset: imbalance shows in the mean."""
    rng = np.random.RandomState(seed)
    shifts = rng.normal(scale=2.0, size=(4, dim))
    X, y, groups = [], [], []
    for speaker in range(n_speakers):
        voice = rng.normal(scale=1.0, size=dim)
        for label, shift in zip(("angry", "calm", "happy", "sad"), shifts):
            X.append(voice + shift + rng.normal(scale=0.5, size=(n_per_class, dim)))
            y += [label] * n_per_class
            groups += [f"spk{speaker:02d}"] * n_per_class
    return np.vstack(X), np.array(y), np.array(groups)


def _fit_on_views(scaler, X, y, groups=None):
    """Fit as in the pipeline: clean views in, the classifier learns every view it gets."""
    from sklearn_ser.views import ViewsClassifier

    views = Views(X[:, None, :], ("clean",))
    classifier = ViewsClassifier(LogisticRegression(max_iter=1000))
    classifier.fit(scaler.fit_transform(views, y, groups=groups), y)
    return lambda X_test, groups=None: classifier.predict(scaler.transform(X_test,
                                                                           groups=groups))


@pytest.mark.parametrize("n_emotions", [1, 2])
def test_unbalanced_speakers_are_not_adapted(n_emotions):
    """A speaker whose clips are all one or two emotions keeps the training statistics."""
    X, y, groups = _emotional_voices()
    train = groups < "spk08"
    test = ~train & np.isin(y, ("angry", "calm", "happy", "sad")[:n_emotions])
    guarded_scaler = SpeakerStandardizer()
    guarded = _fit_on_views(guarded_scaler, X[train], y[train], groups[train])
    unguarded = _fit_on_views(SpeakerStandardizer(max_imbalance=None, shrinkage=0.0),
                              X[train], y[train], groups[train])
    independent = _fit_on_views(SpeakerStandardizer(per_speaker=False), X[train], y[train])
    with pytest.warns(SpeakerAdaptationWarning, match="not an emotion-balanced mix"):
        Z = guarded_scaler.transform(X[test], groups=groups[test])
    mean, std = _stats(X[train])
    np.testing.assert_allclose(Z, (X[test] - mean) / std, rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpeakerAdaptationWarning)
        acc = {name: np.mean(predict(X[test], groups=groups[test]) == y[test])
               for name, predict in (("guarded", guarded), ("unguarded", unguarded),
                                     ("independent", independent))}
    assert acc["guarded"] >= acc["independent"] - 1e-9
    assert acc["unguarded"] < acc["independent"] - 0.05  # the harm the check prevents


def test_balanced_speakers_are_still_adapted(routing):
    X, y, groups = _emotional_voices()
    train = groups < "spk08"
    scaler = SpeakerStandardizer(min_clips=5, shrinkage=0.0).fit(
        X[train], y[train], groups=groups[train])
    Z = scaler.transform(X[~train], groups=groups[~train])
    for speaker in np.unique(groups[~train]):
        rows = groups[~train] == speaker
        np.testing.assert_allclose(Z[rows].mean(axis=0), 0, atol=1e-10)


def test_views_get_adapted_and_training_copies_while_fitting():
    X, y, groups = _voices(n_speakers=4)
    noisy = X + 10.0  # an augmented view far from the clean one
    views = Views(np.stack([noisy, X], axis=1), ("noise", "clean"))
    scaler = SpeakerStandardizer(min_clips=5, shrinkage=0.0, max_imbalance=None)
    out = scaler.fit_transform(views, y, groups=groups)
    assert isinstance(out, Views)
    assert out.names == ("noise", "clean", "noise@training-statistics",
                         "clean@training-statistics")
    mean, std = _stats(X)
    for speaker in np.unique(groups):
        rows = groups == speaker
        own_mean, own_std = _stats(X[rows])  # clean statistics, applied to every view
        np.testing.assert_allclose(out.data[rows, 0], (noisy[rows] - own_mean) / own_std)
        np.testing.assert_allclose(out.data[rows, 1], (X[rows] - own_mean) / own_std)
    np.testing.assert_allclose(out.data[:, 2], (noisy - mean) / std)
    np.testing.assert_allclose(out.data[:, 3], (X - mean) / std)


def _projected(Z, diffs, k):
    """Z without its components along the top k right singular vectors of diffs (by hand)."""
    top = np.linalg.svd(diffs, full_matrices=False)[2][:k]
    return Z - Z @ top.T @ top


@pytest.mark.parametrize("per_speaker", [False, True])
def test_nuisance_directions_of_the_views_are_projected_out(per_speaker):
    X, y, groups = _voices(n_speakers=4)
    rng = np.random.RandomState(1)
    noisy = X + rng.normal(size=X.shape) * [4.0, 0.2, 0.2, 0.2, 0.2] + [3.0, 0, 0, 0, 0]
    channel = X + rng.normal(size=X.shape) * [0.2, 0.2, 2.0, 0.2, 0.2]
    views = Views(np.stack([X, noisy, channel], axis=1), ("clean", "noise", "channel"))
    scaler = SpeakerStandardizer(per_speaker=per_speaker, min_clips=5, shrinkage=0.0,
                                 max_imbalance=None, nuisance_directions=2)
    out = scaler.fit_transform(views, y, groups=groups)
    mean, std = _stats(X)
    # Directions of the view differences in training-standardised units, not centred.
    diffs = np.vstack([(noisy - X) / std, (channel - X) / std])
    np.testing.assert_allclose(out.data[:, -1], _projected((channel - mean) / std, diffs, 2),
                               atol=1e-10)
    if per_speaker:  # adapted views: each speaker's statistics, then the same projection
        for speaker in np.unique(groups):
            rows = groups == speaker
            own_mean, own_std = _stats(X[rows])
            np.testing.assert_allclose(
                out.data[rows, 1], _projected((noisy[rows] - own_mean) / own_std, diffs, 2),
                atol=1e-10)
    else:  # new clips: the same fixed map after the training statistics
        new = X[:7] + 1.0
        np.testing.assert_allclose(scaler.transform(new),
                                   _projected((new - mean) / std, diffs, 2), atol=1e-10)


def test_a_standardizer_pickled_before_its_later_options_still_works():
    import pickle

    X, y, _ = _voices(n_speakers=2)
    old = SpeakerStandardizer(per_speaker=False).fit(X, y)
    # As pickled by earlier builds: no projection, a domain's own spread.
    del old.nuisance_directions, old.nuisance_directions_, old.domain_std
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params()["nuisance_directions"] == 0
    assert loaded.get_params()["domain_std"] is True
    mean, std = _stats(X)
    np.testing.assert_allclose(loaded.transform(X), (X - mean) / std)


def test_nuisance_directions_warn_when_there_is_nothing_to_learn():
    X, y, _ = _voices(n_speakers=2)
    with pytest.warns(UserWarning, match="nuisance_directions=2.*without views other than"):
        SpeakerStandardizer(per_speaker=False, nuisance_directions=2).fit(X, y)
    with pytest.warns(UserWarning, match="nothing is projected out"):
        SpeakerStandardizer(nuisance_directions=1).fit(Views(X[:, None], ("clean",)), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = SpeakerStandardizer(per_speaker=False).fit(X, y)
    mean, std = _stats(X)
    np.testing.assert_allclose(plain.transform(X), (X - mean) / std)


@pytest.mark.parametrize("ids, message", [
    (lambda g: np.where(g == "spk0", None, g), "missing ids"),
    (lambda g: np.array([np.nan] + [1.0] * (len(g) - 1)), "missing ids"),
    (lambda g: np.array([1] + ["1"] * (len(g) - 1), dtype=object), "mixes id types"),
    (lambda g: g[:3], "one id per clip"),
])
@pytest.mark.parametrize("name", ["groups", "domain"])
def test_bad_ids_are_refused_by_name(ids, message, name):
    X, y, groups = _voices()
    with pytest.raises(ValueError, match=f"{name} .*{message}|{name} {message}"):
        SpeakerStandardizer().fit(X, y, **{name: ids(groups)})


def test_bad_parameters_and_inputs_are_named():
    X, _, groups = _voices()
    with pytest.raises(ValueError, match="min_clips"):
        SpeakerStandardizer(min_clips=1).fit(X, groups=groups)
    with pytest.raises(ValueError, match="max_imbalance"):
        SpeakerStandardizer(max_imbalance=2.0).fit(X, groups=groups)
    with pytest.raises(ValueError, match="nuisance_directions"):
        SpeakerStandardizer(nuisance_directions=-1).fit(X, groups=groups)
    with pytest.raises(ValueError, match="domain_std"):
        SpeakerStandardizer(domain_std="no").fit(X, groups=groups)
    with pytest.raises(ValueError, match="NaN"):
        SpeakerStandardizer().fit(np.full((4, 2), np.nan))


def test_ids_given_to_a_pipeline_without_adaptation_fail_loudly(routing):
    X, y, groups = _voices()
    plain = make_pipeline(SpeakerStandardizer(per_speaker=False), LogisticRegression())
    with pytest.raises(TypeError, match="groups"):
        plain.fit(X, y, groups=groups)


def test_adaptation_beats_global_statistics_on_new_speakers(routing):
    X, y, groups = _voices(n_speakers=10)
    adaptive = make_pipeline(SpeakerStandardizer(min_clips=5, shrinkage=0.0, max_imbalance=None),
                             LogisticRegression())
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

    def fit(self, X, y=None, groups=None, domain=None):
        _Spy.log.append(("fit", id(self), frozenset(groups.tolist())))
        return super().fit(X, y, groups=groups, domain=domain)

    def transform(self, X, groups=None, domain=None):
        _Spy.log.append(("transform", id(self), frozenset(groups.tolist())))
        return super().transform(X, groups=groups, domain=domain)


def test_grid_search_routes_groups_and_keeps_statistics_inside_each_side(routing):
    X, y, groups = _voices(n_speakers=6)
    _Spy.log = []
    pipe = make_pipeline(_Spy(min_clips=5, shrinkage=0.0, max_imbalance=None),
                         LogisticRegression())
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
    adaptive = make_pipeline(SpeakerStandardizer(min_clips=5, shrinkage=0.0, max_imbalance=None),
                             LogisticRegression())
    result = evaluate(adaptive, X, y, groups=groups, protocol="speaker_kfold", n_splits=3,
                      random_state=0)
    assert result.speaker_adaptive and result.protocol == "speaker_kfold+speaker_adaptation"
    assert "SPEAKER-ADAPTIVE" in str(result) and result.to_dict()["speaker_adaptive"]
    assert result.summary().loc["accuracy", "mean"] > 0.95
    with pytest.warns(SpeakerAdaptationWarning, match="no speaker or domain ids"):
        plain = evaluate(clone(adaptive), X, y, groups=groups, protocol="speaker_kfold",
                         n_splits=3, random_state=0, speaker_adaptation=False)
    assert not plain.speaker_adaptive and plain.protocol == "speaker_kfold"


def test_a_shifted_domain_is_adapted_and_a_familiar_one_is_not():
    """Another recording setting (far from training) gets its own statistics, whatever its mix."""
    X, y, groups = _emotional_voices()
    train = groups < "spk08"
    scaler = SpeakerStandardizer(min_clips=5).fit(X[train], y[train], groups=groups[train])
    # emotion_shift_: the largest distance of an emotion's mean from the training mean.
    mean, std = _stats(X[train])
    Z = (X[train] - mean) / std
    largest = max(np.linalg.norm(Z[y[train] == c].mean(axis=0)) for c in np.unique(y))
    assert scaler.emotion_shift_ == pytest.approx(largest)
    angry = ~train & (y == "angry")  # one emotion: unbalanced, not adapted as a speaker
    familiar = X[angry]
    shifted = X[angry] + 3 * largest * std  # a channel moving every clip far away
    out = scaler.transform(familiar, domain=np.array(["call"] * angry.sum()))
    np.testing.assert_allclose(out, (familiar - mean) / std, rtol=1e-10)
    out = scaler.transform(shifted, domain=np.array(["call"] * angry.sum()))
    own_mean, own_std = _stats(shifted)
    np.testing.assert_allclose(out, (shifted - own_mean) / own_std, rtol=1e-10)
