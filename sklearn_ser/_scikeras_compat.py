"""Every place sklearn_ser works around SciKeras, each with what would end it.

Checked against scikeras 0.13.0 (2024-04), the newest release the package
registries hold; none of the items below is fixed by a released SciKeras. When
one is, delete the item and its use: each is small and named here so that a
SciKeras upgrade is one file to read.

1. Tags. scikeras 0.13 predates scikit-learn 1.6's ``__sklearn_tags__`` API,
   so ``is_classifier(KerasClassifier())`` is False and ``cross_val_score``
   silently uses ``KFold`` instead of ``StratifiedKFold``. Ends with a SciKeras
   release that implements ``__sklearn_tags__`` (KerasClassifier's estimator
   type "classifier", target required).
2. Validation data. Keras needs ``validation_data`` with *encoded* labels, and
   SciKeras creates its target encoder only inside ``fit``; SciKeras also passes
   ``validation_split`` straight to Keras, which would hold out copies (views) of
   training clips. We hold out whole clips or speakers ourselves and add the
   encoded validation set in the ``_fit_keras_model`` hook. Ends with a SciKeras
   release that encodes a ``fit__validation_data`` target itself.
3. Training-only callbacks. SciKeras keeps the callbacks it was fitted with in
   the private ``_fit_callbacks``/``_predict_callbacks``; callbacks we add for one
   fit (learning-rate schedule, early stopping) are put there for that fit only,
   so a pickled estimator never references the model through them, and saving
   a model clears the user's (display) callbacks there too. Ends with a public
   SciKeras hook for per-fit callbacks.
4. One-row predictions. ``KerasClassifier.predict_proba`` squeezes a single
   clip's probabilities to shape (n_classes,); we reshape to (1, n_classes).
   Ends with a SciKeras release that keeps the 2-D shape.
5. Persistence. Restoring a pickle-free export sets the fitted state SciKeras
   would set in ``fit`` (:func:`restore_fitted_state`). Ends with a public
   SciKeras way to wrap an already trained Keras model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.utils import ClassifierTags

__all__ = ["SciKerasCompat", "clear_fitted_callbacks", "restore_fitted_state"]


class SciKerasCompat:
    """Mixin, placed before ``KerasClassifier``, holding items 1-4 of the module docstring.

    Subclasses override :meth:`_training_extras` to give one fit extra Keras
    ``fit`` arguments and callbacks.
    """

    # -- item 1: tags ----------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    # -- item 2: validation split and data -----------------------------------------------
    @property
    def _fit_kwargs(self) -> set[str]:
        # KerasClassifier turns class_weight into sample weights; the validation clips are
        # split by the subclass, so Keras must not see validation_split.
        return KerasClassifier._fit_kwargs.fget(self) - {"validation_split"}

    def _training_extras(self) -> tuple[dict[str, Any], list]:
        """Extra Keras ``fit`` arguments and callbacks for the fit that is starting.

        Called after SciKeras has fitted its target encoder, so labels can be
        encoded here (``self.target_encoder_``).

        Returns
        -------
        fit_kwargs : dict
        callbacks : list of keras.callbacks.Callback
        """
        return {}, []

    # -- item 3: callbacks of one fit ------------------------------------------------------
    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch,
                         **kwargs):
        extra_kwargs, extra_callbacks = self._training_extras()
        user_callbacks = self._fit_callbacks
        self._fit_callbacks = [*user_callbacks, *extra_callbacks]
        try:
            super()._fit_keras_model(
                X, y, sample_weight=sample_weight, warm_start=warm_start, epochs=epochs,
                initial_epoch=initial_epoch, **kwargs, **extra_kwargs,
            )
        finally:
            self._fit_callbacks = user_callbacks

    # -- item 4: one-row predictions -------------------------------------------------------
    def _keras_proba(self, X: np.ndarray, **kwargs) -> np.ndarray:
        """``KerasClassifier.predict_proba`` with one row per sample, always."""
        proba = KerasClassifier.predict_proba(self, X, **kwargs)
        return proba.reshape(len(X), -1)


def clear_fitted_callbacks(estimator: Any) -> None:
    """Make SciKeras' fitted callbacks match ``callbacks=None`` (item 3).

    SciKeras keeps the callbacks it was fitted with; after
    ``set_params(callbacks=None)`` they must go too, as a fit with
    ``callbacks=None`` would have left them.

    Parameters
    ----------
    estimator : KerasClassifier
    """
    for attr in ("_fit_callbacks", "_predict_callbacks"):
        if hasattr(estimator, attr):
            setattr(estimator, attr, [])


def restore_fitted_state(estimator: Any, network: Any, classes: np.ndarray,
                         input_shape: tuple[int, ...]) -> None:
    """Give an unfitted ``KerasClassifier`` a trained network and its classes (item 5).

    SciKeras' ``initialize`` fits its label and feature encoders on one dummy
    sample per class (so the class order is the saved one) and takes the
    network as its model, given for that call as the build function: nothing is
    built from parameters.

    Parameters
    ----------
    estimator : KerasClassifier
    network : keras.Model
        Trained; its output width must equal ``len(classes)``.
    classes : ndarray
        The labels, in the network's output order.
    input_shape : tuple of int
        One sample's shape, as the network takes it.
    """
    dummy = np.zeros((len(classes), *input_shape), dtype=np.float32)
    estimator._keras_build_fn = lambda meta, compile_kwargs: network
    try:
        estimator.initialize(dummy, classes)
    finally:
        del estimator._keras_build_fn
