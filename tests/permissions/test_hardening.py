"""Permissions against a hostile model, beyond the shell: what an ``always`` stores,
what a subagent inherits, what is asked when a tool cannot understand a call, and
tool calls a model gets wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opencode_python import (
    Agent,
    OpenCodeAsyncClient,
    PermissionDeniedError,
    PermissionRequest,
    Tool,
    ToolContext,
    ToolResult,
)
from opencode_python.core.models import PermissionRule, ToolPart
from opencode_python.permissions import PermissionGate
from opencode_python.permissions.rules import allowed_outright, from_config
from opencode_python.permissions.wildcard import escape, wildcard_match
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn
from opencode_python.tools.framework import PermissionCheck

from ..conftest import scripted_config
from ..tools_for_tests import AddTool


def client_for(server: ScriptedLLMServer, tmp_path: Path, **settings: Any) -> OpenCodeAsyncClient:
    config = scripted_config(server, "openai", tmp_path)
    for key, value in settings.items():
        setattr(config, key, value)
    return OpenCodeAsyncClient(config)


# --- what an "always" stores -----------------------------------------------------------


def test_an_escaped_subject_matches_only_itself() -> None:
    for subject in ["*.env", "rm -f tmp/*", "a?b", "~/notes", "$HOME/x", "C:\\dir\\*"]:
        pattern = escape(subject)
        assert wildcard_match(pattern, subject)
        assert not wildcard_match(pattern, subject + "x")
    assert not wildcard_match(escape("*.env"), "config.env")
    assert not wildcard_match(escape("rm -f tmp/*"), "rm -f tmp/x victim.txt")


async def test_always_stores_exactly_what_the_user_was_shown(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "*.env").write_text("a file literally named so\n")
    (tmp_path / "project" / "config.env").write_text("TOKEN=s3cr3t\n")
    first = ScriptedToolCall("read", {"filePath": "*.env"})
    second = ScriptedToolCall("read", {"filePath": "config.env"})
    turns = [Turn(tool_calls=[first]), Turn(tool_calls=[second]), Turn(text="done")]
    shown: list[list[str]] = []

    def approver(request: PermissionRequest) -> str:
        shown.append(list(request.always_patterns))
        return "always" if len(shown) == 1 else "reject"

    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path, builtin_tools=["read"]) as client:
            client.on_permission(approver)
            session = await client.create_session()
            await client.prompt(session.id, "read the env files")
            stored = await client.list_approvals()
        sent = str([r.tool_results for r in server.requests])
    assert "s3cr3t" not in sent  # approving the file named "*.env" did not approve every .env
    assert len(shown) == 2  # config.env was asked about again
    assert [a.pattern for a in stored] == shown[0]
    assert all("*" not in p.replace("\\*", "") for p in shown[0])


# --- what cannot be understood is asked -------------------------------------------------


def test_only_rules_that_allow_everything_let_an_unsure_call_pass() -> None:
    defaults = from_config({"*": "allow"})
    assert allowed_outright("bash", defaults)
    assert not allowed_outright("bash", defaults, from_config({"bash": {"rm *": "deny"}}))
    assert not allowed_outright("bash", from_config({"bash": {"*": "ask", "echo *": "allow"}}))
    assert allowed_outright("bash", defaults, from_config({"bash": {"git *": "allow"}}))
    assert not allowed_outright("bash", [])  # no rule at all: a person decides


class Opaque(Tool):
    """A tool that cannot understand its own argument, and says so."""

    id = "opaque"
    description = "Does something the checker cannot see into."
    ran = 0

    def parameters(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"what": {"type": "string"}}}

    def permission_checks(self, args: dict[str, Any], ctx: ToolContext) -> list[PermissionCheck]:
        return [PermissionCheck("opaque", [args["what"]], unsure=["a value only known later"])]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        Opaque.ran += 1
        return ToolResult(output="done")


async def test_an_unsure_call_is_asked_even_where_a_pattern_allows_it(tmp_path: Path) -> None:
    call = ScriptedToolCall("opaque", {"what": "safe thing"})
    asked: list[PermissionRequest] = []

    def approver(request: PermissionRequest) -> str:
        asked.append(request)
        return "reject"

    rules = {"opaque": {"*": "deny", "safe *": "allow"}}
    Opaque.ran = 0
    with ScriptedLLMServer([Turn(tool_calls=[call]), Turn(text="ok")]) as server:
        async with client_for(server, tmp_path, permission=rules) as client:
            client.on_permission(approver)
            await client.register_tool(Opaque())
            session = await client.create_session()
            await client.prompt(session.id, "go")
    assert Opaque.ran == 0
    assert [r.unsure for r in asked] == [["a value only known later"]]


# --- a subagent never widens what its parent may do ------------------------------------


async def test_a_child_asks_where_its_parent_must_ask_and_the_approver_sees_the_child(
    tmp_path: Path,
) -> None:
    lead = Agent(name="lead", mode="primary", permission={"add": "ask"})
    helper = Agent(name="helper", mode="subagent", permission={"add": "allow"})
    add = ScriptedToolCall("add", {"a": 1, "b": 2})
    task = ScriptedToolCall(
        "task", {"description": "add", "prompt": "Add one and two", "subagent_type": "helper"}
    )
    turns = [
        Turn(tool_calls=[task], when="Delegate"),
        Turn(
            tool_calls=[add],
            when=lambda r: "Add one and two" in r.last_user_text and not r.tool_results,
        ),
        Turn(text="child done", when=lambda r: "Add one and two" in r.last_user_text),
        Turn(text="parent done"),
    ]
    asked: list[PermissionRequest] = []

    def approver(request: PermissionRequest) -> str:
        asked.append(request)
        return "reject"

    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path, builtin_tools=["task"]) as client:
            client.on_permission(approver)
            await client.register_tool(AddTool())
            await client.register_agent(lead)
            await client.register_agent(helper)
            parent = await client.create_session()
            await client.prompt(parent.id, "Delegate", agent="lead")
            (child,) = await client.store.list_sessions(parent_id=parent.id)
            parts = [p for m in await client.get_messages(child.id) for p in m.parts]
    add_requests = [r for r in asked if r.permission == "add"]
    assert [r.agent for r in add_requests] == ["helper"]  # the ask names the child
    (call,) = [p for p in parts if isinstance(p, ToolPart) and p.tool == "add"]
    assert call.state.status == "error"  # rejected: the child's own allow did not widen it


async def test_a_parents_ask_never_weakens_a_childs_own_deny() -> None:
    gate = PermissionGate(auto_confirm=True)
    child = [PermissionRule(permission="bash", pattern="rm *", action="deny")]
    parent = [PermissionRule(permission="bash", pattern="*", action="ask")]
    request = PermissionRequest("bash", ["rm -rf x"], agent="helper", session_id="s")
    with pytest.raises(PermissionDeniedError, match="deny"):  # not asked (and so allowed)
        await gate.check(request, child, project_id="p", ceilings=[parent])


# --- tool calls a model gets wrong ------------------------------------------------------


async def test_a_call_without_a_name_is_a_result_and_the_valid_calls_run(tmp_path: Path) -> None:
    nameless = ScriptedToolCall("", {"a": 1})
    add = ScriptedToolCall("add", {"a": 2, "b": 3})
    turns = [Turn(tool_calls=[nameless, add]), Turn(text="noted")]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(AddTool())
            session = await client.create_session()
            result = await client.prompt(session.id, "go")
        results = dict(server.requests[1].tool_results)
    assert result.response == "noted"
    assert len(server.requests) == 2  # never a retry of the model call
    assert results[add.call_id] == "5"
    assert "no tool name" in results[nameless.call_id]


async def test_bad_calls_of_every_kind_come_back_in_the_same_step(tmp_path: Path) -> None:
    calls = [
        ScriptedToolCall("nope", {}),
        ScriptedToolCall("add", raw_arguments="{not json"),
        ScriptedToolCall("add", {"a": "one", "b": 2}),
        ScriptedToolCall("add", {"a": 1, "b": 1}),
    ]
    turns = [Turn(tool_calls=calls), Turn(text="fixed")]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(AddTool())
            session = await client.create_session()
            await client.prompt(session.id, "go")
        results = dict(server.requests[1].tool_results)
    assert len(server.requests) == 2
    assert "not available" in results[calls[0].call_id]
    assert "not valid JSON" in results[calls[1].call_id]
    assert "do not match its schema" in results[calls[2].call_id]
    assert results[calls[3].call_id] == "2"


def test_url_rules_are_written_in_the_form_urls_are_checked_in() -> None:
    from opencode_python.permissions import evaluate, normalize_url

    rules = from_config({"webfetch": {"*": "allow", "HTTPS://Example.COM:443/secret*": "deny"}})
    subject = normalize_url("https://example.com/secret/key")
    assert evaluate("webfetch", subject, rules).action == "deny"
