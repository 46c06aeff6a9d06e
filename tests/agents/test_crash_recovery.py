"""A process killed (SIGKILL) in the middle of a run: inside a tool, while text streams,
and between steps. The next client to open the store closes what the dead process left
unfinished, visibly, and the session's usage is the sum of its messages'."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from opencode_python import OpenCodeAsyncClient
from opencode_python.core.models import MessageWithParts, TextPart, TokenUsage, ToolPart
from opencode_python.core.unfinished import is_open_part
from opencode_python.storage.sqlite import SQLiteStore
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import scripted_config

USAGE = TokenUsage(input=120, output=30)

CHILD = """
import asyncio, sys
from pathlib import Path
from opencode_python import OpenCodeAsyncClient, SDKConfig, tool

storage, project, base_url, marker = sys.argv[1:5]

@tool
async def slow(seconds: float) -> str:
    \"\"\"Wait a while.\"\"\"
    Path(marker).write_text("started")
    await asyncio.sleep(seconds)
    return "done"

async def main():
    config = SDKConfig(
        storage_path=storage, project_dir=project, model="openai/gpt-4.1-mini",
        providers={"openai": {"api_key": "k", "base_url": base_url}},
        builtin_tools=False, memory_embedder="none",
    )
    client = OpenCodeAsyncClient(config)
    await client.register_tool(slow)
    session = await client.create_session(title="doomed")
    print(session.id, flush=True)
    await client.prompt(session.id, "do the slow thing")

asyncio.run(main())
"""


def start_child(server: ScriptedLLMServer, tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    """The doomed process, and the id of the session it runs."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(CHILD),
            str(tmp_path / "data"),
            str(project),
            server.openai_base_url,
            str(tmp_path / "marker"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], child: subprocess.Popen[str], what: str
) -> None:
    deadline = time.monotonic() + 60
    while not await condition():
        if child.poll() is not None:
            assert child.stderr is not None
            raise AssertionError(f"the child exited before {what}: {child.stderr.read()}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def has(path: Path) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return path.exists()

    return check


def text_longer(db: Path, session_id: str, length: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(await stored_text(db, session_id)) > length

    return check


def requests(server: ScriptedLLMServer, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(server.requests) >= count

    return check


def kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL


async def stored_text(db: Path, session_id: str) -> str:
    """What another process sees of the session's text right now."""
    async with SQLiteStore(db) as store:
        messages = await store.list_messages(session_id)
    return "".join(p.text for m in messages for p in m.parts if isinstance(p, TextPart))


async def reopen(
    tmp_path: Path, server: ScriptedLLMServer, session_id: str
) -> tuple[list[MessageWithParts], TokenUsage, float]:
    async with OpenCodeAsyncClient(scripted_config(server, "openai", tmp_path)) as client:
        messages = await client.get_messages(session_id)
        session = await client.get_session(session_id)
    return messages, session.usage, session.cost


def assert_consistent(messages: list[MessageWithParts], usage: TokenUsage) -> None:
    assert [p for m in messages for p in m.parts if is_open_part(p)] == []
    assert all(m.info.time.completed is not None for m in messages if m.info.role == "assistant")
    total = TokenUsage()
    for message in messages:
        total = total + message.info.usage
    assert usage == total


def interrupted(messages: list[MessageWithParts]) -> list[MessageWithParts]:
    return [m for m in messages if m.info.finish == "interrupted"]


async def test_killed_inside_a_tool(tmp_path: Path) -> None:
    call = ScriptedToolCall("slow", {"seconds": 60})
    turns = [Turn(text="Working on it.", tool_calls=[call], usage=USAGE), Turn(text="All done.")]
    with ScriptedLLMServer(turns) as server:
        child, session_id = start_child(server, tmp_path)
        await wait_for(has(tmp_path / "marker"), child, "the tool started")
        kill(child)
        messages, usage, _ = await reopen(tmp_path, server, session_id)
        async with OpenCodeAsyncClient(scripted_config(server, "openai", tmp_path)) as client:
            history = await client.get_execution_history(session_id)
            result = await client.prompt(session_id, "what happened?")
        resumed = server.requests[-1]
    assert_consistent(messages, usage)
    assert usage == USAGE  # the step was charged once, to the message and the session
    [step] = interrupted(messages)
    tool = next(p for p in step.parts if isinstance(p, ToolPart))
    assert tool.state.status == "error"
    assert tool.state.error is not None
    assert tool.state.error.startswith("Interrupted")
    assert "may still have run" in tool.state.error
    assert step.info.error is not None
    assert "closed as interrupted at" in step.info.error.message
    assert [(h.tool, h.status) for h in history] == [("slow", "interrupted")]
    # the model is told which call was interrupted
    assert result.response == "All done."
    assert dict(resumed.tool_results)[call.call_id].startswith("Interrupted")


async def test_killed_while_text_streams(tmp_path: Path) -> None:
    turns = [Turn(text="word " * 400, chunk_size=5, chunk_delay=0.02, usage=USAGE)]
    with ScriptedLLMServer(turns) as server:
        child, session_id = start_child(server, tmp_path)
        db = tmp_path / "data" / "opencode.db"
        await wait_for(text_longer(db, session_id, 20), child, "text was stored")
        kill(child)
        messages, usage, cost = await reopen(tmp_path, server, session_id)
    assert_consistent(messages, usage)
    assert usage == TokenUsage()  # the stream never finished: nothing was charged
    assert cost == 0
    [step] = interrupted(messages)
    text = next(p for p in step.parts if isinstance(p, TextPart))
    assert text.text.startswith("word word")
    assert text.time.end is not None


async def test_killed_between_steps(tmp_path: Path) -> None:
    call = ScriptedToolCall("slow", {"seconds": 0})
    turns = [
        Turn(tool_calls=[call], usage=USAGE),
        Turn(text="too late", delay=60, usage=USAGE),
    ]
    with ScriptedLLMServer(turns) as server:
        child, session_id = start_child(server, tmp_path)
        await wait_for(requests(server, 2), child, "the second model call")
        kill(child)
        messages, usage, _ = await reopen(tmp_path, server, session_id)
    assert_consistent(messages, usage)
    assert usage == USAGE
    tool = next(p for m in messages for p in m.parts if isinstance(p, ToolPart))
    assert tool.state.status == "completed"
    assert tool.state.output == "done"
