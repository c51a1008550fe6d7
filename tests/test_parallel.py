"""Work sent to worker processes: librosa's numba caches are compiled before workers start."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import sys
from sklearn_ser._parallel import parallel_map
assert "librosa" not in sys.modules, "importing the helper must not import librosa"
assert parallel_map(abs, [1, -2, 3], n_jobs={n_jobs}) == [1, 2, 3]
print(*(name in sys.modules
        for name in ("librosa.core.audio", "librosa.core.pitch", "librosa.util.utils")))
"""


@pytest.mark.parametrize(("n_jobs", "expected"), [(2, "True True True"),
                                                  (1, "False False False"),
                                                  (None, "False False False")])
def test_librosa_is_compiled_here_only_before_work_goes_to_workers(n_jobs, expected):
    # Workers that import librosa at the same moment in a fresh environment write its
    # gufunc caches concurrently and can leave a cache that crashes every later call
    # (numba #10128; CI crashed in piptrack). The parent must import (compile) first;
    # work done in this process must not pay for librosa.
    out = subprocess.run([sys.executable, "-c", _PROBE.format(n_jobs=n_jobs)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == expected
