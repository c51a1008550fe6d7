"""``benchmarks/bench_views.py`` compares view sets on one front: the preset's views must not
change when views are added after them."""

import numpy as np
import pytest
from conftest import load_benchmark

from sklearn_ser import make_ser_pipeline
from sklearn_ser.views import Views


@pytest.fixture(scope="module")
def bench_views():
    return load_benchmark("bench_views")


def _clips(n=4, sr=16000):
    rng = np.random.default_rng(0)
    t = np.arange(sr) / sr
    clips = np.empty(n, dtype=object)
    for i in range(n):
        tone = np.sin(2 * np.pi * (150 + 40 * i) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
        clips[i] = (0.3 * tone + 0.01 * rng.standard_normal(sr)).astype(np.float32)
    return clips


def test_added_views_leave_the_presets_views_unchanged(bench_views):
    clips = _clips()
    preset = make_ser_pipeline("recommended", random_state=0).named_steps["augment"]
    full = make_ser_pipeline("recommended", random_state=0,
                             augment__views=bench_views._all_views(),
                             **bench_views.VIEW_SETTINGS).named_steps["augment"]
    alone, together = preset.fit_transform(clips), full.fit_transform(clips)
    n = len(bench_views.PRESET_VIEWS)
    assert together.names[:n] == alone.names == bench_views.PRESET_VIEWS
    assert together.n_views == n + 3  # pitch, speed, tempo
    for i in range(len(clips)):
        for j in range(n):
            np.testing.assert_array_equal(together.data[i, j], alone.data[i, j])
        # The added views are views of the clip, not copies of the clean one.
        for j in range(n, together.n_views):
            assert not np.array_equal(together.data[i, j][:len(clips[i])], clips[i])


def test_select_keeps_the_named_views_in_the_order_asked(bench_views):
    data = np.arange(24.0).reshape(2, 4, 3)
    views = Views(data, ("clean", "mixed", "pitch", "speed"))
    picked = bench_views._select(views, ("clean", "speed", "mixed"))
    assert picked.names == ("clean", "speed", "mixed")
    np.testing.assert_array_equal(picked.data, data[:, [0, 3, 1]])
