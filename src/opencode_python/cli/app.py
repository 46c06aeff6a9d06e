"""``opencode-python``: run a prompt from the shell, list stored sessions."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from ..agents.result import AgentResult
from ..core import events as ev
from ..core.errors import OpenCodeError
from ..core.events import Event
from ..core.models import ToolPart
from ..sdk import OpenCodeAsyncClient, SDKConfig
from ..sdk.client import LOCAL_DEFAULT_MODEL
from .console_io import ConsoleIO

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@app.command()
def run(
    message: Annotated[str, typer.Argument(help="What to ask the agent.")],
    model: Annotated[str | None, typer.Option(help="provider/model to use.")] = None,
    session: Annotated[str | None, typer.Option(help="Continue this session id.")] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every permission the agent asks.")
    ] = False,
) -> None:
    """Run one prompt, streaming the answer and the tool calls.

    When a permission rule says ask, you are asked at the terminal (or, with no
    terminal, the call is refused unless --yes is given).
    """
    try:
        result = asyncio.run(_run(message, model, session, yes))
    except OpenCodeError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if result.error:
        err.print(f"[red]error:[/red] {result.error}")
        raise typer.Exit(1)


async def _run(message: str, model: str | None, session_id: str | None, yes: bool) -> AgentResult:
    async with OpenCodeAsyncClient(SDKConfig(model=model, auto_confirm=yes)) as client:
        if not yes and sys.stdin.isatty():
            client.set_io_handler(ConsoleIO(err))
        chosen = client.resolve_model(model)
        if session_id is None:
            session_id = (await client.create_session(title=message[:60])).id
        where = " (in-process, offline; --model or an API key picks another)"
        err.print(
            f"[dim]model {chosen}{where if chosen == LOCAL_DEFAULT_MODEL else ''} "
            f"· session {session_id}[/dim]"
        )
        result: AgentResult | None = None
        async for item in client.stream(session_id, message):
            if isinstance(item, AgentResult):
                result = item
            else:
                _show(item)
        assert result is not None
        out.print()
        err.print(
            f"[dim]{result.steps} step(s) · {result.tokens_used.total} tokens · "
            f"${result.cost:.4f} · {result.duration:.1f} s[/dim]"
        )
        return result


def _show(event: Event) -> None:
    data = event.data
    if event.type == ev.PART_DELTA and data["type"] == "text":
        out.print(data["delta"], end="")
    elif event.type == ev.TOOL_STARTED:
        part: ToolPart = data["part"]
        args = json.dumps(part.state.input, ensure_ascii=False)
        out.print(f"\n[cyan]→ {part.tool}[/cyan] [dim]{args[:200]}[/dim]")
    elif event.type == ev.TOOL_COMPLETED:
        part = data["part"]
        out.print(f"[green]✓ {part.tool}[/green] [dim]{part.state.title or ''}[/dim]")
    elif event.type == ev.TOOL_ERROR:
        part = data["part"]
        out.print(f"[red]✗ {part.tool}[/red] [dim]{(part.state.error or '')[:200]}[/dim]")
    elif event.type == ev.PROVIDER_RETRY:
        err.print(
            f"[yellow]retry {data['attempt']} in {data['delay']:.1f} s: {data['error']}[/yellow]"
        )


@app.command()
def sessions(
    all_projects: Annotated[bool, typer.Option("--all", help="Every project's sessions.")] = False,
) -> None:
    """List stored sessions, newest first."""

    async def list_them() -> None:
        async with OpenCodeAsyncClient() as client:
            found = await client.list_sessions(all_projects=all_projects)
            if not found:
                out.print("no sessions yet")
            for s in found:
                out.print(f"{s.id}  {s.title}  [dim]{s.usage.total} tokens · ${s.cost:.4f}[/dim]")

    asyncio.run(list_them())


def main() -> None:
    app()
