"""The CNN classifier: a SciKeras ``KerasClassifier`` over feature images.

:class:`SERClassifier` accepts the feature extractor's output directly:
images of shape (n_clips, rows, columns), or, while fitting after the
augmenter, a :class:`~sklearn_ser.views.Views` of them. In ``fit`` every view
is a training sample carrying its clip's label (this is how waveform
augmentation reaches the network, see :mod:`sklearn_ser.views`).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import _fit_context
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.utils import ClassifierTags
from sklearn.utils._param_validation import Interval, StrOptions

from sklearn_ser._scikeras_compat import SciKerasCompat
from sklearn_ser._validation import IntSequence, check_labels
from sklearn_ser.views import CLEAN, Views, average_over_views, training_samples

ARCHITECTURES = ("reference", "compact")


@keras.saving.register_keras_serializable(package="sklearn_ser")
class SpecAugment(keras.layers.Layer):
    """SpecAugment-style masking of feature images, active only while training.

    Each training image gets ``n_masks`` bands of up to ``freq_mask`` rows and
    ``n_masks`` spans of up to ``time_mask`` columns set to zero (the mean of
    standardised features). At inference the layer is the identity.
    """

    def __init__(self, freq_mask: int = 0, time_mask: int = 0, n_masks: int = 2,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.freq_mask = freq_mask
        self.time_mask = time_mask
        self.n_masks = n_masks
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        ops = keras.ops
        batch = ops.shape(inputs)[0]
        keep = ops.ones_like(inputs)
        for axis, width in ((1, self.freq_mask), (2, self.time_mask)):
            if not width:
                continue
            size = inputs.shape[axis]
            position = ops.reshape(ops.arange(size, dtype="float32"),
                                   [1, size, 1, 1] if axis == 1 else [1, 1, size, 1])
            for _ in range(self.n_masks):
                w = ops.floor(keras.random.uniform((batch, 1, 1, 1), 0, width + 1,
                                                   seed=self.seed_generator))
                start = ops.floor(keras.random.uniform((batch, 1, 1, 1), 0, 1,
                                                       seed=self.seed_generator) * (size - w))
                inside = ops.logical_and(position >= start, position < start + w)
                keep = keep * (1.0 - ops.cast(inside, inputs.dtype))
        return inputs * keep

    def get_config(self):
        return {**super().get_config(), "freq_mask": self.freq_mask,
                "time_mask": self.time_mask, "n_masks": self.n_masks, "seed": self.seed}


@keras.saving.register_keras_serializable(package="sklearn_ser")
class PerClipNormalization(keras.layers.Layer):
    """Standardise each image row over time, per clip (cepstral mean/variance normalisation).

    Removes each clip's recording level and channel colouring, which differ
    between speakers and microphones more than between emotions.
    """

    def call(self, inputs):
        ops = keras.ops
        mean = ops.mean(inputs, axis=2, keepdims=True)
        std = ops.std(inputs, axis=2, keepdims=True)
        return (inputs - mean) / (std + 1e-5)


def build_cnn(
    input_shape: tuple[int, int, int],
    n_classes: int,
    *,
    architecture: str = "reference",
    conv_filters: Sequence[int] | None = None,
    kernel_size: int = 3,
    dropout: float = 0.2,
    dense_units: Sequence[int] | None = None,
    freq_mask: int = 0,
    time_mask: int = 0,
    clip_normalization: bool = False,
    seed: int | None = None,
) -> keras.Model:
    """Build (not compile) one of the package's CNNs.

    Parameters
    ----------
    input_shape : (rows, columns, 1)
        Shape of one feature image with its channel axis.
    n_classes : int
        Width of the softmax output.
    architecture : {"reference", "compact"}, default="reference"
        ``"reference"``: MaxPool 2x2 -> Dropout -> [Conv relu -> MaxPool 2x2 ->
        Dropout] ... -> Conv relu -> Flatten -> Dense relu -> Dropout -> Dense
        relu -> softmax; with the defaults and a 106x160 input it has
        3,525,672 parameters for 8 classes. ``"compact"``: Conv -> BatchNorm ->
        relu -> MaxPool blocks, global average pooling, one Dense layer: far
        fewer parameters, no 54,464-wide Flatten.
    conv_filters : sequence of int or None
        Filters per convolution; ``None`` is (64, 64) for ``"reference"``,
        (32, 64, 128, 128) for ``"compact"``.
    kernel_size : int, default=3
        Square convolution kernel size.
    dropout : float, default=0.2
        Dropout rate.
    dense_units : sequence of int or None
        Hidden dense layers; ``None`` is (64, 32) for ``"reference"``, (64,)
        for ``"compact"``.
    freq_mask, time_mask : int, default=0
        SpecAugment: widest masked band of rows / span of columns in training
        (0 disables), see :class:`SpecAugment`.
    clip_normalization : bool, default=False
        Standardise each row of each image over time first
        (:class:`PerClipNormalization`).
    seed : int or None
        Seed of the SpecAugment masks.

    Returns
    -------
    model : keras.Model
    """
    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape))
    x = inputs
    if clip_normalization:
        x = PerClipNormalization()(x)
    if freq_mask or time_mask:
        x = SpecAugment(freq_mask=freq_mask, time_mask=time_mask, seed=seed)(x)
    if architecture == "reference":
        filters = (64, 64) if conv_filters is None else tuple(conv_filters)
        dense = (64, 32) if dense_units is None else tuple(dense_units)
        x = layers.MaxPooling2D(pool_size=2)(x)
        x = layers.Dropout(dropout)(x)
        for i, n_filters in enumerate(filters):
            x = layers.Conv2D(n_filters, kernel_size, activation="relu")(x)
            if i < len(filters) - 1:
                x = layers.MaxPooling2D(pool_size=2)(x)
                x = layers.Dropout(dropout)(x)
        x = layers.Flatten()(x)
    elif architecture == "compact":
        filters = (32, 64, 128, 128) if conv_filters is None else tuple(conv_filters)
        dense = (64,) if dense_units is None else tuple(dense_units)
        for n_filters in filters:
            x = layers.Conv2D(n_filters, kernel_size, padding="same", use_bias=False)(x)
            # momentum 0.9: moving statistics settle within a few hundred steps on small sets.
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("relu")(x)
            x = layers.MaxPooling2D(pool_size=2, padding="same")(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dropout(dropout)(x)
    else:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    for i, units in enumerate(dense):
        x = layers.Dense(units, activation="relu")(x)
        if i < len(dense) - 1:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=f"ser_{architecture}_cnn")


class SERClassifier(SciKerasCompat, KerasClassifier):
    """A 2-D CNN over feature images, as a scikit-learn classifier (SciKeras).

    Labels are the user's own (strings or integers). ``fit`` takes images of
    shape (n_clips, rows, columns) or (n_clips, n_views, rows, columns); all
    views of a clip are trained on with that clip's label. ``predict_proba``
    averages the probabilities over a clip's views.

    Parameters
    ----------
    architecture : {"reference", "compact"}, default="reference"
        Network family, see :func:`build_cnn`.
    conv_filters : sequence of int or None, default=None
        Filters per convolution (architecture default when None).
    kernel_size : int, default=3
        Convolution kernel size.
    dropout : float, default=0.2
        Dropout rate.
    dense_units : sequence of int or None, default=None
        Hidden dense layer sizes (architecture default when None).
    freq_mask, time_mask : int, default=0
        SpecAugment widths (rows, columns) masked in training only.
    clip_normalization : bool, default=False
        Standardise each image row over time, per clip, inside the network.
    learning_rate : float, default=0.001
        Adam's learning rate.
    weight_decay : float or None, default=None
        Decoupled weight decay (AdamW) when set.
    epochs : int, default=100
        Training epochs.
    batch_size : int, default=25
        Training batch size.
    predict_batch_size : int, default=256
        Batch size at prediction (larger batches are faster and change nothing).
    reduce_lr : bool, default=True
        ``ReduceLROnPlateau`` on the training loss (or ``val_loss`` with a
        validation split) with ``lr_factor``, ``lr_patience`` and ``min_lr``.
    lr_factor : float, default=0.75
    lr_patience : int, default=2
    min_lr : float, default=1e-6
    early_stopping : bool, default=False
        Stop when the monitored loss has not improved for ``patience``
        epochs, restoring the best weights.
    patience : int, default=10
    validation_split : float, default=0.0
        Fraction of the training *clips* (with all their views, stratified)
        held out to monitor ``val_loss`` and ``val_accuracy``. Unlike Keras'
        own ``validation_split`` no copy of a held-out clip is trained on.
    class_weight : "balanced", dict or None, default=None
        Class weights (by label), applied as sample weights.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, shuffling and the validation split;
        with a seed, TensorFlow runs deterministic ops and results repeat.
    verbose : int, default=0
        Keras' verbosity in ``fit`` (1: progress bar, 2: a line per epoch).
    loss : str, default="sparse_categorical_crossentropy"
        Categorical cross-entropy on integer-coded labels (the same loss as
        one-hot ``categorical_crossentropy``, which SciKeras cannot use for
        two classes).
    **kwargs
        Further SciKeras parameters (``callbacks``, ``fit__...``, ``model``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``.
    history_ : dict of str to list of float
        Per-epoch training history (``loss``, ``accuracy``, ``learning_rate``,
        and ``val_loss``/``val_accuracy`` with a validation split).
    model_ : keras.Model
        The fitted network.
    """

    # Every parameter of get_params(): ours, and the SciKeras ones we pass on or that
    # SciKeras accepts ("no_validation": objects SciKeras itself checks when it uses them).
    _parameter_constraints: dict = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "conv_filters": [IntSequence(1, 4096, max_len=32), None],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dense_units": [IntSequence(1, 1 << 16, max_len=32), None],
        "freq_mask": [Interval(Integral, 0, None, closed="left")],
        "time_mask": [Interval(Integral, 0, None, closed="left")],
        "clip_normalization": ["boolean"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "predict_batch_size": [Interval(Integral, 1, None, closed="left")],
        "reduce_lr": ["boolean"],
        "lr_factor": [Interval(Real, 0, 1, closed="neither")],
        "lr_patience": [Interval(Integral, 0, None, closed="left")],
        "min_lr": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "random_state": ["random_state"],
        "verbose": [Interval(Integral, 0, 2, closed="both"), StrOptions({"auto"}), "boolean"],
        "loss": "no_validation",
        # SciKeras' own parameters.
        "model": "no_validation",
        "build_fn": "no_validation",
        "warm_start": ["boolean"],
        "optimizer": "no_validation",
        "metrics": "no_validation",
        "validation_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "callbacks": "no_validation",
        "shuffle": ["boolean"],
        "run_eagerly": ["boolean"],
    }

    def __init__(
        self,
        model=None,
        *,
        architecture: str = "reference",
        conv_filters: Sequence[int] | None = None,
        kernel_size: int = 3,
        dropout: float = 0.2,
        dense_units: Sequence[int] | None = None,
        freq_mask: int = 0,
        time_mask: int = 0,
        clip_normalization: bool = False,
        learning_rate: float = 0.001,
        weight_decay: float | None = None,
        epochs: int = 100,
        batch_size: int = 25,
        predict_batch_size: int = 256,
        reduce_lr: bool = True,
        lr_factor: float = 0.75,
        lr_patience: int = 2,
        min_lr: float = 1e-6,
        early_stopping: bool = False,
        patience: int = 10,
        validation_split: float = 0.0,
        class_weight=None,
        random_state=None,
        verbose: int = 0,
        loss: str = "sparse_categorical_crossentropy",
        **kwargs,
    ):
        super().__init__(
            model=model,
            loss=loss,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            random_state=random_state,
            verbose=verbose,
            class_weight=class_weight,
            **kwargs,
        )
        self.architecture = architecture
        self.conv_filters = conv_filters
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.dense_units = dense_units
        self.freq_mask = freq_mask
        self.time_mask = time_mask
        self.clip_normalization = clip_normalization
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.predict_batch_size = predict_batch_size
        self.reduce_lr = reduce_lr
        self.lr_factor = lr_factor
        self.lr_patience = lr_patience
        self.min_lr = min_lr
        self.early_stopping = early_stopping
        self.patience = patience

    # With metadata routing on, speaker ids passed as ``groups`` reach fit (speaker-disjoint
    # validation) without an explicit set_fit_request.
    __metadata_request__fit = {"groups": True}

    def _keras_build_fn(self, meta: dict, compile_kwargs: dict) -> keras.Model:
        model = build_cnn(
            meta["X_shape_"][1:],
            meta["n_classes_"],
            architecture=self.architecture,
            conv_filters=self.conv_filters,
            kernel_size=self.kernel_size,
            dropout=self.dropout,
            dense_units=self.dense_units,
            freq_mask=self.freq_mask,
            time_mask=self.time_mask,
            clip_normalization=self.clip_normalization,
            seed=self._random_state,
        )
        if self.weight_decay:
            optimizer = keras.optimizers.AdamW(self.learning_rate, weight_decay=self.weight_decay)
        else:
            optimizer = keras.optimizers.Adam(self.learning_rate)
        model.compile(optimizer=optimizer, loss=compile_kwargs["loss"], metrics=["accuracy"])
        return model

    # -- public API ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None, **kwargs) -> SERClassifier:
        """Train on every view of every clip.

        Parameters
        ----------
        X : ndarray of shape (n_clips, rows, columns), or Views of such images
            Feature images (the output of :class:`~sklearn_ser.FeatureImageExtractor`).
        y : array-like of shape (n_clips,)
            One label per clip.
        sample_weight : array-like of shape (n_clips,), optional
            One weight per clip (shared by its views).
        groups : array-like of shape (n_clips,), optional
            Speaker ids: with ``validation_split`` the held-out clips are then
            whole speakers, so early stopping watches unseen voices. In a
            Pipeline pass it as ``pipe.fit(X, y, cnn__groups=speakers)``.

        Returns
        -------
        self : SERClassifier
        """
        check_labels(y)  # one class, or strings mixed with numbers: refused by name
        views = X.with_data(_as_images(X.data, views=True)) if isinstance(X, Views) else Views(
            _as_images(X)[:, None], (CLEAN,)
        )
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != len(views):
            raise ValueError(
                f"y must hold one label per clip: X has {len(views)} clips, "
                f"y has shape {y.shape}"
            )
        self._validation_data_raw = None
        if self.validation_split:
            views, y, sample_weight = self._hold_out_validation(views, y, sample_weight, groups)
        X_samples, y_samples, extra = training_samples(views, y, sample_weight=sample_weight)
        weights = extra["sample_weight"]
        try:
            super().fit(
                X_samples[..., None], y_samples,
                sample_weight=None if weights is None else weights.astype(float), **kwargs,
            )
        finally:
            self._validation_data_raw = None  # never pickle the held-out arrays
        return self

    def predict_proba(self, X, **kwargs) -> np.ndarray:
        """Class probabilities per clip (averaged over the views when given Views).

        Parameters
        ----------
        X : ndarray of shape (n_clips, rows, columns), or Views of such images

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        kwargs.setdefault("batch_size", self.predict_batch_size)
        kwargs.setdefault("verbose", 0)

        def network_proba(images: np.ndarray) -> np.ndarray:
            return self._keras_proba(_as_images(images)[..., None], **kwargs)

        return average_over_views(X, network_proba)

    def predict(self, X, **kwargs) -> np.ndarray:
        """Most probable label per clip.

        Parameters
        ----------
        X : ndarray of shape (n_clips, rows, columns), or Views of such images

        Returns
        -------
        labels : ndarray of shape (n_clips,)
        """
        proba = self.predict_proba(X, **kwargs)
        return self.classes_[np.argmax(proba, axis=1)]

    # -- private work ----------------------------------------------------------------
    def _hold_out_validation(self, views: Views, y, sample_weight, groups):
        """Hold out whole clips (stratified) or whole speakers; only clean views are scored."""
        index = np.arange(y.shape[0])
        if groups is not None:
            splitter = GroupShuffleSplit(
                n_splits=1, test_size=self.validation_split, random_state=self.random_state
            )
            train, val = next(splitter.split(index, y, groups=np.asarray(groups)))
        else:
            stratify = y if np.min(np.unique(y, return_counts=True)[1]) >= 2 else None
            train, val = train_test_split(
                index, test_size=self.validation_split, stratify=stratify,
                random_state=self.random_state,
            )
        self._validation_data_raw = (views.clean()[val], y[val])
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[train]
        return views.with_data(views.data[train]), y[train], sample_weight

    def _training_extras(self) -> tuple[dict, list]:
        # Called inside SciKeras' fit, once its target encoder exists: the held-out
        # clips' labels can be encoded now (see sklearn_ser._scikeras_compat, item 2).
        raw = getattr(self, "_validation_data_raw", None)
        self._validation_data_raw = None
        fit_kwargs = {}
        if raw is not None:
            X_val, y_val = raw
            fit_kwargs["validation_data"] = (
                X_val[..., None].astype(np.float32), self.target_encoder_.transform(y_val)
            )
        return fit_kwargs, self._training_callbacks(raw is not None)

    def _training_callbacks(self, has_validation: bool) -> list:
        monitor = "val_loss" if has_validation else "loss"
        callbacks = []
        if self.reduce_lr:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, factor=self.lr_factor, patience=self.lr_patience,
                min_lr=self.min_lr,
            ))
        if self.early_stopping:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor=monitor, patience=self.patience, restore_best_weights=True,
            ))
        return callbacks

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # classifier tags: sklearn_ser._scikeras_compat
        tags.classifier_tags = ClassifierTags(poor_score=True)
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


class EpochProgressBar(keras.callbacks.Callback):
    """One tqdm bar over the epochs of a fit, instead of Keras' per-epoch lines.

    Pass it as ``SERClassifier(callbacks=[EpochProgressBar()], verbose=0)``;
    the bar shows loss and accuracy (and their validation values).

    Parameters
    ----------
    desc : str, default="training"
        The bar's label.
    """

    _SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")

    def __init__(self, desc: str = "training"):
        super().__init__()
        self.desc = desc
        self._bar = None

    def on_train_begin(self, logs=None):
        """Open the bar (one step per epoch)."""
        import sys

        from sklearn_ser._parallel import progress_bar

        # Drawn on a terminal or in a notebook only: no \r frames in logs and pipes.
        self._bar = progress_bar(total=self.params.get("epochs"), desc=self.desc,
                                 unit="epoch", leave=False, file=sys.stderr)

    def on_epoch_end(self, epoch, logs=None):
        """Advance the bar and show the epoch's loss and accuracy."""
        shown = {k: f"{v:.3f}" for k, v in (logs or {}).items() if k in self._SHOWN}
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update()

    def on_train_end(self, logs=None):
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __reduce__(self):
        # Rebuilt from its label: clone() (a deep copy) gives each fold a fresh bar, and a
        # pickle never holds the bar or the model Keras attaches.
        return type(self), (self.desc,)


def _as_images(X, *, views: bool = False) -> np.ndarray:
    """Validate float32 images of shape (n_clips, rows, columns) (with a view axis if ``views``)."""
    images = np.asarray(X, dtype=np.float32)
    expected = "(n_clips, n_views, rows, columns)" if views else "(n_clips, rows, columns)"
    if images.ndim != len(expected.split(",")):
        raise ValueError(f"X must be feature images of shape {expected}, got {images.shape}")
    # min/max propagate NaN and reveal inf without a temporary array the size of X.
    if images.size and not (np.isfinite(images.min()) and np.isfinite(images.max())):
        raise ValueError("X contains NaN or infinite values")
    return images
