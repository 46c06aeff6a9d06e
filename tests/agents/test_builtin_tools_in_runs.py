"""An agent working on a real project with the built-in tools, under permission rules."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opencode_python import OpenCodeAsyncClient, PermissionRequest
from opencode_python.core import events as ev
from opencode_python.core.events import Event
from opencode_python.core.models import ToolPart
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import scripted_config


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text("def greet(name):\n    return 'Hello ' + name\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


async def run(
    tmp_path: Path, turns: list[Turn], *, permission: Any = None, approver: Any = None
) -> tuple[dict[str, str], list[ToolPart], list[str]]:
    with ScriptedLLMServer(turns) as server:
        config = scripted_config(server, "openai", tmp_path, builtin_tools=True)
        if permission is not None:
            config.permission = permission
        async with OpenCodeAsyncClient(config) as client:
            if approver is not None:
                client.on_permission(approver)
            session = await client.create_session()
            await client.prompt(session.id, "work on the project")
            messages = await client.get_messages(session.id)
        offered = server.requests[0].tool_names
        results = dict(server.requests[-1].tool_results)
    parts = [p for m in messages for p in m.parts if isinstance(p, ToolPart)]
    return results, parts, offered


async def test_read_edit_grep_and_bash_on_a_real_project(tmp_path: Path) -> None:
    root = project(tmp_path)
    read = ScriptedToolCall("read", {"filePath": "app.py"})
    edit = ScriptedToolCall(
        "edit",
        {"filePath": "app.py", "oldString": "'Hello ' + name", "newString": "f'Hi {name}!'"},
    )
    grep = ScriptedToolCall("grep", {"pattern": "Hi \\{name\\}"})
    bash = ScriptedToolCall(
        "bash", {"command": "python3 -c 'import app; print(app.greet(\"Ada\"))'"}
    )
    turns = [
        Turn(tool_calls=[read]),
        Turn(tool_calls=[edit]),
        Turn(tool_calls=[grep, bash]),
        Turn(text="Done: greet now says Hi."),
    ]
    results, parts, offered = await run(tmp_path, turns)
    assert {"bash", "read", "edit", "grep", "glob", "list", "apply_patch"} <= set(offered)
    assert "websearch" not in offered
    assert "'Hello ' + name" in results[read.call_id]
    assert (root / "app.py").read_text() == "def greet(name):\n    return f'Hi {name}!'\n"
    assert "app.py" in results[grep.call_id]
    assert "Hi Ada!" in results[bash.call_id]
    assert [p.state.status for p in parts] == ["completed"] * 4


async def test_calls_with_the_old_snake_case_names_still_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Sessions and prompts written before 0.2 used file_path, old_string, ...: the
    calls run, are recorded under OpenCode's names, and the rename is logged once."""
    root = project(tmp_path)
    edit = ScriptedToolCall(
        "edit",
        {"file_path": "app.py", "old_string": "'Hello ' + name", "new_string": "'Hi ' + name"},
    )
    multiedit = ScriptedToolCall(
        "multiedit",
        {"file_path": "app.py", "edits": [{"old_string": "Hi", "new_string": "Hey"}]},
    )
    again = ScriptedToolCall("read", {"file_path": "app.py"})
    turns = [Turn(tool_calls=[edit]), Turn(tool_calls=[multiedit, again]), Turn(text="ok")]
    with caplog.at_level("WARNING", logger="opencode_python.tools.executor"):
        _, parts, _ = await run(tmp_path, turns)
    assert (root / "app.py").read_text() == "def greet(name):\n    return 'Hey ' + name\n"
    assert [p.state.status for p in parts] == ["completed"] * 3
    assert parts[0].state.input == {
        "filePath": "app.py",
        "oldString": "'Hello ' + name",
        "newString": "'Hi ' + name",
    }
    assert parts[1].state.input["edits"] == [{"oldString": "Hi", "newString": "Hey"}]
    renamed = [r.getMessage() for r in caplog.records if "old argument names" in r.getMessage()]
    assert len(renamed) == 3  # once per tool: edit, multiedit, read
    assert "file_path, new_string, old_string" in renamed[0]


async def test_a_denied_command_in_a_chain_stops_the_whole_call(tmp_path: Path) -> None:
    root = project(tmp_path)
    bash = ScriptedToolCall("bash", {"command": "touch made.txt && rm -rf app.py"})
    results, _, _ = await run(
        tmp_path,
        [Turn(tool_calls=[bash]), Turn(text="ok")],
        permission={"bash": {"*": "allow", "rm *": "deny"}},
    )
    assert "Permission denied: bash 'rm -rf app.py'" in results[bash.call_id]
    assert (root / "app.py").exists()
    assert not (root / "made.txt").exists()  # nothing of the chain ran


async def test_denied_edits_hide_every_edit_tool_and_refuse_them_by_name(tmp_path: Path) -> None:
    root = project(tmp_path)
    write = ScriptedToolCall("write", {"filePath": "new.py", "content": "x = 1\n"})
    results, _, offered = await run(
        tmp_path, [Turn(tool_calls=[write]), Turn(text="ok")], permission={"edit": "deny"}
    )
    assert not {"write", "edit", "multiedit", "apply_patch"} & set(offered)
    assert "'write' is not available" in results[write.call_id]
    assert not (root / "new.py").exists()


async def test_paths_escaping_the_project_ask_for_external_directory(tmp_path: Path) -> None:
    project(tmp_path)
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("top secret")
    (tmp_path / "project" / "link").symlink_to(secret.parent)
    via_dots = ScriptedToolCall("read", {"filePath": "../outside/secret.txt"})
    via_link = ScriptedToolCall("read", {"filePath": "link/secret.txt"})
    asked: list[PermissionRequest] = []

    def approver(request: PermissionRequest) -> str:
        asked.append(request)
        return "reject"

    results, _, _ = await run(
        tmp_path, [Turn(tool_calls=[via_dots, via_link]), Turn(text="ok")], approver=approver
    )
    assert [r.permission for r in asked] == ["external_directory", "external_directory"]
    assert {r.patterns[0] for r in asked} == {f"{secret.parent.resolve()}/*"}
    for call in (via_dots, via_link):
        assert "rejected permission for external_directory" in results[call.call_id]
        assert "top secret" not in results[call.call_id]


async def test_reading_an_env_file_asks_by_default(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".env").write_text("TOKEN=abc")
    call = ScriptedToolCall("read", {"filePath": ".env"})
    results, _, _ = await run(tmp_path, [Turn(tool_calls=[call]), Turn(text="ok")])
    assert "needs approval, and no approver is set" in results[call.call_id]
    assert "TOKEN" not in results[call.call_id]


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_an_image_read_by_a_tool_reaches_the_model(tmp_path: Path, wire: str) -> None:
    root = project(tmp_path)
    (root / "dot.png").write_bytes(PNG)
    call = ScriptedToolCall("read", {"filePath": "dot.png"})
    with ScriptedLLMServer([Turn(tool_calls=[call]), Turn(text="a dot")]) as server:
        config = scripted_config(server, wire, tmp_path, builtin_tools=True)
        async with OpenCodeAsyncClient(config) as client:
            session = await client.create_session()
            await client.prompt(session.id, "look")
        body = json.dumps(server.requests[1].body)
    encoded = base64.b64encode(PNG).decode()
    assert encoded in body
    if wire == "openai":
        assert f"data:image/png;base64,{encoded}" in body
    else:
        assert '"media_type": "image/png"' in body


async def test_batch_runs_calls_through_the_same_checks(tmp_path: Path) -> None:
    root = project(tmp_path)
    batch = ScriptedToolCall(
        "batch",
        {
            "tool_calls": [
                {"tool": "read", "parameters": {"filePath": "app.py"}},
                {"tool": "bash", "parameters": {"command": "rm app.py"}},
                {"tool": "glob", "parameters": {"pattern": "*.py"}},
            ]
        },
    )
    results, _, _ = await run(
        tmp_path,
        [Turn(tool_calls=[batch]), Turn(text="ok")],
        permission={"bash": {"*": "allow", "rm *": "deny"}},
    )
    output = results[batch.call_id]
    assert "2 of 3 calls succeeded" in output
    assert "Permission denied: bash 'rm app.py'" in output
    assert (root / "app.py").exists()


async def test_a_running_tool_publishes_its_progress(tmp_path: Path) -> None:
    project(tmp_path)
    bash = ScriptedToolCall("bash", {"command": "for i in 1 2 3; do echo tick $i; sleep 0.3; done"})
    with ScriptedLLMServer([Turn(tool_calls=[bash]), Turn(text="ok")]) as server:
        config = scripted_config(server, "openai", tmp_path, builtin_tools=True)
        async with OpenCodeAsyncClient(config) as client:
            updates: list[str] = []

            def on_part(event: Event) -> None:
                part = event.data["part"]
                if isinstance(part, ToolPart) and part.state.status == "running":
                    updates.append(str(part.state.metadata.get("output", "")))

            client.events.subscribe(ev.PART_UPDATED, on_part)
            session = await client.create_session()
            await client.prompt(session.id, "tick")
    progress = [u for u in updates if "tick" in u]
    assert len(progress) >= 2  # seen while running, before the call completed
    assert "tick 1" in progress[0]
