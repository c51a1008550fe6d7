"""The sklearn-ser command: subcommands, outputs, exit codes and one-line errors."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sklearn_ser.cli import expand_inputs, format_table, main
from sklearn_ser.cli._parser import _parse_setting

# Quick CNN settings as --set arguments (the same as demo --quick --preset reference).
QUICK_SETS = [
    "--preset", "reference",
    "--set", "features__features=('mel', 'mfcc_delta2')",
    "--set", "features__n_mfcc=13",
    "--set", "features__mel_db=True",
    "--set", "features__standardize=block",
    "--set", "features__n_columns=32",
    "--set", "cnn__architecture=compact",
    "--set", "cnn__conv_filters=(8, 16)",
    "--set", "cnn__dense_units=(16,)",
    "--set", "cnn__epochs=2",
    "--set", "cnn__batch_size=16",
]
BIN = Path(sys.executable).parent


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err, *fragments):
    lines = [line for line in err.strip().splitlines() if not line.startswith("usage:")]
    assert lines and lines[0].startswith("sklearn-ser: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Output folder of `sklearn-ser demo --quick --preset reference` (a CNN model)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--quick", "--preset", "reference", "--out", str(out), "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def ravdess_like(synthetic_speech, tmp_path_factory):
    """The synthetic clips under RAVDESS names (Actor_NN/03-01-EE-01-SS-RR-NN.wav)."""
    root = tmp_path_factory.mktemp("ravdess")
    codes = {"neutral": "01", "happy": "03", "sad": "04", "angry": "05"}
    seen = {}
    for path, label, speaker in zip(synthetic_speech.filenames, synthetic_speech.target,
                                    synthetic_speech.speaker):
        actor = int(speaker[-2:])
        k = seen.setdefault((actor, label), 0)
        seen[(actor, label)] += 1
        if k >= 2:  # 2 clips per actor and emotion are enough
            continue
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(exist_ok=True)
        shutil.copy(path, folder / f"03-01-{codes[label]}-01-01-{k + 1:02d}-{actor:02d}.wav")
    return root


# -- demo --------------------------------------------------------------------------------
def test_demo_quick_writes_model_report_and_plots(demo, capsys):
    for name in ("model.joblib", "report.txt", "report.json", "confusion_matrix.png",
                 "training_curves.png", "feature_image.png"):
        assert (demo / name).stat().st_size > 100, name
    assert sorted(p.name for p in (demo / "model_export").iterdir()) == [
        "metadata.json", "network.keras", "pipeline.json"
    ]
    report = json.loads((demo / "report.json").read_text())
    assert report["evaluation"]["protocol"] == "speaker_kfold"
    # Speaker-independent: the test speakers of the folds do not overlap.
    speakers = [s for fold in report["evaluation"]["fold_scores"] for s in fold["test_speakers"]]
    assert len(speakers) == len(set(speakers)) == 4
    for key in ("accuracy", "macro_f1", "uar"):
        assert 0 <= report[key] <= 1


def test_demo_prints_scores_and_a_prediction(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--quick", "--preset", "reference", "--out", tmp_path,
                       "--epochs", 1, "-q")
    assert code == 0
    assert "Speaker-independent evaluation" in out
    assert "accuracy" in out and "macro-F1" in out and "UAR" in out
    assert "Predictions for clips of a new synthetic speaker" in out
    assert "cnn__epochs=1" in out


def test_demo_default_is_the_recommended_model_with_a_timeline(tmp_path, capsys):
    """`sklearn-ser demo` trains make_ser_pipeline() (the encoder preset), not the CNN."""
    import soundfile as sf

    from sklearn_ser.persistence import load_model

    code, out, err = run(capsys, "demo", "--quick", "--out", tmp_path, "-q")
    assert code == 0, err
    assert "'recommended' preset" in out and "--preset reference" in out
    model = load_model(tmp_path / "model.joblib")
    assert [name for name, _ in model.steps] == ["load", "augment", "encoder", "scale",
                                                 "classifier"]
    # The pickle-free export of an encoder model has no network file.
    assert sorted(p.name for p in (tmp_path / "model_export").iterdir()) == [
        "metadata.json", "pipeline.json"]
    # A long recording of a new speaker: 4 utterances of 2 s and the pauses between them,
    # and its timeline as a PNG.
    info = sf.info(tmp_path / "long_recording.wav")
    assert 4 * 2.0 + 4 * 1.0 <= info.duration <= 4 * 2.0 + 4 * 1.8 + 1.0 + 0.01
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = out[out.index("7. A "):]
    assert [line.split()[2] for line in table.splitlines()[2:6]] == [
        "neutral", "happy", "sad", "angry"]  # the true labels, in recording order


def test_demo_epochs_needs_the_cnn(tmp_path, capsys):
    code, _, err = run(capsys, "demo", "--quick", "--out", tmp_path, "--epochs", 3, "-q")
    assert code == 2
    assert_one_line_error(err, "--epochs applies to the CNN")
    assert not (tmp_path / "model.joblib").exists()


# -- predict ---------------------------------------------------------------------------------
def test_predict_table_expands_folders_and_globs(demo, capsys):
    clips = demo / "unseen_speaker"
    code, out, err = run(capsys, "predict", demo / "model.joblib", clips,
                         str(demo / "data" / "*spk01_sad*.wav"), "-q")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["path", "label"]
    assert len(lines) == 1 + 4 + 2  # a folder of 4 and a glob matching 2
    assert all(line.split()[1] in {"angry", "happy", "neutral", "sad"} for line in lines[1:])


def test_predict_json_and_csv_with_probabilities(demo, capsys):
    clips = sorted((demo / "unseen_speaker").glob("*.wav"))
    code, out, _ = run(capsys, "predict", demo / "model.joblib", *clips, "--proba",
                       "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [r["path"] for r in records] == [str(c) for c in clips]
    for record in records:
        assert sum(record["proba"].values()) == pytest.approx(1, abs=1e-4)
        assert record["label"] == max(record["proba"], key=record["proba"].get)

    code, out, _ = run(capsys, "predict", demo / "model.joblib", *clips, "--proba",
                       "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["path", "label", "angry", "happy", "neutral", "sad"]
    assert len(rows) == 5

    code, out, _ = run(capsys, "predict", demo / "model.joblib", clips[0], "--proba")
    header = out.splitlines()[0].split()
    assert header == ["path", "label", "angry", "happy", "neutral", "sad"]


def test_predict_reads_an_exported_model(demo, capsys):
    clip = next((demo / "unseen_speaker").glob("*.wav"))
    _, from_joblib, _ = run(capsys, "predict", demo / "model.joblib", clip, "--format", "json",
                            "--proba")
    code, from_export, _ = run(capsys, "predict", demo / "model_export", clip, "--format",
                               "json", "--proba")
    assert code == 0
    a, b = json.loads(from_joblib)[0], json.loads(from_export)[0]
    assert a["label"] == b["label"]
    assert a["proba"] == pytest.approx(b["proba"], abs=1e-5)


def test_predict_missing_or_bad_audio_is_one_clear_error(demo, tmp_path, capsys):
    code, out, err = run(capsys, "predict", demo / "model.joblib", tmp_path / "nope.wav")
    assert code == 1 and out == ""
    assert_one_line_error(err, "nope.wav: file not found")

    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    code, _, err = run(capsys, "predict", demo / "model.joblib", bad)
    assert code == 1
    assert_one_line_error(err, "bad.wav: cannot be decoded as audio")

    code, _, err = run(capsys, "predict", demo / "model.joblib", str(tmp_path / "*.flac"))
    assert code == 1
    assert_one_line_error(err, "pattern matches no files")


def test_missing_model_file(tmp_path, demo, capsys):
    clip = next((demo / "unseen_speaker").glob("*.wav"))
    code, out, err = run(capsys, "predict", tmp_path / "missing.joblib", clip)
    assert code == 1 and out == ""
    assert_one_line_error(err, "model file not found")
    assert len(err.strip().splitlines()) == 1

    not_a_model = tmp_path / "x.joblib"
    not_a_model.write_text("hello")
    code, _, err = run(capsys, "predict", not_a_model, clip)
    assert code == 1
    assert_one_line_error(err, "cannot read")


def test_debug_shows_the_traceback(tmp_path, capsys):
    code, _, err = run(capsys, "--debug", "predict", tmp_path / "missing.joblib", tmp_path)
    assert code == 1
    assert "Traceback" in err


# -- train and evaluate -------------------------------------------------------------------
def test_train_on_a_corpus_folder_with_settings_and_export(ravdess_like, tmp_path, capsys):
    model = tmp_path / "models" / "ravdess.joblib"
    code, out, err = run(
        capsys, "train", "--corpus", f"ravdess={ravdess_like}", *QUICK_SETS,
        "--protocol", "speaker_holdout", "--out", model, "--export", tmp_path / "shared", "-q",
    )
    assert code == 0, err
    assert "32 clips, 4 speakers" in out
    assert "evaluation (speaker_holdout, 1 folds)" in out
    assert model.exists()
    report = tmp_path / "models" / "ravdess_report"
    for name in ("report.txt", "report.json", "confusion_matrix.png", "training_curves.png",
                 "feature_image.png"):
        assert (report / name).exists(), name
    assert (tmp_path / "shared" / "network.keras").exists()

    from sklearn_ser.persistence import read_model_record

    record = read_model_record(model)
    assert record["metadata"]["protocol"] == "speaker_holdout"
    pipe = record["pipeline"]
    assert pipe.get_params()["cnn__conv_filters"] == (8, 16)
    assert pipe.get_params()["features__standardize"] == "block"
    assert pipe.get_params()["cnn__callbacks"] is None  # no progress bar saved
    assert pipe.get_params()["features__verbose"] == 0


def test_evaluate_a_saved_model_and_its_settings(demo, tmp_path, capsys):
    code, out, err = run(capsys, "evaluate", demo / "model.joblib",
                         "--corpus", f"synthetic={demo / 'unseen_speaker'}",
                         "--report-dir", tmp_path / "held_out", "-q")
    assert code == 0, err
    assert "saved model on these clips: accuracy" in out
    assert json.loads((tmp_path / "held_out" / "report.json").read_text())["n_samples"] == 4

    code, out, err = run(capsys, "evaluate", demo / "model.joblib",
                         "--corpus", f"synthetic={demo / 'data'}", "--protocol", "speaker_kfold",
                         "--n-splits", 2, "--report-dir", tmp_path / "cv", "-q")
    assert code == 0, err
    assert "speaker_kfold (2 folds)" in out
    assert (tmp_path / "cv" / "confusion_matrix.png").exists()


def test_train_without_evaluation_and_dropping_a_label(demo, tmp_path, capsys):
    code, out, err = run(
        capsys, "train", "--corpus", f"synthetic={demo / 'data'}", *QUICK_SETS,
        "--set", "cnn__epochs=1", "--drop-label", "sad", "--protocol", "none",
        "--out", tmp_path / "m.joblib", "--report-dir", tmp_path / "r", "-q",
    )
    assert code == 0, err
    from sklearn_ser.persistence import load_model

    # The dropped label is gone from the trained model, not merely from a printed line.
    assert list(load_model(tmp_path / "m.joblib").classes_) == ["angry", "happy", "neutral"]
    text = (tmp_path / "r" / "report.txt").read_text()
    assert "TRAINING clips" in text


# -- argument and data errors ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--corpus", "nocorpus=/tmp"], "unknown corpus 'nocorpus'"),
        (["train", "--corpus", "ravdess"], "expected NAME=DIR"),
        (["train", "--corpus", "ravdess=/tmp", "--set", "cnn__epochs"], "STEP__PARAM=VALUE"),
        (["train", "--corpus", "ravdess=/tmp", "--protocol", "kfold"], "invalid choice"),
        (["predict", "m.joblib"], "required"),
        (["demo", "--epochs", "0"], "expected an integer >= 1"),
        (["fetch", "imdb"], "invalid choice"),
        ([], "required"),
    ],
)
def test_usage_errors_exit_2(argv, fragment, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err


def test_unknown_pipeline_parameter_is_a_usage_error(demo, capsys):
    code, _, err = run(capsys, "train", "--corpus", f"synthetic={demo / 'data'}",
                       "--set", "cnn__epoch=3", "-q")
    assert code == 2
    assert_one_line_error(err, "unknown pipeline parameter 'cnn__epoch'")


def test_missing_corpus_folder_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--corpus", f"ravdess={tmp_path / 'none'}", "-q")
    assert code == 1
    assert_one_line_error(err, "folder not found")
    assert len(err.strip().splitlines()) == 1


def test_too_few_speakers_for_the_folds(demo, capsys):
    code, _, err = run(capsys, "train", "--corpus", f"synthetic={demo / 'data'}",
                       "--n-splits", 9, "-q")
    assert code == 2
    assert_one_line_error(err, "needs at least 9 speakers")


def test_parse_setting_values():
    assert _parse_setting("cnn__epochs=30") == ("cnn__epochs", 30)
    assert _parse_setting("features__features=('mel',)") == ("features__features", ("mel",))
    assert _parse_setting("cnn__architecture=compact") == ("cnn__architecture", "compact")
    assert _parse_setting("load__duration=None") == ("load__duration", None)
    assert _parse_setting("cnn__learning_rate=1e-3") == ("cnn__learning_rate", 1e-3)


def test_expand_inputs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.wav").write_bytes(b"")
    (tmp_path / "a" / "y.FLAC").write_bytes(b"")
    (tmp_path / "a" / "notes.txt").write_text("")
    (tmp_path / "a" / ".hidden").mkdir()
    (tmp_path / "a" / ".hidden" / "z.wav").write_bytes(b"")
    (tmp_path / "b.ogg").write_bytes(b"")
    found = expand_inputs([str(tmp_path / "a"), str(tmp_path / "*.ogg"),
                           str(tmp_path / "a" / "x.wav")])
    assert found == [str(tmp_path / "a" / "x.wav"), str(tmp_path / "a" / "y.FLAC"),
                     str(tmp_path / "b.ogg")]


def test_format_table_aligns_columns():
    text = format_table(["path", "p"], [["a.wav", 0.5], ["long/b.wav", 0.25]])
    lines = text.splitlines()
    assert lines[1].endswith("0.500") and lines[2].endswith("0.250")
    assert len({len(line) for line in lines}) == 1


# -- datasets and fetch --------------------------------------------------------------------
def test_datasets_lists_known_corpora(tmp_path, capsys):
    code, out, _ = run(capsys, "datasets", "--data-home", tmp_path)
    assert code == 0
    for name in ("ravdess", "crema_d", "tess", "savee"):
        assert name in out
    code, out, _ = run(capsys, "datasets", "--data-home", tmp_path, "--format", "json")
    records = json.loads(out)
    assert {r["name"] for r in records} == {"ravdess", "crema_d", "tess", "savee"}
    assert all(r["cached_path"] is None for r in records)


def test_fetch_without_public_archive_explains(tmp_path, capsys):
    code, out, err = run(capsys, "fetch", "savee", "--data-home", tmp_path)
    assert code == 1 and out == ""
    assert_one_line_error(err, "registration")


# -- the installed command -------------------------------------------------------------------
def test_console_script_and_module_entry_points():
    script = BIN / "sklearn-ser"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    run1 = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                          timeout=120)
    assert run1.returncode == 0 and run1.stdout.startswith("sklearn-ser ")
    run2 = subprocess.run([sys.executable, "-m", "sklearn_ser", "predict"],
                          capture_output=True, text=True, timeout=120)
    assert run2.returncode == 2 and "sklearn-ser predict: error:" in run2.stderr


def test_help_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from sklearn_ser.cli import main\n"
        "for argv in (['--help'], ['train', '--help'], ['predict', '--help']):\n"
        "    assert main(argv) == 0\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    env = {**os.environ, "COLUMNS": "100"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "--corpus NAME=DIR" in result.stdout


def test_help_imports_only_the_standard_library():
    # What makes --help fast (<= 0.5 s): no numpy, scikit-learn, librosa, numba or pandas.
    code = (
        "import sys\n"
        "from sklearn_ser.cli import main\n"
        "assert main(['--help']) == 0 and main(['train', '--help']) == 0\n"
        "heavy = {'numpy', 'sklearn', 'librosa', 'numba', 'pandas', 'scipy', 'keras'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_protocol_choices_are_the_library_protocols():
    from sklearn_ser.cli._parser import PROTOCOL_NAMES
    from sklearn_ser.evaluation import PROTOCOLS

    assert set(PROTOCOL_NAMES) == {*PROTOCOLS, "none"}


def test_corpus_choices_come_from_the_registry(capsys):
    from sklearn_ser.datasets import corpus_names

    code, _, err = run(capsys, "train", "--corpus", "nosuch=/tmp")
    assert code == 2
    for name in corpus_names():
        assert name in err
    assert run(capsys, "fetch", "synthetic")[0] == 2  # nothing to download


# -- careless input (issue 10: 7-10) ----------------------------------------------------------
def _copy_clips(src: Path, dst: Path, keep) -> Path:
    dst.mkdir(parents=True)
    for path in sorted(src.rglob("*.wav")):
        if keep(path):
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    return dst


@pytest.fixture
def no_audio_may_be_read(monkeypatch):
    """Make reading any audio file fail loudly: what is checked first must not need it."""
    import sklearn_ser.audio as audio

    def forbidden(*args, **kwargs):
        raise AssertionError("audio was read before the settings were checked")

    monkeypatch.setattr(audio._file, "_read", forbidden)


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("cnn__epochs=abc", "'cnn__epochs' parameter of SERClassifier must be an int in the "
                            "range [1, inf). Got 'abc'"),
        ("cnn__epochs=-3", "'cnn__epochs' parameter"),
        ("augment__noise_amplitude=abc", "'augment__noise_amplitude' parameter of "
                                         "WaveformAugmenter"),
        ("features__n_columns=0", "'features__n_columns' parameter"),
        ("load__sr=22050.5", "'load__sr' parameter of AudioLoader"),
        ("cnn__dense_units=(16, 'x')", "'cnn__dense_units' parameter"),
    ],
)
def test_bad_set_values_fail_first_naming_the_parameter(demo, capsys, no_audio_may_be_read,
                                                        setting, fragment):
    code, _, err = run(capsys, "train", "--corpus", f"synthetic={demo / 'data'}",
                       "--preset", "reference", "--set", setting, "-q")
    assert code == 2
    assert_one_line_error(err, fragment)
    assert len(err.strip().splitlines()) == 1


def test_one_class_training_data_is_refused(demo, tmp_path, capsys, no_audio_may_be_read):
    folder = _copy_clips(demo / "data", tmp_path / "sad_only", lambda p: "_sad_" in p.name)
    code, _, err = run(capsys, "train", "--corpus", f"synthetic={folder}",
                       "--out", tmp_path / "m.joblib", "-q")
    assert code == 1
    assert_one_line_error(err, "the training data has 1 class (only 'sad')", "at least 2")
    assert not (tmp_path / "m.joblib").exists()


def test_predict_reports_bad_files_of_every_batch(demo, tmp_path, capsys, monkeypatch):
    good = sorted((demo / "unseen_speaker").glob("*.wav"))
    first, last = tmp_path / "first_bad.wav", tmp_path / "last_bad.wav"
    first.write_text("not audio")
    last.write_bytes(b"")
    from sklearn_ser.persistence import load_model

    model = load_model(demo / "model.joblib")
    predicted = []
    monkeypatch.setattr(type(model), "predict_proba",
                        lambda self, X, **kw: predicted.append(X) or 1 / 0)
    code, out, err = run(capsys, "predict", demo / "model.joblib", first, *good, last,
                         "--batch-size", 2, "-q")
    assert code == 1 and out == ""
    assert_one_line_error(err, "2 audio files cannot be used", "first_bad.wav: cannot be decoded",
                          "last_bad.wav: file is empty")
    assert predicted == [], "a prediction was made before every file was checked"


def test_train_on_two_speakers_uses_leave_one_speaker_out(ravdess_like, tmp_path, capsys):
    two = _copy_clips(ravdess_like, tmp_path / "two",
                      lambda p: p.parent.name in ("Actor_01", "Actor_02"))
    code, out, err = run(capsys, "train", "--corpus", f"ravdess={two}", *QUICK_SETS,
                         "--out", tmp_path / "m.joblib", "-q")
    assert code == 0, err
    assert "2 speaker folds (leave-one-speaker-out)" in err
    assert "evaluation (speaker_kfold, 2 folds)" in out
    report = json.loads((tmp_path / "m_report" / "report.json").read_text())
    tested = [s for fold in report["evaluation"]["fold_scores"] for s in fold["test_speakers"]]
    assert sorted(tested) == ["ravdess_01", "ravdess_02"]
    assert (tmp_path / "m.joblib").exists()


def test_train_on_one_speaker_skips_evaluation_and_saves(ravdess_like, tmp_path, capsys):
    one = _copy_clips(ravdess_like, tmp_path / "one", lambda p: p.parent.name == "Actor_01")
    code, out, err = run(capsys, "train", "--corpus", f"ravdess={one}", *QUICK_SETS,
                         "--out", tmp_path / "m.joblib", "-q")
    assert code == 0, err
    assert "only 1 speaker" in err and "evaluation (speaker_kfold) skipped" in err
    assert "evaluation (" not in out
    from sklearn_ser.persistence import load_model

    assert list(load_model(tmp_path / "m.joblib").classes_) == ["angry", "happy", "neutral",
                                                                 "sad"]
    assert "TRAINING clips" in (tmp_path / "m_report" / "report.txt").read_text()


# -- nothing lost, nothing hangs --------------------------------------------------------------
@pytest.mark.parametrize("option", ["--out", "--report-dir", "--export"])
def test_train_checks_every_output_location_before_reading_audio(demo, tmp_path, capsys,
                                                                 no_audio_may_be_read, option):
    # Tests run as root, whom read-only folders do not stop: a path through a regular
    # file cannot be created by anyone.
    blocker = tmp_path / "somefile"
    blocker.write_text("")
    outputs = {"--out": tmp_path / "m.joblib", "--report-dir": tmp_path / "report",
               "--export": tmp_path / "export"}
    outputs[option] = blocker / "below"
    code, out, err = run(capsys, "train", "--corpus", f"synthetic={demo / 'data'}",
                         *[a for item in outputs.items() for a in item], "-q")
    assert code == 2 and out == ""
    assert_one_line_error(err, f"{option}: cannot write", "somefile is a file, not a folder")
    assert not (tmp_path / "m.joblib").exists()


def test_train_refuses_to_replace_a_folder_that_is_not_an_export(demo, tmp_path, capsys,
                                                                 no_audio_may_be_read):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    code, _, err = run(capsys, "train", "--corpus", f"synthetic={demo / 'data'}",
                       "--out", tmp_path / "m.joblib", "--export", mine, "-q")
    assert code == 2
    assert_one_line_error(err, "--export: cannot export to", "(thesis.tex)")
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_predict_accepts_a_fitted_pipeline_saved_with_joblib_dump(demo, tmp_path, capsys):
    import joblib

    from sklearn_ser.persistence import load_model

    clips = sorted((demo / "unseen_speaker").glob("*.wav"))
    code, expected, err = run(capsys, "predict", demo / "model.joblib", *clips, "--proba", "-q")
    assert code == 0, err
    model = load_model(demo / "model.joblib")
    joblib.dump(model, tmp_path / "plain.joblib")
    code, out, err = run(capsys, "predict", tmp_path / "plain.joblib", *clips, "--proba", "-q")
    assert code == 0, err
    assert out == expected
    assert "versions it was made with were not recorded" in err
    # What is not a fitted pipeline of this package is still refused.
    joblib.dump(model.steps[0][1], tmp_path / "step.joblib")
    code, out, err = run(capsys, "predict", tmp_path / "step.joblib", *clips)
    assert code == 1 and out == ""
    assert_one_line_error(err, "is not a sklearn_ser model file (it holds a AudioLoader)")


def test_progress_bars_draw_no_frames_into_a_log(demo, capsys):
    # Under capsys stderr is a pipe, as in CI logs or `2>&1 | tee`: progress is not drawn.
    clips = sorted((demo / "unseen_speaker").glob("*.wav"))
    code, _, err = run(capsys, "predict", demo / "model.joblib", *clips, "--batch-size", 1)
    assert code == 0, err
    assert "\r" not in err and "it/s" not in err and "file/s" not in err


def test_train_recommended_does_not_import_tensorflow(tmp_path, ge2e_weights):
    script = textwrap.dedent(f"""
        import sys
        from sklearn_ser.datasets import make_emotional_speech
        from sklearn_ser.cli import main

        make_emotional_speech(n_speakers=2, n_clips_per_emotion=2, duration=0.5,
                              out_dir={str(tmp_path / "data")!r}, random_state=0)
        code = main(["train", "--corpus", "synthetic={tmp_path / "data"}", "--preset",
                     "recommended", "--protocol", "none", "--out", {str(tmp_path / "m.joblib")!r},
                     "--export", {str(tmp_path / "export")!r}])
        assert code == 0, code
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras",
                                                                      "scikeras"))
        print("LOADED", loaded)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout
    assert "oneDNN" not in done.stderr and "cuda" not in done.stderr.lower()


def test_run_experiment_checks_every_output_before_reading_audio(demo, tmp_path,
                                                                 no_audio_may_be_read):
    from sklearn_ser.datasets import load_corpora
    from sklearn_ser.experiment import run_experiment
    from sklearn_ser.pipeline import make_ser_pipeline

    data = load_corpora({"synthetic": demo / "data"})
    (tmp_path / "somefile").write_text("")
    for where in ("model_path", "report_dir", "export_dir"):
        with pytest.raises(OSError, match="somefile is a file, not a folder"):
            run_experiment(make_ser_pipeline(), data, protocol="none",
                           **{where: tmp_path / "somefile" / "below"})


def test_train_and_demo_default_to_the_recommended_preset():
    from sklearn_ser.cli._parser import build_parser
    from sklearn_ser.pipeline import make_ser_pipeline

    parser = build_parser()
    assert parser.parse_args(["train", "--corpus", "ravdess=/tmp"]).preset == "recommended"
    assert parser.parse_args(["demo"]).preset == "recommended"
    assert parser.parse_args(["demo", "--preset", "reference"]).preset == "reference"
    # The library's default and the command line's are the same model.
    default = make_ser_pipeline.__defaults__[0] if make_ser_pipeline.__defaults__ else None
    assert default == "recommended"
