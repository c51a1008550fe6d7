"""scikit-learn's own estimator checks, for every estimator of the package, in one place.

* Estimators whose input is a 2-D table of numbers (``ViewsClassifier``,
  ``SpeakerStandardizer``) run scikit-learn's full suite
  (``parametrize_with_checks``), with no expected failure.
* ``GE2EEncoder`` and ``WhisperEncoder`` take waveforms, and a float array of
  shape (n_clips, n_samples) *is* a batch of waveforms to them: the full suite
  runs on them too, each row of the checks' arrays a (very short) clip, and on
  an ``EncoderUnion`` of both. Expected failures are listed below, each with
  why the check cannot apply to an input whose rows are sounds: the encoders
  share them (``ENCODERS_CANNOT_APPLY``); Whisper's batched matmuls and the
  union's in-place fit of its encoders (as scikit-learn's own FeatureUnion)
  add one and two.
* ``OpenSmileFunctionals`` takes waveforms as well, but the checks' rows
  (3 to 20 samples, about a millisecond at 16 kHz) give openSMILE no frame to
  analyse: every functional comes out NaN and the clip is refused, so no
  data-driven check can run. It gets the checks that do not feed data
  (:data:`conftest.API_CHECKS`), as do the steps that take paths or images
  (``AudioLoader``, ``WaveformAugmenter``, ``FeatureImageExtractor``,
  ``SERClassifier``, in ``test_models.py``).
"""

from __future__ import annotations

import pytest
from conftest import API_CHECKS
from sklearn.linear_model import LogisticRegression
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ser.adaptation import SpeakerStandardizer
from sklearn_ser.encoders import EncoderUnion, GE2EEncoder, WhisperEncoder
from sklearn_ser.functionals import OpenSmileFunctionals
from sklearn_ser.views import ViewsClassifier


def _run(check, estimator, monkeypatch) -> None:
    """Run one check; scikit-learn's array API check skips unless SCIPY_ARRAY_API is set
    (numpy is the only namespace it needs here), so it is set for that check alone."""
    if "check_array_api_input" in repr(check):
        monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


# -- 2-D tables: the whole suite ------------------------------------------------------------
@parametrize_with_checks([ViewsClassifier(LogisticRegression()), SpeakerStandardizer()])
def test_table_estimators_pass_all_sklearn_checks(estimator, check, monkeypatch):
    _run(check, estimator, monkeypatch)


# -- the pretrained encoders: the whole suite, each row of the checks' arrays a clip ----------
class GE2EOnRows(GE2EEncoder):
    """GE2EEncoder, declared to take the 2-D float arrays it reads as batches of waveforms.

    ``GE2EEncoder`` declares ``two_d_array=False`` (its input is audio), which
    makes scikit-learn run only its clone check; this declares what
    :func:`sklearn_ser.views.as_clips` accepts, and nothing else differs.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags


class WhisperOnRows(WhisperEncoder):
    """WhisperEncoder, declared to take 2-D float arrays as batches of waveforms (as GE2EOnRows)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags


_ANY_LENGTH = ("a row is a clip and its length a duration, not a number of features: clips "
               "of any length are valid input, so there is no n_features_in_ to check")
_FIT_READS_NO_AUDIO = ("fit reads no clip (the encoder is pretrained: fit loads and checks "
                       "the weights, GE2EEncoder().fit(None) is valid), so it cannot refuse "
                       "bad data; transform refuses NaN/inf, complex, sparse and 1-D input "
                       "(test_encoders.py and test_whisper_encoder.py::test_transform_refuses_"
                       "what_a_batch_of_waveforms_cannot_be) and maps 0 clips to 0 vectors")
ENCODERS_CANNOT_APPLY = {
    "check_n_features_in": _ANY_LENGTH,
    "check_n_features_in_after_fitting": _ANY_LENGTH,
    # Its other assertions (fit_transform equals fit().transform, ...) hold; the one that
    # fails wants a different row length refused at transform.
    "check_transformer_general": _ANY_LENGTH,
    "check_estimators_nan_inf": _FIT_READS_NO_AUDIO,
    "check_estimators_empty_data_messages": _FIT_READS_NO_AUDIO,
    "check_complex_data": _FIT_READS_NO_AUDIO,
    "check_fit1d": _FIT_READS_NO_AUDIO,
    "check_estimator_sparse_tag": _FIT_READS_NO_AUDIO,
    "check_dtype_object": (
        "an object array is how clips of different lengths travel, one waveform per element "
        "of a 1-D array; a 2-D object array of numbers is not a batch of clips and is refused"),
}
WHISPER_CANNOT_APPLY = {
    **ENCODERS_CANNOT_APPLY,
    "check_methods_subset_invariance": (
        "the frames of a batch's clips go through each matmul together, and BLAS rounds a "
        "one-row product (a check's row alone: one frame) differently from a many-row one: "
        "about 1e-7, which the check allows only relatively, on values near 0. A clip's "
        "vector does not depend on the batch beyond that (test_whisper_encoder.py::"
        "test_a_batch_gives_each_clip_what_it_gets_alone)"),
}
_UNION_FITS_ITS_PARAMETERS = (
    "FeatureUnion fits the encoders of its transformer_list parameter in place, which "
    "these checks see as fit changing a parameter; scikit-learn expects the same of "
    "FeatureUnion itself (sklearn/utils/_test_common/instance_generator.py)")
UNION_CANNOT_APPLY = {
    **WHISPER_CANNOT_APPLY,
    "check_estimators_overwrite_params": _UNION_FITS_ITS_PARAMETERS,
    "check_dont_overwrite_parameters": _UNION_FITS_ITS_PARAMETERS,
}


@pytest.mark.usefixtures("ge2e_weights")
@parametrize_with_checks([GE2EOnRows()], expected_failed_checks=lambda _: ENCODERS_CANNOT_APPLY)
def test_ge2e_encoder_passes_sklearn_checks_on_rows_as_clips(estimator, check, monkeypatch):
    _run(check, estimator, monkeypatch)


@parametrize_with_checks([WhisperOnRows(layers=(1,))],
                         expected_failed_checks=lambda _: WHISPER_CANNOT_APPLY)
def test_whisper_encoder_passes_sklearn_checks_on_rows_as_clips(estimator, check, monkeypatch):
    _run(check, estimator, monkeypatch)


@pytest.mark.usefixtures("ge2e_weights")
@parametrize_with_checks(
    # Its tags are its encoders': on rows-as-clips encoders, it takes rows as clips too.
    [EncoderUnion([("ge2e", GE2EOnRows()), ("whisper", WhisperOnRows(layers=(1,)))])],
    expected_failed_checks=lambda _: UNION_CANNOT_APPLY,
)
def test_encoder_union_passes_sklearn_checks_on_rows_as_clips(estimator, check, monkeypatch):
    _run(check, estimator, monkeypatch)


# -- waveform transformers whose checks' data cannot be audio: the API checks ---------------
@pytest.mark.parametrize(
    "check",
    [*API_CHECKS, estimator_checks.check_mixin_order, estimator_checks.check_transformer_n_iter],
    ids=lambda c: c.__name__,
)
@pytest.mark.parametrize(
    "estimator",
    [GE2EEncoder(), WhisperEncoder(), OpenSmileFunctionals(),
     EncoderUnion([("ge2e", GE2EEncoder()), ("whisper", WhisperEncoder())])],
    ids=lambda e: type(e).__name__,
)
def test_waveform_transformers_pass_the_api_checks(estimator, check):
    check(type(estimator).__name__, estimator)
