"""Trimming to the speech: noisy recordings are cut like clean ones."""

import numpy as np
import pytest

from sklearn_ser import conditions
from sklearn_ser.audio import AudioLoader, trim_silence, trim_to_speech

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
    assert abs(len(ours) - SR) < 0.1 * SR  # 1 s of speech, give or take 100 ms
    # And it is the speech: the kept part starts where the speech starts.
    start = np.flatnonzero(noisy == ours[0])
    assert np.any(np.abs(start - SR) < 0.1 * SR)


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
