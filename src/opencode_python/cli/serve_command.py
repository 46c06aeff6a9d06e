"""``opencode-python serve``: OpenCode's HTTP API and the web viewer over this project.

OpenCode's own clients (its JS SDK, ``opencode-python run --attach``) drive it; a
browser at its URL shows the viewer. It binds loopback unless told otherwise, and
refuses another address without ``OPENCODE_SERVER_PASSWORD`` (HTTP basic auth, user
``opencode`` or ``OPENCODE_SERVER_USERNAME``), as anyone who reaches it runs tools.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from .options import ModelOption, ProjectOption

PASSWORD_ENV = "OPENCODE_SERVER_PASSWORD"
USERNAME_ENV = "OPENCODE_SERVER_USERNAME"


def serve(
    port: Annotated[int, typer.Option(help="The port to listen on (0: any free one).")] = 4096,
    hostname: Annotated[
        str, typer.Option(help="The address to bind (beyond loopback: set a password).")
    ] = "127.0.0.1",
    cors: Annotated[
        list[str] | None,
        typer.Option(
            "--cors", metavar="ORIGIN", help="Let this browser origin call the API (repeat)."
        ),
    ] = None,
    model: ModelOption = None,
    project: ProjectOption = None,
) -> None:
    """Serve OpenCode's HTTP API, and the web viewer at /, until Ctrl-C or SIGTERM."""
    from .app import _execute

    _execute(_serve(port, hostname, cors or [], model, project))


async def _serve(
    port: int, hostname: str, cors: list[str], model: str | None, project: Path | None
) -> None:
    from ..core.errors import ConfigError
    from ..sdk import OpenCodeAsyncClient, SDKConfig
    from .app import _note

    try:
        from ..server import serving
    except ImportError as exc:
        raise ConfigError(
            f"the server needs its extra ({exc.name} is missing): "
            "pip install 'opencode-python[server]'"
        ) from None
    password = os.environ.get(PASSWORD_ENV) or None
    username = os.environ.get(USERNAME_ENV) or "opencode"
    async with OpenCodeAsyncClient(SDKConfig(model=model, project_dir=project)) as client:
        chosen = client.resolve_model(model)
        client.providers.resolve_model(chosen)  # an unknown provider or missing key, now
        async with serving(
            client,
            host=hostname,
            port=port,
            password=password,
            username=username,
            cors_origins=cors,
        ) as url:
            guard = "basic auth" if password else f"no password ({PASSWORD_ENV})"
            _note(f"opencode-python server listening on {url} · model {chosen} · {guard}")
            stop = asyncio.Event()  # Ctrl-C or SIGTERM: close the runs and the store, exit 0
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await stop.wait()
            _note("stopping")
