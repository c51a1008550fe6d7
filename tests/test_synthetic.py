"""Tests for the synthetic emotional speech generator."""

import os
import re
import time

import numpy as np
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ser.datasets._synthetic import (
    SUPPORTED_EMOTIONS,
    make_emotional_speech,
)

ALL_EMOTIONS = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fear",
    "disgust",
    "surprise",
)


def _read_all(filenames):
    return [sf.read(f, dtype="float32")[0] for f in filenames]


def _simple_features(y, sr):
    """Log RMS, zero-crossing rate, median and spread of an ACF f0 estimate,
    and log spectral centroid, over the active (non-silent) frames."""
    frame = int(0.04 * sr)
    hop = frame // 2
    n_frames = 1 + (len(y) - frame) // hop
    frames = y[np.arange(frame)[None, :] + hop * np.arange(n_frames)[:, None]]
    rms = np.sqrt(np.mean(frames**2, axis=1))
    active = frames[rms > 0.25 * rms.max()]
    zcr = np.mean(np.signbit(active[:, 1:]) != np.signbit(active[:, :-1]))
    windowed = active * np.hanning(frame)
    spec = np.abs(np.fft.rfft(windowed, 2 * frame, axis=1)) ** 2
    acf = np.fft.irfft(spec, axis=1)
    lo, hi = int(sr / 400), int(sr / 70)
    log_f0 = np.log(sr / (lo + np.argmax(acf[:, lo:hi], axis=1)))
    q25, q75 = np.percentile(log_f0, [25, 75])
    freqs = np.fft.rfftfreq(2 * frame, 1.0 / sr)
    centroid = (spec @ freqs).sum() / spec.sum()
    return [
        np.log(np.sqrt(np.mean(y**2))),
        zcr,
        np.median(log_f0),
        q75 - q25,
        np.log(centroid),
    ]


def _features(data):
    return np.array([_simple_features(*sf.read(f, dtype="float64")) for f in data.filenames])


def _speaker_cv_accuracy(X, data):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = GroupKFold(n_splits=len(np.unique(data.speaker)))
    scores = cross_val_score(clf, X, data.target, groups=data.speaker, cv=cv)
    return scores.mean()


def test_supported_emotions():
    assert set(SUPPORTED_EMOTIONS) == set(ALL_EMOTIONS)


def test_files_exist_and_are_readable(tmp_path):
    data = make_emotional_speech(
        n_speakers=2,
        n_clips_per_emotion=3,
        sr=16000,
        duration=0.5,
        out_dir=tmp_path,
        random_state=0,
    )
    assert len(data.filenames) == 2 * 4 * 3
    for path in data.filenames:
        assert os.path.isabs(path)
        assert os.path.dirname(path) == str(tmp_path)
        assert os.path.isfile(path)
        y, sr = sf.read(path, dtype="float32")
        assert sr == 16000
        assert y.ndim == 1 and len(y) == 8000
        assert np.all(np.isfinite(y))
        assert 0.0 < np.max(np.abs(y)) < 1.0
    for field in ("target", "speaker", "gender", "corpus"):
        assert data[field].shape == data.filenames.shape
    assert data.target_names == ["angry", "happy", "neutral", "sad"]
    assert set(data.corpus) == {"synthetic"}
    assert "SYNTHETIC" in data.DESCR
    assert "not" in data.DESCR and "human speech" in data.DESCR


def test_filenames_encode_metadata(tmp_path):
    data = make_emotional_speech(
        n_speakers=2,
        n_clips_per_emotion=2,
        duration=0.3,
        out_dir=tmp_path,
        random_state=0,
    )
    names = [os.path.basename(f) for f in data.filenames]
    assert "synth_spk01_angry_002.wav" in names
    pattern = re.compile(r"^(synth_spk\d{2})_([a-z]+)_(\d{3})\.wav$")
    for name, spk, emo in zip(names, data.speaker, data.target):
        match = pattern.match(name)
        assert match is not None, name
        assert match.group(1) == spk
        assert match.group(2) == emo
    assert len(set(names)) == len(names)


def test_balanced_labels_speakers_and_genders(tmp_path):
    emotions = ("sad", "fear", "calm")
    data = make_emotional_speech(
        n_speakers=3,
        n_clips_per_emotion=2,
        emotions=emotions,
        duration=0.3,
        out_dir=tmp_path,
        random_state=0,
    )
    assert len(data.filenames) == 3 * 3 * 2
    labels, counts = np.unique(data.target, return_counts=True)
    assert set(labels) == set(emotions)
    assert np.all(counts == 3 * 2)
    spks, counts = np.unique(data.speaker, return_counts=True)
    assert list(spks) == ["synth_spk01", "synth_spk02", "synth_spk03"]
    assert np.all(counts == 3 * 2)
    # Each (speaker, emotion) pair has exactly n_clips_per_emotion clips.
    pairs, counts = np.unique(np.char.add(data.speaker, data.target), return_counts=True)
    assert len(pairs) == 9 and np.all(counts == 2)
    # Speakers alternate female / male and keep one gender.
    genders = {s: set(data.gender[data.speaker == s]) for s in spks}
    assert genders == {
        "synth_spk01": {"female"},
        "synth_spk02": {"male"},
        "synth_spk03": {"female"},
    }
    assert data.target_names == sorted(emotions)


def test_all_eight_emotions(tmp_path):
    data = make_emotional_speech(
        n_speakers=1,
        n_clips_per_emotion=1,
        emotions=ALL_EMOTIONS,
        duration=0.5,
        sr=8000,
        out_dir=tmp_path,
        random_state=0,
    )
    assert list(data.target) == list(ALL_EMOTIONS)
    audio = _read_all(data.filenames)
    # Every emotion gives a different clip.
    for i in range(len(audio)):
        for j in range(i + 1, len(audio)):
            assert not np.array_equal(audio[i], audio[j])


def test_reproducible(tmp_path):
    kwargs = dict(n_speakers=2, n_clips_per_emotion=1, duration=0.5, sr=16000)
    a = make_emotional_speech(out_dir=tmp_path / "a", random_state=42, **kwargs)
    b = make_emotional_speech(out_dir=tmp_path / "b", random_state=42, **kwargs)
    c = make_emotional_speech(out_dir=tmp_path / "c", random_state=43, **kwargs)
    for ya, yb, yc in zip(_read_all(a.filenames), _read_all(b.filenames), _read_all(c.filenames)):
        np.testing.assert_array_equal(ya, yb)
        assert not np.array_equal(ya, yc)
    # wav files are byte-identical for the same seed.
    for fa, fb in zip(a.filenames, b.filenames):
        with open(fa, "rb") as fha, open(fb, "rb") as fhb:
            assert fha.read() == fhb.read()
    np.testing.assert_array_equal(a.target, b.target)
    np.testing.assert_array_equal(a.speaker, b.speaker)


def test_random_state_instance(tmp_path):
    kwargs = dict(n_speakers=1, n_clips_per_emotion=1, duration=0.3)
    a = make_emotional_speech(
        out_dir=tmp_path / "a", random_state=np.random.RandomState(7), **kwargs
    )
    b = make_emotional_speech(out_dir=tmp_path / "b", random_state=7, **kwargs)
    for ya, yb in zip(_read_all(a.filenames), _read_all(b.filenames)):
        np.testing.assert_array_equal(ya, yb)


def test_clips_of_a_class_differ(tmp_path):
    data = make_emotional_speech(
        n_speakers=1,
        n_clips_per_emotion=3,
        emotions=("neutral",),
        duration=0.5,
        out_dir=tmp_path,
        random_state=0,
    )
    a, b, c = _read_all(data.filenames)
    assert not np.array_equal(a, b)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize("audio_format", ["wav", "flac", "ogg"])
def test_formats(tmp_path, audio_format):
    data = make_emotional_speech(
        n_speakers=1,
        n_clips_per_emotion=1,
        emotions=("happy", "sad"),
        duration=0.5,
        sr=16000,
        out_dir=tmp_path,
        audio_format=audio_format,
        random_state=0,
    )
    expected_format = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}[audio_format]
    for path in data.filenames:
        assert path.endswith("." + audio_format)
        info = sf.info(path)
        assert info.format == expected_format
        assert info.samplerate == 16000
        assert info.channels == 1
        y, _ = sf.read(path)
        assert abs(len(y) - 8000) <= 1
        assert np.max(np.abs(y)) > 0.01


def test_as_frame(tmp_path):
    data = make_emotional_speech(
        n_speakers=2,
        n_clips_per_emotion=1,
        duration=0.3,
        out_dir=tmp_path,
        as_frame=True,
        random_state=0,
    )
    frame = data.frame
    assert list(frame.columns) == [
        "filename",
        "target",
        "speaker",
        "gender",
        "corpus",
    ]
    assert len(frame) == len(data.filenames) == 8
    np.testing.assert_array_equal(frame["filename"].to_numpy(), data.filenames)
    np.testing.assert_array_equal(frame["target"].to_numpy(), data.target)
    np.testing.assert_array_equal(frame["speaker"].to_numpy(), data.speaker)
    np.testing.assert_array_equal(frame["gender"].to_numpy(), data.gender)
    assert set(frame["corpus"]) == {"synthetic"}

    no_frame = make_emotional_speech(
        n_speakers=1,
        n_clips_per_emotion=1,
        duration=0.3,
        out_dir=tmp_path / "b",
        random_state=0,
    )
    assert "frame" not in no_frame


def test_default_out_dir_is_temporary():
    import shutil
    import tempfile

    data = make_emotional_speech(
        n_speakers=1,
        n_clips_per_emotion=1,
        emotions=("calm",),
        duration=0.2,
        random_state=0,
    )
    try:
        out_dir = os.path.dirname(data.filenames[0])
        assert os.path.basename(out_dir).startswith("sklearn_ser_synth_")
        assert os.path.realpath(os.path.dirname(out_dir)) == os.path.realpath(tempfile.gettempdir())
        assert os.path.isfile(data.filenames[0])
    finally:
        shutil.rmtree(out_dir)


def test_out_dir_is_created(tmp_path):
    out = tmp_path / "nested" / "dir"
    data = make_emotional_speech(
        n_speakers=1,
        n_clips_per_emotion=1,
        duration=0.2,
        out_dir=str(out),
        random_state=0,
    )
    assert out.is_dir()
    assert all(os.path.isfile(f) for f in data.filenames)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(emotions=("happy", "bored")), "bored"),
        (dict(emotions=("Happy",)), "Happy"),
        (dict(emotions=()), "at least one"),
        (dict(emotions="happy"), "sequence"),
        (dict(emotions=("sad", "sad")), "duplicate"),
        (dict(n_speakers=0), "n_speakers"),
        (dict(n_speakers=1.5), "n_speakers"),
        (dict(n_clips_per_emotion=0), "n_clips_per_emotion"),
        (dict(duration=0.1), "duration"),
        (dict(duration=-1.0), "duration"),
        (dict(duration=float("nan")), "duration"),
        (dict(audio_format="mp3"), "audio_format"),
        (dict(sr=100), "sr"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_emotional_speech(out_dir=tmp_path, random_state=0, **kwargs)
    # Validation happens before anything is written.
    assert list(tmp_path.iterdir()) == []


def test_default_call_is_fast(tmp_path):
    # CPU time of this process: other jobs on a shared machine and the disk's flushes
    # (each file is written atomically) do not count, an order-of-magnitude slowdown does.
    start = time.process_time()
    data = make_emotional_speech(out_dir=tmp_path, random_state=0)
    elapsed = time.process_time() - start
    assert len(data.filenames) == 64
    assert elapsed < 2.0


def test_learnable_from_simple_features(tmp_path):
    # Four classes, chance = 0.25; the test speaker is never seen in training.
    data = make_emotional_speech(out_dir=tmp_path, random_state=0)
    X = _features(data)
    assert _speaker_cv_accuracy(X, data) > 0.7


def test_eight_classes_learnable_with_speaker_normalisation(tmp_path):
    # Eight classes, chance = 0.125. Per-speaker standardisation uses no
    # labels (standard practice in SER) and removes the gender pitch offset.
    data = make_emotional_speech(
        n_speakers=4,
        n_clips_per_emotion=4,
        emotions=ALL_EMOTIONS,
        duration=1.5,
        sr=16000,
        out_dir=tmp_path,
        random_state=0,
    )
    X = _features(data)
    for spk in np.unique(data.speaker):
        mask = data.speaker == spk
        X[mask] = (X[mask] - X[mask].mean(axis=0)) / X[mask].std(axis=0)
    assert _speaker_cv_accuracy(X, data) > 0.6


def test_files_are_written_atomically(tmp_path, monkeypatch):
    """A write that fails half-way leaves the old file whole and no temporary file behind."""
    from sklearn_ser.datasets import _synthetic

    make_emotional_speech(n_speakers=1, n_clips_per_emotion=1, emotions=["sad"],
                          out_dir=tmp_path, random_state=0)
    (target,) = sorted(tmp_path.iterdir())
    before = target.read_bytes()
    real_write = _synthetic.sf.write

    def write_half_then_fail(file, data, *args, **kwargs):
        real_write(file, data[: len(data) // 2], *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(_synthetic.sf, "write", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        make_emotional_speech(n_speakers=1, n_clips_per_emotion=1, emotions=["sad"],
                              out_dir=tmp_path, random_state=1)
    assert sorted(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == before
