"""opencode-python against its peers, measured per step at the model server.

Every side runs the same streamed tool-calling conversation: the model calls one tool
``--steps - 1`` times (one call per step, with usage reported in each streamed answer),
then answers with text. The sides:

- ``openai (floor)``: the official ``openai`` client (AsyncOpenAI, streaming) in a
  hand-written loop that passes the history and the tools in ``extra_body``, so the
  client sends them as given: the least a client of that package can do;
- ``openai, typed args``: the same loop passing them as the typed ``messages`` and
  ``tools`` arguments, which the client walks against its TypedDicts on every request
  (the frameworks below do that too; with a long history it costs milliseconds);
- ``pydantic-ai``: a PydanticAI ``Agent`` with one tool on ``OpenAIChatModel``,
  streamed with ``run_stream_events``;
- ``openai-agents``: the OpenAI Agents SDK, ``Agent`` + ``function_tool`` on
  ``OpenAIChatCompletionsModel``, ``Runner.run_streamed``, tracing disabled;
- ``opencode-python``: ``OpenCodeAsyncClient`` with default settings (all built-in
  tools registered, memory on) and ``opencode-python lean`` (only the one tool,
  ``builtin_tools=False``, ``memory_embedder="none"``);
- ``OpenCode``: the real OpenCode binary (``opencode run``), when it is found. Its
  tools are its own, so its model calls OpenCode's built-in ``read`` tool on a
  different small file each step instead of ``echo``.

All sides talk to one ``ScriptedLLMServer`` on loopback, run in a process of its own
so that the client under test never competes with it for the GIL. A step is measured
at the server: the gap between the server sending the last byte of answer k and
receiving request k+1 is everything the client does between two model calls (parse
the stream, run the tool, store, publish, build the next request), with start-up left
out. Rounds alternate the sides, each round starting at the next one, so machine noise
hits all alike. Every run is checked: exactly ``--steps`` streamed requests that offer
the tool, each tool result sent back as the script expects, and the tool really ran.

    pip install -e '.[bench]'
    python bench/peers.py [--rounds 10] [--steps 20] [--with-opencode]
                          [--opencode-bin PATH] [--opencode-no-snapshot]

OpenCode is looked for in ``--opencode-bin``, ``$OPENCODE_BIN``, the bench's cache
folder (``<user cache>/opencode-python/bench``) and ``PATH``; without it the side is
skipped with a note. ``--with-opencode`` installs it into the cache folder first when
it is missing, with npm (the npm registry must be reachable):

    npm install --prefix ~/.cache/opencode-python/bench opencode-linux-x64

which puts the binary at ``node_modules/opencode-linux-x64/bin/opencode`` (the package
is ``opencode-darwin-arm64`` and so on elsewhere). OpenCode runs with a scratch
``HOME``, an ``opencode.json`` (in ``OPENCODE_CONFIG``) whose custom provider uses
``@ai-sdk/openai-compatible`` pointed at the scripted server, in a scratch git
repository holding the files it reads. Its own defaults are left as they are, including
a git snapshot of the worktree at every step; ``--opencode-no-snapshot`` sets
``"snapshot": false`` to show what that costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import itertools
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openai import AsyncOpenAI

if TYPE_CHECKING:
    from opencode_python import OpenCodeAsyncClient

MODEL = "gpt-4.1-mini"
SYSTEM = "You are a helpful assistant."
PROMPT = "Echo the numbers one by one."
ANSWER = "All numbers echoed."
OPENCODE_PROMPT = "Read the notes one by one."
OPENCODE_ANSWER = "All notes read."
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"value": {"type": "integer", "description": "The number to echo."}},
    "required": ["value"],
}


# --- the server, in a process of its own ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """What the bench needs of one request the server received."""

    started: float
    finished: float | None
    tools: tuple[str, ...]
    results: tuple[tuple[str, str], ...]
    stream: bool
    usage_asked: bool


def _serve(conn: Connection, steps: int, notes: str, latency: float) -> None:
    """The server process: answer requests by script, each after ``latency`` seconds (a
    model's time to first token); report what it saw on demand."""
    from opencode_python.core.models import TokenUsage
    from opencode_python.testing import (
        RecordedRequest,
        ScriptedLLMServer,
        ScriptedToolCall,
        Turn,
    )

    def respond(request: RecordedRequest) -> Turn:
        done = len(request.tool_results)
        usage = TokenUsage(input=100 + 10 * done, output=12)
        if "echo" in request.tool_names:
            if done < steps - 1:
                call = ScriptedToolCall("echo", {"value": done})
                return Turn(tool_calls=[call], usage=usage, delay=latency)
            return Turn(text=ANSWER, usage=usage, delay=latency)
        if "read" in request.tool_names:  # OpenCode
            if done < steps - 1:
                call = ScriptedToolCall("read", {"filePath": str(Path(notes, f"note{done}.txt"))})
                return Turn(tool_calls=[call], usage=usage, delay=latency)
            return Turn(text=OPENCODE_ANSWER, usage=usage, delay=latency)
        return Turn(text="Bench run", usage=usage)  # a title or other side request

    with ScriptedLLMServer(responder=respond) as server:
        conn.send(server.openai_base_url)
        while True:
            since = conn.recv()
            if since is None:
                break
            seen: list[Seen] = []
            for r in server.requests[since:]:
                options = r.body.get("stream_options")
                seen.append(
                    Seen(
                        started=r.started,
                        finished=r.finished,
                        tools=tuple(r.tool_names),
                        results=tuple(r.tool_results),
                        stream=r.body.get("stream") is True,
                        usage_asked=isinstance(options, dict)
                        and options.get("include_usage") is True,
                    )
                )
            conn.send(seen)


class ServerProcess:
    """The scripted server in a child process, and a pipe to ask what it saw."""

    def __init__(self, steps: int, notes: Path, latency: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child, steps, str(notes), latency),
            name="scripted-server",
            daemon=True,
        )
        self._process.start()
        child.close()
        if not self._conn.poll(60):
            self._process.kill()
            raise RuntimeError("the scripted server did not start within 60 s")
        self.base_url: str = self._conn.recv()

    def seen(self, since: int = 0) -> list[Seen]:
        self._conn.send(since)
        result: list[Seen] = self._conn.recv()
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


# --- the sides ------------------------------------------------------------------------


class BenchError(Exception):
    """A run that did not do what the script asked."""


@dataclass
class Side:
    """One client under test: ``run`` does one whole conversation."""

    name: str
    run: Callable[[], Awaitable[None]]
    tool: str = "echo"
    tool_calls: Callable[[], int] | None = None
    """How often the tool ran in this process so far (None: only the server can tell)."""
    note: str = ""
    gaps: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    others: int = 0
    """Requests without the tool (titles and such) seen during its measured runs."""

    def expect(self, index: int, content: str) -> bool:
        """Whether the tool result of step ``index`` is the one the script asked for."""
        if self.tool == "read":
            return f"note {index}\n" in content
        return content.strip().strip('"') == str(index)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def echo(self, value: int) -> str:
        self.calls += 1
        return str(value)

    def tool(self) -> Callable[[int], str]:
        """``echo`` as the plain function the frameworks take: they read its name,
        signature and docstring for the schema."""

        def echo(value: int) -> str:
            """Echo a number back.

            Args:
                value: The number to echo.
            """
            return self.echo(value)

        return echo


def plain_side(base_url: str, steps: int, *, typed: bool) -> Side:
    """The hand-written loop. The floor passes the history and the tools in
    ``extra_body``, which the client sends as given; ``typed`` passes them as the typed
    ``messages`` and ``tools`` arguments, which the client first walks against its
    TypedDicts (what the frameworks do, and milliseconds per request with a long
    history)."""
    openai = AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    counter = Counter()
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "echo",
                "description": "Echo a number back.",
                "parameters": SCHEMA,
            },
        }
    ]

    async def run() -> None:
        messages: list[Any] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": PROMPT},
        ]
        for _ in range(steps):
            if typed:
                stream = await openai.chat.completions.create(
                    model=MODEL,
                    messages=messages,
                    tools=tools,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            else:
                stream = await openai.chat.completions.create(
                    model=MODEL,
                    messages=[],
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_body={"messages": messages, "tools": tools},
                )
            text = ""
            calls: dict[int, dict[str, str]] = {}
            async for chunk in stream:
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        text += delta.content
                    for call in delta.tool_calls or []:
                        slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                        if call.id:
                            slot["id"] = call.id
                        if call.function and call.function.name:
                            slot["name"] = call.function.name
                        if call.function and call.function.arguments:
                            slot["arguments"] += call.function.arguments
            if not calls:
                if text != ANSWER:
                    raise BenchError(f"unexpected answer {text!r}")
                return
            messages.append(
                {
                    "role": "assistant",
                    "content": text or None,
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["arguments"]},
                        }
                        for c in calls.values()
                    ],
                }
            )
            for c in calls.values():
                output = counter.echo(json.loads(c["arguments"])["value"])
                messages.append({"role": "tool", "tool_call_id": c["id"], "content": output})
        raise BenchError("the model never answered with text")

    name = "openai, typed args" if typed else "openai (floor)"
    return Side(name, run, tool_calls=lambda: counter.calls)


def pydantic_ai_side(base_url: str, steps: int) -> Side:
    from pydantic_ai import Agent, AgentRunResultEvent
    from pydantic_ai import Tool as PydanticTool
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    openai = AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    counter = Counter()
    echo = counter.tool()

    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=openai))
    agent = Agent(
        model, instructions=SYSTEM, tools=[PydanticTool(echo, takes_ctx=False)], output_type=str
    )

    async def run() -> None:
        output: str | None = None
        async with agent.run_stream_events(PROMPT) as events:
            async for event in events:
                if isinstance(event, AgentRunResultEvent):
                    output = event.result.output
        if output != ANSWER:
            raise BenchError(f"unexpected answer {output!r}")

    return Side("pydantic-ai", run, tool_calls=lambda: counter.calls)


def openai_agents_side(base_url: str, steps: int) -> Side:
    from agents import (
        Agent,
        ModelSettings,
        OpenAIChatCompletionsModel,
        RunConfig,
        Runner,
        function_tool,
        set_tracing_disabled,
    )

    set_tracing_disabled(True)
    openai = AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    counter = Counter()
    echo = counter.tool()

    agent = Agent(
        name="bench",
        instructions=SYSTEM,
        model=OpenAIChatCompletionsModel(MODEL, openai_client=openai),
        # the SDK asks for streamed usage only from api.openai.com unless told to
        model_settings=ModelSettings(include_usage=True),
        tools=[function_tool(echo)],
    )
    config = RunConfig(tracing_disabled=True)

    async def run() -> None:
        result = Runner.run_streamed(agent, PROMPT, max_turns=steps + 1, run_config=config)
        async for _ in result.stream_events():
            pass
        if result.final_output != ANSWER:
            raise BenchError(f"unexpected answer {result.final_output!r}")

    return Side("openai-agents", run, tool_calls=lambda: counter.calls)


async def opencode_python_side(stack: contextlib.AsyncExitStack, base_url: str, lean: bool) -> Side:
    from opencode_python import OpenCodeAsyncClient, SDKConfig, Tool, ToolContext, ToolResult

    counter = Counter()

    class EchoTool(Tool):
        id = "echo"
        description = "Echo a number back."

        def parameters(self) -> dict[str, Any]:
            return SCHEMA

        async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
            return ToolResult(title="echo", output=counter.echo(args["value"]))

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="peers-ocpy-")))
    lean_settings: dict[str, Any] = {"builtin_tools": False, "memory_embedder": "none"}
    config = SDKConfig(
        storage_path=folder,
        project_dir=folder,
        model=f"openai/{MODEL}",
        providers={"openai": {"api_key": "bench", "base_url": base_url}},
        **(lean_settings if lean else {}),
    )
    client: OpenCodeAsyncClient = await stack.enter_async_context(OpenCodeAsyncClient(config))
    await client.register_tool(EchoTool())

    async def run() -> None:
        session = await client.create_session(title="bench")
        result = await client.prompt(session.id, PROMPT)
        if result.error is not None:
            raise BenchError(f"the run failed: {result.error}")
        if result.response.strip() != ANSWER:
            raise BenchError(f"unexpected answer {result.response!r}")

    name = "opencode-python lean" if lean else "opencode-python"
    return Side(name, run, tool_calls=lambda: counter.calls)


# --- OpenCode itself ------------------------------------------------------------------


def _opencode_package() -> str:
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "windows"}.get(
        platform.system(), platform.system().lower()
    )
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    return f"opencode-{system}-{arch}"


def _opencode_cache() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("opencode-python")) / "bench"


def find_opencode(explicit: str | None, install: bool) -> tuple[Path | None, str]:
    """The OpenCode binary, or None and why not."""
    package = _opencode_package()
    cached = _opencode_cache() / "node_modules" / package / "bin" / "opencode"
    for candidate in (explicit, os.environ.get("OPENCODE_BIN")):
        if candidate:
            path = Path(candidate)
            if path.is_file() and os.access(path, os.X_OK):
                return path, ""
            return None, f"{candidate} is not an executable file"
    if cached.is_file():
        return cached, ""
    on_path = shutil.which("opencode")
    if on_path:
        return Path(on_path), ""
    install_command = ["npm", "install", "--prefix", str(cached.parents[3]), package]
    if not install:
        return None, (
            "binary not found; run with --with-opencode, or: " + " ".join(install_command)
        )
    npm = shutil.which("npm")
    if npm is None:
        return None, "--with-opencode needs npm on PATH"
    cached.parents[3].mkdir(parents=True, exist_ok=True)
    print("installing OpenCode:", " ".join(install_command), flush=True)
    done = subprocess.run(
        [npm, *install_command[1:], "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not cached.is_file():
        return None, f"npm install failed: {done.stderr.strip()[-500:]}"
    return cached, ""


def opencode_workspace(root: Path, steps: int) -> Path:
    """A git repository with the small files OpenCode's model reads, one per step."""
    work = root / "work"
    work.mkdir()
    for index in range(steps - 1):
        (work / f"note{index}.txt").write_text(f"note {index}\n")
    git = ["git", "-c", "user.email=bench@example.invalid", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], cwd=work, check=True)
    subprocess.run([*git, "add", "."], cwd=work, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "notes"], cwd=work, check=True)
    return work


def opencode_side(
    binary: Path, root: Path, work: Path, base_url: str, steps: int, snapshot: bool
) -> Side:
    home = root / "home"
    home.mkdir()
    config = root / "opencode.json"
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "name": "Scripted",
        "options": {"baseURL": base_url, "apiKey": "sk-bench"},
        "models": {MODEL: {}},
    }
    document = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"scripted": provider},
        "model": f"scripted/{MODEL}",
        "small_model": f"scripted/{MODEL}",  # its title request stays on the server too
        "share": "disabled",
        "autoupdate": False,
    }
    if not snapshot:
        document["snapshot"] = False
    config.write_text(json.dumps(document, indent=2))
    env = {
        **os.environ,
        "HOME": str(home),
        "OPENCODE_CONFIG": str(config),
        "PWD": str(work),  # OpenCode takes its directory from PWD, not from the cwd alone
        "OPENCODE_DISABLE_MODELS_FETCH": "1",  # offline: no models.dev fetch
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    }
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, env=env, check=False
    ).stdout.strip()

    async def run() -> None:
        process = await asyncio.create_subprocess_exec(
            str(binary),
            "run",
            OPENCODE_PROMPT,
            cwd=work,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), 60 + 5 * steps)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise BenchError("opencode run did not finish in time") from None
        if process.returncode != 0:
            tail = (out + err).decode(errors="replace")[-1500:]
            raise BenchError(f"opencode run exited {process.returncode}:\n{tail}")

    note = f"OpenCode {version}: its built-in `read` tool on a small file each step"
    note += (
        "; git snapshot of the worktree each step, as by default (--opencode-no-snapshot: off)"
        if snapshot
        else '; "snapshot": false (not its default)'
    )
    return Side("OpenCode", run, tool="read", note=note)


# --- measuring ------------------------------------------------------------------------


async def measure(side: Side, server: ServerProcess, steps: int) -> tuple[float, list[float], int]:
    """One checked run of ``side``: its wall time, its ``steps - 1`` step gaps and how
    many other requests (without the tool) it made."""
    since = len(server.seen())
    calls_before = side.tool_calls() if side.tool_calls else 0
    start = time.perf_counter()
    await side.run()
    wall = time.perf_counter() - start
    seen = server.seen(since)
    main = [s for s in seen if side.tool in s.tools]
    if len(main) != steps:
        raise BenchError(
            f"{side.name}: {len(main)} requests offered {side.tool!r}, expected {steps} "
            f"({len(seen)} requests in all)"
        )
    for index, request in enumerate(main):
        if not request.stream:
            raise BenchError(f"{side.name}: request {index + 1} was not streamed")
        if not request.usage_asked:
            raise BenchError(f"{side.name}: request {index + 1} did not ask for usage")
        if request.finished is None:
            raise BenchError(f"{side.name}: the client left answer {index + 1} unfinished")
        if len(request.results) != index:
            raise BenchError(
                f"{side.name}: request {index + 1} sent {len(request.results)} tool results"
            )
    for index, (_, content) in enumerate(main[-1].results):
        if not side.expect(index, content):
            raise BenchError(f"{side.name}: tool result {index} is {content[:200]!r}")
    if side.tool_calls is not None and side.tool_calls() - calls_before != steps - 1:
        ran = side.tool_calls() - calls_before
        raise BenchError(f"{side.name}: the tool ran {ran} times, expected {steps - 1}")
    gaps = []
    for previous, following in itertools.pairwise(main):
        assert previous.finished is not None
        gaps.append(following.started - previous.finished)
    return wall, gaps, len(seen) - len(main)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def print_table(sides: list[Side], steps: int, rounds: int) -> None:
    floor = statistics.median(sides[0].gaps) * 1000
    header = f"{'side':<22} {'median':>8} {'p90':>8} {'vs floor':>9} {'ratio':>7} {'wall/run':>10}"
    print()
    print(f"{steps} steps per run, {rounds} rounds; a step: server's last byte of answer k")
    print("to its receiving request k+1, in ms (median and p90 over all steps of all rounds)")
    print()
    print(header)
    print("-" * len(header))
    for side in sides:
        median = statistics.median(side.gaps) * 1000
        p90 = percentile(side.gaps, 0.9) * 1000
        wall = statistics.median(side.walls) * 1000
        print(
            f"{side.name:<22} {median:>8.2f} {p90:>8.2f} {median - floor:>+9.2f} "
            f"{median / floor:>6.1f}x {wall:>8.0f}ms"
        )
    print()
    print("vs floor: ms per step over the plain openai loop; ratio: median / floor median.")
    print("wall/run: the whole run as the caller sees it, start-up included (information).")
    for side in sides:
        if side.note:
            print(f"note: {side.name}: {side.note}")
        if side.others:
            per_run = side.others / len(side.walls)
            print(
                f"note: {side.name} also made {per_run:g} request(s) per run without the "
                "tool (a title, say); they are not steps"
            )


async def make_sides(stack: contextlib.AsyncExitStack, base_url: str, steps: int) -> list[Side]:
    sides = [plain_side(base_url, steps, typed=False), plain_side(base_url, steps, typed=True)]
    peers: list[tuple[str, Callable[[str, int], Side]]] = [
        ("pydantic-ai", pydantic_ai_side),
        ("openai-agents", openai_agents_side),
    ]
    for name, factory in peers:
        try:
            sides.append(factory(base_url, steps))
        except ImportError as exc:
            print(f"{name}: skipped ({exc}); pip install -e '.[bench]'")
    sides.append(await opencode_python_side(stack, base_url, lean=False))
    sides.append(await opencode_python_side(stack, base_url, lean=True))
    return sides


async def run_rounds(sides: list[Side], server: ServerProcess, rounds: int, steps: int) -> None:
    print("warming up:", ", ".join(side.name for side in sides), flush=True)
    for side in sides:
        await measure(side, server, steps)
    for number in range(rounds):
        turn = number % len(sides)
        for side in sides[turn:] + sides[:turn]:
            wall, gaps, others = await measure(side, server, steps)
            side.walls.append(wall)
            side.gaps.extend(gaps)
            side.others += others
        print(f"round {number + 1}/{rounds} done", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--with-opencode",
        action="store_true",
        help="install OpenCode with npm into the bench cache when it is not found",
    )
    parser.add_argument("--opencode-bin", help="the OpenCode binary to run")
    parser.add_argument(
        "--opencode-no-snapshot",
        action="store_true",
        help='run OpenCode with "snapshot": false (it snapshots the worktree each step)',
    )
    parser.add_argument(
        "--model-latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="the server waits this long before each answer, as a model does before its "
        "first token (default 0: the client's own cost, with nothing to hide behind)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="SIDE",
        help="run only the sides of these names (the floor always runs), "
        "e.g. --only 'opencode-python' 'opencode-python lean'",
    )
    args = parser.parse_args()
    if args.steps < 2 or args.rounds < 1:
        parser.error("--steps must be at least 2 and --rounds at least 1")

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs")
    for package in ("opencode-python", "openai", "pydantic", "pydantic-ai-slim", "openai-agents"):
        print(f"  {package} {version_of(package)}")

    binary, why = find_opencode(args.opencode_bin, args.with_opencode)
    with tempfile.TemporaryDirectory(prefix="peers-") as scratch:
        root = Path(scratch)
        work = opencode_workspace(root, args.steps) if binary else root
        server = ServerProcess(args.steps, work, args.model_latency / 1000)
        try:
            async with contextlib.AsyncExitStack() as stack:
                sides = await make_sides(stack, server.base_url, args.steps)
                if args.only:
                    sides = [sides[0], *(side for side in sides[1:] if side.name in args.only)]
                if binary is not None and (not args.only or "OpenCode" in args.only):
                    snapshot = not args.opencode_no_snapshot
                    side = opencode_side(binary, root, work, server.base_url, args.steps, snapshot)
                    sides.append(side)
                else:
                    print(f"OpenCode: skipped ({why})")
                await run_rounds(sides, server, args.rounds, args.steps)
        finally:
            server.close()
    print_table(sides, args.steps, args.rounds)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BenchError as exc:
        sys.exit(f"bench/peers.py: {exc}")
