"""Speaker and domain adaptation that never hurts: statistics of the clips at hand, guarded.

Emotion moves a voice away from *its own* neutral; across speakers, rooms and
microphones the differences are larger than those between emotions. Centring
and scaling the feature vectors of one speaker (or of one recording setting, a
*domain*: a corpus, a call centre, a session) with statistics of its own clips
removes much of the voice and the channel and keeps the emotion. The
statistics need no labels, only several clips.

They assume the clips cover the emotions evenly. A talk-show guest who is
angry all evening breaks that: their mean *is* anger, and subtracting it
removes the emotion the model should find (measured: 40% instead of 67% on
RAVDESS speakers limited to two emotions). So :class:`SpeakerStandardizer`
adapts a group only when a check says its clips are a natural mix: a small
probe classifier, fitted with the statistics step, predicts the group's clips
with and without adaptation, and the group's mean predicted distribution must
stay close to the training distribution of emotions (total variation at most
``max_imbalance`` after adaptation, and at most twice that before it). A
speaker who fails keeps the level above (domain, then the training
statistics), so an unbalanced speaker gets the speaker-independent model.

A *domain* is adapted only when it is another recording setting: when its
mean lies further from the training mean than ``domain_shift`` times the
largest distance between an emotion's mean and the training mean, which no
mix of emotions can explain (measured with the encoder's vectors: TESS lies 33
units from RAVDESS's mean, RAVDESS's emotions 7-14, held-out RAVDESS actors
4-9; noise and telephone channels move clips far too). A domain within that
distance is like the training data: its own statistics would only add the
risk of an unbalanced mix, so it keeps the training statistics.

Levels, from the most specific:

* **speaker** (``groups``): a speaker's statistics, shrunk toward the domain's
  by clip count (``n / (n + shrinkage)``);
* **domain** (``domain``; when none is given, the clips of one ``transform``
  call form one domain): the recording setting's mean, and its spread too
  with ``domain_std=True``;
* the **training** statistics (speaker-independent).

While fitting, the next step gets every training view twice, adapted and with
the training statistics, so one classifier serves both outcomes of the check.

This is a different evaluation protocol from speaker-independent testing: it
uses unlabeled test clips at prediction time. Report the two separately
(:func:`sklearn_ser.evaluation.evaluate` does).

Speaker ids arrive through scikit-learn's metadata routing as ``groups`` and
domains as ``domain``::

    import sklearn
    sklearn.set_config(enable_metadata_routing=True)
    pipe = make_ser_pipeline("recommended", speaker_adaptation=True)
    pipe.fit(paths, labels, groups=speakers)
    pipe.predict(new_paths, groups=new_speakers, domain=new_settings)

Inside ``GridSearchCV``/``cross_validate`` the ``groups`` of each fold's test
clips reach ``transform`` through the scorer, so a test speaker's statistics
come from that speaker's test clips only, never from training clips.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_ser.exceptions import SpeakerAdaptationWarning
from sklearn_ser.nuisance import project_out, view_difference_directions
from sklearn_ser.views import Views

# Scales below this are treated as constant features (divide by 1 instead).
_TINY = 1e-8
# The probe's regularisation C = _PROBE_C_TIMES_FEATURES / n_features: 0.013 for the
# encoder's 768 features (the recommended classifier's 0.01), weaker for few features,
# so that its posteriors are neither flat nor overconfident.
_PROBE_C_TIMES_FEATURES = 10.0
# Before adaptation the probe's own errors unbalance its predictions: allow this much more.
_UNADAPTED_SLACK = 2.0
#: Name suffix of the views standardised with the training statistics while fitting.
GLOBAL_SUFFIX = "@training-statistics"


def _mean_and_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < _TINY] = 1.0
    return mean, scale


class SpeakerStandardizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise feature vectors per speaker and domain when it is safe, else globally.

    With ``per_speaker=False`` it is a plain ``StandardScaler`` that also
    accepts views. With ``per_speaker=True`` each clip is standardised with
    the most specific statistics that pass the balance check (see the module
    description): its speaker's (``groups``), shrunk toward its domain's,
    then its domain's (``domain``, or all clips of the call), then the
    training statistics.

    Parameters
    ----------
    per_speaker : bool, default=True
        Adapt to speakers and domains. ``False`` ignores ``groups`` and
        ``domain`` (speaker-independent standardisation).
    min_clips : int, default=10
        Fewest clips of a speaker or domain from which its own statistics are
        used (measured on RAVDESS: 5 clips gave 67.1%, 10 gave 72.2%, all 60
        gave 79.2% with the encoder features).
    shrinkage : float, default=10.0
        Pseudo-count of the domain in a speaker's statistics: a speaker with
        ``n`` clips gets ``n / (n + shrinkage)`` of its own statistics.
    max_imbalance : float or None, default=0.15
        Largest total variation distance between a group's mean predicted
        emotion distribution (after adaptation) and the training one for the
        group to be adapted. ``None`` turns the check off (adapt every group
        with ``min_clips`` clips, the old behaviour: unsafe when a speaker's
        clips are not emotion-balanced).
    domain_shift : float or None, default=1.5
        A domain is adapted when its mean is further than ``domain_shift``
        times ``emotion_shift_`` from the training mean (a recording setting
        unlike the training data). ``None``: domains are adapted when they
        pass the balance check instead.
    with_std : bool, default=True
        Divide by the standard deviation as well as removing the mean.
    domain_std : bool, default=True
        Whether an adapted domain's own standard deviations replace the
        training ones. ``False``: a domain only moves the centre and keeps
        the training spread, which the classifier has seen; a domain's spread
        mixes its speakers' voices and its own emotion mix. Speakers keep
        their own spread either way. The ``recommended`` preset uses
        ``False`` (measured in docs/robustness.rst).
    nuisance_directions : int, default=0
        After standardising, remove this many directions along which the
        training views move a clip's vector away from its clean view
        (:mod:`sklearn_ser.nuisance`: what noise, babble and channels change,
        the classifier does not see). Learned when fitted on views; 0 turns
        it off. The ``recommended`` preset uses 2 (docs/robustness.rst).

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Training statistics (the fallback).
    speakers_ : ndarray of shape (n_speakers,)
        Training speakers with their own statistics (``min_clips`` or more clips).
    speaker_mean_, speaker_scale_ : ndarray of shape (n_speakers, n_features)
        Their statistics, in the order of ``speakers_``.
    classes_ : ndarray of shape (n_classes,)
        Labels of the balance check's probe (empty when fitted without labels).
    class_prior_ : ndarray of shape (n_classes,)
        Training distribution of those labels.
    probe_coef_ : ndarray of shape (n_classes, n_features)
    probe_intercept_ : ndarray of shape (n_classes,)
        The probe: a multinomial logistic regression on standardised vectors.
    emotion_shift_ : float
        Largest distance between an emotion's mean and the training mean, in
        standardised units (0 when fitted without labels).
    nuisance_directions_ : ndarray of shape (n_found, n_features)
        Orthonormal directions removed after standardising, largest first
        (``n_found <= nuisance_directions``; none without views).
    n_features_in_ : int
    """

    __metadata_request__fit = {"groups": True, "domain": True}
    __metadata_request__transform = {"groups": True, "domain": True}

    _parameter_constraints: dict = {
        "per_speaker": ["boolean"],
        "min_clips": [Interval(Integral, 2, None, closed="left")],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "max_imbalance": [Interval(Real, 0, 1, closed="both"), None],
        "domain_shift": [Interval(Real, 0, None, closed="left"), None],
        "with_std": ["boolean"],
        "domain_std": ["boolean"],
        "nuisance_directions": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self, *, per_speaker: bool = True, min_clips: int = 10, shrinkage: float = 10.0,
        max_imbalance: float | None = 0.15, domain_shift: float | None = 1.5,
        with_std: bool = True, domain_std: bool = True, nuisance_directions: int = 0,
    ):
        self.per_speaker = per_speaker
        self.min_clips = min_clips
        self.shrinkage = shrinkage
        self.max_imbalance = max_imbalance
        self.domain_shift = domain_shift
        self.with_std = with_std
        self.domain_std = domain_std
        self.nuisance_directions = nuisance_directions

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: Any, y: Any = None, groups: Any = None, domain: Any = None,
    ) -> SpeakerStandardizer:
        """Learn training, per-speaker and probe statistics from the (clean) training vectors.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features), or Views of them
        y : array-like of shape (n_clips,), default=None
            Labels, for the balance check's probe (without them every group
            with enough clips is adapted).
        groups : array-like of shape (n_clips,), default=None
            Speaker of each clip.
        domain : array-like of shape (n_clips,), default=None
            Recording setting of each clip.

        Returns
        -------
        self : SpeakerStandardizer
        """
        clean = self._vectors(X, reset=True)
        groups = check_ids(groups, len(clean), "groups")
        check_ids(domain, len(clean), "domain")
        self.mean_, self.scale_ = _mean_and_scale(clean)
        speakers, means, scales = [], [], []
        if self.per_speaker and groups is not None:
            for speaker in np.unique(groups):
                rows = clean[groups == speaker]
                if len(rows) >= self.min_clips:
                    speakers.append(speaker)
                    mean, scale = _mean_and_scale(rows)
                    means.append(mean)
                    scales.append(scale)
        self.speakers_ = np.asarray(speakers)
        # reshape keeps the feature axis when no speaker has enough clips: (0, n_features).
        self.speaker_mean_ = np.asarray(means, dtype=float).reshape(-1, self.n_features_in_)
        self.speaker_scale_ = np.asarray(scales, dtype=float).reshape(-1, self.n_features_in_)
        self._fit_probe(clean, y, groups, domain)
        self._fit_nuisance(X)
        return self

    def _fit_nuisance(self, X: Any) -> None:
        """Directions in which the training views move a clip, in standardised units."""
        views = X if isinstance(X, Views) else None
        self.nuisance_directions_ = np.zeros((0, self.n_features_in_))
        if self.nuisance_directions and views is not None:
            self.nuisance_directions_ = view_difference_directions(
                views, self.nuisance_directions, scale=self._scale(self.scale_))
        if self.nuisance_directions and len(self.nuisance_directions_) == 0:
            warnings.warn(
                f"SpeakerStandardizer(nuisance_directions={self.nuisance_directions}) was "
                "fitted without views other than the clean one: there is no recording "
                "condition to learn, and nothing is projected out. Give the augmenter "
                "views, e.g. augment__views=('clean', 'mixed'), or set "
                "nuisance_directions=0 to turn the projection off.",
                UserWarning, stacklevel=3,
            )

    def _fit_probe(self, clean, y, groups, domain) -> None:
        """The balance check's classifier, on training- and self-standardised clean vectors."""
        self.classes_ = np.asarray([], dtype=object)
        self.class_prior_ = np.zeros(0)
        self.probe_coef_ = np.zeros((0, self.n_features_in_))
        self.probe_intercept_ = np.zeros(0)
        self.emotion_shift_ = 0.0
        if not self.per_speaker or self.max_imbalance is None or y is None:
            return
        y = np.asarray(y)
        if len(y) != len(clean) or type_of_target(y) not in ("binary", "multiclass"):
            return
        from sklearn.linear_model import LogisticRegression

        rows = np.vstack([
            (clean - self.mean_) / self.scale_,
            self._standardize(clean, groups, domain, guard=False),
        ])
        probe = LogisticRegression(C=_PROBE_C_TIMES_FEATURES / self.n_features_in_,
                                   max_iter=2000).fit(rows, np.concatenate([y, y]))
        self.classes_ = probe.classes_
        standardized = (clean - self.mean_) / self.scale_
        self.emotion_shift_ = float(max(np.linalg.norm(standardized[y == c].mean(axis=0))
                                        for c in probe.classes_))
        self.class_prior_ = np.array([np.mean(y == c) for c in probe.classes_])
        coef, intercept = probe.coef_, probe.intercept_
        if len(probe.classes_) == 2:  # one binary row -> the two softmax rows
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
        self.probe_coef_, self.probe_intercept_ = coef, intercept

    def fit_transform(
        self, X: Any, y: Any = None, groups: Any = None, domain: Any = None,
    ) -> Any:
        """Fit, then standardise the training vectors with those statistics.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features), or Views of them
        y : array-like of shape (n_clips,), default=None
        groups : array-like of shape (n_clips,), default=None
        domain : array-like of shape (n_clips,), default=None

        Returns
        -------
        X_new : ndarray of shape (n_clips, n_features), or Views of them
            With ``per_speaker=True`` and views, each view twice: adapted
            (its name unchanged) and with the training statistics (its name
            plus :data:`GLOBAL_SUFFIX`), so that the classifier learns both.
        """
        self.fit(X, y, groups=groups, domain=domain)
        if not (self.per_speaker and isinstance(X, Views)):
            return self.transform(X, groups=groups, domain=domain)
        clean = X.clean().astype(float)
        mean, scale = self._clip_statistics(clean, check_ids(groups, len(clean), "groups"),
                                            check_ids(domain, len(clean), "domain"), guard=False)
        data = X.data.astype(float)
        adapted = (data - mean[:, None]) / scale[:, None]
        training = (data - self.mean_) / self._scale(self.scale_)
        names = X.names + tuple(name + GLOBAL_SUFFIX for name in X.names)
        return Views(self._project(np.concatenate([adapted, training], axis=1)), names)

    def transform(self, X: Any, groups: Any = None, domain: Any = None) -> Any:
        """Standardise each clip with the most specific statistics that pass the check.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_features), or Views of them
        groups : array-like of shape (n_clips,), default=None
            Speaker of each clip.
        domain : array-like of shape (n_clips,), default=None
            Recording setting of each clip; without it, with
            ``per_speaker=True``, the clips of this call form one domain.

        Returns
        -------
        X_new : ndarray of shape (n_clips, n_features), float, or Views of them
        """
        check_is_fitted(self, "mean_")
        clean = self._vectors(X, reset=False)
        groups = check_ids(groups, len(clean), "groups")
        domain = check_ids(domain, len(clean), "domain")
        mean, scale = self._clip_statistics(clean, groups, domain, guard=True)
        if isinstance(X, Views):
            # One clip's statistics apply to all of its views.
            return X.with_data(self._project((X.data.astype(float) - mean[:, None])
                                             / scale[:, None]))
        return self._project((clean - mean) / scale)

    def _project(self, Z: np.ndarray) -> np.ndarray:
        return project_out(Z, self.nuisance_directions_)

    def __setstate__(self, state: dict) -> None:
        # Pickled before these options existed: it projected nothing out and
        # used a domain's own spread.
        state.setdefault("nuisance_directions", 0)
        state.setdefault("domain_std", True)
        if "mean_" in state and "nuisance_directions_" not in state:
            state["nuisance_directions_"] = np.zeros((0, len(state["mean_"])))
        super().__setstate__(state)

    # -- statistics ------------------------------------------------------------------

    def _scale(self, scale: np.ndarray) -> np.ndarray:
        return scale if self.with_std else np.ones_like(scale)

    def _standardize(self, clean, groups, domain, *, guard: bool) -> np.ndarray:
        mean, scale = self._clip_statistics(clean, groups, domain, guard=guard)
        return (clean - mean) / scale

    def _clip_statistics(
        self, clean: np.ndarray, groups: np.ndarray | None, domain: np.ndarray | None,
        *, guard: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and scale for every clip: speaker, shrunk toward domain, else training."""
        mean = np.broadcast_to(self.mean_, clean.shape).copy()
        scale = np.broadcast_to(self.scale_, clean.shape).copy()
        if not self.per_speaker:
            return mean, self._scale(scale)
        if domain is None and groups is None and guard:
            warnings.warn(
                f"SpeakerStandardizer got no speaker or domain ids (groups=, domain=): the "
                f"{len(clean)} clips of this call are taken as one domain. Enable metadata "
                "routing (sklearn.set_config(enable_metadata_routing=True)) and pass groups=.",
                SpeakerAdaptationWarning, stacklevel=3,
            )
        domains = np.zeros(len(clean), dtype=int) if domain is None else domain
        for name in np.unique(domains):
            rows = domains == name
            if rows.sum() >= self.min_clips and self._domain_differs(clean[rows], guard):
                mean[rows], scale[rows] = self._domain_statistics(clean[rows])
        if groups is not None:
            self._speaker_statistics(clean, groups, mean, scale, guard)
        return mean, self._scale(scale)

    def _domain_statistics(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A domain's mean, with its own spread (``domain_std``) or the training one."""
        mean, scale = _mean_and_scale(rows)
        return mean, scale if self.domain_std else self.scale_

    def _speaker_statistics(self, clean, groups, mean, scale, guard) -> None:
        """Overwrite the domain rows of ``mean``/``scale`` with speaker statistics where safe."""
        known = {s: i for i, s in enumerate(self.speakers_.tolist())}
        fallback = 0
        for speaker in np.unique(groups):
            rows = groups == speaker
            n = int(rows.sum())
            if n >= self.min_clips:
                own_mean, own_scale = _mean_and_scale(clean[rows])
            elif speaker in known:  # a training speaker seen again with few clips
                own_mean = self.speaker_mean_[known[speaker]]
                own_scale = self.speaker_scale_[known[speaker]]
                n = self.min_clips
            else:
                fallback += n
                continue
            weight = n / (n + self.shrinkage)
            new_mean = weight * own_mean + (1 - weight) * mean[rows]
            new_scale = weight * own_scale + (1 - weight) * scale[rows]
            if self._passes(clean[rows], guard, new_mean, new_scale):
                mean[rows], scale[rows] = new_mean, new_scale
            else:
                fallback += int(rows.sum())
        if fallback and guard:
            warnings.warn(
                f"{fallback} of {len(clean)} clips were not adapted to their speaker (fewer "
                f"than min_clips={self.min_clips} clips and unseen in fit, or clips that are "
                "not an emotion-balanced mix): standardised with their domain's or the "
                "training statistics.",
                SpeakerAdaptationWarning, stacklevel=4,
            )

    def _passes(self, rows, guard, mean, scale) -> bool:
        """The balance check: adapted (and unadapted) predictions close to the training mix."""
        if not guard or self.max_imbalance is None or len(self.classes_) == 0:
            return True
        adapted = self._imbalance((rows - mean) / self._scale(scale))
        unadapted = self._imbalance((rows - self.mean_) / self._scale(self.scale_))
        return adapted <= self.max_imbalance and unadapted <= _UNADAPTED_SLACK * self.max_imbalance

    def _domain_differs(self, rows: np.ndarray, guard: bool) -> bool:
        """Whether a domain's mean is too far from training for its emotions to explain."""
        if not guard or self.max_imbalance is None or len(self.classes_) == 0:
            return True  # while fitting, or without the check: every domain
        if self.domain_shift is None:
            return self._passes(rows, guard, *self._domain_statistics(rows))
        offset = np.linalg.norm((rows.mean(axis=0) - self.mean_) / self.scale_)
        return bool(offset > self.domain_shift * self.emotion_shift_)

    def _imbalance(self, Z: np.ndarray) -> float:
        """Total variation between the mean predicted distribution and the training prior."""
        logits = Z @ self.probe_coef_.T + self.probe_intercept_
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return float(0.5 * np.abs(proba.mean(axis=0) - self.class_prior_).sum())

    def _vectors(self, X: Any, *, reset: bool) -> np.ndarray:
        if isinstance(X, Views):
            X = X.clean()
        return np.asarray(validate_data(self, X, reset=reset, dtype=np.float64), dtype=float)

    def _get_metadata_request(self):
        # Without adaptation, speaker and domain ids are not requested: with routing on,
        # passing them fails loudly instead of being ignored in silence.
        requests = super()._get_metadata_request()
        if not self.per_speaker:
            for method in ("fit", "transform"):
                for key in ("groups", "domain"):
                    getattr(requests, method).add_request(param=key, alias=False)
        return requests

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def check_ids(ids: Any, n: int, name: str = "groups") -> np.ndarray | None:
    """Validate per-clip ids (speakers, domains): one per clip, no missing value, one type.

    Parameters
    ----------
    ids : array-like of shape (n,) or None
    n : int
        Number of clips.
    name : str, default="groups"
        The parameter's name, for the error messages.

    Returns
    -------
    ids : ndarray of shape (n,) or None

    Raises
    ------
    ValueError
        When the length is wrong, an id is missing (None or NaN), or ids mix
        types (``1`` and ``"1"`` would otherwise be merged or split silently).
    """
    if ids is None:
        return None
    values = np.asarray(ids, dtype=object)
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"{name} must hold one id per clip: {n} clips, got shape {values.shape}")
    missing = [i for i, v in enumerate(values)
               if v is None or (isinstance(v, float | np.floating) and np.isnan(v))]
    if missing:
        raise ValueError(
            f"{name} has missing ids (None or NaN) at positions {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}: give every clip an id (a speaker or "
            "setting of its own, e.g. 'unknown-1', when it is not known)"
        )
    kinds = {"number" if isinstance(v, Real | np.number) else type(v).__name__ for v in values}
    if len(kinds) > 1:
        raise ValueError(
            f"{name} mixes id types ({', '.join(sorted(kinds))}): use one type, e.g. all "
            "strings, so that 1 and '1' are not taken for the same id or for two"
        )
    return np.asarray(ids)


def uses_speaker_ids(estimator: Any) -> bool:
    """Whether ``estimator`` (a pipeline) adapts to speakers given ``groups`` at predict time."""
    steps = getattr(estimator, "steps", None)
    if steps is None:
        return isinstance(estimator, SpeakerStandardizer) and estimator.per_speaker
    return any(uses_speaker_ids(step) for _, step in steps if step not in (None, "passthrough"))
