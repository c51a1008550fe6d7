"""The HTTP API and the page: routes over the library's public functions.

``POST /predict`` and ``POST /segments`` save the uploads in a private
folder (:mod:`._limits`), check each header, and run
``pipeline.predict_proba`` or :func:`sklearn_ser.predict_segments` on a
fixed number of inference threads (:mod:`._workers`: clips waiting together
are predicted in one call), so the event loop keeps answering (``/health``,
the page) while models work, and a long recording holds one thread, not all.
Every refusal is a 4xx JSON object ``{"error": code, "message": text}``
(plus ``problems`` for bad clips); an unexpected failure is a 500 of the
same form, logged with its traceback, and the server keeps serving.

A guard in front of every route checks the ``Host`` header (a page on
another site cannot reach a loopback server through DNS rebinding), the
token when one is set (``Authorization: Bearer``, or the cookie set by
opening ``/?token=...`` once), and the body size, counted while it
streams in.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sklearn_ser.serve._limits import (
    UploadLimits,
    clip_name,
    header_problem,
    make_private_folder,
    remove_folder,
    save_upload,
)
from sklearn_ser.serve._model import ServedModel
from sklearn_ser.serve._openapi import openapi_schema
from sklearn_ser.serve._workers import Workers

__all__ = ["LOOPBACK_HOSTS", "TOKEN_COOKIE", "create_app", "is_loopback"]

logger = logging.getLogger("sklearn_ser.serve")

STATIC = Path(__file__).parent / "static"
#: Host names a loopback server answers to.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Cookie that carries the token after ``/?token=...`` (HttpOnly, SameSite=Strict).
TOKEN_COOKIE = "sklearn_ser_token"

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
     b"form-action 'self'"),
]


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` reaches this machine only (``127.0.0.0/8``, ``::1``, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


# -- the guard: host, token, body size ---------------------------------------------------------
class _Guard:
    """ASGI middleware run before every route (pages, static files and API alike)."""

    def __init__(self, app, *, token: str | None, allowed_hosts: set[str] | None,
                 max_bytes: int):
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}

        async def secured_send(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        refusal = self._refusal(scope, headers)
        if refusal is not None:
            return await refusal(scope, receive, secured_send)
        if not self._token_ok(headers):
            login = self._login(scope)
            if login is not None:
                return await login(scope, receive, secured_send)
            refusal = _error(401, "unauthorized", "this server needs its token: send "
                             "'Authorization: Bearer TOKEN', or open /?token=TOKEN once")
            return await refusal(scope, receive, secured_send)

        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, counted_receive, secured_send)

    def _too_large(self) -> str:
        return f"the request is larger than the limit of {self.max_bytes / 2**20:g} MiB"

    def _refusal(self, scope, headers) -> Response | None:
        if self.allowed_hosts is not None:
            host = headers.get("host", "")
            name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0]
            if name.lower() not in self.allowed_hosts:
                return _error(400, "bad_host", f"this server does not answer to host {host!r}")
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _error(400, "bad_request", "Content-Length is not a number")
            if int(length) > self.max_bytes:
                return _error(413, "too_large", self._too_large())
        return None

    def _token_ok(self, headers) -> bool:
        if self.token is None:
            return True
        given = ""
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        else:
            for part in headers.get("cookie", "").split(";"):
                key, _, value = part.strip().partition("=")
                if key == TOKEN_COOKIE:
                    given = value
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _login(self, scope) -> Response | None:
        """``GET /?token=T`` with the right token: set the cookie, drop the token from the URL."""
        if scope["method"] != "GET" or scope["path"] != "/":
            return None
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
        return response


# -- the work: uploads on the I/O threads, the model on the inference threads -------------------
# Any upload's private path (this request's or, in a batch's message, another's).
_PRIVATE_PATH = re.compile(r"\S*sklearn_ser_serve_[^/\s'\"]*(/upload-\d+)?")


def _clean(text: str, paths: list[Path], names: list[str]) -> str:
    """A library message with the client's names for its clips and no private path."""
    for path, name in zip(paths, names):
        text = text.replace(str(path), name)
    return _PRIVATE_PATH.sub("upload", text)


def _audio_refusal(problems: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    too_long = all(p["problem"].startswith("too long") for p in problems)
    lines = "; ".join(f"{p['name']}: {p['problem']}" for p in problems)
    n = len(problems)
    return (413 if too_long else 422), {
        "error": "too_long" if too_long else "bad_audio",
        "message": f"{n} clip{'s' if n != 1 else ''} cannot be used: {lines}",
        "problems": problems,
    }


def _checked_uploads(files, folder: Path, max_seconds: float):
    """Save and header-check the uploads: (paths, names, None) or (.., .., refusal)."""
    names = [clip_name(f.filename, i) for i, f in enumerate(files)]
    paths = [save_upload(f.file, folder, i) for i, f in enumerate(files)]
    problems = []
    for i, path in enumerate(paths):
        why = header_problem(path, max_seconds)
        if why is not None:
            problems.append({"index": i, "name": names[i], "problem": why})
    return paths, names, (_audio_refusal(problems) if problems else None)


def _library_problems(exc, paths, names) -> tuple[int, dict[str, Any]]:
    return _audio_refusal([
        {"index": i, "name": names[i],
         "problem": _clean(exc.problems[str(p)], paths, names)}
        for i, p in enumerate(paths) if str(p) in exc.problems
    ] or [{"index": 0, "name": names[0], "problem": _clean(str(exc), paths, names)}])


def _predict_with_speaker(pipeline, paths: list[str], speaker: str):
    """Probabilities of one speaker's clips, standardised with their own statistics."""
    import numpy as np
    from sklearn import config_context

    # sklearn's configuration is per thread: this call's only.
    with config_context(enable_metadata_routing=True):
        return pipeline.predict_proba(paths, groups=np.asarray([speaker] * len(paths)))


def _segment_rows(served: ServedModel, path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """:func:`predict_segments` on one recording, as JSON values (NaN: null)."""
    from sklearn_ser.segments import predict_segments

    frame = predict_segments(served.pipeline, path, **options)
    classes = served.classes
    rows = []
    for row in frame.itertuples(index=False):
        values = row._asdict()
        proba = {c: float(values[c]) for c in classes} if row.speech else None
        if proba is not None and not all(math.isfinite(v) for v in proba.values()):
            proba = None
        rows.append({"start": float(row.start), "end": float(row.end),
                     "speech": bool(row.speech), "label": str(row.label),
                     "probabilities": proba})
    duration = float(frame["end"].max()) if len(frame) else 0.0
    return {"classes": classes, "duration": duration, "segments": rows}


async def _with_uploads(request: Request, files, max_seconds: float, work) -> Response:
    """Save ``files`` privately, check their headers, ``await work(paths, names)``, clean up.

    ``work`` returns the 200 body; the library's refusals become 4xx answers.
    """
    from sklearn_ser.exceptions import AudioFileError

    workers: Workers = request.app.state.workers
    folder = await workers.io(make_private_folder)
    try:
        paths, names, refusal = await workers.io(_checked_uploads, files, folder, max_seconds)
        if refusal is not None:
            return JSONResponse(refusal[1], status_code=refusal[0])
        try:
            return JSONResponse(await work(paths, names))
        except AudioFileError as exc:
            status, body = _library_problems(exc, paths, names)
            return JSONResponse(body, status_code=status)
    finally:
        await workers.io(remove_folder, folder)


# -- request parsing ----------------------------------------------------------------------------
def _form_number(form, name: str, kind, low: float) -> Any:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise HTTPException(422, f"{name} must be a number, not a file")
    try:
        value = kind(raw)
    except ValueError:
        raise HTTPException(422, f"{name} must be a{'n integer' if kind is int else ' number'}, "
                            f"got {raw[:40]!r}") from None
    if not (math.isfinite(value) and value >= low):
        raise HTTPException(422, f"{name} must be >= {low:g}, got {raw[:40]!r}")
    return value


def _check_multipart(request: Request) -> None:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send the audio as multipart/form-data, in the field 'file'")


def _uploads(form, allowed_fields: set[str]) -> list[UploadFile]:
    unknown = sorted(set(form.keys()) - allowed_fields)
    if unknown:
        raise HTTPException(400, f"unknown form field {unknown[0][:40]!r}; fields: "
                            + ", ".join(sorted(allowed_fields)))
    files = form.getlist("file")
    if not files:
        raise HTTPException(400, "no audio: send it in the form field 'file'")
    if not all(isinstance(f, UploadFile) for f in files):
        raise HTTPException(400, "the field 'file' must hold uploaded files, not text")
    return files


def _text_field(form, name: str) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HTTPException(400, f"{name} must be text, not a file")
    return value[:200]


# -- routes -------------------------------------------------------------------------------------
async def _page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})


async def _health(request: Request) -> Response:
    workers: Workers = request.app.state.workers
    return JSONResponse({"status": "ok", "model": request.app.state.served.source,
                         "workers": workers.workers, "in_progress": workers.pending})


async def _model(request: Request) -> Response:
    state = request.app.state
    return JSONResponse({**state.description, "limits": state.limits.to_dict()})


async def _openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


async def _predict(request: Request) -> Response:
    import numpy as np

    from sklearn_ser.adaptation import uses_speaker_ids

    state = request.app.state
    _check_multipart(request)
    state.workers.admit()
    try:
        async with request.form(max_files=state.limits.max_files, max_fields=4) as form:
            files = _uploads(form, {"file", "speaker"})
            speaker = _text_field(form, "speaker")

            async def work(paths, names):
                X = [str(p) for p in paths]
                pipeline = state.served.pipeline
                if speaker is not None and uses_speaker_ids(pipeline):
                    proba = await state.workers.call(_predict_with_speaker, pipeline, X, speaker)
                else:
                    proba = await state.workers.predict(X)  # batched with waiting requests
                classes = state.served.classes
                return {"classes": classes, "predictions": [
                    {"name": name, "label": classes[int(np.argmax(p))],
                     "probabilities": {c: float(v) for c, v in zip(classes, p)}}
                    for name, p in zip(names, np.asarray(proba, dtype=float))
                ]}

            return await _with_uploads(request, files, state.limits.max_clip_seconds, work)
    finally:
        state.workers.done()


async def _segments(request: Request) -> Response:
    state = request.app.state
    _check_multipart(request)
    state.workers.admit()
    try:
        async with request.form(max_files=1, max_fields=8) as form:
            files = _uploads(form, {"file", "window", "hop", "smooth", "speaker"})
            options = {
                "window": _form_number(form, "window", float, 0.0),
                "hop": _form_number(form, "hop", float, 0.0),
                "smooth": _form_number(form, "smooth", int, 1),
                "speaker": _text_field(form, "speaker"),
            }
            options = {k: v for k, v in options.items() if v is not None}
            if "window" in options and "hop" not in options:
                options["hop"] = min(1.0, options["window"])

            async def work(paths, names):
                from sklearn_ser.exceptions import AudioFileError

                try:  # one recording holds one inference thread, alone
                    body = await state.workers.call(_segment_rows, state.served, paths[0],
                                                    options)
                except AudioFileError:
                    raise
                except ValueError as exc:  # the options, checked before anything is read
                    raise HTTPException(422, str(exc)) from None
                return {"name": names[0], **body}

            return await _with_uploads(request, files[:1], state.limits.max_recording_seconds,
                                       work)
    finally:
        state.workers.done()


_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
          405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
          422: "bad_parameter", 503: "busy"}


async def _http_error(request: Request, exc: HTTPException) -> Response:
    headers = {"retry-after": "1"} if exc.status_code == 503 else None
    return JSONResponse({"error": _CODES.get(exc.status_code, "error"),
                         "message": str(exc.detail)},
                        status_code=exc.status_code, headers=headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("request %s %s failed", request.method, request.url.path)
    return _error(500, "internal_error", f"the server failed on this request "
                  f"({type(exc).__name__}); it keeps serving, see its log")


def create_app(
    model: Any,
    *,
    limits: UploadLimits | None = None,
    workers: int | None = None,
    max_queue: int = 64,
    max_batch: int = 16,
    token: str | None = None,
    allowed_hosts: Any = LOOPBACK_HOSTS,
) -> Starlette:
    """The ASGI application serving one fitted model.

    Parameters
    ----------
    model : ServedModel or sklearn.pipeline.Pipeline
        From :func:`load_served_model`, or a fitted pipeline of this package.
    limits : UploadLimits, default=None
        Size, count and duration limits (default: ``UploadLimits()``).
    workers : int or None, default=None
        Threads that run predictions (default: the CPU count, at most 4).
    max_queue : int, default=64
        Requests that may wait for a worker; more are answered 503.
    max_batch : int, default=16
        Most clips of waiting ``/predict`` requests predicted in one call.
    token : str or None, default=None
        If set, every request must carry it (``Authorization: Bearer``, or
        the cookie ``/?token=...`` sets); compared in constant time.
    allowed_hosts : sequence of str or None, default=LOOPBACK_HOSTS
        Host names (``Host`` header, without port) the server answers to;
        None answers to any (for a server bound to another address, which
        then needs a token).

    Returns
    -------
    starlette.applications.Starlette
    """
    served = model if isinstance(model, ServedModel) else ServedModel(model)
    limits = UploadLimits() if limits is None else limits
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 0:
        raise ValueError(f"max_queue must be an integer >= 0, got {max_queue!r}")
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise ValueError(f"max_batch must be an integer >= 1, got {max_batch!r}")
    if token is not None and not token:
        raise ValueError("token must not be empty")
    description = served.describe()  # once: the first request must not pay for it

    @asynccontextmanager
    async def lifespan(app):
        yield
        app.state.workers.close()

    app = Starlette(
        routes=[
            Route("/", _page, methods=["GET"]),
            Route("/health", _health, methods=["GET"]),
            Route("/model", _model, methods=["GET"]),
            Route("/openapi.json", _openapi, methods=["GET"]),
            Route("/predict", _predict, methods=["POST"]),
            Route("/segments", _segments, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.served = served
    app.state.description = description
    app.state.limits = limits
    # Looked up at each call, so the pipeline object is the one and only reference.
    app.state.workers = Workers(lambda X: served.pipeline.predict_proba(X), workers, max_queue,
                                max_batch=max_batch)
    app.state.openapi = openapi_schema(served.classes, limits)
    hosts = None if allowed_hosts is None else {h.lower().strip("[]") for h in allowed_hosts}
    app.add_middleware(_Guard, token=token, allowed_hosts=hosts,
                       max_bytes=limits.max_request_bytes)
    return app
