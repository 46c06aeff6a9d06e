"""Serving the app with uvicorn, in the caller's event loop: for the CLI and for tests.

``serving(client)`` starts the server on ``host:port`` (port 0: a free one), yields its
URL once it accepts connections, and stops it on exit, letting open event streams end.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import uvicorn

from ..core.errors import ConfigError
from ..sdk.client import OpenCodeAsyncClient
from .app import USERNAME, create_app
from .approvals import DEFAULT_TIMEOUT_S

DEFAULT_PORT = 4096
LOOPBACK = "127.0.0.1"


def check_binding(host: str, password: str | None) -> None:
    """Refuse to listen beyond this machine without a password: anyone who reaches the
    port could run the agent's tools."""
    if password:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"--hostname {host} would serve the agent beyond this machine without a "
            "password; set OPENCODE_SERVER_PASSWORD (HTTP basic auth) or bind to 127.0.0.1"
        )


@asynccontextmanager
async def serving(
    client: OpenCodeAsyncClient,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    password: str | None = None,
    username: str = USERNAME,
    cors_origins: Sequence[str] = (),
    permission_timeout: float = DEFAULT_TIMEOUT_S,
) -> AsyncIterator[str]:
    """Serve ``client`` (already open) until the block ends; yields the base URL."""
    check_binding(host, password)
    app = create_app(
        client,
        password=password,
        username=username,
        cors_origins=cors_origins,
        permission_timeout=permission_timeout,
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # the server could not start: say why
                raise ConfigError(f"the server could not listen on {host}:{port}")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=10)
        if not task.done():
            task.cancel()
