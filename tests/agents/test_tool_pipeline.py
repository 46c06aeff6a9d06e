"""The executor pipeline inside real runs: doom loops, truncation, history, approvals."""

from __future__ import annotations

from pathlib import Path

from opencode_python import OpenCodeAsyncClient, PermissionRequest, SDKConfig, ToolContext, tool
from opencode_python.core.models import ToolPart
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn
from opencode_python.tools import Question

from ..conftest import scripted_config
from ..tools_for_tests import AddTool


def client_for(
    server: ScriptedLLMServer, tmp_path: Path, **settings: object
) -> OpenCodeAsyncClient:
    config = scripted_config(server, "openai", tmp_path)
    for key, value in settings.items():
        setattr(config, key, value)
    return OpenCodeAsyncClient(config)


def add(a: int, b: int) -> ScriptedToolCall:
    return ScriptedToolCall("add", {"a": a, "b": b})


async def test_the_same_call_three_times_across_messages_is_refused_as_a_loop(
    tmp_path: Path,
) -> None:
    calls = [add(1, 1), add(1, 1), add(1, 1)]
    turns = [Turn(tool_calls=[c]) for c in calls] + [Turn(text="I will stop repeating.")]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(AddTool())
            session = await client.create_session()
            result = await client.prompt(session.id, "add forever")
            history = await client.get_execution_history(session.id)
        sent_back = dict(server.requests[-1].tool_results)
    assert result.response == "I will stop repeating."
    assert sent_back[calls[0].call_id] == "2"
    assert sent_back[calls[1].call_id] == "2"
    refusal = sent_back[calls[2].call_id]
    assert "3 times in a row" in refusal
    assert "Change approach" in refusal
    # the third never ran; the audit log keeps it, with the reason
    assert [(h.status, h.reason) for h in history] == [
        ("completed", None),
        ("completed", None),
        ("refused", "doom_loop"),
    ]


async def test_a_cycle_is_caught_and_an_approver_may_let_it_run(tmp_path: Path) -> None:
    cycle = [add(1, 2), add(3, 4)] * 3
    turns = [Turn(tool_calls=[c]) for c in cycle] + [Turn(text="done")]
    asked: list[PermissionRequest] = []

    def approver(request: PermissionRequest) -> str:
        asked.append(request)
        return "once"

    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path) as client:
            client.on_permission(approver)
            await client.register_tool(AddTool())
            session = await client.create_session()
            await client.prompt(session.id, "alternate")
            history = await client.get_execution_history(session.id, tool="add")
    assert [r.permission for r in asked] == ["doom_loop"]
    assert "cycle" in asked[0].metadata["loop"]
    assert len(history) == 6


async def test_long_output_is_cut_and_saved_where_the_model_is_told(tmp_path: Path) -> None:
    @tool
    def dump(lines: int) -> str:
        """Print many numbered lines."""
        return "\n".join(f"line {i}" for i in range(lines))

    call = ScriptedToolCall("dump", {"lines": 5000})
    with ScriptedLLMServer([Turn(tool_calls=[call]), Turn(text="long")]) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(dump)
            session = await client.create_session()
            await client.prompt(session.id, "dump")
            messages = await client.get_messages(session.id)
        sent = dict(server.requests[1].tool_results)[call.call_id]
    assert sent.startswith("line 0\nline 1\n")
    assert "line 4999" not in sent.split("saved to")[0]
    saved = Path(sent.split("saved to ")[1].split(". Use")[0])
    assert saved.is_file()
    assert saved.read_text().splitlines()[-1] == "line 4999"
    assert saved.is_relative_to(tmp_path / "data")
    stored = next(p for p in messages[1].parts if isinstance(p, ToolPart))
    assert stored.state.output == sent


async def test_execution_history_is_persisted_and_queryable_by_tool(tmp_path: Path) -> None:
    @tool
    async def echo(text: str) -> str:
        """Echo text back."""
        return text

    turns = [
        Turn(tool_calls=[add(2, 2), ScriptedToolCall("echo", {"text": "hi"})]),
        Turn(tool_calls=[ScriptedToolCall("add", {"a": "x", "b": 1})]),
        Turn(text="done"),
    ]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(AddTool())
            await client.register_tool(echo)
            session = await client.create_session()
            await client.prompt(session.id, "go")
        async with client_for(server, tmp_path) as reopened:
            history = await reopened.get_execution_history(session.id)
            adds = await reopened.get_execution_history(session.id, tool="add")
            last = await reopened.get_execution_history(session.id, limit=1)
    assert sorted(h.tool for h in history) == ["add", "add", "echo"]
    assert [h.output for h in adds] == ["4", None]
    assert adds[0].arguments == {"a": 2, "b": 2}
    assert adds[0].time.end is not None
    # the call with bad arguments never ran: the log keeps it as refused, with why
    assert (adds[1].status, adds[1].reason) == ("refused", "invalid_arguments")
    assert adds[1].error is not None
    assert "do not match its schema" in adds[1].error
    assert all(h.session_id == session.id and h.agent == "build" for h in history)
    assert len(last) == 1


async def test_always_approvals_survive_restart_stay_per_agent_and_can_be_revoked(
    tmp_path: Path,
) -> None:
    asked: list[str] = []

    def approver(request: PermissionRequest) -> str:
        asked.append(request.agent)
        return "always"

    turns = [Turn(tool_calls=[add(i, i)]) if i % 2 == 0 else Turn(text="ok") for i in range(6)]
    with ScriptedLLMServer(turns) as server:
        settings = {"permission": {"add": "ask"}}
        async with client_for(server, tmp_path, **settings) as client:
            client.on_permission(approver)
            await client.register_tool(AddTool())
            session = await client.create_session()
            await client.prompt(session.id, "one")
        async with client_for(server, tmp_path, **settings) as restarted:
            restarted.on_permission(approver)
            await restarted.register_tool(AddTool())
            await restarted.prompt(session.id, "two")  # approved before the restart
            approvals = await restarted.list_approvals()
            assert [(a.agent, a.permission, a.pattern) for a in approvals] == [
                ("build", "add", "*")
            ]
            assert await restarted.revoke_approval("build", "add", "*")
            assert not await restarted.revoke_approval("build", "add", "*")
            await restarted.prompt(session.id, "three")  # asks again
            assert await restarted.list_approvals(agent="plan") == []
    assert asked == ["build", "build"]


async def test_the_question_tool_path_reaches_the_apps_handler(tmp_path: Path) -> None:
    @tool
    async def ask_color(ctx: ToolContext) -> str:
        """Ask the user for a color."""
        (answer,) = await ctx.ask_user([Question("Which color?", options=["red", "blue"])])
        return f"user chose {answer}"

    call = ScriptedToolCall("ask_color", {})
    with ScriptedLLMServer([Turn(tool_calls=[call]), Turn(text="blue it is")]) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(ask_color)

            async def handler(questions: list[Question]) -> list[str]:
                return [q.options[-1] for q in questions]

            client.on_question(handler)
            session = await client.create_session()
            await client.prompt(session.id, "ask me")
        sent = dict(server.requests[1].tool_results)[call.call_id]
    assert sent == "user chose blue"


def test_sdk_config_permission_takes_shorthand_and_rules() -> None:
    assert SDKConfig(permission="deny").permission[0].action == "deny"
    rules = SDKConfig(permission=[{"permission": "bash", "pattern": "rm *", "action": "deny"}])
    assert rules.permission[0].pattern == "rm *"


async def test_the_audit_log_keeps_every_refusal_with_its_reason(tmp_path: Path) -> None:
    calls = [
        add(1, 2),  # asked, and the approver rejects it
        ScriptedToolCall("nope", {}),  # no such tool
        ScriptedToolCall("add", raw_arguments="{not json"),  # arguments that do not parse
    ]
    turns = [Turn(tool_calls=calls), Turn(text="I could not do any of it.")]

    def approver(request: PermissionRequest) -> str:
        return "reject"

    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path, permission={"add": "ask"}) as client:
            client.on_permission(approver)
            await client.register_tool(AddTool())
            session = await client.create_session()
            await client.prompt(session.id, "try things")
            history = await client.get_execution_history(session.id)
        sent_back = dict(server.requests[-1].tool_results)
    by_call = {h.call_id: h for h in history}
    assert [(by_call[c.call_id].status, by_call[c.call_id].reason) for c in calls] == [
        ("refused", "rejected"),
        ("refused", "unknown_tool"),
        ("refused", "invalid_arguments"),
    ]
    assert all(by_call[c.call_id].error == sent_back[c.call_id] for c in calls)
