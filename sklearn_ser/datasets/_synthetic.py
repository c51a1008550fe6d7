"""Generator of synthetic, speech-like emotional audio.

The audio made here is *not* human speech: it is a cheap source-filter
simulation (glottal pulse train -> formant resonators -> syllable envelope)
whose prosody (pitch level and range, speaking rate, loudness, spectral
tilt, voice quality) depends on an emotion label.  It exists so that tests,
examples and benchmarks can run end to end without downloading a corpus.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from scipy.signal import lfilter, sosfilt
from sklearn.utils import Bunch, check_random_state

from .._io import atomic_path

__all__ = ["SUPPORTED_EMOTIONS", "make_emotional_speech"]


@dataclass(frozen=True)
class _Prosody:
    """Emotion-dependent settings of the signal model.

    Attributes
    ----------
    f0_scale : float
        Multiplier of the speaker's base pitch.
    f0_range : float
        Size of the pitch accents, in semitones.
    jitter : float
        Relative standard deviation of the fast random pitch perturbation.
    rate : float
        Mean speaking rate, in syllables per second.
    pause_prob : float
        Probability of a phrase pause after each syllable.
    level : float
        Peak amplitude of the normalised clip (always < 1).
    tilt : float
        Spectral tilt in [-1, 1]: > 0 pre-emphasis (bright, tense voice),
        < 0 one-pole low-pass (dark, lax voice).
    breath : float
        Relative level of aspiration noise (breathiness).
    """

    f0_scale: float
    f0_range: float
    jitter: float
    rate: float
    pause_prob: float
    level: float
    tilt: float
    breath: float


# Values loosely follow the acoustic-correlates literature on vocal emotion
# (e.g. Scherer 2003; Juslin & Laukka 2003): high-arousal emotions are higher,
# wider, faster, louder and brighter; sad is low, flat, slow, soft and dark.
_PROSODY: dict[str, _Prosody] = {
    "neutral": _Prosody(1.00, 2.0, 0.005, 4.0, 0.15, 0.40, 0.0, 0.03),
    "calm": _Prosody(0.92, 1.2, 0.004, 3.3, 0.25, 0.30, -0.5, 0.05),
    "happy": _Prosody(1.30, 6.0, 0.008, 5.0, 0.10, 0.75, 0.3, 0.03),
    "sad": _Prosody(0.82, 0.8, 0.012, 2.7, 0.30, 0.18, -0.7, 0.08),
    "angry": _Prosody(1.25, 4.0, 0.015, 5.8, 0.08, 0.93, 0.9, 0.05),
    "fear": _Prosody(1.50, 3.0, 0.030, 6.0, 0.25, 0.40, 0.1, 0.12),
    "disgust": _Prosody(0.88, 2.5, 0.010, 3.0, 0.20, 0.60, 0.5, 0.06),
    "surprise": _Prosody(1.55, 8.0, 0.008, 4.5, 0.15, 0.65, 0.3, 0.04),
}

SUPPORTED_EMOTIONS: tuple[str, ...] = tuple(_PROSODY)

# Formant frequencies (F1-F4, Hz) of an adult male voice (Peterson & Barney
# style averages); bandwidths are shared by all vowels.
_VOWELS = np.array(
    [
        [730.0, 1090.0, 2440.0, 3400.0],  # /a/
        [530.0, 1840.0, 2480.0, 3400.0],  # /e/
        [270.0, 2290.0, 3010.0, 3500.0],  # /i/
        [570.0, 840.0, 2410.0, 3300.0],  # /o/
        [300.0, 870.0, 2240.0, 3300.0],  # /u/
    ]
)
_BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0])

# tanh soft-saturation drive = _DRIVE_BASE + _DRIVE_TILT * max(tilt, 0):
# nearly linear for lax voices, compressed for tense ones (see below).
_DRIVE_BASE = 0.5
_DRIVE_TILT = 2.0

_FORMATS = {"wav": "PCM_16", "flac": "PCM_16", "ogg": None}

_DESCR = """\
Synthetic emotional speech
--------------------------

**This is SYNTHETIC audio, not recordings of human speech.** It is produced by
``sklearn_ser.datasets.make_emotional_speech`` with a simple source-filter
model: a glottal (Rosenberg) pulse train whose pitch follows an
emotion-dependent contour with jitter, shaped by four formant resonators that
change vowel from syllable to syllable, cut into syllables with pauses, mixed
with aspiration noise and given an emotion-dependent spectral tilt and
loudness. Speakers differ in base pitch (female about 190-230 Hz, male about
100-130 Hz), vocal tract length and speaking rate.

Emotions are separable from pitch, energy, rate and spectral tilt by
construction, so the data set is meant ONLY for unit tests, examples,
benchmarks and demos of the pipeline. Scores obtained on it say nothing about
performance on real emotional speech.

Generated with: {n_speakers} speakers ({n_female} female, {n_male} male),
{n_clips} clips per emotion and speaker, emotions {emotions},
{duration:g} s per clip at {sr} Hz, format {audio_format}.
Total: {n_files} files.
"""


def _resonator_sos(freqs: np.ndarray, bws: np.ndarray, sr: int) -> np.ndarray:
    """Second-order sections of a cascade of unit-DC-gain resonators."""
    r = np.exp(-np.pi * bws / sr)
    c = -2.0 * r * np.cos(2.0 * np.pi * freqs / sr)
    a2 = r * r
    sos = np.zeros((len(freqs), 6))
    # Numerator = 1 + a1 + a2 gives unit gain at DC, so vowels with different
    # formants keep comparable loudness.
    sos[:, 0] = 1.0 + c + a2
    sos[:, 3] = 1.0
    sos[:, 4] = c
    sos[:, 5] = a2
    return sos


def _syllable_plan(
    n: int, sr: int, rate: float, pause_prob: float, rng: np.random.RandomState
) -> list[tuple[int, int]]:
    """Return (start, stop) sample indices of the syllable nuclei of a clip.

    Syllable and gap lengths are random around ``1 / rate``; the clip starts
    and ends with a little silence, like a segmented utterance.
    """
    t = int(sr * rng.uniform(0.05, 0.15))
    end = n - int(sr * rng.uniform(0.05, 0.15))
    min_len = int(0.06 * sr)
    plan: list[tuple[int, int]] = []
    period = 1.0 / rate
    while True:
        syl = int(sr * period * rng.uniform(0.55, 0.85))
        if t + syl > end:
            # Keep at least one (possibly shortened) syllable in short clips.
            if not plan and end - t >= min_len:
                plan.append((t, end))
            break
        plan.append((t, t + syl))
        gap = period * rng.uniform(0.15, 0.45)
        if rng.uniform() < pause_prob:
            gap += rng.uniform(0.15, 0.35)  # phrase break
        t += syl + int(sr * gap)
    if not plan:  # pathological: very short clip, one syllable over all
        plan.append((0, n))
    return plan


def _glottal_source(phase: np.ndarray, open_q: float) -> np.ndarray:
    """Rosenberg glottal flow evaluated at a cycle phase in [0, 1).

    ``open_q`` is the open quotient; opening takes 2/3 of the open phase and
    closing the rest, a classic Rosenberg (1971) type C shape.
    """
    tp = open_q * 2.0 / 3.0
    tn = open_q - tp
    flow = np.zeros_like(phase)
    rising = phase < tp
    flow[rising] = 0.5 * (1.0 - np.cos(np.pi * phase[rising] / tp))
    falling = (~rising) & (phase < open_q)
    flow[falling] = np.cos(0.5 * np.pi * (phase[falling] - tp) / tn)
    return flow


def _smooth_noise(n: int, sr: int, rate_hz: float, rng: np.random.RandomState) -> np.ndarray:
    """Unit-variance noise band-limited to about ``rate_hz`` (interpolated)."""
    n_knots = max(int(n / sr * rate_hz) + 2, 2)
    knots = rng.standard_normal(n_knots)
    return np.interp(np.linspace(0.0, n_knots - 1.0, n), np.arange(n_knots), knots)


def _synthesize_clip(
    pros: _Prosody,
    speaker: dict,
    n: int,
    sr: int,
    rng: np.random.RandomState,
) -> np.ndarray:
    """Synthesize one clip of ``n`` samples; returns peak-normalised float32."""
    # Per-clip variation so no two clips of a class are the same.
    f0_scale = pros.f0_scale * np.exp(rng.normal(0.0, 0.03))
    rate = pros.rate * speaker["rate"] * np.exp(rng.normal(0.0, 0.08))
    # Level varies with the speaker (recording gain) and the clip, so that
    # the peak alone does not give the label away.
    level = min(pros.level * speaker["gain"] * np.exp(rng.normal(0.0, 0.08)), 0.95)

    plan = _syllable_plan(n, sr, rate, pros.pause_prob, rng)
    t = np.arange(n) / sr

    # --- f0 contour (semitones relative to the emotion's pitch level) -----
    # Declination over the utterance, one pitch accent per syllable, slow
    # drift and fast jitter.
    st = -1.5 * t / max(t[-1], 1e-3)
    for start, stop in plan:
        centre = 0.5 * (start + stop) / sr
        width = max(stop - start, 1) / sr
        height = pros.f0_range * rng.uniform(0.2, 1.0) * rng.choice([1.0, 1.0, -0.5])
        st += height * np.exp(-0.5 * ((t - centre) / (0.35 * width)) ** 2)
    st += 0.4 * _smooth_noise(n, sr, 4.0, rng)
    f0 = speaker["f0"] * f0_scale * 2.0 ** (st / 12.0)
    f0 *= 1.0 + pros.jitter * _smooth_noise(n, sr, 150.0, rng)
    f0 = np.clip(f0, 50.0, 0.2 * sr)

    # --- voiced source: Rosenberg pulses differentiated (lip radiation) ----
    phase = np.cumsum(f0 / sr)
    phase -= np.floor(phase)
    # Tense voices (positive tilt) close the glottis faster: lower open quotient.
    open_q = float(np.clip(0.6 - 0.15 * pros.tilt, 0.35, 0.8))
    flow = _glottal_source(phase, open_q)
    source = np.diff(flow, prepend=0.0)
    source /= np.max(np.abs(source)) + 1e-12
    # Aspiration noise, modulated by the glottal flow (breathy voice).
    source += pros.breath * rng.standard_normal(n) * (0.3 + flow)

    # --- syllable envelope -----------------------------------------------
    env = np.zeros(n)
    for start, stop in plan:
        length = stop - start
        u = np.linspace(0.0, 1.0, length, endpoint=False)
        # Fast attack and slower decay, like a stressed CV syllable.
        shape = np.minimum(u / 0.15, 1.0) * np.minimum((1.0 - u) / 0.4, 1.0)
        env[start:stop] = shape * rng.uniform(0.6, 1.0)  # stress / shimmer
    excitation = source * env

    # --- formant filtering, one vowel per syllable --------------------------
    voiced = np.zeros(n)
    zi = np.zeros((len(_BANDWIDTHS), 2))
    bounds = [s for s, _ in plan[1:]] + [n]
    seg_start = 0
    for seg_stop in bounds:
        formants = _VOWELS[rng.randint(len(_VOWELS))] * speaker["formant_scale"]
        formants *= np.exp(rng.normal(0.0, 0.03, size=formants.shape))
        keep = formants < 0.45 * sr  # drop formants above Nyquist at low sr
        sos = _resonator_sos(formants, _BANDWIDTHS, sr)
        sos[~keep] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]  # identity section
        # Segments start in the silent gap before a syllable, so carrying
        # the filter state across coefficient changes causes no click.
        voiced[seg_start:seg_stop], zi = sosfilt(sos, excitation[seg_start:seg_stop], zi=zi)
        seg_start = seg_stop

    # Consonant-like noise bursts at some syllable onsets (fricatives/stops).
    noise = np.zeros(n)
    for start, _ in plan:
        if rng.uniform() < 0.5:
            length = int(sr * rng.uniform(0.02, 0.06))
            lo = max(start - length, 0)
            burst = rng.standard_normal(start - lo) * np.hanning(start - lo)
            noise[lo:start] = burst
    noise = np.diff(noise, prepend=0.0)  # high-pass: hiss rather than rumble

    # --- spectral tilt: bright (pre-emphasis) or dark (low-pass) ----------
    if pros.tilt > 0:
        voiced = lfilter([1.0, -0.9 * pros.tilt], [1.0], voiced)
    elif pros.tilt < 0:
        pole = -0.9 * pros.tilt
        voiced = lfilter([1.0 - pole], [1.0, -pole], voiced)
    y = voiced / (np.max(np.abs(voiced)) + 1e-12) + 0.15 * noise

    # High vocal effort compresses the waveform (lower crest factor), so
    # that bright, tense voices are loud in RMS and not only in peak.
    drive = _DRIVE_BASE + _DRIVE_TILT * max(pros.tilt, 0.0)
    y = np.tanh(drive * y / (np.max(np.abs(y)) + 1e-12))

    # A faint noise floor so silences are not digital zero (log features).
    y += 3e-4 * rng.standard_normal(n)
    y *= level / (np.max(np.abs(y)) + 1e-12)
    return y.astype(np.float32)


def _check_args(
    n_speakers: int,
    n_clips_per_emotion: int,
    emotions: Sequence[str],
    duration: float,
    sr: int,
    audio_format: str,
) -> tuple[list[str], str]:
    """Validate the arguments of :func:`make_emotional_speech`."""
    for name, value in (
        ("n_speakers", n_speakers),
        ("n_clips_per_emotion", n_clips_per_emotion),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}.")
    if isinstance(emotions, str):
        raise ValueError(f"emotions must be a sequence of labels, not the string {emotions!r}.")
    emotions = list(emotions)
    if not emotions:
        raise ValueError("emotions must contain at least one label.")
    for label in emotions:
        if label not in _PROSODY:
            raise ValueError(
                f"Unknown emotion label {label!r}; supported labels are {list(SUPPORTED_EMOTIONS)}."
            )
    duplicates = sorted({e for e in emotions if emotions.count(e) > 1})
    if duplicates:
        raise ValueError(f"emotions contains duplicate labels: {duplicates}.")
    if not np.isfinite(duration) or duration <= 0.1:
        raise ValueError(f"duration must be > 0.1 seconds, got {duration!r}.")
    if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or not 8000 <= sr <= 192000:
        raise ValueError(f"sr must be an integer in [8000, 192000] Hz, got {sr!r}.")
    fmt = str(audio_format).lower()
    if fmt not in _FORMATS:
        raise ValueError(f"audio_format must be one of {sorted(_FORMATS)}, got {audio_format!r}.")
    return emotions, fmt


def make_emotional_speech(
    n_speakers: int = 4,
    n_clips_per_emotion: int = 4,
    *,
    emotions: Sequence[str] = ("neutral", "happy", "sad", "angry"),
    duration: float = 2.0,
    sr: int = 22050,
    out_dir: str | os.PathLike | None = None,
    audio_format: str = "wav",
    as_frame: bool = False,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    """Generate a small corpus of SYNTHETIC emotional speech-like audio files.

    Each clip is made by a source-filter model: a Rosenberg glottal pulse
    train with an emotion-dependent pitch contour and jitter, filtered by
    four formant resonators whose vowel changes every syllable, cut into
    syllables with pauses, mixed with aspiration and burst noise, and given
    an emotion-dependent spectral tilt and peak level. The audio is not
    human speech: use it for tests, examples and demos only.

    Emotions differ by construction in pitch level and range, speaking rate,
    loudness, spectral tilt and breathiness, so simple prosodic features
    separate them; speakers differ in base pitch, vocal tract length and
    speaking rate; every clip has its own random variation.

    Parameters
    ----------
    n_speakers : int, default=4
        Number of speakers. Speakers alternate female (odd ids) and male
        (even ids), starting with ``synth_spk01`` female.
    n_clips_per_emotion : int, default=4
        Number of clips per emotion and per speaker.
    emotions : sequence of str, default=("neutral", "happy", "sad", "angry")
        Emotion labels to generate, each from ``"neutral"``, ``"calm"``,
        ``"happy"``, ``"sad"``, ``"angry"``, ``"fear"``, ``"disgust"`` and
        ``"surprise"``.
    duration : float, default=2.0
        Length of every clip in seconds; it is exact (``round(duration *
        sr)`` samples) whatever the speaking rate, which only changes how
        many syllables fit in it. Must be > 0.1.
    sr : int, default=22050
        Sampling rate in Hz, in [8000, 192000].
    out_dir : str or os.PathLike, default=None
        Directory to write the files into; created if missing, and existing
        files of the same name are overwritten. ``None`` creates a new
        directory with ``tempfile.mkdtemp(prefix="sklearn_ser_synth_")``,
        which the caller is responsible for removing.
    audio_format : {"wav", "flac", "ogg"}, default="wav"
        File format, written with soundfile: 16-bit PCM for wav and flac,
        Vorbis for ogg.
    as_frame : bool, default=False
        If True, also return the metadata as a pandas DataFrame in
        ``frame``.
    random_state : int, RandomState instance or None, default=None
        Seed of the generator. The same integer seed gives identical audio
        (and byte-identical wav and flac files; ogg files decode to the same
        samples but differ in the random Ogg stream serial number).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        filenames : ndarray of str of shape (n_files,)
            Absolute paths of the audio files, named
            ``synth_spk{speaker}_{emotion}_{index}.{audio_format}``, e.g.
            ``synth_spk01_angry_003.wav`` (index starts at 1).
        target : ndarray of str of shape (n_files,)
            Emotion label of each file.
        speaker : ndarray of str of shape (n_files,)
            Speaker id of each file, e.g. ``"synth_spk01"``.
        gender : ndarray of str of shape (n_files,)
            ``"female"`` or ``"male"``.
        corpus : ndarray of str of shape (n_files,)
            Always ``"synthetic"``.
        target_names : list of str
            Sorted unique emotion labels.
        frame : pandas.DataFrame of shape (n_files, 5)
            Only when ``as_frame=True``: columns ``filename``, ``target``,
            ``speaker``, ``gender`` and ``corpus``.
        DESCR : str
            Description of the data set, stating that it is synthetic.

    Raises
    ------
    ValueError
        If an emotion label is unknown or duplicated, or if another argument
        is out of range.

    Notes
    -----
    ``n_files = n_speakers * len(emotions) * n_clips_per_emotion``; files
    are ordered by speaker, then emotion (in the given order), then index.
    The default call (64 clips of 2 s) takes a fraction of a second.

    Examples
    --------
    >>> from sklearn_ser.datasets import make_emotional_speech
    >>> data = make_emotional_speech(n_speakers=2, n_clips_per_emotion=1,
    ...                              random_state=0)  # doctest: +SKIP
    >>> data.target  # doctest: +SKIP
    array(['neutral', 'happy', 'sad', 'angry', 'neutral', 'happy', 'sad',
           'angry'], dtype='<U7')
    """
    emotions, fmt = _check_args(
        n_speakers, n_clips_per_emotion, emotions, duration, sr, audio_format
    )
    rng = check_random_state(random_state)

    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix="sklearn_ser_synth_")
    out_dir = os.path.abspath(os.fspath(out_dir))
    os.makedirs(out_dir, exist_ok=True)

    n = int(round(duration * sr))
    spk_width = max(2, len(str(n_speakers)))
    idx_width = max(3, len(str(n_clips_per_emotion)))

    # Draw all speakers first so that their traits do not depend on how
    # many clips each one gets.
    speakers = []
    for i in range(n_speakers):
        female = i % 2 == 0
        speakers.append(
            {
                "id": f"synth_spk{i + 1:0{spk_width}d}",
                "gender": "female" if female else "male",
                "f0": rng.uniform(190.0, 230.0) if female else rng.uniform(100.0, 130.0),
                # Shorter vocal tracts (women) have higher formants.
                "formant_scale": (rng.uniform(1.12, 1.20) if female else rng.uniform(0.95, 1.03)),
                "rate": rng.uniform(0.9, 1.1),
                "gain": rng.uniform(0.8, 1.15),
            }
        )

    filenames, targets, spk_ids, genders = [], [], [], []
    subtype = _FORMATS[fmt]
    for spk in speakers:
        for emotion in emotions:
            pros = _PROSODY[emotion]
            for k in range(n_clips_per_emotion):
                y = _synthesize_clip(pros, spk, n, sr, rng)
                name = f"{spk['id']}_{emotion}_{k + 1:0{idx_width}d}.{fmt}"
                path = os.path.join(out_dir, name)
                # Written under a temporary name, then moved: a reader (or a run cut
                # short) never sees half a file under the final name.
                with atomic_path(path) as tmp:
                    sf.write(tmp, y, sr, subtype=subtype)
                filenames.append(path)
                targets.append(emotion)
                spk_ids.append(spk["id"])
                genders.append(spk["gender"])

    n_female = sum(s["gender"] == "female" for s in speakers)
    descr = _DESCR.format(
        n_speakers=n_speakers,
        n_female=n_female,
        n_male=n_speakers - n_female,
        n_clips=n_clips_per_emotion,
        emotions=", ".join(emotions),
        duration=n / sr,
        sr=sr,
        audio_format=fmt,
        n_files=len(filenames),
    )
    bunch = Bunch(
        filenames=np.asarray(filenames, dtype=str),
        target=np.asarray(targets, dtype=str),
        speaker=np.asarray(spk_ids, dtype=str),
        gender=np.asarray(genders, dtype=str),
        corpus=np.full(len(filenames), "synthetic"),
        target_names=sorted(set(emotions)),
        DESCR=descr,
    )
    if as_frame:
        import pandas as pd  # optional dependency, only needed here

        bunch.frame = pd.DataFrame(
            {
                "filename": bunch.filenames,
                "target": bunch.target,
                "speaker": bunch.speaker,
                "gender": bunch.gender,
                "corpus": bunch.corpus,
            }
        )
    return bunch
