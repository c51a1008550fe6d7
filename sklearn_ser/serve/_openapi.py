"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``.

Written out rather than generated: the API is six routes, and a test keeps
this document and the application's routes equal.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_schema"]


def _error_responses(*codes: int) -> dict[str, Any]:
    why = {
        400: "Bad request: no file, an unknown field, a malformed form or a bad Host header.",
        401: "The token is missing or wrong (servers started with --token).",
        413: "The body is over the size limit, or a clip over the duration limit.",
        415: "Not multipart/form-data.",
        422: "A clip the library refuses (not audio, empty, silent, NaN, too short) or a "
             "bad parameter; ``problems`` lists every bad clip.",
        503: "Every worker busy and the queue full; retry after the Retry-After seconds.",
    }
    return {str(c): {"description": why[c],
                     "content": {"application/json": {"schema": {"$ref": "#/components/"
                                                                 "schemas/Error"}}}}
            for c in codes}


def openapi_schema(classes: list[str], limits) -> dict[str, Any]:
    """The OpenAPI document for a server of a model with these ``classes`` and ``limits``.

    Parameters
    ----------
    classes : list of str
        The model's labels (each one a key of the probabilities).
    limits : UploadLimits
        The server's limits, quoted in the descriptions.

    Returns
    -------
    dict
    """
    probabilities = {"type": "object", "description": "Probability of each class.",
                     "properties": {c: {"type": "number"} for c in classes}}
    upload = {"type": "string", "format": "binary"}
    json_ok = lambda ref, text: {  # noqa: E731 - a one-line table helper
        "description": text,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "sklearn_ser model server", "version": "1",
                 "description": "Emotion labels for uploaded speech clips from one fitted "
                 "sklearn_ser pipeline."},
        "paths": {
            "/predict": {"post": {
                "summary": "Labels and probabilities of one or more clips",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["file"], "properties": {
                        "file": {"type": "array", "items": upload,
                                 "maxItems": limits.max_files,
                                 "description": "Clips (repeat the field), each at most "
                                 f"{limits.max_clip_seconds:g} s; any format libsndfile "
                                 "reads, judged by content."},
                        "speaker": {"type": "string", "description": "Speaker id, for a "
                                    "model with speaker adaptation."},
                    }}}}},
                "responses": {"200": json_ok("Predictions", "One prediction per clip, in "
                                             "upload order."),
                              **_error_responses(400, 401, 413, 415, 422, 503)},
            }},
            "/segments": {"post": {
                "summary": "Emotion over time in one recording (predict_segments)",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["file"], "properties": {
                        "file": {**upload, "description": "One recording, at most "
                                 f"{limits.max_recording_seconds:g} s."},
                        "window": {"type": "number", "default": 3.0},
                        "hop": {"type": "number", "default": 1.0},
                        "smooth": {"type": "integer", "minimum": 1},
                        "speaker": {"type": "string"},
                    }}}}},
                "responses": {"200": json_ok("Segments", "A row per window of speech and "
                                             "per stretch without speech."),
                              **_error_responses(400, 401, 413, 415, 422, 503)},
            }},
            "/model": {"get": {"summary": "Classes, preset, versions, model card, limits",
                               "responses": {"200": {"description": "The model."},
                                             **_error_responses(401)}}},
            "/health": {"get": {"summary": "Liveness and load",
                                "responses": {"200": {"description": "Serving."},
                                              **_error_responses(401)}}},
            "/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/": {"get": {"summary": "The page (upload or record a clip)",
                          "responses": {"200": {"description": "HTML"}}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string"}, "message": {"type": "string"},
                "problems": {"type": "array", "items": {"type": "object", "properties": {
                    "index": {"type": "integer"}, "name": {"type": "string"},
                    "problem": {"type": "string"}}}}}},
            "Predictions": {"type": "object", "properties": {
                "classes": {"type": "array", "items": {"type": "string"}},
                "predictions": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "label": {"type": "string"},
                    "probabilities": probabilities}}}}},
            "Segments": {"type": "object", "properties": {
                "name": {"type": "string"}, "duration": {"type": "number"},
                "classes": {"type": "array", "items": {"type": "string"}},
                "segments": {"type": "array", "items": {"type": "object", "properties": {
                    "start": {"type": "number"}, "end": {"type": "number"},
                    "speech": {"type": "boolean"}, "label": {"type": "string"},
                    "probabilities": {"oneOf": [probabilities, {"type": "null"}]}}}}}},
        }},
    }
