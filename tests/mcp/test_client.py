"""MCP servers' tools in runs, against real servers: the reference ``mcp-server-time``
and ``mcp-server-git`` from PyPI, and a server of the tests' own over stdio and HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode_python import OpenCodeAsyncClient
from opencode_python.core.errors import ConfigError
from opencode_python.core.models import ToolPart
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import scripted_config
from .loopback import free_port, wait_until_listening

ECHO_SERVER = Path(__file__).with_name("echo_server.py")
ECHO = {"type": "local", "command": [sys.executable, str(ECHO_SERVER)]}


def client_with(
    server: ScriptedLLMServer, tmp_path: Path, mcp: dict[str, Any], **config: Any
) -> OpenCodeAsyncClient:
    settings = scripted_config(server, "openai", tmp_path)
    settings.mcp = mcp  # type: ignore[assignment]
    for key, value in config.items():
        setattr(settings, key, value)
    return OpenCodeAsyncClient(settings)


async def run(
    tmp_path: Path, mcp: dict[str, Any], turns: list[Turn], **config: Any
) -> tuple[ScriptedLLMServer, list[ToolPart], OpenCodeAsyncClient]:
    with ScriptedLLMServer(turns) as server:
        async with client_with(server, tmp_path, mcp, **config) as client:
            session = await client.create_session()
            await client.prompt(session.id, "use the tools")
            messages = await client.get_messages(session.id)
    parts = [p for m in messages for p in m.parts if isinstance(p, ToolPart)]
    return server, parts, client


async def test_the_model_calls_an_mcp_tool_and_reads_its_result(tmp_path: Path) -> None:
    echo = ScriptedToolCall("echo_echo", {"text": "hello"})
    add = ScriptedToolCall("echo_add", {"a": 2, "b": 40})
    server, parts, _ = await run(
        tmp_path, {"echo": ECHO}, [Turn(tool_calls=[echo, add]), Turn(text="done")]
    )
    offered = server.requests[0].tool_names
    assert {"echo_echo", "echo_add", "echo_pixel", "echo_count"} <= set(offered)
    results = dict(server.requests[1].tool_results)
    assert results[echo.call_id] == "echo: hello"
    assert json.loads(results[add.call_id]) == {"total": 42}
    assert [p.state.status for p in parts] == ["completed", "completed"]
    assert parts[1].state.metadata["structured"] == {"total": 42}


async def test_the_reference_time_server_from_pypi(tmp_path: Path) -> None:
    binary = str(Path(sys.executable).with_name("mcp-server-time"))
    now = ScriptedToolCall("time_get_current_time", {"timezone": "Europe/Oslo"})
    server, parts, _ = await run(
        tmp_path,
        {"time": {"type": "local", "command": [binary], "timeout": 20000}},
        [Turn(tool_calls=[now]), Turn(text="it is late")],
    )
    assert "time_convert_time" in server.requests[0].tool_names
    result = json.loads(dict(server.requests[1].tool_results)[now.call_id])
    assert result["timezone"] == "Europe/Oslo"
    assert parts[0].state.status == "completed"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.txt").write_text("one\n")
    for args in (
        ["init", "-q"],
        ["config", "user.email", "t@e"],
        ["config", "user.name", "T"],
        ["add", "a.txt"],
        ["commit", "-qm", "first commit"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root


async def test_the_reference_git_server_reads_a_real_repository(tmp_path: Path, repo: Path) -> None:
    binary = str(Path(sys.executable).with_name("mcp-server-git"))
    log = ScriptedToolCall("git_git_log", {"repo_path": str(repo)})
    server, parts, _ = await run(
        tmp_path,
        {"git": {"type": "local", "command": [binary], "timeout": 20000}},
        [Turn(tool_calls=[log]), Turn(text="one commit")],
    )
    assert "first commit" in dict(server.requests[1].tool_results)[log.call_id]
    assert parts[0].state.status == "completed"


async def test_permission_rules_apply_to_mcp_tools_by_name(tmp_path: Path) -> None:
    """`echo_f*: deny` hides the fail tool and refuses a call to it by name."""
    fail = ScriptedToolCall("echo_fail", {"reason": "x"})
    server, parts, _ = await run(
        tmp_path,
        {"echo": ECHO},
        [Turn(tool_calls=[fail]), Turn(text="ok")],
        permission={"echo_*": "allow", "echo_f*": "deny"},
    )
    offered = server.requests[0].tool_names
    assert "echo_fail" not in offered
    assert "echo_echo" in offered
    assert parts[0].state.status == "error"
    assert "echo_fail" in (parts[0].state.error or "")


async def test_an_error_result_and_an_image_reach_the_model(tmp_path: Path) -> None:
    fail = ScriptedToolCall("echo_fail", {"reason": "x"})
    pixel = ScriptedToolCall("echo_pixel", {})
    _, parts, _ = await run(
        tmp_path, {"echo": ECHO}, [Turn(tool_calls=[fail, pixel]), Turn(text="ok")]
    )
    by_tool = {p.tool: p for p in parts}
    assert by_tool["echo_fail"].state.status == "error"
    assert "failed on purpose: x" in (by_tool["echo_fail"].state.error or "")
    assert by_tool["echo_pixel"].state.status == "completed"
    assert by_tool["echo_pixel"].state.attachments  # the PNG went back to the model
    assert by_tool["echo_pixel"].state.attachments[0].mime == "image/png"


async def test_progress_notifications_become_tool_progress_events(tmp_path: Path) -> None:
    count = ScriptedToolCall("echo_count", {"to": 3})
    seen: list[dict[str, Any]] = []
    with ScriptedLLMServer([Turn(tool_calls=[count]), Turn(text="ok")]) as server:
        async with client_with(server, tmp_path, {"echo": ECHO}) as client:
            client.events.subscribe("*", lambda e: seen.append({"type": e.type, **e.data}))
            session = await client.create_session()
            await client.prompt(session.id, "count")
    progress = [d for d in seen if "step " in json.dumps(d, default=str)]
    assert len(progress) >= 3  # one per notification, as the part's metadata changes


async def test_a_server_that_dies_mid_call_gives_an_error_and_restarts(tmp_path: Path) -> None:
    crash = ScriptedToolCall("echo_crash", {})
    echo = ScriptedToolCall("echo_echo", {"text": "again"})
    turns = [
        Turn(tool_calls=[crash]),
        Turn(text="it crashed"),
        Turn(tool_calls=[echo]),
        Turn(text="ok"),
    ]
    with ScriptedLLMServer(turns) as server:
        async with client_with(server, tmp_path, {"echo": ECHO}) as client:
            session = await client.create_session()
            await client.prompt(session.id, "crash it")
            assert client.mcp._connections["echo"].failure is not None
            assert "about to crash" in client.mcp._connections["echo"].failure
            await client.prompt(session.id, "again")
        results = dict(server.requests[1].tool_results)
        assert "went away" in results[crash.call_id]
        assert dict(server.requests[3].tool_results)[echo.call_id] == "echo: again"


async def test_a_server_that_cannot_start_is_reported_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = {"type": "local", "command": [sys.executable, "-c", "import sys; sys.exit('no way')"]}
    with caplog.at_level("WARNING", logger="opencode_python.mcp"):
        server, _, _ = await run(tmp_path, {"broken": broken}, [Turn(text="fine")])
    assert not any(name.startswith("broken_") for name in server.requests[0].tool_names)
    assert "MCP server 'broken'" in caplog.text
    assert "no way" in caplog.text  # the tail of its stderr


async def test_a_cancelled_call_stops_the_servers_work(tmp_path: Path) -> None:
    marker = tmp_path / "finished.txt"
    slow = ScriptedToolCall("echo_slow", {"seconds": 3, "marker": str(marker)})
    with ScriptedLLMServer([Turn(tool_calls=[slow]), Turn(text="never")]) as server:
        async with client_with(server, tmp_path, {"echo": ECHO}) as client:
            session = await client.create_session()
            task = asyncio.create_task(client.prompt(session.id, "sleep"))
            for _ in range(200):
                await asyncio.sleep(0.05)
                messages = await client.get_messages(session.id)
                if any(isinstance(p, ToolPart) for m in messages for p in m.parts):
                    break
            await asyncio.sleep(0.3)
            assert client.abort(session.id)
            await task
    await asyncio.sleep(3.5)
    assert not marker.exists()


@pytest.fixture(params=["http", "sse"])
def http_echo(request: pytest.FixtureRequest) -> Iterator[str]:
    """The echo server over streamable HTTP, or over SSE only (as older servers are)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ECHO_SERVER), request.param, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_listening(process, port, timeout=10)
        yield f"http://127.0.0.1:{port}/{'mcp' if request.param == 'http' else 'sse'}"
    finally:
        process.kill()
        process.communicate(timeout=10)


async def test_a_remote_server_over_http_or_sse(tmp_path: Path, http_echo: str) -> None:
    echo = ScriptedToolCall("web_echo", {"text": "over http"})
    server, parts, _ = await run(
        tmp_path,
        {"web": {"type": "remote", "url": http_echo, "headers": {"X-Team": "a"}}},
        [Turn(tool_calls=[echo]), Turn(text="ok")],
    )
    assert dict(server.requests[1].tool_results)[echo.call_id] == "echo: over http"
    assert parts[0].state.status == "completed"


async def test_opencode_json_mcp_entries_and_resources_and_prompts(tmp_path: Path) -> None:
    with ScriptedLLMServer([]) as server:
        settings = scripted_config(server, "openai", tmp_path)
        (settings.resolved_project_dir / "opencode.json").write_text(
            json.dumps({"mcp": {"echo": ECHO, "off": {**ECHO, "enabled": False}}})
        )
        async with OpenCodeAsyncClient(settings) as client:
            assert await client.connect_mcp() == {"echo": None}
            assert "echo_echo" in client.tools
            assert not any(t.startswith("off_") for t in [m.id for m in client.tools.list()])
            [resource] = await client.mcp.list_resources("echo")
            assert str(resource.uri) == "notes://today"
            [content] = await client.mcp.read_resource("echo", "notes://today")
            assert content.text == "Ship the release."  # type: ignore[union-attr]
            [prompt] = await client.mcp.list_prompts("echo")
            got = await client.mcp.get_prompt("echo", prompt.name, {"path": "a.py"})
            assert got.messages[0].content.text == "Please review a.py."  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"command": ["x"]},
            'mcp.s: needs "type": "local" (with "command") or "remote" (with "url")',
        ),
        ({"type": "locl", "command": ["x"]}, 'mcp.s: "type" must be "local" or "remote"'),
        ({"type": "remote", "url": "ftp://x"}, "mcp.s.url: must start with http:// or https://"),
    ],
)
def test_mcp_entry_mistakes_are_said_in_the_files_terms(entry: Any, message: str) -> None:
    from opencode_python.mcp import parse_servers

    with pytest.raises(ConfigError) as caught:
        parse_servers({"s": entry}, "opencode.json")
    assert str(caught.value) == f"opencode.json: {message}"


async def test_a_bad_mcp_entry_is_a_clear_error(tmp_path: Path) -> None:
    with ScriptedLLMServer([]) as server:
        settings = scripted_config(server, "openai", tmp_path)
        (settings.resolved_project_dir / "opencode.json").write_text(
            json.dumps({"mcp": {"echo": {"type": "local", "command": []}}})
        )
        with pytest.raises(ConfigError, match=r"opencode.json: mcp\.echo\.command: "):
            async with OpenCodeAsyncClient(settings):
                pass


async def test_a_changed_tool_list_is_offered_at_the_next_step(tmp_path: Path) -> None:
    """The server adds a tool mid-run and says so (tools/list_changed): the model's
    next request, in the same run, offers it, and a call to it runs."""
    grow = ScriptedToolCall("echo_grow", {})
    extra = ScriptedToolCall("echo_extra", {})
    server, parts, _ = await run(
        tmp_path,
        {"echo": ECHO},
        [Turn(tool_calls=[grow]), Turn(tool_calls=[extra]), Turn(text="done")],
    )
    assert "echo_extra" not in server.requests[0].tool_names
    assert "echo_extra" in server.requests[1].tool_names
    assert dict(server.requests[2].tool_results)[extra.call_id] == "extra tool"
    assert [p.state.status for p in parts] == ["completed", "completed"]


async def test_an_agent_is_given_a_resource_as_context(tmp_path: Path) -> None:
    from opencode_python.agents import Agent

    with ScriptedLLMServer([Turn(text="noted"), Turn(text="still ok")]) as server:
        async with client_with(server, tmp_path, {"echo": ECHO}) as client:
            await client.agents.register(
                Agent(
                    name="planner",
                    mode="primary",
                    resources=["echo:notes://today", "echo:notes://missing"],
                )
            )
            session = await client.create_session()
            result = await client.prompt(session.id, "what is on today?", agent="planner")
        system = server.requests[0].system_text
    assert result.response == "noted"
    assert "Resource notes://today (from MCP server echo):\nShip the release." in system
    assert "The resource notes://missing of MCP server echo could not be read." in system
    with pytest.raises(ValueError, match="must be 'server:uri'"):
        Agent(name="bad", resources=["no-server"])
