"""Tests of the corpus loaders on tiny fake corpora with the real naming schemes."""

from __future__ import annotations

import io
import itertools
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.model_selection import GroupKFold

from sklearn_ser.datasets import (
    LABELS,
    DatasetWarning,
    SkippedFilesWarning,
    find_audio_files,
    load_corpora,
    load_crema_d,
    load_ravdess,
    load_savee,
    load_synthetic,
    load_tess,
    make_emotional_speech,
)

SR = 8000


def _clip_bytes(fmt: str) -> bytes:
    # 0.2 s of a quiet sine: real, readable audio, written once per format.
    t = np.arange(int(0.2 * SR)) / SR
    buf = io.BytesIO()
    sf.write(buf, 0.1 * np.sin(2 * np.pi * 220 * t), SR, format=fmt, subtype="PCM_16")
    return buf.getvalue()


_CLIPS = {"wav": _clip_bytes("WAV"), "flac": _clip_bytes("FLAC")}


def write_clip(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_CLIPS.get(path.suffix.lower().lstrip("."), _CLIPS["wav"]))
    return path


def ravdess_names(actor: int, *, channel: str = "01", modality: str = "03") -> list[str]:
    """The 60 speech (or 44 song) file stems of one RAVDESS actor."""
    names = []
    emotions = range(1, 9) if channel == "01" else range(1, 7)
    for emo, inten, stmt, rep in itertools.product(emotions, (1, 2), (1, 2), (1, 2)):
        if emo == 1 and inten == 2:
            continue  # no strong neutral
        names.append(f"{modality}-{channel}-{emo:02d}-{inten:02d}-{stmt:02d}-{rep:02d}-{actor:02d}")
    return names


def make_ravdess(root: Path, actors=(1, 2), ext: str = "wav") -> Path:
    for actor in actors:
        for stem in ravdess_names(actor):
            write_clip(root / f"Actor_{actor:02d}" / f"{stem}.{ext}")
    return root


def make_crema_d(root: Path, *, nested: bool = True) -> Path:
    folder = root / "AudioWAV" if nested else root
    for actor, sentence, emo in itertools.product(
        ("1001", "1002"), ("DFA", "IEO"), ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")
    ):
        level = "XX" if sentence == "DFA" else "HI"
        write_clip(folder / f"{actor}_{sentence}_{emo}_{level}.wav")
    return root


TESS_WORDS = ("back", "bite", "dog")
TESS_FOLDERS = {
    # Spellings of the common re-uploads, case variations included.
    "OAF": {
        "angry": "OAF_angry",
        "disgust": "OAF_disgust",
        "fear": "OAF_Fear",
        "happy": "OAF_happy",
        "neutral": "OAF_neutral",
        "ps": "OAF_Pleasant_surprise",
        "sad": "OAF_Sad",
    },
    "YAF": {
        "angry": "YAF_angry",
        "disgust": "YAF_disgust",
        "fear": "YAF_fear",
        "happy": "YAF_happy",
        "neutral": "YAF_neutral",
        "ps": "YAF_pleasant_surprised",
        "sad": "YAF_sad",
    },
}


def make_tess(root: Path, *, nested: bool = True) -> Path:
    for speaker, folders in TESS_FOLDERS.items():
        for emotion, folder in folders.items():
            for word in TESS_WORDS:
                prefix = speaker
                if (speaker, word, emotion) == ("OAF", "bite", "neutral"):
                    prefix = "OA"  # the published misnaming
                name = f"{prefix}_{word}_{emotion}.wav"
                write_clip((root / folder if nested else root) / name)
    return root


SAVEE_CODES = ("a", "d", "f", "h", "n", "sa", "su")


def make_savee(root: Path, *, nested: bool = True) -> Path:
    for speaker, code, num in itertools.product(("DC", "JE", "JK", "KL"), SAVEE_CODES, (1, 2)):
        if nested:
            write_clip(root / "AudioData" / speaker / f"{code}{num:02d}.wav")
        else:
            write_clip(root / "ALL" / f"{speaker}_{code}{num:02d}.wav")
    return root


# --------------------------------------------------------------------- RAVDESS


def test_ravdess_official_layout(tmp_path):
    root = make_ravdess(tmp_path / "ravdess")
    # Things a real folder holds that are not speech clips.
    for stem in ravdess_names(1, channel="02")[:3]:
        write_clip(root / "Actor_01" / f"{stem}.wav")  # song
    write_clip(root / "Actor_01" / "01-01-03-01-01-01-01.wav")  # audio of a video file
    (root / "Actor_01" / "02-01-03-01-01-01-01.mp4").write_bytes(b"not audio")
    write_clip(root / "__MACOSX" / "Actor_01" / "._03-01-03-01-01-01-01.wav")
    (root / "README.txt").write_text("hello")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_ravdess(root)

    assert len(data.filenames) == 120
    for key in ("filenames", "target", "speaker", "groups", "gender", "corpus"):
        assert data[key].shape == (120,), key
    for key in ("modality", "vocal_channel", "emotion_intensity", "statement", "repetition"):
        assert len(data[key]) == 120
    assert list(data.filenames) == sorted(data.filenames)
    assert all(os.path.isabs(f) for f in data.filenames)
    assert set(data.speaker) == {"ravdess_01", "ravdess_02"}
    assert data.groups is data.speaker
    assert set(data.corpus) == {"ravdess"}
    assert set(data.vocal_channel) == {"speech"}
    assert set(data.modality) == {"audio-only"}
    assert data.target_names == list(LABELS)
    male = data.speaker == "ravdess_01"
    assert set(data.gender[male]) == {"male"} and set(data.gender[~male]) == {"female"}
    counts = pd.Series(data.target).value_counts()
    assert counts["neutral"] == 8 and (counts.drop("neutral") == 16).all()
    assert "RAVDESS" in data.DESCR and "CC BY-NC-SA 4.0" in data.DESCR
    assert set(data.repetition) == {1, 2}
    assert set(data.emotion_intensity) == {"normal", "strong"}
    name = Path(data.filenames[0]).stem
    assert name == "03-01-01-01-01-01-01" and data.target[0] == "neutral"
    assert data.statement[0] == "Kids are talking by the door"

    with_song = load_ravdess(root, include_song=True, include_video=True)
    assert len(with_song.filenames) == 124
    assert set(with_song.vocal_channel) == {"speech", "song"}
    assert "full-AV" in set(with_song.modality)


def test_ravdess_code_mapping(tmp_path):
    root = tmp_path / "r"
    expected = dict(zip(range(1, 9), LABELS))
    for emo in range(1, 9):
        write_clip(root / f"03-01-{emo:02d}-01-01-01-05.wav")
    data = load_ravdess(root)
    for path, label in zip(data.filenames, data.target):
        assert label == expected[int(Path(path).stem.split("-")[2])]
    native = load_ravdess(root, native_labels=True)
    assert native.target_names == [
        "neutral",
        "calm",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
        "surprised",
    ]


def test_ravdess_flac_and_return_variants(tmp_path):
    root = make_ravdess(tmp_path / "r", actors=(3,), ext="FLAC")
    X, y = load_ravdess(root, return_X_y=True)
    assert len(X) == 60 and len(y) == 60
    data = load_ravdess(root, as_frame=True)
    frame = data.frame
    assert list(frame.columns[:5]) == ["filename", "target", "speaker", "gender", "corpus"]
    assert len(frame) == 60
    np.testing.assert_array_equal(frame["filename"].to_numpy(dtype=str), data.filenames)
    # wav is not picked up if only flac is asked for, and vice versa.
    with pytest.raises(FileNotFoundError, match="no audio files"):
        load_ravdess(root, extensions=(".wav",))


def test_ravdess_drop_labels(tmp_path):
    root = make_ravdess(tmp_path / "r", actors=(1,))
    data = load_ravdess(root, drop_labels="calm")
    assert "calm" not in set(data.target) and "calm" not in data.target_names
    assert len(data.filenames) == 52
    data = load_ravdess(root, drop_labels=["fearful", "surprise"])  # native + common names
    assert not {"fear", "surprise"} & set(data.target)
    with pytest.raises(ValueError, match="unknown label"):
        load_ravdess(root, drop_labels=["clam"])


def test_ravdess_misnamed_files_warn_and_strict(tmp_path):
    root = make_ravdess(tmp_path / "r", actors=(1,))
    bad = [
        root / "Actor_01" / "03-01-09-01-01-01-01.wav",  # emotion 09
        root / "Actor_01" / "03-01-01-02-01-01-01.wav",  # strong neutral
        root / "Actor_01" / "recording.wav",
        root / "Actor_01" / "03-01-05-01-01-01-12.wav",  # actor 12 in Actor_01
    ]
    for path in bad:
        write_clip(path)
    # A well-named but empty file (an interrupted copy) is reported too.
    bad.append(root / "Actor_01" / "03-01-05-01-01-01-01.flac")
    bad[-1].write_bytes(b"")
    with pytest.warns(SkippedFilesWarning) as record:
        data = load_ravdess(root)
    assert len(data.filenames) == 60
    message = str(record[0].message)
    assert "skipped 5 of 65" in message and str(root) in message
    assert "03-01-05-01-01-01-01.flac: empty file" in message
    assert "recording.wav" in message and "unknown emotion code 09" in message
    assert "no strong-intensity neutral" in message and "Actor_01" in message
    with pytest.raises(ValueError, match="recording.wav"):
        load_ravdess(root, strict=True)


def test_ravdess_duplicates_warn(tmp_path):
    root = make_ravdess(tmp_path / "r", actors=(1,))
    # A flac conversion next to the wav originals, as in some re-uploads.
    write_clip(root / "flac" / "Actor_01" / "03-01-05-01-01-01-01.flac")
    with pytest.warns(DatasetWarning, match="copies of a recording"):
        data = load_ravdess(root)
    assert len(data.filenames) == 60
    assert len({Path(f).stem for f in data.filenames}) == 60


@pytest.mark.parametrize("loader", [load_ravdess, load_crema_d, load_tess, load_savee])
def test_missing_and_empty_folders(tmp_path, loader):
    with pytest.raises(FileNotFoundError, match="folder not found.*nowhere"):
        loader(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no audio files.*empty"):
        loader(tmp_path / "empty")
    (tmp_path / "file.wav").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        loader(tmp_path / "file.wav")


def test_folder_of_wrong_names_errors(tmp_path):
    root = make_crema_d(tmp_path / "crema")
    with pytest.raises(ValueError, match=r"none of the 24 audio files.*RAVDESS") as info:
        load_ravdess(root)
    assert "1001_DFA_ANG_XX.wav" in str(info.value)
    # And the other way round.
    ravdess = make_ravdess(tmp_path / "ravdess", actors=(1,))
    for loader in (load_crema_d, load_tess, load_savee):
        with pytest.raises(ValueError, match="none of the 60 audio files"):
            loader(ravdess)


def test_other_media_hint(tmp_path):
    root = tmp_path / "mp3"
    write_clip(root / "AudioMP3" / "1001_DFA_ANG_XX.mp3")
    with pytest.raises(FileNotFoundError, match="1001_DFA_ANG_XX.mp3"):
        load_crema_d(root)


def test_only_song_files(tmp_path):
    root = tmp_path / "song"
    for stem in ravdess_names(1, channel="02"):
        write_clip(root / "Actor_01" / f"{stem}.wav")
    with pytest.raises(ValueError, match="include_song=True"):
        load_ravdess(root)
    assert len(load_ravdess(root, include_song=True).filenames) == 44


# ---------------------------------------------------------------------- CREMA-D


@pytest.mark.parametrize("nested", [True, False])
def test_crema_d(tmp_path, nested):
    root = make_crema_d(tmp_path / "crema", nested=nested)
    data = load_crema_d(root)
    assert len(data.filenames) == 24
    assert set(data.speaker) == {"crema_d_1001", "crema_d_1002"}
    # VideoDemographics.csv: 1001 is male, 1002 female.
    assert set(data.gender[data.speaker == "crema_d_1001"]) == {"male"}
    assert set(data.gender[data.speaker == "crema_d_1002"]) == {"female"}
    assert set(data.sentence) == {"DFA", "IEO"}
    assert set(data.level) == {"unspecified", "high"}
    assert data.target_names == ["neutral", "happy", "sad", "angry", "fear", "disgust"]
    idx = [i for i, f in enumerate(data.filenames) if f.endswith("1001_DFA_FEA_XX.wav")]
    assert data.target[idx[0]] == "fear"
    native = load_crema_d(root, native_labels=True, drop_labels="NEU")
    assert native.target_names == ["HAP", "SAD", "ANG", "FEA", "DIS"]


def test_crema_d_bad_codes(tmp_path):
    root = make_crema_d(tmp_path / "crema")
    write_clip(root / "AudioWAV" / "1001_DFA_XYZ_XX.wav")
    write_clip(root / "AudioWAV" / "1200_DFA_ANG_XX.wav")
    write_clip(root / "AudioWAV" / "1001_ABC_ANG_XX.wav")
    write_clip(root / "AudioWAV" / "1001_DFA_ANG_ZZ.wav")
    with pytest.warns(SkippedFilesWarning) as record:
        data = load_crema_d(root)
    assert len(data.filenames) == 24
    message = str(record[0].message)
    for reason in ("emotion code XYZ", "actor 1200", "sentence code ABC", "level code ZZ"):
        assert reason in message


def test_crema_d_demographics_table():
    from sklearn_ser.datasets._crema_d import _demographics

    table = _demographics()
    assert len(table) == 91
    assert sorted(table) == [str(a) for a in range(1001, 1092)]
    assert sum(v == "male" for v in table.values()) == 48
    assert sum(v == "female" for v in table.values()) == 43


# ------------------------------------------------------------------------- TESS


@pytest.mark.parametrize("nested", [True, False])
def test_tess(tmp_path, nested):
    root = make_tess(tmp_path / "TESS Toronto emotional speech set data", nested=nested)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_tess(root)
    assert len(data.filenames) == 42
    assert set(data.speaker) == {"tess_OAF", "tess_YAF"}
    assert set(data.gender) == {"female"}
    # "ps" is pleasant surprise and maps onto the common "surprise".
    assert pd.Series(data.target).value_counts().to_dict() == {
        label: 6 for label in ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"]
    }
    misnamed = [i for i, f in enumerate(data.filenames) if Path(f).name == "OA_bite_neutral.wav"]
    assert data.speaker[misnamed[0]] == "tess_OAF" and data.target[misnamed[0]] == "neutral"
    assert set(data.word) == set(TESS_WORDS)
    native = load_tess(root, native_labels=True)
    assert "ps" in native.target_names and "surprise" not in native.target_names


def test_tess_case_and_spelling_variants(tmp_path):
    root = tmp_path / "tess"
    write_clip(root / "yaf_PLEASANT_SURPRISED" / "YAF_Dog_PS.WAV")
    write_clip(root / "OAF_Pleasant_surprise" / "OAF_dog_pleasant_surprise.wav")
    write_clip(root / "oaf_fear" / "oaf_dog_fear.wav")
    data = load_tess(root)
    assert sorted(data.target) == ["fear", "surprise", "surprise"]


def test_tess_folder_contradicting_name_is_skipped(tmp_path):
    root = make_tess(tmp_path / "tess")
    write_clip(root / "OAF_angry" / "OAF_moon_sad.wav")  # filed under another emotion
    write_clip(root / "YAF_happy" / "OAF_moon_happy.wav")  # filed under another speaker
    write_clip(root / "OAF_angry" / "angry_01.wav")  # name says nothing
    with pytest.warns(SkippedFilesWarning) as record:
        data = load_tess(root)
    assert len(data.filenames) == 42
    message = str(record[0].message)
    assert "OAF_moon_sad.wav" in message and "OAF_moon_happy.wav" in message
    assert "angry_01.wav" in message
    with pytest.raises(ValueError):
        load_tess(root, strict=True)


def test_tess_nested_duplicate_copy(tmp_path):
    # A known re-upload holds the whole corpus twice, once nested in itself.
    root = make_tess(tmp_path / "tess")
    make_tess(root / "TESS Toronto emotional speech set data")
    with pytest.warns(DatasetWarning, match="42 files .* further copies"):
        data = load_tess(root)
    assert len(data.filenames) == 42


# ------------------------------------------------------------------------ SAVEE


@pytest.mark.parametrize("nested", [True, False])
def test_savee(tmp_path, nested):
    root = make_savee(tmp_path / "savee", nested=nested)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_savee(root)
    assert len(data.filenames) == 56
    assert set(data.speaker) == {"savee_DC", "savee_JE", "savee_JK", "savee_KL"}
    assert set(data.gender) == {"male"}
    assert set(data.utterance) == {1, 2}
    by_name = {(Path(f).parent.name, Path(f).stem): t for f, t in zip(data.filenames, data.target)}
    key = ("DC", "sa01") if nested else ("ALL", "DC_sa01")
    assert by_name[key] == "sad"
    key = ("KL", "su02") if nested else ("ALL", "KL_su02")
    assert by_name[key] == "surprise"
    assert data.target_names == [
        "neutral",
        "happy",
        "sad",
        "angry",
        "fear",
        "disgust",
        "surprise",
    ]


def test_savee_bad_names(tmp_path):
    root = make_savee(tmp_path / "savee")
    write_clip(root / "AudioData" / "DC" / "a16.wav")  # only 15 anger sentences
    write_clip(root / "AudioData" / "XX" / "a01.wav")  # no speaker folder
    write_clip(root / "ALL" / "AB_a01.wav")  # unknown speaker
    write_clip(root / "AudioData" / "DC" / "x01.wav")
    with pytest.warns(SkippedFilesWarning) as record:
        data = load_savee(root)
    assert len(data.filenames) == 56
    message = str(record[0].message)
    for reason in ("out of range", "outside a DC/JE/JK/KL folder", "unknown speaker AB", "x01"):
        assert reason in message


# ---------------------------------------------------------------- several corpora


def test_load_corpora(tmp_path):
    paths = {
        "ravdess": make_ravdess(tmp_path / "ravdess", actors=(1,)),
        "crema-d": make_crema_d(tmp_path / "crema"),
        "tess": make_tess(tmp_path / "tess"),
        "savee": {"path": make_savee(tmp_path / "savee", nested=False)},
    }
    data = load_corpora(paths, as_frame=True)
    n = 60 + 24 + 42 + 56
    assert len(data.filenames) == n and len(data.frame) == n
    assert list(pd.unique(data.corpus)) == ["ravdess", "crema_d", "tess", "savee"]
    assert data.target_names == list(LABELS)
    assert set(data.target) <= set(LABELS)
    assert len(set(data.speaker)) == 1 + 2 + 2 + 4
    # Corpus-specific columns are there, empty for the other corpora.
    is_rav = data.corpus == "ravdess"
    assert all(v is None for v in data.repetition[~is_rav])
    assert set(data.repetition[is_rav]) == {1, 2}
    assert all(v is None for v in data.sentence[data.corpus != "crema_d"])
    assert "RAVDESS" in data.DESCR and "SAVEE" in data.DESCR

    no_calm = load_corpora(paths, drop_labels=["calm"])
    assert "calm" not in set(no_calm.target)
    assert len(no_calm.filenames) == n - 8


def test_load_corpora_errors(tmp_path):
    root = make_ravdess(tmp_path / "r", actors=(1,))
    with pytest.raises(ValueError, match="unknown corpus"):
        load_corpora({"iemocap": root})
    with pytest.raises(ValueError, match="at least one"):
        load_corpora({})
    with pytest.raises(ValueError, match="given twice"):
        load_corpora({"crema_d": root, "crema-d": root})


def test_speaker_ids_are_cv_groups(tmp_path):
    data = load_corpora(
        {
            "ravdess": make_ravdess(tmp_path / "ravdess", actors=(1, 2, 3)),
            "savee": make_savee(tmp_path / "savee"),
        }
    )
    cv = GroupKFold(n_splits=3)
    for train, test in cv.split(data.filenames, data.target, groups=data.groups):
        assert not set(data.speaker[train]) & set(data.speaker[test])


# ------------------------------------------------------------ synthetic folders

SYNTH_EMOTIONS = ("neutral", "happy", "sad", "angry")


def make_synthetic(root: Path, speakers=(1, 2), clips: int = 2, ext: str = "wav") -> Path:
    """Files named as make_emotional_speech names them (without synthesising audio)."""
    for spk, emo, k in itertools.product(speakers, SYNTH_EMOTIONS, range(1, clips + 1)):
        write_clip(root / f"synth_spk{spk:02d}_{emo}_{k:03d}.{ext}")
    return root


def test_load_synthetic_reads_what_make_emotional_speech_writes(tmp_path):
    synth = make_emotional_speech(
        n_speakers=3, n_clips_per_emotion=1, duration=0.2, sr=8000,
        out_dir=tmp_path / "s", random_state=0,
    )
    data = load_synthetic(tmp_path / "s")
    order = np.argsort(synth.filenames)
    assert list(data.filenames) == list(synth.filenames[order])
    for key in ("target", "speaker", "gender", "corpus"):
        assert list(data[key]) == list(synth[key][order]), key
    # Generated ids are unique already: shown as they are, not prefixed.
    assert set(data.speaker) == {"synth_spk01", "synth_spk02", "synth_spk03"}
    assert data.target_names == ["neutral", "happy", "sad", "angry"]
    assert "SYNTHETIC" in data.DESCR


def test_load_synthetic_options_and_errors(tmp_path):
    root = make_synthetic(tmp_path / "s")
    write_clip(root / "ogg" / "synth_spk03_angry_001.ogg")
    write_clip(root / "readme.wav")
    write_clip(root / "synth_spk01_bored_001.wav")
    skipped = r"(?s)2 of 19.*readme.wav.*unknown emotion 'bored'"
    with pytest.warns(SkippedFilesWarning, match=skipped):
        data = load_synthetic(root)
    assert len(data.filenames) == 17  # .ogg is read by default, as the CLI always did
    with pytest.warns(SkippedFilesWarning):
        data = load_synthetic(root, drop_labels="sad", extensions=".wav", as_frame=True)
    assert len(data.frame) == 12 and "sad" not in set(data.target)
    with pytest.raises(ValueError, match="readme.wav"):
        load_synthetic(root, strict=True)

    with pytest.raises(FileNotFoundError, match="synthetic corpus folder not found"):
        load_synthetic(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="none of the 60 audio files.*synthetic"):
        load_synthetic(make_ravdess(tmp_path / "r", actors=(1,)))
    with pytest.raises(ValueError, match="no files left"):
        load_synthetic(make_synthetic(tmp_path / "t"), drop_labels=list(SYNTH_EMOTIONS))


def test_synthetic_names_in_two_folders_are_two_clips(tmp_path):
    # The demo writes data/ and unseen_speaker/, both with a synth_spk01.
    make_synthetic(tmp_path / "demo" / "data")
    make_synthetic(tmp_path / "demo" / "unseen_speaker", speakers=(1,), clips=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_synthetic(tmp_path / "demo")
    assert len(data.filenames) == 16 + 4


def test_load_corpora_mixes_real_and_synthetic(tmp_path):
    synth = make_synthetic(tmp_path / "s")
    write_clip(synth / "synth_spk03_happy_001.ogg")
    paths = {"Synthetic": synth, "ravdess": make_ravdess(tmp_path / "r", actors=(1,))}
    data = load_corpora(paths, drop_labels=["calm", "sad"], as_frame=True)
    assert list(pd.unique(data.corpus)) == ["synthetic", "ravdess"]
    assert len(data.filenames) == len(data.target) == len(data.speaker) == 13 + 44
    assert not {"calm", "sad"} & set(data.target)
    assert set(data.speaker) == {"synth_spk01", "synth_spk02", "synth_spk03", "ravdess_01"}
    assert all(v is None for v in data.repetition[data.corpus == "synthetic"])
    # An explicit suffix list applies to every corpus.
    assert len(load_corpora(paths, extensions=(".wav",)).filenames) == 16 + 60
    with pytest.raises(ValueError, match="no files left"):
        load_corpora({"synthetic": synth}, drop_labels=list(SYNTH_EMOTIONS))
    with pytest.raises(ValueError, match="unknown label"):
        load_corpora({"synthetic": synth}, drop_labels=["sadd"])


# -------------------------------------------------------------------- discovery


def test_find_audio_files(tmp_path):
    write_clip(tmp_path / "a" / "x.WAV")
    write_clip(tmp_path / "a" / "b" / "y.flac")
    write_clip(tmp_path / ".hidden" / "z.wav")
    write_clip(tmp_path / "a" / "._x.wav")
    (tmp_path / "a" / "notes.txt").write_text("x")
    if hasattr(os, "symlink"):
        os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "loop")
    found = find_audio_files(tmp_path)
    # Sorted by path; the symlink loop is not followed twice.
    assert [p.name for p in found] == ["y.flac", "x.WAV"]
    assert [p.name for p in find_audio_files(tmp_path, extensions="flac")] == ["y.flac"]


def test_bunch_shape_matches_synthetic(tmp_path):
    from sklearn_ser.datasets import make_emotional_speech

    synth = make_emotional_speech(
        n_speakers=2, n_clips_per_emotion=1, out_dir=tmp_path / "s", random_state=0
    )
    data = load_ravdess(make_ravdess(tmp_path / "r", actors=(1,)))
    common = {"filenames", "target", "speaker", "gender", "corpus", "target_names", "DESCR"}
    assert common <= set(synth) and common <= set(data)
