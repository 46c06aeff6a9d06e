"""Agents served over MCP, driven by the official ``mcp`` client against the scripted model.

The command runs as a real subprocess over stdio and over streamable HTTP; the rest
connects the client to ``agent_server`` in process. Every wait has a deadline and
every subprocess is killed at the end.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import TextContent

from opencode_python import Agent, OpenCodeAsyncClient
from opencode_python.core.errors import NotFoundError
from opencode_python.core.models import PermissionRule
from opencode_python.providers.guard import BLOCK_ENV
from opencode_python.sdk.mcp_server import MCP_AGENT, agent_server, mcp_name
from opencode_python.testing import Fault, ScriptedLLMServer, Turn

from ..conftest import ClientFactory, scripted_config
from ..tools_for_tests import AddTool
from .loopback import free_port, wait_until_listening

MODEL = "openai/gpt-4.1-mini"
DEADLINE_S = 60
BUILT_IN_AGENTS = {"build", "plan", "general", "explore"}

# `opencode-python mcp`, whether or not cli/app.py has added the sub-app yet.


def child_env(server: ScriptedLLMServer, tmp_path: Path) -> dict[str, str]:
    """What the served process needs to reach the scripted model, and nothing real."""
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": server.openai_base_url,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path / "home"),
        BLOCK_ENV: "1",
    }


def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir(exist_ok=True)
    return path


def stdio(server: ScriptedLLMServer, tmp_path: Path, *options: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "opencode_python.cli", "mcp", "serve", "--model", MODEL, *options],
        env=child_env(server, tmp_path),
        cwd=project(tmp_path),
    )


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


# --- the command, over stdio and http ---------------------------------------------------


async def test_stdio_lists_the_agents_and_runs_build(tmp_path: Path) -> None:
    notes: list[str] = []

    async def progress(current: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    with ScriptedLLMServer([Turn(text="Hello from the scripted model.")]) as server:
        async with asyncio.timeout(DEADLINE_S), Client(stdio(server, tmp_path)) as mcp:
            listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
            result = await mcp.call_tool(
                "build", {"prompt": "say hello"}, progress_callback=progress
            )
        seen = [request.last_user_text for request in server.requests]

    assert set(listed) == BUILT_IN_AGENTS
    assert listed["build"].description
    assert listed["build"].input_schema["required"] == ["prompt"]
    assert "session_id" in listed["build"].input_schema["properties"]
    assert not result.is_error, text_of(result)
    assert text_of(result) == "Hello from the scripted model."
    assert result.structured_content is not None
    assert result.structured_content["response"] == "Hello from the scripted model."
    assert result.structured_content["session_id"].startswith("ses_")
    assert seen == ["say hello"]
    assert "".join(notes) == "Hello from the scripted model."  # one note per streamed chunk


@contextmanager
def http_server(server: ScriptedLLMServer, tmp_path: Path, port: int) -> Iterator[str]:
    """``mcp serve --transport http`` on ``port``, once it accepts; killed at the end."""
    options = ["--model", MODEL, "--transport", "http", "--port", str(port)]
    child = subprocess.Popen(
        [sys.executable, "-m", "opencode_python.cli", "mcp", "serve", *options],
        env={**os.environ, **child_env(server, tmp_path)},
        cwd=project(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_listening(child, port, DEADLINE_S)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        child.kill()
        child.communicate(timeout=10)


async def test_streamable_http_runs_an_agent(tmp_path: Path) -> None:
    with (
        ScriptedLLMServer([Turn(text="Planned.", when="make a plan")]) as server,
        http_server(server, tmp_path, free_port()) as url,
    ):
        async with asyncio.timeout(DEADLINE_S), Client(url) as mcp:
            names = {tool.name for tool in (await mcp.list_tools()).tools}
            result = await mcp.call_tool("plan", {"prompt": "make a plan"})
        seen = [request.last_user_text for request in server.requests]

    assert names == BUILT_IN_AGENTS
    assert not result.is_error, text_of(result)
    assert text_of(result) == "Planned."
    assert seen == ["make a plan"]


async def test_tools_serves_the_registered_tools_under_the_rules(tmp_path: Path) -> None:
    (project(tmp_path) / "notes.txt").write_text("remember the milk\n")
    (project(tmp_path) / "secret.env").write_text("TOKEN=hunter2\n")
    with ScriptedLLMServer() as server:
        params = stdio(server, tmp_path, "--tools", "--agent", "explore")
        async with asyncio.timeout(DEADLINE_S), Client(params) as mcp:
            listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
            read = await mcp.call_tool("read", {"filePath": "notes.txt"})
            secret = await mcp.call_tool("read", {"filePath": "secret.env"})

    assert {"explore", "read", "bash", "write"} <= set(listed)
    assert not (BUILT_IN_AGENTS - {"explore"}) & set(listed)
    assert "filePath" in listed["read"].input_schema["properties"]
    assert not read.is_error, text_of(read)
    assert "remember the milk" in text_of(read)
    # The default rules ask before reading env files, and nobody can answer here.
    assert secret.is_error
    assert "needs approval" in text_of(secret)
    assert "hunter2" not in text_of(secret)


def test_a_mistake_in_the_options_is_one_error_line(tmp_path: Path) -> None:
    with ScriptedLLMServer() as server:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "opencode_python.cli",
                "mcp",
                "serve",
                "--model",
                MODEL,
                "--agent",
                "reviewer",
            ],
            env={**os.environ, **child_env(server, tmp_path)},
            cwd=project(tmp_path),
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
        )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "error: no agent named 'reviewer'; agents: build, explore" in done.stderr
    assert "Traceback" not in done.stderr


# --- the server in process ---------------------------------------------------------------


@asynccontextmanager
async def connected(client: OpenCodeAsyncClient, **options: Any) -> AsyncIterator[Client]:
    async with asyncio.timeout(DEADLINE_S), Client(await agent_server(client, **options)) as mcp:
        yield mcp


async def test_a_failed_run_comes_back_as_an_error(make_client: ClientFactory) -> None:
    with ScriptedLLMServer([Turn(fault=Fault.status(400))]) as server:
        async with connected(make_client(server)) as mcp:
            result = await mcp.call_tool("build", {"prompt": "hello"})

    assert result.is_error
    assert text_of(result)
    assert result.structured_content is None


async def test_a_session_id_continues_the_conversation(make_client: ClientFactory) -> None:
    turns = [Turn(text="First.", when="one"), Turn(text="Second.", when="two")]
    with ScriptedLLMServer(turns) as server:
        async with connected(make_client(server)) as mcp:
            first = await mcp.call_tool("build", {"prompt": "one"})
            assert first.structured_content is not None
            session_id = first.structured_content["session_id"]
            second = await mcp.call_tool("general", {"prompt": "two", "session_id": session_id})
            unknown = await mcp.call_tool("build", {"prompt": "x", "session_id": "ses_nope"})
        history = server.requests[1].messages

    assert second.structured_content == {"response": "Second.", "session_id": session_id}
    assert [m["content"] for m in history if m["role"] == "user"] == ["one", "two"]
    assert unknown.is_error
    assert "ses_nope" in text_of(unknown)


async def test_agents_are_named_for_mcp_and_can_be_chosen(make_client: ClientFactory) -> None:
    with ScriptedLLMServer() as server:
        client = make_client(server)
        await client.register_agent(
            Agent(name="Backend Architect", description="Designs the APIs.", mode="subagent")
        )
        async with connected(client, agents=["Backend Architect", "plan"]) as mcp:
            listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        with pytest.raises(NotFoundError, match="'reviewer'"):
            await agent_server(client, agents=["reviewer"])
        with pytest.raises(NotFoundError, match="'title'"):  # hidden agents are not served
            await agent_server(client, agents=["title"])

    assert set(listed) == {"Backend_Architect", "plan"}
    assert listed["Backend_Architect"].description == "Designs the APIs."
    assert mcp_name("a.b/c d-e_f") == "a_b_c_d-e_f"


async def test_tool_calls_are_checked_and_logged(tmp_path: Path) -> None:
    with ScriptedLLMServer() as server:
        config = scripted_config(server, "openai", tmp_path)
    config.permission = [PermissionRule(permission="add", pattern="*", action="ask")]
    async with OpenCodeAsyncClient(config) as client:
        await client.register_tool(AddTool())
        async with connected(client, agents=[], tools=True) as mcp:
            names = [tool.name for tool in (await mcp.list_tools()).tools]
            refused = await mcp.call_tool("add", {"a": 2, "b": 3})
            client.on_permission(lambda request: "once")
            added = await mcp.call_tool("add", {"a": 2, "b": 3})
            wrong = await mcp.call_tool("add", {"a": "two"})
        [session] = [s for s in await client.list_sessions() if s.title == "MCP tool calls"]
        log = await client.get_execution_history(session.id)

    assert names == ["add"]
    assert refused.is_error
    assert "needs approval" in text_of(refused)
    assert not added.is_error
    assert text_of(added) == "5"
    assert wrong.is_error
    assert "do not match its schema" in text_of(wrong)
    assert [(e.tool, e.status, e.agent) for e in log] == [
        ("add", "refused", MCP_AGENT),
        ("add", "completed", MCP_AGENT),
        ("add", "refused", MCP_AGENT),
    ]


async def test_project_names_the_project_when_the_host_starts_it_elsewhere(
    tmp_path: Path,
) -> None:
    """Hosts start servers in a directory of their own: --project points at the
    project, whose agent files are then served."""
    folder = project(tmp_path) / ".opencode" / "agent"
    folder.mkdir(parents=True)
    (folder / "reviewer.md").write_text("---\ndescription: Reviews\nmode: primary\n---\nReview.")
    elsewhere = tmp_path / "host"
    elsewhere.mkdir()
    with ScriptedLLMServer([]) as server:
        params = StdioServerParameters(
            command=sys.executable,
            args=[
                *["-m", "opencode_python.cli", "mcp", "serve", "--model", MODEL],
                *["--project", str(project(tmp_path)), "--agent", "reviewer"],
            ],
            env=child_env(server, tmp_path),
            cwd=elsewhere,
        )
        async with Client(params) as client:
            tools = (await asyncio.wait_for(client.list_tools(), DEADLINE_S)).tools
    assert [t.name for t in tools] == ["reviewer"]
