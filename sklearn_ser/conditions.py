"""Recording conditions: what real recordings do to speech, as functions of a waveform.

Users predict on phone calls, meetings and rooms, not on clean studio clips. The
functions here imitate those conditions - additive noise of several colours and
babble at a chosen signal-to-noise ratio, a telephone channel, room reverberation,
a lossy codec, gain. One definition serves two purposes:

* training views (:class:`~sklearn_ser.WaveformAugmenter`, fit only), so a model
  learns from speech that looks like what it will meet;
* degraded test copies in ``benchmarks/bench_robustness.py``, so robustness is
  measured with exactly the conditions named in the docs.

Every function takes and returns a mono float32 waveform of unchanged length; the
random ones take a ``numpy.random.RandomState`` so results repeat.

SNR is measured against the speech's *active* level: the mean power of the frames
within 30 dB of the loudest (a simplification of ITU-T P.56), so that leading and
trailing silence do not make the noise quieter than the name says.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import scipy.signal
import soundfile as sf

from sklearn_ser._librosa_mirror import resample

#: Conditions :func:`degrade` knows, in the order the docs list them.
CONDITIONS = ("white", "pink", "brown", "babble", "telephone", "reverb", "codec", "gain")
#: Additive noises whose level is set by an SNR.
NOISES = ("white", "pink", "brown", "babble")

# Spectral slope of each noise colour: power ~ 1 / f**alpha.
_COLOR_ALPHA = {"white": 0.0, "pink": 1.0, "brown": 2.0}
# Telephone band (ITU-T G.712) and rate.
_PHONE_BAND_HZ = (300.0, 3400.0)
_PHONE_SR = 8000
# Frames within this many dB of the loudest count as active speech for the SNR.
_ACTIVE_DB = 30.0
_FRAME = 400


def active_power(y: np.ndarray) -> float:
    """Mean power of the frames within 30 dB of the loudest frame (active speech level).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    power : float
        0.0 for a silent signal.
    """
    y = np.asarray(y, dtype=np.float64)
    n_frames = max(1, len(y) // _FRAME)
    frames = y[: n_frames * _FRAME].reshape(n_frames, -1) if len(y) >= _FRAME else y[None, :]
    power = np.mean(frames**2, axis=1)
    peak = power.max(initial=0.0)
    if peak <= 0:
        return 0.0
    return float(power[power >= peak * 10 ** (-_ACTIVE_DB / 10)].mean())


def colored_noise(n_samples: int, *, color: str, rng: np.random.RandomState) -> np.ndarray:
    """Gaussian noise of unit power with a 1/f**alpha spectrum (white, pink or brown).

    Parameters
    ----------
    n_samples : int
    color : {"white", "pink", "brown"}
    rng : numpy.random.RandomState

    Returns
    -------
    noise : ndarray of shape (n_samples,), float32
    """
    if color not in _COLOR_ALPHA:
        raise ValueError(f"unknown noise colour {color!r}; known: {', '.join(_COLOR_ALPHA)}")
    white = rng.standard_normal(n_samples)
    if color != "white":
        spectrum = np.fft.rfft(white)
        freqs = np.arange(len(spectrum), dtype=float)
        freqs[0] = freqs[1] if len(freqs) > 1 else 1.0  # no infinite DC gain
        spectrum *= freqs ** (-_COLOR_ALPHA[color] / 2)
        white = np.fft.irfft(spectrum, n=n_samples)
    power = np.mean(white**2)
    return (white / np.sqrt(power) if power > 0 else white).astype(np.float32)


def babble_noise(
    others: Sequence[np.ndarray], n_samples: int, *, n_talkers: int,
    rng: np.random.RandomState,
) -> np.ndarray:
    """Several other talkers at once: random crops of ``others``, each at equal level.

    Parameters
    ----------
    others : sequence of ndarray
        Speech of *other* speakers (never the clip the babble is added to).
    n_samples : int
    n_talkers : int
        Talkers summed (clips drawn without replacement when enough).
    rng : numpy.random.RandomState

    Returns
    -------
    noise : ndarray of shape (n_samples,), float32, unit active power
    """
    usable = [o for o in others if len(o) > 0 and active_power(o) > 0]
    if not usable:
        raise ValueError("babble needs speech of other speakers; none was given")
    picks = rng.choice(len(usable), size=n_talkers, replace=len(usable) < n_talkers)
    out = np.zeros(n_samples)
    for i in picks:
        talker = np.asarray(usable[i], dtype=np.float64)
        talker = talker / np.sqrt(active_power(talker))
        # Loop short clips and start at a random point, so talkers do not start together.
        reps = int(np.ceil((n_samples + len(talker)) / len(talker)))
        start = rng.randint(len(talker))
        out += np.tile(talker, reps)[start:start + n_samples]
    power = active_power(out)
    return (out / np.sqrt(power) if power > 0 else out).astype(np.float32)


def mix_at_snr(y: np.ndarray, noise: np.ndarray, *, snr_db: float) -> np.ndarray:
    """Add ``noise`` to ``y`` scaled to ``snr_db`` against the speech's active level.

    Parameters
    ----------
    y, noise : ndarray of shape (n_samples,)
    snr_db : float

    Returns
    -------
    mixed : ndarray of shape (n_samples,), float32
    """
    speech = active_power(y)
    noise_power = np.mean(np.asarray(noise, dtype=np.float64) ** 2)
    if speech <= 0 or noise_power <= 0:
        return np.asarray(y, dtype=np.float32)
    scale = np.sqrt(speech / (noise_power * 10 ** (snr_db / 10)))
    return (y + scale * noise).astype(np.float32)


def telephone(y: np.ndarray, *, sr: int) -> np.ndarray:
    """A narrow-band telephone channel: 300-3400 Hz, 8 kHz, G.711 mu-law, and back to ``sr``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sr : int
        Sample rate of ``y`` (and of the result).

    Returns
    -------
    y_phone : ndarray of shape (n_samples,), float32
    """
    y = np.asarray(y, dtype=np.float32)
    narrow = resample(y, orig_sr=sr, target_sr=_PHONE_SR) if sr != _PHONE_SR else y
    sos = scipy.signal.butter(4, _PHONE_BAND_HZ, btype="bandpass", fs=_PHONE_SR, output="sos")
    narrow = scipy.signal.sosfilt(sos, narrow)
    narrow = _mu_law(narrow)
    back = resample(narrow.astype(np.float32), orig_sr=_PHONE_SR, target_sr=sr)
    return _same_length(back, len(y))


def _mu_law(y: np.ndarray, mu: int = 255) -> np.ndarray:
    """Companding and 8-bit quantisation of G.711 (signal peak-normalised first, then restored)."""
    peak = np.max(np.abs(y), initial=0.0)
    if peak <= 0:
        return y
    x = y / peak
    coded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    coded = np.round(coded * 127) / 127
    return peak * np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu


def reverb(y: np.ndarray, *, sr: int, rt60: float, rng: np.random.RandomState) -> np.ndarray:
    """Room reverberation from a synthetic impulse response with decay time ``rt60`` seconds.

    The impulse response is a direct path followed by exponentially decaying
    Gaussian noise (60 dB of decay in ``rt60`` s), a standard stand-in for a
    measured room. The output keeps the input's active level.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sr : int
    rt60 : float
        Seconds for the reverberant tail to decay by 60 dB (0.2 a small office,
        0.8 a large room).
    rng : numpy.random.RandomState

    Returns
    -------
    y_room : ndarray of shape (n_samples,), float32
    """
    if rt60 <= 0:
        return np.asarray(y, dtype=np.float32)
    t = np.arange(int(rt60 * sr)) / sr
    impulse = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)  # ln(1000) = 6.9
    impulse[0] = 1.0 + abs(impulse[0])
    wet = scipy.signal.fftconvolve(np.asarray(y, dtype=np.float64), impulse)[: len(y)]
    return _matched_level(wet, y)


def codec(y: np.ndarray, *, sr: int, quality: float = 0.2) -> np.ndarray:
    """A round trip through the Ogg Vorbis codec at ``quality`` (0 worst, 1 best).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sr : int
    quality : float, default=0.2

    Returns
    -------
    y_coded : ndarray of shape (n_samples,), float32
    """
    buffer = io.BytesIO()
    # libsndfile's compression_level is the inverse of Vorbis quality.
    sf.write(buffer, np.clip(y, -1, 1), sr, format="OGG", subtype="VORBIS",
             compression_level=float(np.clip(1.0 - quality, 0.0, 1.0)))
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="float32")
    return _same_length(decoded, len(y))


def change_gain(y: np.ndarray, *, gain_db: float) -> np.ndarray:
    """Scale the waveform by ``gain_db`` decibels.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    gain_db : float

    Returns
    -------
    y_gain : ndarray of shape (n_samples,), float32
    """
    return (np.asarray(y) * 10.0 ** (gain_db / 20.0)).astype(np.float32)


def degrade(
    y: np.ndarray,
    condition: str,
    *,
    sr: int,
    rng: np.random.RandomState,
    snr_db: float = 10.0,
    rt60: float = 0.5,
    gain_db: float = 0.0,
    others: Sequence[np.ndarray] | None = None,
    n_talkers: int = 4,
) -> np.ndarray:
    """Apply one named recording condition to a waveform.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    condition : str
        One of :data:`CONDITIONS`.
    sr : int
        Sample rate of ``y``.
    rng : numpy.random.RandomState
    snr_db : float, default=10.0
        Signal-to-noise ratio of the additive noises (:data:`NOISES`).
    rt60 : float, default=0.5
        Reverberation time of ``"reverb"``.
    gain_db : float, default=0.0
        Gain of ``"gain"``.
    others : sequence of ndarray, default=None
        Other speakers' speech, required by ``"babble"``.
    n_talkers : int, default=4
        Talkers in the babble.

    Returns
    -------
    y_degraded : ndarray of shape (n_samples,), float32
    """
    if condition in _COLOR_ALPHA:
        return mix_at_snr(y, colored_noise(len(y), color=condition, rng=rng), snr_db=snr_db)
    if condition == "babble":
        if others is None:
            raise ValueError("condition 'babble' needs other speakers' speech (others=)")
        noise = babble_noise(others, len(y), n_talkers=n_talkers, rng=rng)
        return mix_at_snr(y, noise, snr_db=snr_db)
    if condition == "telephone":
        return telephone(y, sr=sr)
    if condition == "reverb":
        return reverb(y, sr=sr, rt60=rt60, rng=rng)
    if condition == "codec":
        return codec(y, sr=sr)
    if condition == "gain":
        return change_gain(y, gain_db=gain_db)
    raise ValueError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")


def _same_length(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def _matched_level(wet: np.ndarray, dry: np.ndarray) -> np.ndarray:
    dry_power, wet_power = active_power(dry), active_power(wet)
    if wet_power > 0 and dry_power > 0:
        wet = wet * np.sqrt(dry_power / wet_power)
    return wet.astype(np.float32)
