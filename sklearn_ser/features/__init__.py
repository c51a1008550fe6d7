"""Feature extraction: each waveform becomes one 2-D "image" of stacked spectral features.

The reference recipe (librosa defaults: ``n_fft=2048``, ``hop_length=512``,
22050 Hz), rows stacked top to bottom:

=========== ==== =====================================================================
block       rows computation
=========== ==== =====================================================================
mel          31  mel power spectrogram (128 bands), rows averaged in groups of 4
                 (bands 0-3, 4-7, ..., 120-123; the last 4 bands are dropped)
chroma       12  ``chroma_stft`` of the power spectrogram ``|STFT|**2``
mfcc_delta2  50  second-order delta of 50 MFCCs (the MFCCs themselves are not kept)
contrast      7  ``spectral_contrast`` of the magnitude spectrogram ``|STFT|``
tonnetz       6  ``tonnetz`` of the harmonic component (``librosa.effects.harmonic``)
=========== ==== =====================================================================

= 106 rows, then resized along time to ``n_columns`` (160) by linear
interpolation with the pixel-centre convention of OpenCV's ``INTER_LINEAR``.

Every signal computation of the package goes through :func:`feature_blocks`,
in one of two modes:

``mode="faithful"`` (default)
    The reference numbers, about 5x faster than calling each librosa feature
    on the waveform. The STFT is computed once and shared (librosa computes
    the same one inside each feature), and the slow parts of librosa's path
    are replaced by exact equivalents: a running-median HPSS that computes
    only the harmonic mask, a CQT whose filter basis is built once per
    tuning value instead of once per octave per call, and a tuning estimate
    that reads only the bins it keeps. On real speech the blocks equal the
    straight recipe's to float rounding (checked by the tests).
``mode="fast"``
    Every block but tonnetz as above; tonnetz from the CQT chroma of the
    waveform itself, without harmonic separation or tuning estimate: about
    3x faster again, at an accuracy cost measured on the benchmarks page.

Layout: ``_recipe`` holds the recipe (:func:`feature_blocks`,
:func:`feature_image`, :func:`resize_time`), ``_image`` the estimator
:class:`FeatureImageExtractor`, and :mod:`sklearn_ser._librosa_mirror` the
exact re-implementations of librosa internals that the recipe calls.
Everything public is importable from here; pickles made before this package
was split name ``sklearn_ser.features.FeatureImageExtractor``, which resolves
here.
"""

from sklearn_ser.features._image import FeatureImageExtractor
from sklearn_ser.features._recipe import (
    KNOWN_FEATURES,
    MODES,
    REFERENCE_FEATURES,
    block_rows,
    feature_blocks,
    feature_image,
    resize_time,
)

__all__ = [
    "KNOWN_FEATURES",
    "MODES",
    "REFERENCE_FEATURES",
    "FeatureImageExtractor",
    "block_rows",
    "feature_blocks",
    "feature_image",
    "resize_time",
]
