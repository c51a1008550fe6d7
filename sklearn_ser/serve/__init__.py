"""Serve a saved model over HTTP: a JSON API and a page to upload or record a clip.

Needs the ``serve`` extra (``pip install "sklearn-ser[serve]"``: Starlette,
uvicorn, python-multipart). From the command line::

    sklearn-ser serve model.joblib            # http://127.0.0.1:8000/

From Python::

    from sklearn_ser.serve import create_app, load_served_model
    app = create_app(load_served_model("model.joblib"), workers=2)
    # run it with any ASGI server, e.g. uvicorn.run(app)

Routes: ``POST /predict``, ``POST /segments``, ``GET /model``,
``GET /health``, ``GET /openapi.json`` and the page at ``/``.
Modules: ``_app`` (routes and the guard), ``_limits`` (upload checks),
``_model`` (loading once, the model's description), ``_workers`` (the
inference threads and their queue; waiting clips predicted together),
``_openapi`` (the schema), ``static/`` (the page; no CDN).
"""

from sklearn_ser.serve._app import LOOPBACK_HOSTS, TOKEN_COOKIE, create_app, is_loopback
from sklearn_ser.serve._limits import UploadLimits
from sklearn_ser.serve._model import ServedModel, load_served_model

__all__ = [
    "LOOPBACK_HOSTS",
    "TOKEN_COOKIE",
    "ServedModel",
    "UploadLimits",
    "create_app",
    "is_loopback",
    "load_served_model",
]
