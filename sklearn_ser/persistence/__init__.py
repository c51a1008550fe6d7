"""Save and load fitted pipelines, with the versions they were made with.

Two formats:

``save_model`` / ``load_model`` (one ``.joblib`` file)
    The whole fitted :class:`~sklearn.pipeline.Pipeline` pickled with joblib,
    wrapped in a small record of the package versions, the label set and the
    creation time. Loading under other versions warns
    (:class:`ModelVersionWarning`).

``export_model`` / ``import_model`` (a folder, no pickle)
    ``pipeline.json`` (the step parameters that define the model and its
    learned numbers, as plain JSON), ``metadata.json`` and, for the CNN
    presets, ``network.keras`` (the Keras network, saved by Keras itself).
    Importing rebuilds the pipeline with
    :func:`~sklearn_ser.make_ser_pipeline`, sets only allow-listed
    parameters (each type- and range-checked), takes runtime settings
    (cache, workers, verbosity) from the caller and checks every learned
    array's type, shape and values. CNN layout: the network is checked
    against the classes and the image shape and loaded with
    ``safe_mode=True``. Encoder layout (the ``"recommended"`` preset): the
    encoder always uses the installed package's weights, which must be those
    the model was exported with, and nothing imports TensorFlow. Nothing in
    the folder can run code, read a file it names or choose what the
    machine spends.

.. warning::

   A joblib (pickle) file runs arbitrary code when it is loaded. Load
   ``.joblib`` models only from sources you trust; to share a model with
   people who should not have to trust you, send the exported folder.

Layout: ``_record`` (versions, classes, creation time; the version check),
``_saved`` (the joblib format), ``_export`` (the export format's shared part),
``_allowlist`` (what a model folder may set, and its checks), ``_json`` (the
tagged JSON and its checked reading), ``_cnn_layout`` and ``_encoder_layout``
(what each step layout writes and reads). Everything public is importable
from here.
"""

# Re-exported: the public names of the package.
from sklearn_ser.exceptions import ModelFileError, ModelVersionWarning
from sklearn_ser.persistence._export import EXPORT_FORMAT, export_model, import_model
from sklearn_ser.persistence._record import to_json_types, versions  # noqa: F401
from sklearn_ser.persistence._saved import (  # noqa: F401
    FORMAT,
    load_model,
    read_model_record,
    save_model,
)

__all__ = [
    "FORMAT",
    "EXPORT_FORMAT",
    "ModelFileError",
    "ModelVersionWarning",
    "export_model",
    "import_model",
    "load_model",
    "save_model",
    "versions",
]
