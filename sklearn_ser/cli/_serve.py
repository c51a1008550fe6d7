"""``sklearn-ser serve``: a thin call into :mod:`sklearn_ser.serve` and uvicorn."""

from __future__ import annotations

import argparse
import os

from sklearn_ser.cli._output import note
from sklearn_ser.exceptions import UsageError

#: Environment variable read when ``--token`` is not given.
TOKEN_ENV = "SKLEARN_SER_TOKEN"
# Shortest token accepted for a server other machines can reach.
_MIN_TOKEN = 16


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the model once and serve it until interrupted."""
    try:
        import uvicorn

        from sklearn_ser.serve import (
            LOOPBACK_HOSTS,
            UploadLimits,
            create_app,
            is_loopback,
            load_served_model,
        )
    except ImportError as exc:
        raise UsageError(f"serve needs the serve extra ({exc.name} is missing): "
                         'pip install "sklearn-ser[serve]"') from None
    from sklearn_ser.cli._quiet import call_quietly

    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    loopback = is_loopback(args.host)
    if not loopback and token is None:
        raise UsageError(
            f"--host {args.host} lets other machines reach the server: give a --token (or set "
            f"{TOKEN_ENV}), e.g. python -c \"import secrets; print(secrets.token_urlsafe(24))\""
        )
    if token is not None and len(token) < _MIN_TOKEN:
        raise UsageError(f"the token must be at least {_MIN_TOKEN} characters long")
    try:
        limits = UploadLimits(max_request_mb=args.max_upload_mb,
                              max_clip_seconds=args.max_clip_seconds,
                              max_recording_seconds=args.max_recording_seconds)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    served = call_quietly(load_served_model, args.model)  # a CNN model imports TensorFlow
    # On loopback, only loopback host names (a page elsewhere cannot rebind its name to us);
    # elsewhere any name, behind the token.
    hosts = (*LOOPBACK_HOSTS, args.host) if loopback else None
    app = create_app(served, limits=limits, workers=args.workers, token=token,
                     allowed_hosts=hosts)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    note(f"serving {served.source} ({', '.join(served.classes)}) at "
         f"http://{shown}:{args.port}/" + (" - open /?token=YOUR_TOKEN once" if token else ""))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info",
                timeout_graceful_shutdown=5)
    return 0
