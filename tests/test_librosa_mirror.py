"""Every re-implementation of a librosa internal equals the librosa function it mirrors.

One test (or more) per function of :mod:`sklearn_ser._librosa_mirror`, each
against the librosa (or scipy) call named in its docstring, on synthesized
signals: harmonic tones with vibrato and noise, silence, and the synthetic
speech clips of the fixtures.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.ndimage

from sklearn_ser import AudioLoader
from sklearn_ser import _librosa_mirror as M

SR = 22050


def _max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference, relative to the block's largest magnitude."""
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def _voice(seed: int, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    """A voiced-like float32 signal: 8 harmonics of a gliding pitch with vibrato, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = rng.uniform(110, 260) * (1 + 0.1 * t) * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 9)) * 0.2
    y += rng.normal(scale=0.01, size=t.size)
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def waves(synthetic_speech):
    """Three synthetic clips (1 s each) as waveforms."""
    return AudioLoader().fit_transform(list(synthetic_speech.filenames[:3]))


# -- loading: what every clip goes through -----------------------------------------------
def _speech_with_silence(seed, n=30000, sr=22050):
    rng = np.random.RandomState(seed)
    y = np.zeros(n, dtype=np.float32)
    start, stop = rng.randint(0, n // 3), rng.randint(2 * n // 3, n)
    t = np.arange(stop - start) / sr
    y[start:stop] = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + rng.normal(size=t.size) * 0.2))
    y += rng.normal(scale=10 ** rng.uniform(-6, -3), size=n).astype(np.float32)
    return y


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("top_db", [20.0, 30.0, 60.0])
def test_trim_silence_equals_librosa(seed, top_db):
    y = _speech_with_silence(seed)
    np.testing.assert_array_equal(M.trim_silence(y, top_db=top_db),
                                  librosa.effects.trim(y, top_db=top_db)[0])


def test_trim_silence_of_silence_is_empty():
    assert M.trim_silence(np.zeros(5000, np.float32), top_db=30).size == \
        librosa.effects.trim(np.zeros(5000, np.float32), top_db=30)[0].size


@pytest.mark.parametrize("rates", [(48000, 22050), (48000, 16000), (44100, 16000),
                                   (8000, 22050), (22050, 16000), (16000, 16000)])
def test_resample_equals_librosa(rates):
    orig, target = rates
    y = _speech_with_silence(3, n=orig + 123)
    np.testing.assert_array_equal(M.resample(y, orig_sr=orig, target_sr=target),
                                  librosa.resample(y, orig_sr=orig, target_sr=target))


def test_audio_reexports_the_loading_mirrors():
    from sklearn_ser import audio

    assert audio.resample is M.resample and audio.trim_silence is M.trim_silence


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4096])
def test_fix_length_equals_librosa(size):
    y = _voice(0, seconds=1000 / SR)
    got = M.fix_length(y, size)
    np.testing.assert_array_equal(got, librosa.util.fix_length(y, size=size))
    assert got.dtype == y.dtype


# -- the spectrogram features -----------------------------------------------------------
@pytest.mark.parametrize("n_fft, n_mels", [(2048, 128), (1024, 40)])
def test_mel_power_equals_librosa(n_fft, n_mels):
    power = np.abs(librosa.stft(_voice(1), n_fft=n_fft)) ** 2
    expected = librosa.feature.melspectrogram(S=power, sr=SR, n_fft=n_fft, n_mels=n_mels)
    np.testing.assert_array_equal(M.mel_filters(SR, n_fft, n_mels),
                                  librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=n_mels))
    got = M.mel_power(power, sr=SR, n_fft=n_fft, n_mels=n_mels)
    assert _max_relative_difference(got, expected) <= 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_chroma_stft_equals_librosa(seed):
    power = np.abs(librosa.stft(_voice(seed))) ** 2
    tuning = M.estimate_tuning(power, sr=SR, bins_per_octave=12)
    expected = librosa.feature.chroma_stft(S=power, sr=SR, tuning=tuning)
    np.testing.assert_array_equal(M.chroma_filters(SR, 2048, tuning),
                                  librosa.filters.chroma(sr=SR, n_fft=2048, tuning=tuning))
    got = M.chroma_stft(power, sr=SR, n_fft=2048, tuning=tuning)
    assert _max_relative_difference(got, expected) <= 1e-6


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("bins_per_octave", [12, 36])
def test_estimate_tuning_equals_librosa_on_synthesized_voices(seed, bins_per_octave):
    # Detuned by up to half a semitone, so that the estimates spread over the range.
    y = librosa.effects.pitch_shift(_voice(seed), sr=SR, n_steps=(seed - 1.5) / 3)
    for spec in (np.abs(librosa.stft(y)), np.abs(librosa.stft(y)) ** 2):
        expected = librosa.estimate_tuning(S=spec, sr=SR, bins_per_octave=bins_per_octave)
        assert M.estimate_tuning(spec, sr=SR, bins_per_octave=bins_per_octave) == expected


def test_estimate_tuning_of_silence_equals_librosa():
    spec = np.zeros((1025, 20), dtype=np.float32)
    with pytest.warns(UserWarning, match="Trying to estimate tuning"):
        expected = librosa.estimate_tuning(S=spec, sr=SR)
    with pytest.warns(UserWarning, match="Trying to estimate tuning"):
        assert M.estimate_tuning(spec, sr=SR, bins_per_octave=12) == expected


# -- the pieces of the faithful tonnetz --------------------------------------------------
@pytest.mark.filterwarnings("ignore:n_fft=.* is too large")
def test_faithful_parts_match_librosa(waves):
    """The pieces the faithful path re-implements for speed, each against librosa."""
    y = np.asarray(waves[0])
    magnitude = np.abs(librosa.stft(y))
    # HPSS harmonic mask: the median filters are exact, so the mask is too.
    mask = librosa.decompose.hpss(magnitude, mask=True)[0]
    np.testing.assert_array_equal(M.harmonic_mask(magnitude, kernel=31), mask)
    # Tuning estimates (used by chroma_stft and by the CQT) are the same number.
    for spec, bpo in ((magnitude**2, 12), (magnitude, 36)):
        expected = librosa.estimate_tuning(S=spec, sr=SR, bins_per_octave=bpo)
        assert M.estimate_tuning(spec, sr=SR, bins_per_octave=bpo) == expected
    # The CQT with filter bases built once and shared across octaves.
    for tuning in (0.0, -0.17, 0.33):
        expected = np.abs(librosa.cqt(y, sr=SR, n_bins=252, bins_per_octave=36, tuning=tuning))
        got = M.cqt_magnitude(y, sr=SR, hop_length=512, tuning=tuning)
        assert _max_relative_difference(got, expected) <= 1e-6


@pytest.mark.parametrize("shape", [(1025, 40), (40, 9), (7, 5), (33, 1), (1, 12)])
@pytest.mark.parametrize("size", [31, 17, 3, 1])
def test_median_filter_equals_scipy(shape, size):
    rng = np.random.default_rng(size)
    x = rng.random(shape, dtype=np.float32)
    x[::3] = 0.5  # ties
    x[:, ::4] = 0.0
    expected = scipy.ndimage.median_filter(x, size=(size, 1), mode="reflect")
    np.testing.assert_array_equal(M.median_filter(x, size), expected)


@pytest.mark.parametrize("n", [1, 2, 5, 31])
def test_reflect_is_scipys_reflect_border(n):
    # scipy.ndimage's "reflect" (d c b a | a b c d) is numpy.pad's "symmetric".
    i = np.arange(-3 * n, 4 * n)
    expected = np.pad(np.arange(n), 3 * n, mode="symmetric")
    np.testing.assert_array_equal(M.reflect(i, n), expected[: 7 * n])


@pytest.mark.parametrize("seed", range(2))
def test_harmonic_mask_equals_librosa_on_synthesized_voices(seed):
    magnitude = np.abs(librosa.stft(_voice(seed, seconds=2.0)))
    expected = librosa.decompose.hpss(magnitude, kernel_size=31, mask=True)[0]
    np.testing.assert_array_equal(M.harmonic_mask(magnitude, kernel=31), expected)


def test_cq_to_chroma_equals_librosa():
    np.testing.assert_array_equal(
        M.cq_to_chroma(252), librosa.filters.cq_to_chroma(252, bins_per_octave=36, n_chroma=12)
    )


def test_relative_bandwidth_equals_librosa_and_its_fallback():
    freqs = librosa.interval_frequencies(252, fmin=librosa.note_to_hz("C1"), intervals="equal",
                                         bins_per_octave=36, sort=True)
    got = M.relative_bandwidth(freqs)
    np.testing.assert_array_equal(got, librosa.filters._relative_bandwidth(freqs=freqs))
    # The value used where librosa lacks the helper: the same for equal-tempered bins.
    r = 2.0 ** (1.0 / 36)
    np.testing.assert_allclose(got, (r**2 - 1) / (r**2 + 1), rtol=1e-12)


def test_parabolic_interpolation_is_librosas():
    from librosa.core.pitch import _parabolic_interpolation

    assert M.parabolic_interpolation() is _parabolic_interpolation


@pytest.mark.parametrize("quantile", [0.01, 0.2])
def test_sparsify_rows_equals_librosa(quantile):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(36, 513)) + 1j * rng.normal(size=(36, 513))).astype(np.complex64)
    x[:, ::7] = 0  # ties at the threshold
    expected = librosa.util.sparsify_rows(x, quantile=quantile, dtype=np.complex64)
    got = M.sparsify_rows(x, quantile=quantile)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.toarray(), expected.toarray())


@pytest.mark.parametrize("sr", [22050.0, 11025.0, 2756.25])
def test_cqt_filter_fft_equals_librosas_vqt_filter_fft(sr):
    from librosa.core import constantq

    vqt_filter_fft = getattr(constantq, "__vqt_filter_fft")  # private, name-mangled
    freqs = librosa.interval_frequencies(252, fmin=librosa.note_to_hz("C1"), intervals="equal",
                                         bins_per_octave=36, sort=True)[-36:] * sr / 22050.0
    alpha = M.relative_bandwidth(freqs)
    basis, n_fft = M.cqt_filter_fft(sr, freqs, alpha)
    expected, expected_n_fft, _ = vqt_filter_fft(sr, freqs, 1, 1, 0.01, window="hann",
                                                 gamma=0, alpha=alpha)
    assert n_fft == expected_n_fft
    np.testing.assert_array_equal(basis.toarray(), expected.toarray())


@pytest.mark.filterwarnings("ignore:n_fft=.* is too large")
@pytest.mark.parametrize("hop_length", [512, 256, 384])
def test_cqt_magnitude_equals_librosa_on_synthesized_voices(hop_length):
    # An odd multiple of 128 (384) stops librosa's octave downsampling early.
    y = _voice(2)
    expected = np.abs(librosa.cqt(y, sr=SR, hop_length=hop_length, n_bins=252,
                                  bins_per_octave=36, tuning=0.12))
    got = M.cqt_magnitude(y, sr=SR, hop_length=hop_length, tuning=0.12)
    assert _max_relative_difference(got, expected) <= 1e-6


@pytest.mark.filterwarnings("ignore:n_fft=.* is too large")
@pytest.mark.parametrize("seed", range(2))
def test_cqt_tonnetz_equals_librosa(seed):
    y = _voice(seed)
    tuning = M.estimate_tuning(np.abs(librosa.stft(y)), sr=SR, bins_per_octave=36)
    expected = librosa.feature.tonnetz(y=y, sr=SR)  # estimates the same tuning itself
    got = M.cqt_tonnetz(y, sr=SR, hop_length=512, tuning=tuning)
    assert _max_relative_difference(got, expected) <= 1e-5
