"""Errors in the JSON shapes OpenCode's server sends, so its clients read ours alike.

``{"name": "NotFoundError", "data": {"message"}}`` (404), ``{"name": "BadRequest",
"data": {"message", "kind"}}`` (400, the message ending in ``at ["field"]`` as
OpenCode's does), ``{"_tag": "PermissionNotFoundError", ...}`` for a permission
request, 409 for a busy session, and ``UnknownError`` (500) for the rest.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..core.errors import (
    ConfigError,
    NotFoundError,
    OpenCodeError,
    PermissionDeniedError,
    SessionBusyError,
)

log = logging.getLogger(__name__)

_KINDS = {"body": "Payload", "query": "Query", "path": "Params", "header": "Headers"}


class PermissionNotFound(NotFoundError):
    """A permission request that is unknown or already answered."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"Permission request not found: {request_id}")
        self.request_id = request_id


class NotSupported(OpenCodeError):
    """An OpenCode operation this server does not offer (share)."""


def bad_request(message: str, kind: str = "Payload") -> JSONResponse:
    return JSONResponse({"name": "BadRequest", "data": {"message": message, "kind": kind}}, 400)


def install(app: FastAPI) -> None:
    """Map the engine's errors and FastAPI's validation errors onto OpenCode's bodies."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first: dict[str, Any] = errors[0] if errors else {}
        where = list(first.get("loc", ()))
        kind = _KINDS.get(str(where[0]), "Payload") if where else "Payload"
        path = [p for p in where[1:] if p != "body"]
        message = "Missing key" if first.get("type") == "missing" else first.get("msg", "invalid")
        if first.get("type") == "json_invalid":
            message = "the body is not valid JSON"
        if path:
            message += "\n  at " + json.dumps(path)
        return bad_request(message, kind)

    @app.exception_handler(PermissionNotFound)
    async def no_permission(request: Request, exc: PermissionNotFound) -> JSONResponse:
        body = {"_tag": "PermissionNotFoundError", "requestID": exc.request_id, "message": str(exc)}
        return JSONResponse(body, 404)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"name": "NotFoundError", "data": {"message": str(exc)}}, 404)

    @app.exception_handler(SessionBusyError)
    async def busy(request: Request, exc: SessionBusyError) -> JSONResponse:
        session_id = request.path_params.get("sessionID", "")
        body = {"_tag": "SessionBusyError", "sessionID": session_id, "message": str(exc)}
        return JSONResponse(body, 409)

    @app.exception_handler(NotSupported)
    async def unsupported(request: Request, exc: NotSupported) -> JSONResponse:
        return bad_request(str(exc), "Params")

    @app.exception_handler(ConfigError)
    async def config(request: Request, exc: ConfigError) -> JSONResponse:
        return bad_request(str(exc))

    @app.exception_handler(PermissionDeniedError)
    async def denied(request: Request, exc: PermissionDeniedError) -> JSONResponse:
        return JSONResponse({"name": "PermissionDeniedError", "data": {"message": str(exc)}}, 403)

    @app.exception_handler(OpenCodeError)
    async def engine(request: Request, exc: OpenCodeError) -> JSONResponse:
        log.warning("request %s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"name": "UnknownError", "data": {"message": str(exc)}}, 500)
