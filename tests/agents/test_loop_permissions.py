"""Permission rules applied by the loop: hidden tools, refused calls, asks and approvals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opencode_python import Agent, OpenCodeAsyncClient, Tool, ToolContext, ToolResult
from opencode_python.core.models import ToolPart
from opencode_python.permissions import PermissionReply, PermissionRequest
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import scripted_config
from ..tools_for_tests import AddTool


class DeployTool(Tool):
    """Names its target as the permission subject, so rules can tell targets apart."""

    id = "deploy"
    description = "Deploy to an environment."

    def __init__(self) -> None:
        self.deployed: list[str] = []

    def parameters(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"env": {"type": "string"}}, "required": ["env"]}

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [args["env"]]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        self.deployed.append(args["env"])
        return ToolResult(title=args["env"], output=f"deployed to {args['env']}")


class FetchTool(Tool):
    """Asks for a second permission (``network``) itself, through the context."""

    id = "fetch"
    description = "Fetch a URL."

    def parameters(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        await ctx.ask("network", [args["url"]], {"url": args["url"]})
        return ToolResult(output=f"fetched {args['url']}")


async def run_with(
    tmp_path: Path,
    turns: list[Turn],
    *,
    permission: Any = None,
    auto_confirm: bool = False,
    agent: Agent | None = None,
    approver: Any = None,
    tools: tuple[Tool, ...] = (),
) -> tuple[list[list[str]], dict[str, str], list[ToolPart]]:
    """Run one prompt; returns offered tool names per request, results sent back, tool parts."""
    with ScriptedLLMServer(turns) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.auto_confirm = auto_confirm
        if permission is not None:
            config.permission = permission
        async with OpenCodeAsyncClient(config) as client:
            for tool in tools or (AddTool(),):
                await client.register_tool(tool)
            if approver is not None:
                client.on_permission(approver)
            session = await client.create_session()
            await client.prompt(session.id, "go", agent=agent)
            messages = await client.get_messages(session.id)
        offered = [r.tool_names for r in server.requests]
        results = dict(server.requests[-1].tool_results)
    parts = [p for m in messages for p in m.parts if isinstance(p, ToolPart)]
    return offered, results, parts


def add_call() -> ScriptedToolCall:
    return ScriptedToolCall("add", {"a": 1, "b": 2})


async def test_a_denied_tool_is_not_offered_and_never_runs_when_called_by_name(
    tmp_path: Path,
) -> None:
    call = add_call()
    offered, results, parts = await run_with(
        tmp_path,
        [Turn(tool_calls=[call]), Turn(text="ok")],
        permission={"add": "deny"},
    )
    assert offered[0] == []
    assert "'add' is not available" in results[call.call_id]
    assert parts[0].state.status == "error"


async def test_agent_rules_override_config_rules(tmp_path: Path) -> None:
    agent = Agent(name="calc", permission=[{"permission": "add", "pattern": "*", "action": "deny"}])
    offered, _, _ = await run_with(
        tmp_path, [Turn(text="no tools for me")], permission="allow", agent=agent
    )
    assert offered[0] == []


@pytest.mark.parametrize(
    ("auto_confirm", "allowed"), [(True, True), (False, False)], ids=["auto", "no-auto"]
)
async def test_ask_without_an_approver_follows_auto_confirm(
    tmp_path: Path, auto_confirm: bool, allowed: bool
) -> None:
    call = add_call()
    _, results, parts = await run_with(
        tmp_path,
        [Turn(tool_calls=[call]), Turn(text="ok")],
        permission={"add": "ask"},
        auto_confirm=auto_confirm,
    )
    if allowed:
        assert results[call.call_id] == "3"
        assert parts[0].state.status == "completed"
    else:
        assert "needs approval, and no approver is set" in results[call.call_id]
        assert "auto_confirm=True" in results[call.call_id]
        assert parts[0].state.status == "error"


async def test_approver_answers_once_always_and_reject_with_a_message(tmp_path: Path) -> None:
    deploy = DeployTool()
    calls = [ScriptedToolCall("deploy", {"env": env}) for env in ("staging", "prod", "staging")]
    turns = [Turn(tool_calls=[c]) for c in calls] + [Turn(text="done")]
    asked: list[PermissionRequest] = []

    async def approver(request: PermissionRequest) -> PermissionReply:
        asked.append(request)
        if request.patterns == ["prod"]:
            return PermissionReply("reject", "not on a Friday")
        return PermissionReply("always")

    _, results, _ = await run_with(
        tmp_path,
        turns,
        permission={"deploy": {"*": "ask"}},
        approver=approver,
        tools=(deploy,),
    )
    assert [r.patterns for r in asked] == [["staging"], ["prod"]]  # staging approved "always"
    assert asked[0].tool == "deploy"
    assert asked[0].metadata == {"input": {"env": "staging"}}
    assert deploy.deployed == ["staging", "staging"]
    assert "rejected permission for deploy 'prod'" in results[calls[1].call_id]
    assert "not on a Friday" in results[calls[1].call_id]


async def test_a_deny_rule_on_a_pattern_refuses_that_pattern_only(tmp_path: Path) -> None:
    deploy = DeployTool()
    calls = [
        ScriptedToolCall("deploy", {"env": "prod"}),
        ScriptedToolCall("deploy", {"env": "dev"}),
    ]
    offered, results, _ = await run_with(
        tmp_path,
        [Turn(tool_calls=calls), Turn(text="ok")],
        permission={"deploy": {"*": "allow", "prod": "deny"}},
        tools=(deploy,),
    )
    assert offered[0] == ["deploy"]
    assert "Permission denied: deploy 'prod'" in results[calls[0].call_id]
    assert results[calls[1].call_id] == "deployed to dev"
    assert deploy.deployed == ["dev"]


async def test_a_tool_can_ask_for_more_through_its_context(tmp_path: Path) -> None:
    calls = [
        ScriptedToolCall("fetch", {"url": "https://internal.example/x"}),
        ScriptedToolCall("fetch", {"url": "https://docs.example/y"}),
    ]
    _, results, parts = await run_with(
        tmp_path,
        [Turn(tool_calls=calls), Turn(text="ok")],
        permission={"network": {"*": "allow", "https://internal.*": "deny"}},
        tools=(FetchTool(),),
    )
    assert "Permission denied: network 'https://internal.example/x'" in results[calls[0].call_id]
    assert results[calls[1].call_id] == "fetched https://docs.example/y"
    assert [p.state.status for p in parts] == ["error", "completed"]
