"""scikit-learn's own estimator checks, for every estimator of the package, in one place.

* Estimators whose input is a 2-D table of numbers (``ViewsClassifier``,
  ``SpeakerStandardizer``) run scikit-learn's full suite
  (``parametrize_with_checks``), with no expected failure.
* ``GE2EEncoder`` takes waveforms, and a float array of shape
  (n_clips, n_samples) *is* a batch of waveforms to it: the full suite runs
  on it too, each row of the checks' arrays a (very short) clip. Expected
  failures are listed below, each with why the check cannot apply to an
  input whose rows are sounds.
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
from sklearn_ser.encoders import GE2EEncoder
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


# -- GE2EEncoder: the whole suite, each row of the checks' arrays a clip ----------------------
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


_ANY_LENGTH = ("a row is a clip and its length a duration, not a number of features: clips "
               "of any length are valid input, so there is no n_features_in_ to check")
_FIT_READS_NO_AUDIO = ("fit reads no clip (the encoder is pretrained: fit loads and checks "
                       "the weights, GE2EEncoder().fit(None) is valid), so it cannot refuse "
                       "bad data; transform refuses NaN/inf, complex, sparse and 1-D input "
                       "(test_encoders.py::test_transform_refuses_what_a_batch_of_waveforms_"
                       "cannot_be) and maps 0 clips to 0 vectors")
GE2E_CANNOT_APPLY = {
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


@pytest.mark.usefixtures("ge2e_weights")
@parametrize_with_checks([GE2EOnRows()], expected_failed_checks=lambda _: GE2E_CANNOT_APPLY)
def test_ge2e_encoder_passes_sklearn_checks_on_rows_as_clips(estimator, check, monkeypatch):
    _run(check, estimator, monkeypatch)


# -- waveform transformers whose checks' data cannot be audio: the API checks ---------------
@pytest.mark.parametrize(
    "check",
    [*API_CHECKS, estimator_checks.check_mixin_order, estimator_checks.check_transformer_n_iter],
    ids=lambda c: c.__name__,
)
@pytest.mark.parametrize("estimator", [GE2EEncoder(), OpenSmileFunctionals()],
                         ids=lambda e: type(e).__name__)
def test_waveform_transformers_pass_the_api_checks(estimator, check):
    check(type(estimator).__name__, estimator)
