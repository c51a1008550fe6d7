"""AudioLoader / load_audio: formats, rates, channels, cropping, and every kind of bad file."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sklearn_ser import AudioFileError, AudioLoader, load_audio
from sklearn_ser.audio import check_paths, check_waveform_views


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
    with pytest.raises(ValueError, match="sr must be a positive integer"):
        AudioLoader(sr=-1).fit([tone_files["mono_22050.wav"]])


def test_waveform_views_validation():
    views = check_waveform_views([np.zeros(10, np.float32), np.ones(5, np.float32)])
    assert views.shape == (2, 1)
    assert check_waveform_views(np.zeros((3, 100))).shape == (3, 1)
    assert check_waveform_views(np.zeros((3, 2, 100))).shape == (3, 2)
    with pytest.raises(TypeError, match="Put AudioLoader first"):
        check_waveform_views(np.array(["a.wav", "b.wav"], dtype=object))


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
