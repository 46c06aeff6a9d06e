"""``opencode-python mcp serve``: this project's agents as an MCP server (docs/mcp.md).

Over stdio, stdout carries the protocol and nothing else; notes and logs go to stderr.
Over HTTP it binds loopback unless told otherwise. Errors end as ``run``'s do: one
``error:`` line and exit code 2 for a mistake in the options or the configuration.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .options import ModelOption, ProjectOption

mcp_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@mcp_app.callback()
def mcp() -> None:
    """Serve this project's agents over MCP (Model Context Protocol)."""


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


@mcp_app.command()
def serve(
    agent: Annotated[
        list[str] | None,
        typer.Option(
            "--agent", metavar="NAME", help="Serve only this agent (repeat for more; default: all)."
        ),
    ] = None,
    tools: Annotated[
        bool,
        typer.Option(
            "--tools", help="Also serve the registered tools, under the permission rules."
        ),
    ] = False,
    transport: Annotated[
        Transport, typer.Option(help="stdio (for a host that starts this command) or http.")
    ] = Transport.stdio,
    host: Annotated[str, typer.Option(help="The address to bind over http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on over http.")] = 8765,
    model: ModelOption = None,
    project: ProjectOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every permission the agents ask.")
    ] = False,
) -> None:
    """Serve each agent as an MCP tool that runs it on a prompt.

    Each tool returns the agent's answer and its session_id, to continue with. Over
    http the endpoint is http://HOST:PORT/mcp. A permission rule that says ask is
    refused, as nobody can answer it here, unless --yes approves it.
    """
    from .app import _execute  # here, not on import: app.py imports this module

    _execute(_serve(agent, tools, transport, host, port, model, project, yes))


async def _serve(
    agents: list[str] | None,
    tools: bool,
    transport: Transport,
    host: str,
    port: int,
    model: str | None,
    project: Path | None = None,
    yes: bool = False,
) -> None:
    from ..sdk import OpenCodeAsyncClient, SDKConfig
    from ..sdk.mcp_server import agent_server
    from .app import _note

    config = SDKConfig(model=model, project_dir=project, auto_confirm=yes)
    async with OpenCodeAsyncClient(config) as client:
        chosen = client.resolve_model(model)
        client.providers.resolve_model(chosen)  # an unknown provider or missing key, now
        server = await agent_server(client, agents=agents, tools=tools)
        served = ", ".join(t.name for t in await server.list_tools())
        if transport is Transport.stdio:
            _note(f"model {chosen} · serving {served} over stdio")
            await server.run_stdio_async()
        else:
            _note(f"model {chosen} · serving {served} on http://{host}:{port}/mcp")
            await server.run_streamable_http_async(host=host, port=port)
