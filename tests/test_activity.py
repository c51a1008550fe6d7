"""Trimming to the speech: noisy recordings are cut like clean ones."""

import numpy as np
import pytest

from sklearn_ser import conditions
from sklearn_ser.audio import AudioLoader, trim_silence, trim_to_speech
from sklearn_ser.audio._activity import _foreground_span, frame_energies_db, otsu_threshold

SR = 16000


def _padded_speech(seed=0):
    """1 s of speech-like sound between 1 s of silence before and after."""
    t = np.arange(SR) / SR
    voiced = 0.3 * np.sin(2 * np.pi * 200 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return np.concatenate([np.zeros(SR), voiced, np.zeros(SR)]).astype(np.float32)


def test_clean_clip_is_trimmed_like_librosa_trim():
    y = _padded_speech()
    ours = trim_to_speech(y, sr=SR, top_db=30.0, floor_db=6.0)
    peak_only = trim_silence(y, top_db=30.0)
    # Same speech, edges within one of the larger (2048-sample) frames.
    assert abs(len(ours) - len(peak_only)) <= 2048
    assert abs(len(ours) - SR) <= 2048


@pytest.mark.parametrize("snr_db", [20.0, 10.0])
def test_noisy_clip_is_cut_to_its_speech(snr_db):
    noisy = conditions.degrade(_padded_speech(), "white", sr=SR,
                               rng=np.random.RandomState(0), snr_db=snr_db)
    peak_only = trim_silence(noisy, top_db=30.0)
    ours = trim_to_speech(noisy, sr=SR, top_db=30.0, floor_db=6.0)
    assert len(peak_only) > 2.9 * SR  # the noise is within 30 dB of the peak: nothing cut
    _assert_is_the_speech(noisy, ours)


def _assert_is_the_speech(noisy, kept, start=SR, length=SR):
    """``kept`` is ``noisy[start:start + length]`` give or take 150 ms at each edge (the
    200 ms averaging of noisy recordings moves an edge by up to half its length)."""
    offset = _offset(kept, noisy)
    assert abs(offset - start) < 0.15 * SR
    assert abs(offset + len(kept) - (start + length)) < 0.15 * SR


def _offset(kept, whole):
    """Where the view ``kept`` starts in ``whole`` (trimming returns a view)."""
    assert np.shares_memory(kept, whole)
    return (kept.__array_interface__["data"][0] - whole.__array_interface__["data"][0]) \
        // whole.itemsize


def _talker(pitch, rng, seconds):
    """A voice that comes and goes: 150-350 ms syllables, with pauses between them."""
    t = np.arange(int(seconds * SR)) / SR
    gate = np.zeros_like(t)
    at = rng.uniform(0, 0.2)
    while at < seconds:
        length = rng.uniform(0.15, 0.35)
        gate[(t >= at) & (t < at + length)] = rng.uniform(0.5, 1.0)
        at += length + rng.uniform(0.05, 0.3)
    return np.sin(2 * np.pi * pitch * t * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) * gate


def test_babble_around_the_speech_is_cut():
    """Other talkers before, under and after 1 s of speech, 10 dB below it. A margin over
    the noise floor is not enough: the talkers' syllables rise far above it (that rule
    alone kept 1.7 s here, from 0.3 s before the speech)."""
    rng = np.random.RandomState(0)
    others = [_talker(pitch, rng, 3.0) for pitch in (140.0, 180.0, 230.0, 300.0)]
    noisy = conditions.mix_at_snr(_padded_speech(), conditions.babble_noise(
        others, 3 * SR, n_talkers=4, rng=rng), snr_db=10.0)
    assert len(trim_silence(noisy, top_db=30.0)) > 2.9 * SR
    _assert_is_the_speech(noisy, trim_to_speech(noisy, sr=SR, top_db=30.0, floor_db=6.0))


@pytest.mark.parametrize("seconds", [0.02, 0.05, 0.1, 0.25])
def test_short_noisy_clips_keep_their_loud_part(seconds):
    """Shorter than the 200 ms average: the average covers the clip, nothing breaks."""
    n = int(seconds * SR)
    rng = np.random.RandomState(0)
    y = (0.01 * rng.randn(n)).astype(np.float32)
    y[n // 4: n // 2] += 0.3 * np.sin(2 * np.pi * 200 * np.arange(n // 2 - n // 4) / SR)
    kept = trim_to_speech(y, sr=SR, top_db=30.0, floor_db=6.0)
    assert 0 < len(kept) <= n
    loudest = int(np.argmax(np.abs(y)))
    offset = _offset(kept, y)
    assert offset <= loudest < offset + len(kept)
    db, _, _ = frame_energies_db(y, sr=SR)
    first, last = _foreground_span(db, top_db=30.0)
    assert 0 <= first <= last < len(db)  # frame indices of this clip, not of the average


def test_otsu_threshold_splits_two_levels_like_a_brute_force_search():
    rng = np.random.RandomState(0)
    values = np.concatenate([rng.normal(-40.0, 2.0, 600), rng.normal(-12.0, 3.0, 300)])

    def between_class_variance(threshold):  # on the values themselves, not a histogram
        low, high = values[values <= threshold], values[values > threshold]
        return len(low) * len(high) * (low.mean() - high.mean()) ** 2 / len(values) ** 2

    candidates = np.histogram_bin_edges(values, bins=64)[1:-1]
    best = max(between_class_variance(c) for c in candidates)
    threshold = otsu_threshold(values)
    assert between_class_variance(threshold) == pytest.approx(best, rel=1e-9)
    assert -36.0 < threshold < -18.0  # between the two levels


def test_silent_clip_gives_nothing():
    assert trim_to_speech(np.zeros(SR, dtype=np.float32), sr=SR, top_db=30.0,
                          floor_db=6.0).size == 0


def test_loader_applies_it_only_when_asked(tmp_path):
    import soundfile as sf

    noisy = conditions.degrade(_padded_speech(), "white", sr=SR,
                               rng=np.random.RandomState(1), snr_db=10.0)
    path = tmp_path / "noisy.wav"
    sf.write(path, noisy, SR)
    plain = AudioLoader(sr=SR, trim_db=30.0).fit_transform([str(path)])[0]
    floor = AudioLoader(sr=SR, trim_db=30.0, trim_floor_db=6.0).fit_transform([str(path)])[0]
    assert len(plain) > 2.9 * SR and abs(len(floor) - SR) < 0.1 * SR
    with pytest.raises(ValueError, match="trim_floor_db"):
        AudioLoader(sr=SR, trim_db=30.0, trim_floor_db=-1.0).fit_transform([str(path)])
