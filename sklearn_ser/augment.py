"""Waveform augmentation that acts only while fitting.

How it cannot leak
------------------
:class:`WaveformAugmenter` is an ordinary transformer whose ``fit_transform``
differs from ``fit().transform()`` (scikit-learn's ``TargetEncoder`` is the
precedent): ``fit_transform`` returns several named *views* of each training
clip as a :class:`~sklearn_ser.views.Views`, ``transform`` returns only the
clean clips. A :class:`~sklearn.pipeline.Pipeline` calls ``fit_transform`` on
its intermediate steps inside ``fit`` and ``transform`` inside ``predict``,
``predict_proba`` and ``score``. So:

* predictions are always made on clean audio;
* augmented copies are made *after* the data are split: inside
  ``GridSearchCV``/``cross_val_score`` each fold's pipeline sees only that
  fold's training clips in ``fit``, so no copy of a test clip is ever trained
  on (compare augmenting the whole corpus first, then splitting);
* the classifier trains on every view with its clip's label, so ``y`` keeps
  one entry per clip and stays aligned (see :mod:`sklearn_ser.views`).

Recording conditions
--------------------
Besides the reference recipe's operations, a view can imitate the recordings
users have (:mod:`sklearn_ser.conditions`): ``white``, ``pink``, ``brown`` and
``babble`` noise at an SNR drawn from ``snr_db``, a ``telephone`` channel, room
``reverb`` and a lossy ``codec``; ``mixed`` draws one of ``mixed_conditions``
per clip. Babble is made from *other training clips* of the same ``fit`` call,
so it never contains a test clip.

Other voices
------------
``speed`` plays a clip faster or slower, as a tape would: tempo, pitch and the
formants move together by ``speed_factor``, so the view sounds like a speaker with
a shorter or longer vocal tract (Ko et al., "Audio augmentation for speech
recognition", Interspeech 2015). ``pitch`` moves the pitch alone and ``stretch``
the tempo alone.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from numbers import Integral, Real

import librosa
import numpy as np
import soxr
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from sklearn_ser import conditions
from sklearn_ser._parallel import parallel_map
from sklearn_ser._validation import N_JOBS, VERBOSE, RealOrRange
from sklearn_ser.conditions import change_gain  # public here since the first release
from sklearn_ser.views import Views, as_clips

#: Reference recipe: each clip clean, with noise, and noisy + pitch-shifted + time-stretched.
REFERENCE_VIEWS = ("clean", "noise", "noise+pitch+stretch")
#: Conditions the ``mixed`` operation draws from by default.
MIXED_CONDITIONS = ("white", "pink", "brown", "babble", "telephone", "reverb")

AmountLike = float | tuple[float, float]


def add_noise(y: np.ndarray, *, amplitude: float, rng: np.random.RandomState) -> np.ndarray:
    """Add Gaussian noise of std ``amplitude * U(0, 1) * max(y)`` (the reference recipe)."""
    scale = amplitude * rng.uniform() * np.amax(y)
    return (y + scale * rng.normal(size=y.shape[0])).astype(np.float32)


def shift_time(y: np.ndarray, *, n_samples: int) -> np.ndarray:
    """Delay (``n_samples`` > 0) or advance the signal, filling with silence."""
    out = np.zeros_like(y)
    if n_samples >= 0:
        out[n_samples:] = y[: y.shape[0] - n_samples]
    else:
        out[:n_samples] = y[-n_samples:]
    return out


def change_speed(y: np.ndarray, *, factor: float, sr: int) -> np.ndarray:
    """Play ``y`` ``factor`` times as fast: tempo, pitch and formants scale together.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    factor : float
        Speed; 1.1 makes the clip 10 % shorter and 10 % higher.
    sr : int
        Sample rate of ``y`` (and of the result).

    Returns
    -------
    y_speed : ndarray of shape (round(n_samples / factor),), float32
    """
    # Resampling to sr / factor and reading the result at sr is playing it factor times as fast.
    return soxr.resample(np.asarray(y, dtype=np.float32), sr, sr / factor,
                         quality="HQ").astype(np.float32, copy=False)


def _draw(amount: AmountLike, rng: np.random.RandomState) -> float:
    """A fixed amount, or a uniform draw when given a (low, high) range."""
    if isinstance(amount, Real):
        return float(amount)
    low, high = amount
    return float(rng.uniform(low, high))


class WaveformAugmenter(TransformerMixin, BaseEstimator):
    """Make augmented views of each training clip; pass clean audio at predict.

    ``fit_transform`` returns a :class:`~sklearn_ser.views.Views` whose view
    *j* is ``views[j]`` applied to each clip, named after it. ``transform``
    (used by ``predict``, ``predict_proba`` and ``score``) returns the clean
    clips, shape (n_clips,). See the module docstring for why this cannot leak.

    Parameters
    ----------
    views : sequence of str, default=("clean", "noise", "noise+pitch+stretch")
        One entry per view; each is ``"clean"`` or a ``+``-joined chain of
        operations applied left to right: ``noise``, ``pitch``, ``stretch``,
        ``gain``, ``shift`` (the reference recipe's), ``speed`` (another voice)
        and the recording conditions ``white``, ``pink``, ``brown``, ``babble``,
        ``telephone``, ``reverb``, ``codec`` and ``mixed`` (see the module
        docstring). The default is the reference recipe (3 views).
    noise_amplitude : float or (float, float), default=0.025
        Noise std is ``noise_amplitude * U(0, 1) * max(y)``.
    pitch_steps : float or (float, float), default=0.9
        Pitch shift in semitones (a range draws one value per clip).
    stretch_rate : float or (float, float), default=0.7
        Time-stretch rate (< 1 slows down, > 1 speeds up).
    speed_factor : float or (float, float), default=(0.85, 1.15)
        Playback speed of the ``speed`` operation (> 1 is faster and higher;
        the view is ``1 / speed_factor`` times as long).
    gain_db : float or (float, float), default=(-6.0, 6.0)
        Gain in decibels for the ``gain`` operation.
    shift_seconds : float or (float, float), default=(-0.2, 0.2)
        Time shift for the ``shift`` operation (zero-filled).
    snr_db : float or (float, float), default=(0.0, 30.0)
        Signal-to-noise ratio of ``white``, ``pink``, ``brown`` and
        ``babble``, against the speech's active level.
    rt60 : float or (float, float), default=(0.2, 0.8)
        Reverberation time (seconds) of ``reverb``.
    n_talkers : int, default=4
        Other training clips summed into ``babble``.
    mixed_conditions : sequence of str, default=("white", "pink", "brown", "babble", \
"telephone", "reverb")
        Conditions that ``mixed`` draws from, one per clip and view.
    sr : int, default=22050
        Sample rate of the incoming waveforms (must match the loader).
    random_state : int, RandomState instance or None, default=None
        Seeds the per-clip draws. A clip's views depend only on the seed and
        the clip itself, not on ``n_jobs`` or on which other clips are in the
        training set.
    n_jobs : int or None, default=None
        Clips augmented in parallel with joblib.
    verbose : int, default=0
        Show a progress bar when > 0.

    Attributes
    ----------
    n_views_ : int
        Number of views made per clip by ``fit_transform``.
    view_names_ : tuple of str
        Name of each view (``"clean"`` for the unaugmented clip).
    """

    _OPERATIONS = ("noise", "pitch", "stretch", "speed", "gain", "shift", "white", "pink", "brown",
                   "babble", "telephone", "reverb", "codec", "mixed")

    _parameter_constraints: dict = {
        "views": [list, tuple],  # the names themselves are checked by _parse_views
        "noise_amplitude": [RealOrRange(0.0)],
        "pitch_steps": [RealOrRange(-48.0, 48.0)],
        "stretch_rate": [RealOrRange(0.0, 100.0, open_low=True)],
        "speed_factor": [RealOrRange(0.25, 4.0)],
        "gain_db": [RealOrRange(-120.0, 120.0)],
        "shift_seconds": [RealOrRange()],
        "snr_db": [RealOrRange(-30.0, 100.0)],
        "rt60": [RealOrRange(0.0, 10.0)],
        "n_talkers": [Interval(Integral, 1, None, closed="left")],
        "mixed_conditions": [list, tuple],
        "sr": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS,
        "verbose": VERBOSE,
    }

    def __init__(
        self,
        views: Sequence[str] = REFERENCE_VIEWS,
        *,
        noise_amplitude: AmountLike = 0.025,
        pitch_steps: AmountLike = 0.9,
        stretch_rate: AmountLike = 0.7,
        speed_factor: AmountLike = (0.85, 1.15),
        gain_db: AmountLike = (-6.0, 6.0),
        shift_seconds: AmountLike = (-0.2, 0.2),
        snr_db: AmountLike = (0.0, 30.0),
        rt60: AmountLike = (0.2, 0.8),
        n_talkers: int = 4,
        mixed_conditions: Sequence[str] = MIXED_CONDITIONS,
        sr: int = 22050,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.views = views
        self.noise_amplitude = noise_amplitude
        self.pitch_steps = pitch_steps
        self.stretch_rate = stretch_rate
        self.speed_factor = speed_factor
        self.gain_db = gain_db
        self.shift_seconds = shift_seconds
        self.snr_db = snr_db
        self.rt60 = rt60
        self.n_talkers = n_talkers
        self.mixed_conditions = mixed_conditions
        self.sr = sr
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters; nothing is learned from the data.

        Parameters
        ----------
        X : array-like of waveforms
        y : ignored

        Returns
        -------
        self : WaveformAugmenter
        """
        self._chains = self._parse_views()
        self.n_views_ = len(self._chains)
        self.view_names_ = tuple(
            "+".join(chain) if chain else "clean" for chain in self._chains
        )
        return self

    def fit_transform(self, X, y=None, **fit_params) -> Views:
        """Fit, then return every view of every clip (training data only).

        Parameters
        ----------
        X : array-like of shape (n_clips,) of 1-D waveforms
        y : ignored

        Returns
        -------
        views : Views
            Waveforms of shape (n_clips, n_views), one name per view
            (the ``views`` parameter; ``"clean"`` for the unaugmented one).
        """
        self.fit(X, y)
        clips = as_clips(X)
        # Each clip's seed is a function of the random_state and the clip's content, so
        # a clip gets the same views in every fold, in any order and for any n_jobs:
        # results repeat and a feature cache (memory=) recognises the views.
        base = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        seeds = [zlib.crc32(clip.tobytes(), base) for clip in clips]
        talkers = self._babble_talkers(clips, seeds)
        rows = parallel_map(
            self._augment_clip,
            list(clips),
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc="augmenting",
            args=[(s, t) for s, t in zip(seeds, talkers)],
        )
        out = np.empty((len(clips), self.n_views_), dtype=object)
        for i, row in enumerate(rows):
            out[i, :] = row
        return Views(out, self.view_names_)

    def transform(self, X) -> np.ndarray:
        """Return the clean clips unchanged (prediction time: no augmentation).

        Parameters
        ----------
        X : array-like of shape (n_clips,) of 1-D waveforms

        Returns
        -------
        clean : ndarray of shape (n_clips,), dtype object
        """
        return as_clips(X)

    def _babble_talkers(self, clips: np.ndarray, seeds: list[int]) -> list[list[np.ndarray]]:
        """For each clip, ``n_talkers`` *other* training clips to make its babble from."""
        if not any(op in ("babble", "mixed") for chain in self._chains for op in chain):
            return [[] for _ in clips]
        if len(clips) < 2:
            raise ValueError("babble views need at least 2 training clips (other talkers)")
        talkers = []
        for i, seed in enumerate(seeds):
            # Offset the seed so the choice of talkers does not repeat the clip's own draws.
            picks = np.random.RandomState(seed ^ 0x5BD1E995).choice(
                len(clips) - 1, size=min(self.n_talkers, len(clips) - 1), replace=False)
            talkers.append([clips[j + (j >= i)] for j in picks])  # skip the clip itself
        return talkers

    def _augment_clip(self, y: np.ndarray, seed: int,
                      talkers: list[np.ndarray] | None = None) -> list[np.ndarray]:
        rng = np.random.RandomState(seed)
        out = []
        for chain in self._chains:
            z = y
            for op in chain:
                z = self._apply(op, z, rng, talkers or [])
            out.append(z)
        return out

    def _apply(self, op: str, y: np.ndarray, rng: np.random.RandomState,
               talkers: list[np.ndarray]) -> np.ndarray:
        if op == "mixed":
            op = self.mixed_conditions[rng.randint(len(self.mixed_conditions))]
        if op in conditions.CONDITIONS and op != "gain":
            return conditions.degrade(
                y, op, sr=self.sr, rng=rng, snr_db=_draw(self.snr_db, rng),
                rt60=_draw(self.rt60, rng), others=talkers, n_talkers=len(talkers) or 1,
            )
        if op == "noise":
            return add_noise(y, amplitude=_draw(self.noise_amplitude, rng), rng=rng)
        if op == "pitch":
            steps = _draw(self.pitch_steps, rng)
            return librosa.effects.pitch_shift(y=y, sr=self.sr, n_steps=steps)
        if op == "stretch":
            return librosa.effects.time_stretch(y=y, rate=_draw(self.stretch_rate, rng))
        if op == "speed":
            return change_speed(y, factor=_draw(self.speed_factor, rng), sr=self.sr)
        if op == "gain":
            return change_gain(y, gain_db=_draw(self.gain_db, rng))
        if op == "shift":
            return shift_time(y, n_samples=int(_draw(self.shift_seconds, rng) * self.sr))
        raise AssertionError(op)  # _parse_views rejects unknown names

    def _parse_views(self) -> list[tuple[str, ...]]:
        if isinstance(self.views, str) or len(self.views) == 0:
            raise ValueError(
                f"views must be a non-empty sequence of strings such as {REFERENCE_VIEWS}, "
                f"got {self.views!r}"
            )
        chains = []
        for view in self.views:
            ops = tuple(op.strip() for op in view.split("+") if op.strip() != "clean")
            unknown = [op for op in ops if op not in self._OPERATIONS]
            if unknown:
                raise ValueError(
                    f"unknown augmentation {unknown[0]!r} in view {view!r}; "
                    f"known: 'clean', {', '.join(map(repr, self._OPERATIONS))}"
                )
            chains.append(ops)
        if any("mixed" in chain for chain in chains):
            bad = [c for c in self.mixed_conditions
                   if c not in conditions.CONDITIONS or c == "gain"]
            if isinstance(self.mixed_conditions, str) or not self.mixed_conditions or bad:
                raise ValueError(
                    f"mixed_conditions must be a non-empty sequence of "
                    f"{', '.join(c for c in conditions.CONDITIONS if c != 'gain')}; "
                    f"got {self.mixed_conditions!r}"
                )
        return chains

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags
