"""AudioLoader / load_audio: formats, rates, channels, cropping, and every kind of bad file."""

from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sklearn_ser import AudioFileError, AudioLoader, load_audio
from sklearn_ser.audio import check_paths, stream_audio

SR = 22050


@pytest.mark.parametrize(
    "name, seconds",
    [("mono_22050.wav", 1.0), ("stereo_44100.flac", 1.0), ("mono_16000.ogg", 1.0)],
)
def test_any_format_and_rate_become_mono_at_target_rate(tone_files, name, seconds):
    y = load_audio(tone_files[name], sr=22050)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.size - seconds * 22050) <= 2  # soxr may round by a sample
    # The 220 Hz tone survives resampling: its spectrum peaks at 220 Hz.
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 22050 / y.size - 220) < 3


def test_stereo_is_mixed_down_by_averaging(tmp_path):
    sr = 22050
    left = 0.5 * np.sin(2 * np.pi * 300 * np.arange(sr) / sr)
    path = tmp_path / "lr.wav"
    sf.write(path, np.stack([left, np.zeros(sr)], axis=1), sr, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, sr=sr), left / 2, atol=1e-6)


def test_offset_and_fixed_duration_crop_and_pad(tone_files):
    path = tone_files["mono_22050.wav"]
    full = load_audio(path)
    cropped = load_audio(path, offset=0.25, duration=0.5)
    assert cropped.size == 11025
    np.testing.assert_array_equal(cropped, full[5512:5512 + 11025])
    padded = load_audio(path, offset=0.5, duration=2.0)
    assert padded.size == 44100
    assert np.all(padded[int(0.5 * 22050) + 2:] == 0)  # half a second of audio, then zeros


@pytest.mark.parametrize(
    "name, problem",
    [
        ("missing.wav", "file not found"),
        ("directory.wav", "is a directory"),
        ("empty.wav", "empty (0 bytes)"),
        ("text.wav", "cannot be decoded"),
        ("nan.wav", "NaN"),
        ("silent.wav", "silent"),
    ],
)
def test_bad_file_raises_naming_file_and_problem(tone_files, name, problem):
    with pytest.raises(AudioFileError) as info:
        load_audio(tone_files[name])
    assert name in str(info.value)
    assert problem in str(info.value)
    assert list(info.value.problems) == [str(tone_files[name])]


def test_clip_shorter_than_one_fft_frame(tone_files):
    loader = AudioLoader()  # min_duration=0.1 s by default
    with pytest.raises(AudioFileError, match=r"short\.wav: is too short: 0\.045 s"):
        loader.fit_transform([tone_files["short.wav"]])
    # Documented alternative: accept it; the feature step pads it.
    waves = AudioLoader(min_duration=0).fit_transform([tone_files["short.wav"]])
    assert waves[0].size == 1000


def test_loader_reports_all_bad_files_at_once(tone_files):
    names = ["mono_22050.wav", "missing.wav", "empty.wav", "silent.wav"]
    with pytest.raises(AudioFileError) as info:
        AudioLoader().fit_transform([tone_files[n] for n in names])
    assert sorted(Path(p).name for p in info.value.problems) == [
        "empty.wav", "missing.wav", "silent.wav",
    ]
    assert str(info.value).startswith("3 audio files cannot be used:")


@pytest.mark.parametrize("container", [list, np.array, pd.Series, lambda p: pd.DataFrame({"p": p})])
def test_loader_accepts_common_path_containers(tone_files, container):
    paths = [str(tone_files["mono_22050.wav"]), tone_files["mono_16000.ogg"]]
    if container is not list:
        paths = [str(p) for p in paths]
    waves = AudioLoader(sr=16000).fit_transform(container(paths))
    assert waves.shape == (2,) and waves.dtype == object
    assert waves[0].size == 16000 and waves[1].size == 16000


def test_parallel_loading_matches_serial(tone_files):
    paths = [tone_files[n] for n in ("mono_22050.wav", "stereo_44100.flac", "mono_16000.ogg")]
    serial = AudioLoader().fit_transform(paths)
    parallel = AudioLoader(n_jobs=2).fit_transform(paths)
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def test_single_path_and_non_paths_are_rejected(tone_files):
    with pytest.raises(TypeError, match="wrap it in a list"):
        check_paths(str(tone_files["mono_22050.wav"]))
    with pytest.raises(TypeError, match="file paths"):
        check_paths([1.5, 2.5])
    with pytest.raises(ValueError, match="'sr' parameter of AudioLoader must be an int in the "
                                         r"range \[1, inf\)\. Got -1"):
        AudioLoader(sr=-1).fit([tone_files["mono_22050.wav"]])


def test_trim_silence_then_fix_duration(tmp_path):
    sr = 22050
    tone = 0.5 * np.sin(2 * np.pi * 200 * np.arange(sr // 2) / sr)
    padded = np.concatenate([np.zeros(sr), tone, np.zeros(sr)]).astype(np.float32)
    path = tmp_path / "quiet_edges.wav"
    sf.write(path, padded, sr, subtype="FLOAT")
    trimmed = load_audio(path, trim_db=40)
    assert abs(trimmed.size - sr // 2) < 2048  # trim works frame by frame
    fixed = AudioLoader(trim_db=40, duration=1.0).fit_transform([path])[0]
    assert fixed.size == sr and np.abs(fixed[:2048]).max() > 0.1  # the tone starts within a frame


# -- resource limits (issue 10: 4) -------------------------------------------------------
def _one_hertz_wav(path: Path) -> Path:
    """8 KB of samples whose header says 1 Hz: 4000 s (66 min) of 'audio'."""
    sf.write(path, np.full(4000, 1000, dtype=np.int16), 1, subtype="PCM_16")
    assert path.stat().st_size < 9000
    return path


def _forbid_decoding(monkeypatch) -> None:
    """Make decoding or resampling anything an error: what is refused is refused from the header."""
    import soxr

    from sklearn_ser.audio import _file

    def forbidden(*args, **kwargs):
        raise AssertionError("decoded or resampled a file that the header should have refused")

    monkeypatch.setattr(sf.SoundFile, "read", forbidden)
    monkeypatch.setattr(_file, "resample", forbidden)
    monkeypatch.setattr(soxr, "ResampleStream", forbidden)


def test_header_duration_is_checked_before_decoding(tone_files, monkeypatch):
    path = tone_files["stereo_44100.flac"]  # 1 s
    _forbid_decoding(monkeypatch)
    with pytest.raises(AudioFileError) as info:
        load_audio(path, max_duration=0.5)
    message = str(info.value)
    assert "stereo_44100.flac: is too long: 1.0 s" in message
    assert "(header: 44100 samples at 44100 Hz)" in message
    assert "max_duration=0.5 s" in message
    assert "sklearn_ser.segments.predict_segments" in message
    with pytest.raises(AudioFileError, match="stereo_44100.flac: is too long"):
        AudioLoader(max_duration=0.5).fit_transform([str(path)])


def _first_problem(call) -> str:
    with pytest.raises(AudioFileError) as info:
        call()
    (problem,) = info.value.problems.values()
    return problem


def test_header_sample_rate_below_the_minimum_is_refused_on_both_paths(tmp_path, monkeypatch):
    """An 8 KB file whose header says 1 Hz: refused before decoding, whole or in blocks."""
    from sklearn_ser.audio import MIN_SAMPLE_RATE

    path = _one_hertz_wav(tmp_path / "one_hertz.wav")
    _forbid_decoding(monkeypatch)
    whole = _first_problem(lambda: load_audio(path))
    assert whole == (f"has a sample rate of 1 Hz in its header, below the minimum of "
                     f"{MIN_SAMPLE_RATE} Hz: the header is wrong or this is not a recording "
                     "of speech")
    # No limit on the length does not let it through: the rate is the problem.
    assert _first_problem(lambda: load_audio(path, max_duration=None)) == whole
    assert _first_problem(lambda: AudioLoader().fit_transform([path])) == whole
    for sr in (None, 16000):  # the block reader, kept at the file's rate or resampled
        assert _first_problem(lambda sr=sr: list(stream_audio(path, sr=sr))) == whole


def test_sample_rate_minimum_is_inclusive(tmp_path):
    from sklearn_ser.audio import MIN_SAMPLE_RATE

    rng = np.random.default_rng(0)
    y = (0.2 * rng.standard_normal(MIN_SAMPLE_RATE)).astype(np.float32)  # 1 s
    at = tmp_path / "at_minimum.wav"
    below = tmp_path / "below_minimum.wav"
    sf.write(at, y, MIN_SAMPLE_RATE, subtype="FLOAT")
    sf.write(below, y, MIN_SAMPLE_RATE - 1, subtype="FLOAT")
    whole = load_audio(at, sr=8000)
    streamed = np.concatenate(list(stream_audio(at, sr=8000, block_duration=0.3)))
    assert whole.size == streamed.size == 8000
    np.testing.assert_allclose(streamed, whole, atol=1e-5)
    message = f"sample rate of {MIN_SAMPLE_RATE - 1} Hz in its header"
    assert message in _first_problem(lambda: load_audio(below, sr=8000))
    assert message in _first_problem(lambda: list(stream_audio(below, sr=8000)))


def test_max_duration_counts_what_is_read(tone_files):
    one_second = tone_files["mono_22050.wav"]
    with pytest.raises(AudioFileError, match=r"is too long: 1\.0 s.*max_duration=0\.5 s"):
        load_audio(one_second, max_duration=0.5)
    # Cropped by duration or offset, less than the limit is read: accepted.
    assert load_audio(one_second, max_duration=0.5, duration=0.4).size == round(0.4 * 22050)
    assert load_audio(one_second, max_duration=0.5, offset=0.6).size == pytest.approx(
        0.4 * 22050, abs=2)
    assert load_audio(one_second, max_duration=None).size == 22050


def test_loader_reports_every_too_long_file(tone_files):
    files = [str(tone_files["mono_22050.wav"]), str(tone_files["stereo_44100.flac"])]
    with pytest.raises(AudioFileError) as info:
        AudioLoader(max_duration=0.5).transform(files)
    assert set(info.value.problems) == set(files)
    assert AudioLoader().get_params()["max_duration"] == 600.0


def test_header_promising_more_samples_warns(tmp_path):
    from sklearn_ser.exceptions import AudioFileWarning

    full = tmp_path / "full.wav"
    sf.write(full, (0.3 * np.sin(np.arange(22050) / 5)).astype(np.float32), 22050,
             subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 2 * 5000])  # header still says 22050 samples
    with pytest.warns(AudioFileWarning, match=r"cut\.wav: the file holds less audio than its "
                                              r"header says"):
        y = load_audio(cut)
    assert y.size == 5000
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioFileWarning)
        assert load_audio(full).size == 22050  # an intact file does not warn


# -- long files block by block: stream_audio -------------------------------------------
def test_stream_audio_is_still_importable_from_segments():
    from sklearn_ser import segments

    assert segments.stream_audio is stream_audio
    assert "stream_audio" in segments.__all__


@pytest.mark.parametrize("native_sr", [22050, 44100, 16000])
def test_block_reading_gives_the_whole_file_samples(tmp_path, native_sr):
    rng = np.random.default_rng(native_sr)
    n = int(3.7 * native_sr) + 13
    stereo = (0.2 * rng.standard_normal((n, 2))).astype(np.float32)
    path = tmp_path / f"stereo_{native_sr}.wav"
    sf.write(path, stereo, native_sr, subtype="FLOAT")
    # Same rate: exactly the samples of one whole-file read.
    same = np.concatenate(list(stream_audio(path, block_duration=0.31)))
    np.testing.assert_array_equal(same, stereo.mean(axis=1))
    # Resampled per block by one streaming resampler: what load_audio and a
    # librosa.resample of the whole file give, without edge artefacts at the
    # 0.31 s block boundaries.
    streamed = np.concatenate(list(stream_audio(path, sr=SR, block_duration=0.31)))
    whole = load_audio(path, sr=SR)
    assert streamed.dtype == np.float32 and streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-5)
    reference = librosa.resample(stereo.mean(axis=1), orig_sr=native_sr, target_sr=SR)
    np.testing.assert_allclose(streamed, reference, atol=1e-5)


# -- the librosa operations audio.py computes without importing librosa ------------------
# (their equivalence with librosa: tests/test_librosa_mirror.py)
def test_loading_a_clip_does_not_import_librosa(tone_files):
    """A fresh process loading (resampling, trimming) audio never imports librosa's core."""
    import subprocess
    import sys

    path = str(tone_files["stereo_44100.flac"])
    code = (
        "import sys\n"
        "from sklearn_ser import AudioLoader\n"
        f"AudioLoader(sr=16000, trim_db=30).fit_transform([{path!r}])\n"
        "assert 'librosa.core.audio' not in sys.modules, 'librosa imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
