"""Recording conditions: each degradation does what its name says, measured independently."""

import numpy as np
import pytest
import scipy.signal

from sklearn_ser import conditions

SR = 16000


def _speech_like(seconds=1.0, seed=0):
    """A voiced tone train with pauses: active frames and silent ones, like speech."""
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)  # 3 syllables a second
    y = envelope * (np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 360 * t))
    return (0.3 * y + 1e-4 * rng.normal(size=t.size)).astype(np.float32)


def _band_power(y, low, high):
    freqs, power = scipy.signal.welch(y, fs=SR, nperseg=1024)
    return power[(freqs >= low) & (freqs < high)].sum()


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
@pytest.mark.parametrize("color", ["white", "pink", "brown"])
def test_noise_is_added_at_the_requested_snr_against_active_speech(color, snr_db):
    y = _speech_like()
    out = conditions.degrade(y, color, sr=SR, rng=np.random.RandomState(0), snr_db=snr_db)
    noise = out.astype(np.float64) - y
    # Active speech level computed here: frames of 400 samples within 30 dB of the loudest.
    frames = y[: len(y) // 400 * 400].astype(np.float64).reshape(-1, 400)
    power = (frames**2).mean(axis=1)
    active = power[power >= power.max() / 1000].mean()
    measured = 10 * np.log10(active / np.mean(noise**2))
    assert measured == pytest.approx(snr_db, abs=0.01)
    assert out.dtype == np.float32 and out.shape == y.shape


def test_noise_colours_have_their_spectral_slopes():
    rng = np.random.RandomState(0)
    slopes = {}
    for color in ("white", "pink", "brown"):
        noise = conditions.colored_noise(2**16, color=color, rng=rng)
        assert np.mean(noise.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-5)
        # Power in 1-2 kHz against 100-200 Hz: the same octave width, so 1/f**a gives 10**-a.
        ratio = _band_power(noise, 1000, 2000) / _band_power(noise, 100, 200)
        slopes[color] = -np.log10(ratio)
    assert slopes["white"] == pytest.approx(-1.0, abs=0.15)  # white: 10x more bins, same level
    assert slopes["pink"] == pytest.approx(0.0, abs=0.15)
    assert slopes["brown"] == pytest.approx(1.0, abs=0.15)


def test_babble_comes_from_the_other_talkers_only():
    y = np.zeros(SR, dtype=np.float32)
    talkers = [_speech_like(seed=s) * (s + 1) for s in range(3)]
    noise = conditions.babble_noise(talkers, SR, n_talkers=3, rng=np.random.RandomState(0))
    # Each talker normalised to unit active power before summing: the sum of three
    # tone trains of one shape, never silent, and not the (all-zero) clip itself.
    assert np.allclose(conditions.active_power(noise), 1.0)
    assert np.abs(noise).max() > 0
    out = conditions.degrade(y, "babble", sr=SR, rng=np.random.RandomState(0), others=talkers)
    np.testing.assert_array_equal(out, y)  # a silent clip has no level to set an SNR against
    with pytest.raises(ValueError, match="other speakers"):
        conditions.degrade(_speech_like(), "babble", sr=SR, rng=np.random.RandomState(0))


def test_telephone_keeps_the_band_and_removes_the_rest():
    rng = np.random.RandomState(0)
    y = (0.1 * rng.normal(size=2 * SR)).astype(np.float32)
    out = conditions.telephone(y, sr=SR)
    assert out.shape == y.shape
    inside = _band_power(out, 500, 3000) / _band_power(y, 500, 3000)
    above = _band_power(out, 4500, 7500) / _band_power(y, 4500, 7500)
    below = _band_power(out, 20, 120) / _band_power(y, 20, 120)
    assert inside > 0.5
    assert above < 1e-3  # nothing above the 8 kHz channel's Nyquist frequency
    assert below < 0.05


def test_reverb_adds_a_decaying_tail_and_keeps_the_level():
    click = np.zeros(SR, dtype=np.float32)
    click[100] = 1.0
    out = conditions.reverb(click, sr=SR, rt60=0.4, rng=np.random.RandomState(0))
    tail = out[200:].astype(np.float64)
    early = np.mean(tail[:800] ** 2)
    late = np.mean(tail[int(0.3 * SR):int(0.3 * SR) + 800] ** 2)
    # 0.3 s into a 0.4 s RT60 the tail has decayed by about 60 * 0.3 / 0.4 = 45 dB.
    assert 10 * np.log10(early / late) == pytest.approx(45, abs=8)
    speech = _speech_like()
    wet = conditions.reverb(speech, sr=SR, rt60=0.5, rng=np.random.RandomState(0))
    assert conditions.active_power(wet) == pytest.approx(conditions.active_power(speech),
                                                          rel=1e-3)


def test_codec_round_trip_is_lossy_but_close():
    y = _speech_like()
    out = conditions.codec(y, sr=SR)
    assert out.shape == y.shape and not np.array_equal(out, y)
    error = np.mean((out.astype(np.float64) - y) ** 2) / np.mean(y.astype(np.float64) ** 2)
    assert error < 0.5


def test_same_seed_same_degradation_and_unknown_names_refused():
    y = _speech_like()
    for name in ("white", "pink", "reverb", "telephone", "codec"):
        a = conditions.degrade(y, name, sr=SR, rng=np.random.RandomState(3))
        b = conditions.degrade(y, name, sr=SR, rng=np.random.RandomState(3))
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown condition 'hum'"):
        conditions.degrade(y, "hum", sr=SR, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="unknown noise colour"):
        conditions.colored_noise(10, color="blue", rng=np.random.RandomState(0))
