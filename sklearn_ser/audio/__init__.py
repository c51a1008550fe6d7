"""Audio loading: file paths in, mono waveforms at one sample rate out.

:func:`load_audio` and the :class:`AudioLoader` read whole clips;
:func:`stream_audio` reads a long recording block by block in bounded memory
(for :func:`sklearn_ser.segments.predict_segments`). Resampling and silence
trimming are librosa's, computed by :mod:`sklearn_ser._librosa_mirror`
without importing librosa (its import costs about a second per process).

Modules: ``_file`` (one file, whole: checks, decoding, per-clip processing),
``_stream`` (block reading), ``_activity`` (trimming to the speech in noisy
recordings) and ``_loader`` (the pipeline step).
"""

from sklearn_ser.audio._activity import trim_to_speech
from sklearn_ser.audio._file import (
    LONG_RECORDING_API,
    MAX_DURATION,
    MIN_SAMPLE_RATE,
    SILENCE_PEAK,
    check_audio_file,
    check_sample_rate,
    condition_waveform,
    downmix,
    load_audio,
    resample,
    trim_silence,
)
from sklearn_ser.audio._loader import AudioLoader, as_waveform_array, check_paths
from sklearn_ser.audio._stream import SampleBuffer, stream_audio

__all__ = [
    "LONG_RECORDING_API",
    "MAX_DURATION",
    "MIN_SAMPLE_RATE",
    "SILENCE_PEAK",
    "AudioLoader",
    "SampleBuffer",
    "as_waveform_array",
    "check_audio_file",
    "check_paths",
    "check_sample_rate",
    "condition_waveform",
    "downmix",
    "load_audio",
    "resample",
    "stream_audio",
    "trim_silence",
    "trim_to_speech",
]
