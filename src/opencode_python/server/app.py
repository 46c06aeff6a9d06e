"""``create_app``: OpenCode's HTTP API over one client, so OpenCode's clients drive it.

A thin shell: every route calls the SDK and maps its records onto OpenCode's JSON
(``wire``); nothing here runs a model or decides a permission. The server serves the
client's one project; the ``directory`` OpenCode's clients send is accepted and not
used to switch projects.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from ..core.version import VERSION
from ..sdk.client import OpenCodeAsyncClient
from . import errors
from .approvals import DEFAULT_TIMEOUT_S, HTTPApprover
from .events import EventHub, EventTranslator, WireEvent

USERNAME = "opencode"


@dataclass(slots=True)
class ServerState:
    """What the routes share: the client, the event fan-out, the pending asks, and the
    prompts started with ``prompt_async`` (cancelled when the server stops)."""

    client: OpenCodeAsyncClient
    hub: EventHub
    approver: HTTPApprover
    directory: str
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


def instance(
    directory: str | None = Query(None, description="The project directory (this server's)."),
    workspace: str | None = Query(None),
) -> None:
    """OpenCode's per-request project selectors: accepted, as its clients send them."""


def create_app(
    client: OpenCodeAsyncClient,
    *,
    password: str | None = None,
    username: str = USERNAME,
    cors_origins: Sequence[str] = (),
    permission_timeout: float = DEFAULT_TIMEOUT_S,
) -> FastAPI:
    """The HTTP app for ``client``, which must be open (``async with client``) while
    the app serves. With ``password``, every request needs HTTP basic auth as
    ``username`` (OpenCode's ``OPENCODE_SERVER_PASSWORD``); ``cors_origins`` are the
    browser origins allowed to call it (none by default)."""
    directory = str(client.config.resolved_project_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = EventHub(client.events, EventTranslator(directory))

        def emit(kind: str, properties: dict[str, Any]) -> None:
            hub.emit(WireEvent(kind, properties, directory))

        approver = HTTPApprover(emit, timeout=permission_timeout)
        previous = client.permissions.approver
        client.on_permission(approver)
        state = ServerState(client, hub, approver, directory)
        app.state.server = state
        try:
            yield
        finally:
            for task in list(state.background):
                task.cancel()
            await asyncio.gather(*state.background, return_exceptions=True)
            client.permissions.approver = previous
            hub.close()

    app = FastAPI(
        title="opencode-python",
        version=VERSION,
        description="OpenCode's HTTP API, served by opencode-python's engine.",
        openapi_url="/doc",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(app)
    if password:
        app.add_middleware(_BasicAuth, username=username, password=password)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"],
            allow_headers=["*"],
            expose_headers=["Link", "X-Next-Cursor"],
            max_age=86400,
        )
    from . import event_routes, info_routes, session_routes

    for module in (session_routes, event_routes, info_routes):
        app.include_router(module.router, dependencies=[Depends(instance)])
    app.include_router(event_routes.global_router)
    from . import viewer_routes  # the web page at /: no project selectors

    app.include_router(viewer_routes.router)

    @app.get("/global/health", operation_id="global.health", tags=["global"])
    async def health() -> dict[str, Any]:
        return {"healthy": True, "version": VERSION}

    return app


class _BasicAuth(BaseHTTPMiddleware):
    """HTTP basic auth on every route, as OpenCode's server: 401 with an empty body and
    ``www-authenticate``; ``?auth_token=<base64(user:password)>`` works too (for an
    ``EventSource``, which cannot send headers); CORS preflights pass."""

    def __init__(self, app: Any, *, username: str, password: str) -> None:
        super().__init__(app)
        self._expected = f"{username}:{password}".encode()

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method == "OPTIONS" or self._allowed(request):
            return await call_next(request)
        return Response(status_code=401, headers={"www-authenticate": 'Basic realm="Secure Area"'})

    def _allowed(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[6:] if header.lower().startswith("basic ") else ""
        token = token or request.query_params.get("auth_token", "")
        try:
            given = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return False
        return secrets.compare_digest(given, self._expected)
