"""``opencode-python``: run a prompt from the shell, list stored sessions.

A user's mistake (a bad ``--model``, a missing key, a broken ``opencode.json``, an
unknown session or agent) ends in one ``error:`` line on stderr and exit code 2, never
a traceback; a run that fails ends with code 1. Everything is checked before a session
is created, and a run that still fails before the model answers deletes the session it
created, so failed attempts do not pile up in ``sessions``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from ..core import events as ev
from ..core.errors import ConfigError, NotFoundError, OpenCodeError
from ..core.version import VERSION
from .mcp_command import mcp_app
from .options import ModelOption
from .serve_command import serve

if TYPE_CHECKING:  # the engine loads when a command runs: --help and --version stay quick
    from pydantic import ValidationError

    from ..agents import Agent, AgentResult
    from ..core.events import Event
    from ..core.models import ToolPart
    from ..sdk import OpenCodeAsyncClient

#: Exit codes: a run that failed; a usage or configuration error; Ctrl-C (as shells do).
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

T = TypeVar("T")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # help text is shown as written, never parsed as markup
    pretty_exceptions_enable=False,
)
app.add_typer(mcp_app, name="mcp")
app.command()(serve)
# Markup off: model text, tool arguments and error messages are printed as they are
# (styles come from Text). Soft wrap: a long line is never cut at the console width
# (80 columns when piped); the terminal, if any, wraps it.
out = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"opencode-python {VERSION}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Run a prompt from the shell, or list stored sessions."""


@app.command()
def run(
    message: Annotated[
        str,
        typer.Argument(
            metavar="MESSAGE", help="What to ask the agent (with --command: its arguments)."
        ),
    ] = "",
    model: ModelOption = None,
    agent: Annotated[
        str | None, typer.Option(metavar="NAME", help="The agent to run (default: build).")
    ] = None,
    session: Annotated[
        str | None, typer.Option(metavar="ID", help="Continue this session.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every permission the agent asks.")
    ] = False,
    command: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Run a custom command (.opencode/command/NAME.md) instead."
        ),
    ] = None,
    json_schema: Annotated[
        Path | None,
        typer.Option(
            "--json-schema",
            metavar="FILE",
            help="Answer with JSON valid under this JSON schema; only the JSON is printed.",
        ),
    ] = None,
    attach: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="Run on a server started with `serve` (or `opencode serve`)."
        ),
    ] = None,
) -> None:
    """Run one prompt, streaming the answer and the tool calls.

    When a permission rule says ask, you are asked at the terminal (or, with no
    terminal, the call is refused unless --yes is given). With --json-schema the
    answer is validated (and sent back to the model to fix, twice at most) and printed
    alone on stdout; progress goes to stderr.
    """
    if command is None and not message.strip():
        _fail("give a MESSAGE to send, or --command NAME to run a command", EXIT_USAGE)
    if attach is not None:
        if command is not None or json_schema is not None:
            _fail("--attach runs a MESSAGE; --command and --json-schema run here", EXIT_USAGE)
        answer = _execute(_attached(attach, message, session, agent, model, yes))
        error = answer.get("info", {}).get("error")
        if error:
            _fail(str(error.get("data", {}).get("message") or error.get("name")), EXIT_FAILED)
        return
    schema = None
    if json_schema is not None:
        if command is not None:
            _fail("--json-schema goes with a MESSAGE, not with --command", EXIT_USAGE)
        schema = _read_schema(json_schema)
    result = _execute(_run(message, model, agent, session, yes, command, schema))
    if result.error:
        _fail(result.error, EXIT_FAILED)
    if schema is not None:
        # plain print: rich would wrap long lines, and this is for pipes
        print(json.dumps(result.output, indent=2, ensure_ascii=False))


@app.command()
def sessions(
    all_projects: Annotated[bool, typer.Option("--all", help="Every project's sessions.")] = False,
) -> None:
    """List stored sessions, newest first."""
    _execute(_list_sessions(all_projects))


def main() -> None:
    app(prog_name="opencode-python")


# --- running a command ------------------------------------------------------------------


def _execute(work: Coroutine[Any, Any, T]) -> T:
    """Run a command; an error the user can fix becomes one line and an exit code."""
    from pydantic import ValidationError

    try:
        return asyncio.run(work)
    except ValidationError as exc:  # SDKConfig refused an option's value
        _fail(_validation_message(exc), EXIT_USAGE)
    except (ConfigError, NotFoundError) as exc:
        _fail(str(exc), EXIT_USAGE)
    except OpenCodeError as exc:
        _fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)


def _fail(message: str, code: int) -> NoReturn:
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def _read_schema(path: Path) -> dict[str, Any]:
    """The JSON schema in ``path``; a missing or broken file is a usage error."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"--json-schema: cannot read {path}: {exc.strerror or exc}", EXIT_USAGE)
    except ValueError as exc:
        _fail(f"--json-schema: {path} is not JSON: {exc}", EXIT_USAGE)
    if not isinstance(schema, dict):
        _fail(f"--json-schema: {path} must hold a JSON schema object", EXIT_USAGE)
    from ..agents.output import OutputSpec

    try:
        OutputSpec.of(schema)  # a broken schema is said before a session is made
    except ConfigError as exc:
        _fail(f"--json-schema: {path}: {exc}", EXIT_USAGE)
    return schema


def _validation_message(exc: ValidationError) -> str:
    """The validators' own words (``model 'nope' must be named ...``), without pydantic's
    wrapping."""
    messages = []
    for error in exc.errors(include_url=False):
        cause = error.get("ctx", {}).get("error")
        messages.append(str(cause) if cause is not None else error["msg"])
    return "; ".join(messages)


async def _run(
    message: str,
    model: str | None,
    agent_name: str | None,
    session_id: str | None,
    yes: bool,
    command: str | None = None,
    schema: dict[str, Any] | None = None,
) -> AgentResult:
    from ..agents import DEFAULT_AGENT, AgentResult
    from ..agents.models import LOCAL_DEFAULT_MODEL
    from ..sdk import OpenCodeAsyncClient, SDKConfig
    from .console_io import ConsoleIO

    async with OpenCodeAsyncClient(SDKConfig(model=model, auto_confirm=yes)) as client:
        if command is not None:
            await client.get_command(command)  # a typo fails before anything else
        chosen_agent = agent_name or client.default_agent()  # opencode.json's default_agent
        agent = await _agent(client, chosen_agent) if chosen_agent != DEFAULT_AGENT else None
        chosen = client.resolve_model(model, agent)
        client.providers.resolve_model(chosen)  # an unknown provider or missing key, now
        created = session_id is None
        if session_id is None:
            title = f"/{command} {message}".strip() if command else message
            session_id = (await client.create_session(title=title[:60])).id
        else:
            await _existing_session(client, session_id)
        if not yes and sys.stdin.isatty():
            client.set_io_handler(ConsoleIO(err))
        where = " (in-process, offline; --model or an API key picks another)"
        _note(
            f"model {chosen}{where if chosen == LOCAL_DEFAULT_MODEL else ''}"
            f"{f' · agent {agent.name}' if agent else ''} · session {session_id}"
        )
        view = _RunView(show_text=schema is None)
        result: AgentResult | None = None
        try:
            if command is not None:
                result = await _command(client, view, session_id, command, message, agent_name)
            else:
                async for item in client.stream(
                    session_id, message, model=model, agent=agent, output_type=schema
                ):
                    if isinstance(item, AgentResult):
                        result = item
                    else:
                        view.show(item)
        finally:
            if created and not view.answered and (result is None or result.error):
                await client.delete_session(session_id)
        assert result is not None  # the stream ends with the result
        view.end_line()
        _note(
            f"{result.steps} step(s) · {result.tokens_used.total} tokens · "
            f"${result.cost:.4f} · {result.duration:.1f} s"
        )
        return result


async def _attached(
    url: str,
    message: str,
    session_id: str | None,
    agent: str | None,
    model: str | None,
    yes: bool,
) -> dict[str, Any]:
    from .attach import Attached

    return await Attached(url, out, err, yes=yes).run(
        message, session_id=session_id, agent=agent, model=model
    )


async def _command(
    client: OpenCodeAsyncClient,
    view: _RunView,
    session_id: str,
    name: str,
    arguments: str,
    agent: str | None,
) -> AgentResult:
    """Run a custom command, showing the session's events as they come; a command that
    ran as a subtask answered in a child session, so its answer is printed after."""
    unsubscribe = client.events.subscribe(
        "*", lambda event: view.show(event) if event.session_id == session_id else None
    )
    try:
        result = await client.run_command(session_id, name, arguments, agent=agent)
    finally:
        unsubscribe()
    if not view.answered and result.response:
        view.answered = True
        out.print(result.response, end="")
    return result


async def _agent(client: OpenCodeAsyncClient, name: str) -> Agent:
    agents = {agent.name: agent for agent in await client.list_agents()}
    if name not in agents:
        raise NotFoundError(
            f"no agent named {name!r}; agents: {', '.join(agents)} (add one under 'agent' in "
            "opencode.json or as .opencode/agents/NAME.md)"
        )
    return agents[name]


async def _existing_session(client: OpenCodeAsyncClient, session_id: str) -> None:
    try:
        await client.get_session(session_id)
    except NotFoundError:
        raise NotFoundError(
            f"no session {session_id!r}; 'opencode-python sessions' lists them"
        ) from None


async def _list_sessions(all_projects: bool) -> None:
    from ..sdk import OpenCodeAsyncClient

    async with OpenCodeAsyncClient() as client:
        found = await client.list_sessions(all_projects=all_projects)
    if not found:
        out.print("no sessions yet")
    for s in found:
        usage = f"{s.usage.total} tokens · ${s.cost:.4f}"
        out.print(Text.assemble(f"{s.id}  {s.title}  ", (usage, "dim")))


# --- showing a run ----------------------------------------------------------------------


def _note(text: str) -> None:
    err.print(Text(text, style="dim"))


class _RunView:
    """Prints a run's events as they come, and notes whether the model said anything
    (a session where it never did is not worth keeping)."""

    def __init__(self, *, show_text: bool = True) -> None:
        self.answered = False
        self._mid_line = False  # streamed text has left the cursor after a line's start
        # Without the text (a JSON answer printed at the end), stdout holds only that.
        self._show_text = show_text
        self._calls = out if show_text else err

    def show(self, event: Event) -> None:
        data = event.data
        calls = self._calls
        if event.type == ev.PART_DELTA and data["type"] == "text":
            self.answered = True
            if self._show_text:
                out.print(data["delta"], end="")
                self._mid_line = not data["delta"].endswith("\n")
        elif event.type == ev.TOOL_STARTED:
            self.answered = True
            self.end_line()
            part: ToolPart = data["part"]
            args = json.dumps(part.state.input, ensure_ascii=False)
            calls.print(Text.assemble((f"→ {part.tool}", "cyan"), " ", (args[:200], "dim")))
        elif event.type == ev.TOOL_COMPLETED:
            part = data["part"]
            title = part.state.title or ""
            calls.print(Text.assemble((f"✓ {part.tool}", "green"), " ", (title, "dim")))
        elif event.type == ev.TOOL_ERROR:
            part = data["part"]
            error = (part.state.error or "")[:200]
            calls.print(Text.assemble((f"✗ {part.tool}", "red"), " ", (error, "dim")))
        elif event.type == ev.PROVIDER_RETRY:
            retry = f"retry {data['attempt']} in {data['delay']:.1f} s: {data['error']}"
            err.print(Text(retry, style="yellow"))

    def end_line(self) -> None:
        """Finish the line streamed text left open, so that what follows starts its own."""
        if self._mid_line:
            out.print()
            self._mid_line = False
