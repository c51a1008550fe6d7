"""predict_segments: long recordings read in blocks, speech detection, windows, CLI and plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import FAST_PIPELINE_PARAMS
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from sklearn_ser import AudioFileError, load_audio, make_ser_pipeline, predict_segments
from sklearn_ser.audio import condition_waveform, stream_audio
from sklearn_ser.cli import main
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.segments import NO_SPEECH, _Segmenter

SR = 22050
EMOTIONS = ("neutral", "happy", "sad", "angry")


def _concat_blocks(blocks) -> np.ndarray:
    return np.concatenate(list(blocks))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A fast pipeline trained on 4 synthetic speakers (clean views only: seconds).

    Silence trimmed as in the recommended preset, so that a clip and a window
    around the same speech show the model the same audio.
    """
    data = make_emotional_speech(
        n_speakers=4, n_clips_per_emotion=4, duration=2.0,
        out_dir=tmp_path_factory.mktemp("seg_train"), random_state=0,
    )
    pipe = make_ser_pipeline("reference", random_state=0,
                             **{**FAST_PIPELINE_PARAMS, "load__trim_db": 30.0,
                                "augment__views": ("clean",)})
    return pipe.fit(data.filenames, data.target)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """Clips of 2 unseen synthetic speakers joined by 1-2 s of near-silence; known spans."""
    folder = tmp_path_factory.mktemp("seg_long")
    clips = make_emotional_speech(
        n_speakers=2, n_clips_per_emotion=2, duration=2.0, out_dir=folder / "clips",
        random_state=7,
    )
    rng = np.random.default_rng(0)
    parts, spans, gaps, pos = [], [], [], 0
    for path in clips.filenames:
        gap = int(rng.uniform(1.0, 2.0) * SR)
        parts.append((1e-4 * rng.standard_normal(gap)).astype(np.float32))  # about -80 dB
        gaps.append((pos / SR, (pos + gap) / SR))
        pos += gap
        y, _ = sf.read(path, dtype="float32")
        parts.append(y)
        spans.append((pos / SR, (pos + len(y)) / SR))
        pos += len(y)
    path = folder / "long.wav"
    sf.write(path, np.concatenate(parts), SR, subtype="FLOAT")
    return {"path": path, "clips": clips, "spans": spans, "gaps": gaps, "length": pos / SR}


# -- reading in blocks (sklearn_ser.audio.stream_audio; more in test_audio.py) ------------
@pytest.mark.parametrize("block_duration", [0.05, 1.3, 60.0])
def test_blocks_are_the_whole_file_resampled(recording, block_duration):
    """Blocks of any size join into what a whole-file read and resampling give."""
    import librosa

    whole, native_sr = sf.read(recording["path"], dtype="float32")
    expected = librosa.resample(whole, orig_sr=native_sr, target_sr=16000, res_type="soxr_hq")
    got = _concat_blocks(stream_audio(recording["path"], sr=16000,
                                      block_duration=block_duration))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_memory_is_bounded_by_window_hop_and_look_ahead():
    """An hour's worth of windows through the segmenter: the buffer never grows."""
    sr = 8000
    windows = []
    seg = _Segmenter(sr=sr, window=3.0, hop=1.0, frame=0.02, threshold_db=-55.0,
                     noise_margin_db=None, min_silence=0.5, min_speech=0.2, pad=0.0,
                     on_window=lambda a, b, w, stretch: windows.append((a, b, len(w))),
                     on_silence=lambda a, b: None)
    rng = np.random.default_rng(0)
    block = (0.1 * rng.standard_normal(10 * sr)).astype(np.float32)
    capacity = len(seg.buffer.data)
    for _ in range(60):  # 10 minutes of continuous "speech" in 10 s blocks
        seg.feed(block)
        assert seg.buffer.n <= 3 * sr + sr + int(0.5 * sr) + 160 + sr
    total = seg.finish()
    assert len(seg.buffer.data) == capacity  # never reallocated
    assert total == 600 * sr
    assert len(windows) == 598 and all(n == 3 * sr for _, _, n in windows)
    assert windows[-1][1] == total


@pytest.mark.parametrize("pad", [0.0, 0.2])
def test_speech_stretches_and_pauses_tile_the_file(pad):
    """Random bursts of noise: windows stay within their stretch, rows tile the file."""
    sr, W, H = 8000, 3.0, 1.0
    rng = np.random.default_rng(int(pad * 10))
    parts = []
    for _ in range(40):
        parts.append(np.zeros(int(rng.uniform(0.05, 2.0) * sr), np.float32))
        parts.append((0.1 * rng.standard_normal(int(rng.uniform(0.05, 6.0) * sr)))
                     .astype(np.float32))
    y = np.concatenate(parts)
    windows, quiet = [], []
    seg = _Segmenter(sr=sr, window=W, hop=H, frame=0.02, threshold_db=-55.0,
                     noise_margin_db=None, min_silence=0.5, min_speech=0.2, pad=pad,
                     on_window=lambda a, b, w, stretch: windows.append((a, b, stretch, w)),
                     on_silence=lambda a, b: quiet.append((a, b)))
    for i in range(0, len(y), 3001):  # odd block size
        seg.feed(y[i : i + 3001])
    total = seg.finish()
    assert total == len(y)
    stretches = {}
    for a, b, stretch, w in windows:
        assert 0 < b - a <= W * sr and len(w) == b - a
        np.testing.assert_array_equal(w, y[a:b])
        stretches.setdefault(stretch, []).append((a, b))
    rows = list(quiet)
    for stretch, spans in stretches.items():
        starts = [a for a, _ in spans]
        assert starts[0] == stretch and np.all(np.diff(starts) == H * sr)
        rows.append((stretch, max(b for _, b in spans)))
    rows.sort()
    assert rows[0][0] == 0 and rows[-1][1] == total
    assert all(prev[1] == nxt[0] for prev, nxt in zip(rows, rows[1:]))


# -- windows -----------------------------------------------------------------------------
def test_length_not_a_multiple_of_the_hop(model, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "noise_7_3s.wav"
    sf.write(path, (0.1 * rng.standard_normal(int(7.3 * 16000))).astype(np.float32), 16000)
    frame = predict_segments(model, path, window=3.0, hop=1.0)
    assert list(frame.columns[:4]) == ["start", "end", "speech", "label"]
    assert list(frame.columns[4:]) == [str(c) for c in model.classes_]
    assert frame["speech"].all()
    np.testing.assert_allclose(frame["start"], [0, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(frame["end"], [3, 4, 5, 6, 7, 7.3], atol=1e-4)
    proba = frame[list(frame.columns[4:])].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(frame["label"]) <= {str(c) for c in model.classes_}


def test_half_second_file(model, tmp_path):
    clip = make_emotional_speech(n_speakers=1, n_clips_per_emotion=1, duration=0.5,
                                 emotions=("angry",), out_dir=tmp_path, random_state=3)
    frame = predict_segments(model, clip.filenames[0])
    assert frame["speech"].sum() == 1
    assert frame["end"].max() == pytest.approx(0.5, abs=1e-3)
    assert frame.loc[frame["speech"], "label"].iloc[0] in set(model.classes_)


@pytest.mark.parametrize("level", [0.0, 1e-5])
def test_all_silent_file_is_one_no_speech_row(model, tmp_path, level):
    path = tmp_path / "silence.flac"
    rng = np.random.default_rng(0)
    sf.write(path, (level * rng.standard_normal(5 * SR)).astype(np.float32), SR)
    frame = predict_segments(model, path)
    assert len(frame) == 1 and not frame["speech"].any()
    assert frame["label"].tolist() == [NO_SPEECH]
    assert frame[list(frame.columns[4:])].isna().all(axis=None)
    assert frame["end"].iloc[0] == pytest.approx(5.0)


class _WaveSpy(TransformerMixin, BaseEstimator):
    """Records the waveforms it is given at predict time; returns two statistics per clip."""

    seen: list = []

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        _WaveSpy.seen.extend(np.array(w, copy=True) for w in X)
        return np.array([[len(w), float(np.mean(np.square(w)))] for w in X])


def _spy_pipeline(tmp_path, **loader_params):
    from sklearn.dummy import DummyClassifier

    from sklearn_ser import AudioLoader

    rng = np.random.default_rng(5)
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"train_{i}.wav")
        sf.write(paths[-1], (0.1 * rng.standard_normal(SR)).astype(np.float32), SR)
    pipe = Pipeline([("load", AudioLoader(sr=SR, **loader_params)), ("spy", _WaveSpy()),
                     ("clf", DummyClassifier(strategy="prior"))])
    return pipe.fit(paths, ["a", "b"])


@pytest.mark.parametrize("duration", [None, 2.0])
def test_each_window_is_trimmed_and_cropped_like_a_clip(tmp_path, duration):
    """What the classifier sees of a window: the loader's trimming and duration applied to it."""
    import librosa

    pipe = _spy_pipeline(tmp_path, trim_db=30.0, duration=duration)
    rng = np.random.default_rng(0)
    quiet = lambda seconds: (1e-4 * rng.standard_normal(int(seconds * SR))).astype(np.float32)  # noqa: E731
    speech = (0.2 * rng.standard_normal(int(4.5 * SR))).astype(np.float32)
    y = np.concatenate([quiet(1.0), speech, quiet(1.0)])
    path = tmp_path / "speech_between_silences.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    _WaveSpy.seen = []
    frame = predict_segments(pipe, path, window=3.0, hop=1.0, speech_pad=0.2)
    rows = frame[frame["speech"]]
    assert len(rows) == len(_WaveSpy.seen) >= 3
    for (start, end), seen in zip(rows[["start", "end"]].to_numpy(), _WaveSpy.seen):
        window = y[int(round(start * SR)) : int(round(end * SR))]
        expected = librosa.effects.trim(window, top_db=30.0)[0]
        if duration is not None:
            expected = librosa.util.fix_length(expected, size=int(duration * SR))
        np.testing.assert_array_equal(seen, expected)
    # The first window starts 0.2 s before the speech (speech_pad): that margin was trimmed.
    first = y[int(round(rows["start"].iloc[0] * SR)) : int(round(rows["end"].iloc[0] * SR))]
    assert np.abs(first[: int(0.1 * SR)]).max() < 1e-3
    assert np.abs(_WaveSpy.seen[0][: int(0.1 * SR)]).max() > 0.1


def test_condition_waveform_is_the_per_clip_processing_of_load_audio(tmp_path):
    """The loader's per-clip processing goes through condition_waveform, as in load_audio."""
    rng = np.random.default_rng(0)
    y = (0.2 * rng.standard_normal(SR)).astype(np.float32)
    y = np.concatenate([np.zeros(SR // 2, np.float32), y, np.zeros(SR // 2, np.float32)])
    path = tmp_path / "padded.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    expected = load_audio(path, sr=SR, trim_db=30.0, duration=1.5)
    np.testing.assert_array_equal(
        condition_waveform(y, sr=SR, trim_db=30.0, duration=1.5), expected)


# -- bad input -------------------------------------------------------------------------
def test_nan_in_the_middle_is_reported_with_its_time(model, tmp_path):
    y = (0.1 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)
    y[int(3.5 * SR): int(3.5 * SR) + 40] = np.nan
    path = tmp_path / "nan_at_3_5s.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"nan_at_3_5s\.wav: contains 40 NaN .* 3\.50 s"):
        predict_segments(model, path)


def test_truncated_flac_is_reported_with_its_time(model, tmp_path):
    y = (0.3 * np.sin(np.arange(10 * SR) / 10)).astype(np.float32)
    whole = tmp_path / "whole.flac"
    sf.write(whole, y, SR, subtype="PCM_16")
    data = whole.read_bytes()
    broken = tmp_path / "truncated.flac"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match=r"truncated\.flac: .*\d+\.\d\d s") as info:
        predict_segments(model, broken)
    message = info.value.problems[str(broken)]
    seconds = float(message.split(" s")[0].split()[-1])
    assert 0 < seconds < 10


def test_truncated_wav_is_warned_about_as_load_audio_does(tmp_path):
    from sklearn_ser.exceptions import AudioFileWarning

    y = (0.1 * np.random.default_rng(0).standard_normal(4 * SR)).astype(np.float32)
    whole = tmp_path / "whole.wav"
    sf.write(whole, y, SR, subtype="PCM_16")
    data = whole.read_bytes()
    broken = tmp_path / "cut.wav"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.warns(AudioFileWarning, match="cut.wav"):
        samples = _concat_blocks(stream_audio(broken, block_duration=0.5))
    assert 1.9 * SR < len(samples) < 2.1 * SR
    np.testing.assert_allclose(samples, y[: len(samples)], atol=1e-4)
    with pytest.warns(AudioFileWarning, match="cut.wav"):
        np.testing.assert_array_equal(load_audio(broken, sr=SR), samples)


def test_header_sample_rate_below_the_minimum_is_refused_as_for_a_clip(model, saved_model,
                                                                       tmp_path, capsys):
    """8 KB whose header says 1 Hz (66 min, 88 M samples once resampled): refused at once,
    with the message load_audio gives, by predict_segments and predict --segments."""
    import time

    path = tmp_path / "one_hertz.wav"
    sf.write(path, (0.1 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32),
             1, subtype="PCM_16")
    assert path.stat().st_size < 9000
    with pytest.raises(AudioFileError) as whole:
        load_audio(path, max_duration=None)
    assert "sample rate of 1 Hz in its header" in str(whole.value)
    started = time.process_time()
    with pytest.raises(AudioFileError) as segments:
        predict_segments(model, path)
    assert segments.value.problems == whole.value.problems
    problem = f"{path}: has a sample rate of 1 Hz in its header"
    for segments_flag in (["--segments"], []):  # the timeline and the whole-clip prediction
        code = main(["predict", str(saved_model), str(path), *segments_flag, "-q"])
        out, err = capsys.readouterr()
        assert code == 1 and out == "" and problem in err, (segments_flag, err)
    assert time.process_time() - started < 5  # it cost 97 s of CPU before being refused


@pytest.mark.parametrize("name, message", [
    ("missing.wav", "file not found"), ("empty.wav", "empty"), ("text.wav", "cannot be decoded"),
    ("directory.wav", "directory"),
])
def test_unusable_files_name_the_file(model, tone_files, name, message):
    with pytest.raises(AudioFileError, match=message) as info:
        predict_segments(model, tone_files[name])
    assert str(tone_files[name]) in info.value.problems


def test_bad_arguments(model, recording):
    with pytest.raises(ValueError, match="hop"):
        predict_segments(model, recording["path"], window=1.0, hop=2.0)
    with pytest.raises(ValueError, match="smooth"):
        predict_segments(model, recording["path"], smooth=0)
    with pytest.raises(TypeError, match="AudioLoader named 'load'"):
        predict_segments(model[1:], recording["path"])


# -- the synthetic concatenation -------------------------------------------------------
def _majority_per_clip(frame, spans):
    centre = (frame["start"] + frame["end"]) / 2
    out = []
    for a, b in spans:
        inside = frame[frame["speech"] & (centre >= a) & (centre <= b)]
        out.append(inside["label"].mode().iloc[0] if len(inside) else NO_SPEECH)
    return np.asarray(out, dtype=object)


def _no_speech_share(frame, gap):
    """Share of the gap's duration covered by rows without speech."""
    a, b = gap
    quiet = frame[~frame["speech"]]
    covered = np.clip(np.minimum(quiet["end"], b) - np.maximum(quiet["start"], a), 0, None)
    return float(covered.sum()) / (b - a)


def test_segments_agree_with_clip_predictions_and_gaps_are_no_speech(model, recording):
    frame = predict_segments(model, recording["path"], batch_size=4)
    assert frame["start"].is_monotonic_increasing
    assert frame["end"].max() == pytest.approx(recording["length"], abs=1e-3)
    # Rows without speech and speech stretches tile the file: no hole, no overlap.
    quiet = frame[~frame["speech"]]
    assert quiet["start"].iloc[0] == 0
    clip_pred = model.predict(recording["clips"].filenames).astype(object)
    majority = _majority_per_clip(frame, recording["spans"])
    truth = recording["clips"].target
    agreement = np.mean(majority == clip_pred)
    assert agreement >= 0.8, (majority, clip_pred)
    assert abs(np.mean(majority == truth) - np.mean(clip_pred == truth)) <= 0.2
    # A pause is marked when its midpoint is in a row without speech and such rows
    # cover at least half of it (speech_pad=0.2 widens each utterance by 0.2 s).
    quiet = frame[~frame["speech"]]
    marked = [
        _no_speech_share(frame, (a, b)) >= 0.5
        and bool(((quiet["start"] <= (a + b) / 2) & (quiet["end"] >= (a + b) / 2)).any())
        for a, b in recording["gaps"]
    ]
    assert np.mean(marked) >= 0.9, marked
    assert frame.loc[~frame["speech"], "label"].eq(NO_SPEECH).all()


def test_smoothing_averages_probabilities_within_a_speech_stretch(model, tmp_path):
    rng = np.random.default_rng(4)
    path = tmp_path / "noise_12s.wav"
    sf.write(path, (0.1 * rng.standard_normal(12 * 8000)).astype(np.float32), 8000)
    raw = predict_segments(model, path)
    smooth = predict_segments(model, path, smooth=3)
    classes = list(raw.columns[4:])
    expected = raw[classes].rolling(3, center=True, min_periods=1).mean()
    np.testing.assert_allclose(smooth[classes].to_numpy(), expected.to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(
        smooth["label"], np.asarray(classes, dtype=object)[expected.to_numpy().argmax(axis=1)])


def test_smoothing_does_not_cross_a_pause(model, recording):
    # Every utterance of the recording is one stretch of speech: averaging over
    # neighbours must not mix utterances separated by a pause.
    raw = predict_segments(model, recording["path"])
    smooth = predict_segments(model, recording["path"], smooth=5)
    first = raw["speech"] & ~raw["speech"].shift(fill_value=False)
    assert first.sum() == len(recording["spans"])
    classes = list(raw.columns[4:])
    speech = raw[raw["speech"]]
    expected = (speech[classes].groupby(first.cumsum()[raw["speech"]])
                .rolling(5, center=True, min_periods=1).mean().droplevel(0))
    np.testing.assert_allclose(smooth.loc[raw["speech"], classes].to_numpy(),
                               expected.loc[speech.index].to_numpy(), rtol=1e-6)


def test_progress_bar_goes_to_stderr(model, recording, capsys, monkeypatch):
    monkeypatch.setattr("sklearn_ser._parallel.shows_progress", lambda stream=None: True)
    predict_segments(model, recording["path"], verbose=1)
    out, err = capsys.readouterr()
    assert out == "" and "segments" in err


def test_no_progress_frames_in_a_log(model, recording, capsys):
    predict_segments(model, recording["path"], verbose=1)  # capsys: not a terminal
    out, err = capsys.readouterr()
    assert "\r" not in err and out == ""


# -- speaker adaptation through metadata routing -----------------------------------------
class _GroupSpy(TransformerMixin, BaseEstimator):
    """Pass-through step that records the ``groups`` it is given."""

    seen: list = []

    def fit(self, X, y=None, groups=None):
        return self

    def transform(self, X, groups=None):
        _GroupSpy.seen.append(None if groups is None else list(groups))
        return X


def test_speaker_is_routed_as_groups(model, recording):
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        spy = _GroupSpy().set_transform_request(groups=True)
    pipe = Pipeline([model.steps[0], ("spy", spy), *model.steps[1:]])
    _GroupSpy.seen = []
    frame = predict_segments(pipe, recording["path"], speaker="spk7", batch_size=3)
    n_speech = int(frame["speech"].sum())
    assert _GroupSpy.seen and sum(len(g) for g in _GroupSpy.seen) == n_speech
    assert {s for g in _GroupSpy.seen for s in g} == {"spk7"}
    _GroupSpy.seen = []
    predict_segments(pipe, recording["path"])  # no speaker: no groups
    assert _GroupSpy.seen and all(g is None for g in _GroupSpy.seen)


def test_speaker_without_an_adaptation_step_warns(model, recording):
    with pytest.warns(UserWarning, match="speaker is ignored"):
        frame = predict_segments(model, recording["path"], speaker="spk7")
    assert frame["speech"].any()


@pytest.mark.usefixtures("ge2e_weights")
def test_with_the_speaker_standardizer(recording, tmp_path):
    """The encoder preset with speaker adaptation: every window predicted as the one speaker.

    No skip can hide a broken import here: only the encoder's weights (a separate
    install) may be missing, and under SKLEARN_SER_REQUIRE_ENCODER=1 that fails too.
    """
    import sklearn

    from sklearn_ser.adaptation import SpeakerStandardizer
    from sklearn_ser.pipeline import SCALE

    pipe = make_ser_pipeline("recommended", speaker_adaptation=True, random_state=0)
    assert isinstance(pipe.named_steps[SCALE], SpeakerStandardizer)
    train = make_emotional_speech(n_speakers=3, n_clips_per_emotion=3, duration=1.5,
                                  out_dir=tmp_path, random_state=1)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(train.filenames, train.target, groups=train.speaker)
    windows = []
    standardizer = pipe.named_steps[SCALE]
    original = standardizer.transform

    def spy(X, groups=None, **kw):
        windows.append(None if groups is None else set(groups))
        return original(X, groups=groups, **kw)

    standardizer.transform = spy
    frame = predict_segments(pipe, recording["path"], speaker="new_speaker", batch_size=64)
    assert frame["speech"].any() and windows == [{"new_speaker"}]
    proba = frame.loc[frame["speech"], list(frame.columns[4:])].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


# -- plot and command line -------------------------------------------------------------
def test_plot_segments_draws_the_timeline(model, recording, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_ser.plotting import plot_segments

    frame = predict_segments(model, recording["path"])
    fig = plot_segments(frame)
    fig.savefig(tmp_path / "timeline.png")
    assert (tmp_path / "timeline.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert len(ax.lines) == len(model.classes_)
    assert ax.get_xlim()[1] == pytest.approx(recording["length"], abs=1e-3)
    with pytest.raises(ValueError, match="predict_segments"):
        plot_segments(pd.DataFrame({"a": [1]}))


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    from sklearn_ser.persistence import save_model

    return save_model(model, tmp_path_factory.mktemp("seg_model") / "model.joblib")


def test_cli_segments_csv_json_table_and_plot(saved_model, recording, tmp_path, capsys):
    png = tmp_path / "plots" / "timeline.png"
    code = main(["predict", str(saved_model), str(recording["path"]), "--segments",
                 "--format", "csv", "--plot", str(png), "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert png.stat().st_size > 1000 and "timeline written" in err
    lines = out.splitlines()
    classes = sorted(EMOTIONS)
    assert lines[0].split(",") == ["start", "end", "speech", "label", *classes]
    assert any(f",False,{NO_SPEECH}," in line for line in lines[1:])

    code = main(["predict", str(saved_model), str(recording["path"]), "--segments",
                 "--window", "2", "--hop", "0.5", "--smooth", "3", "--format", "json", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads(out)
    assert record["classes"] == classes and record["path"] == str(recording["path"])
    speech = [s for s in record["segments"] if s["speech"]]
    quiet = [s for s in record["segments"] if not s["speech"]]
    assert speech and quiet and all(s[classes[0]] is None for s in quiet)
    assert all(s["end"] - s["start"] <= 2.0 + 1e-6 for s in speech)

    code = main(["predict", str(saved_model), str(recording["path"]), "--segments",
                 "--proba", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0].split() == ["start", "end", "label", *classes]


def test_cli_segment_options_need_segments(saved_model, recording, capsys):
    code = main(["predict", str(saved_model), str(recording["path"]), "--window", "2"])
    assert code == 2 and "--window needs --segments" in capsys.readouterr().err
    code = main(["predict", str(saved_model), str(recording["path"]), "--segments", "-q"])
    once = capsys.readouterr().out
    code = main(["predict", str(saved_model), str(recording["path"]), str(recording["path"]),
                 "--segments", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err  # the same file twice is one file: its timeline, once
    assert out == once and out.count("start") == 1
    other = Path(recording["clips"].filenames[0])
    code = main(["predict", str(saved_model), str(recording["path"]), str(other), "--segments"])
    assert code == 2 and "--segments takes one audio file, got 2" in capsys.readouterr().err
    code = main(["predict", str(saved_model), str(recording["path"]), "--segments",
                 "--window", "1", "--hop", "2"])
    assert code == 2 and "--hop" in capsys.readouterr().err


def test_cli_corrupt_recording_is_one_error_line(saved_model, tmp_path, capsys):
    y = (0.1 * np.random.default_rng(0).standard_normal(4 * SR)).astype(np.float32)
    y[2 * SR] = np.nan
    path = tmp_path / "bad.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    code = main(["predict", str(saved_model), str(path), "--segments", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "bad.wav" in err and "2.00 s" in err


def test_import_is_lazy():
    import subprocess
    import sys

    code = ("import sys, sklearn_ser; sklearn_ser.predict_segments; "
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                   cwd=Path(__file__).resolve().parents[1])
