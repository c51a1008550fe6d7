"""Every example script runs end to end with its short settings (synthetic data)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
# The two real-data examples take a minute or more on their synthetic fallback; the
# docs build runs them on RAVDESS, and CI's `pytest -m slow` runs them here too.
LONG = {"plot_encoder_vs_cnn", "plot_train_ravdess"}


def test_examples_are_found():
    names = {script.name for script in SCRIPTS}
    assert {"plot_quickstart.py", "plot_train_ravdess.py", "plot_grid_search.py",
            "plot_load_and_predict.py", "plot_feature_images.py"} <= names


@pytest.mark.parametrize("script", [
    pytest.param(script, marks=pytest.mark.slow) if script.stem in LONG else script
    for script in SCRIPTS], ids=lambda p: p.stem)
def test_example_runs_quickly(script, tmp_path):
    text = script.read_text()
    assert text.lstrip().startswith('"""'), "gallery examples start with a docstring"
    title = text.lstrip()[3:].strip().splitlines()
    assert title[0].startswith("=") and set(title[2]) == {"="}, "a title between = lines"
    env = {
        **os.environ,
        "SKLEARN_SER_EXAMPLE_QUICK": "1",
        "MPLBACKEND": "Agg",
        "TMPDIR": str(tmp_path),
    }
    env.pop("SKLEARN_SER_RAVDESS", None)  # the RAVDESS example falls back to synthetic data
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    # On the synthetic fallback, too, every printed score is clearly above chance.
    sys.path.insert(0, str(EXAMPLES.parent / "docs" / "_ext"))
    try:
        from gallery_helpers import score_problems
    finally:
        sys.path.remove(str(EXAMPLES.parent / "docs" / "_ext"))
    assert not score_problems(script.stem, result.stdout), result.stdout[-3000:]
