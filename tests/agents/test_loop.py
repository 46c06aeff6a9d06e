"""The agent loop end to end: scripted server on loopback, real adapters, real SQLite."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from opencode_python import AgentResult, OpenCodeAsyncClient, Tool, ToolContext, ToolResult
from opencode_python.agents import Agent
from opencode_python.core import events as ev
from opencode_python.core.events import Event
from opencode_python.core.models import TextPart, TokenUsage, ToolPart
from opencode_python.providers.catalog import cost_of
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn
from opencode_python.tools import ToolAttachment

from ..conftest import ClientFactory, scripted_config
from ..tools_for_tests import AddTool, FailingTool, SleepTool

STEP_USAGE = [
    TokenUsage(input=120, output=30, reasoning=8),
    TokenUsage(input=40, output=25, cache={"read": 150}),
    TokenUsage(input=60, output=12, cache={"read": 200}),
]


def multi_step_script() -> list[Turn]:
    first = ScriptedToolCall("add", {"a": 2, "b": 3})
    second = [ScriptedToolCall("add", {"a": 5, "b": 10}), ScriptedToolCall("add", {"a": 1, "b": 1})]
    return [
        Turn(reasoning="I should add first.", tool_calls=[first], usage=STEP_USAGE[0]),
        Turn(text="Now the rest.", tool_calls=second, usage=STEP_USAGE[1]),
        Turn(text="2 + 3 = 5, 5 + 10 = 15 and 1 + 1 = 2.", usage=STEP_USAGE[2]),
    ]


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_multi_step_tool_run_round_trips_through_each_wire_format(
    wire: str, make_client: ClientFactory
) -> None:
    with ScriptedLLMServer(multi_step_script()) as server:
        client = make_client(server, wire)
        await client.register_tool(AddTool())
        session = await client.create_session(title="sums")
        seen: list[Event] = []
        client.events.subscribe("*", seen.append)

        result = await client.prompt(session.id, "Add 2 and 3, then 5 and 10, then 1 and 1.")

        requests = server.requests
    assert result.error is None
    assert result.response == "2 + 3 = 5, 5 + 10 = 15 and 1 + 1 = 2."
    assert result.tools_used == ["add", "add", "add"]
    assert result.steps == 3

    # What the model was sent: the tool, the system prompt, then every tool result back.
    assert len(requests) == 3
    assert requests[0].tool_names == ["add"]
    assert "Working directory" in requests[0].system_text
    assert [out for _, out in requests[1].tool_results] == ["5"]
    assert [out for _, out in requests[2].tool_results] == ["5", "15", "2"]
    assert requests[2].last_user_text == "Add 2 and 3, then 5 and 10, then 1 and 1."

    # Usage and cost: per step, summed on the result and on the stored session.
    total = STEP_USAGE[0] + STEP_USAGE[1] + STEP_USAGE[2]
    assert result.tokens_used == total
    _, info = client.providers.resolve_model(client.config.model or "")
    assert info.known
    assert result.cost == pytest.approx(sum(cost_of(info, u) for u in STEP_USAGE))
    assert result.cost > 0

    # Events: the run frames everything; each tool starts before it completes.
    assert [e.data["state"] for e in seen if e.type == ev.AGENT_STATE] == [
        "initialized",
        "ready",
        "executing",
        "finished",
    ]
    types = [e.type for e in seen if e.type != ev.AGENT_STATE]
    assert types[0] == ev.RUN_STARTED
    assert types[-1] == ev.RUN_FINISHED
    assert types.count(ev.TOOL_STARTED) == 3
    assert types.count(ev.TOOL_COMPLETED) == 3
    assert types.index(ev.TOOL_STARTED) < types.index(ev.TOOL_COMPLETED)
    assert types.index(ev.TOOL_COMPLETED) < types.index(ev.RUN_STEP, types.index(ev.TOOL_COMPLETED))
    deltas = "".join(
        e.data["delta"] for e in seen if e.type == ev.PART_DELTA and e.data["type"] == "text"
    )
    assert deltas == "Now the rest." + result.response
    assert all(e.session_id == session.id for e in seen)

    # A new client on the same storage reads back exactly what happened.
    again = OpenCodeAsyncClient(client.config)
    try:
        stored_session = await again.get_session(session.id)
        messages = await again.get_messages(session.id)
    finally:
        await again.close()
    assert stored_session.usage == total
    assert stored_session.cost == pytest.approx(result.cost)
    assert [m.info.role for m in messages] == ["user", "assistant", "assistant", "assistant"]
    assert [[p.type for p in m.parts] for m in messages[1:]] == [
        ["step-start", "reasoning", "tool", "step-finish"],
        ["step-start", "text", "tool", "tool", "step-finish"],
        ["step-start", "text", "step-finish"],
    ]
    tool_parts = [p for m in messages for p in m.parts if isinstance(p, ToolPart)]
    assert [p.state.status for p in tool_parts] == ["completed"] * 3
    assert [p.state.output for p in tool_parts] == ["5", "15", "2"]
    assert tool_parts[0].state.input == {"a": 2, "b": 3}
    assert messages[1].info.finish == "tool_calls"
    assert messages[3].info.finish == "stop"
    assert messages[3].info.usage == STEP_USAGE[2]
    assert messages[3].text == result.response


async def test_bad_arguments_and_failing_tools_become_results_the_model_reads(
    make_client: ClientFactory,
) -> None:
    calls = [
        ScriptedToolCall("add", raw_arguments='{"a": 1,'),
        ScriptedToolCall("add", {"a": "one", "b": 2}),
        ScriptedToolCall("fail", {}),
        ScriptedToolCall("rm_rf", {"path": "/"}),
    ]
    with ScriptedLLMServer([Turn(tool_calls=calls), Turn(text="I see.")]) as server:
        client = make_client(server)
        await client.register_tool(AddTool())
        await client.register_tool(FailingTool())
        session = await client.create_session()
        result = await client.prompt(session.id, "go")
        sent_back = dict(server.requests[1].tool_results)

    assert result.error is None
    assert result.response == "I see."
    errors = [sent_back[c.call_id] for c in calls]
    assert "not valid JSON" in errors[0]
    assert "do not match its schema" in errors[1]
    assert "'one'" in errors[1]
    assert "RuntimeError: boom: the disk is on fire" in errors[2]
    assert "'rm_rf' is not available" in errors[3]
    assert "add, fail" in errors[3]
    messages = await client.get_messages(session.id)
    states = [p.state for p in messages[1].parts if isinstance(p, ToolPart)]
    assert [s.status for s in states] == ["error"] * 4


async def test_tool_calls_of_one_step_run_concurrently(make_client: ClientFactory) -> None:
    sleeper = SleepTool()
    calls = [ScriptedToolCall("sleep", {"seconds": s}) for s in (0.4, 0.41, 0.42)]
    with ScriptedLLMServer([Turn(tool_calls=calls), Turn(text="rested")]) as server:
        client = make_client(server)
        await client.register_tool(sleeper)
        session = await client.create_session()
        started = time.monotonic()
        result = await client.prompt(session.id, "sleep three times")
        elapsed = time.monotonic() - started
    assert result.error is None
    assert len(sleeper.spans) == 3
    latest_start = max(s for s, _ in sleeper.spans)
    earliest_end = min(e for _, e in sleeper.spans)
    assert latest_start < earliest_end  # all three were sleeping at the same moment
    assert elapsed < 1.2  # three sequential sleeps alone would take 1.2 s


async def test_step_limit_disables_tools_on_the_last_step(make_client: ClientFactory) -> None:
    turns = [
        Turn(tool_calls=[ScriptedToolCall("add", {"a": 1, "b": 1})]),
        Turn(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 2})]),
    ]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        client.config.max_steps = 2
        await client.register_tool(AddTool())
        session = await client.create_session()
        result = await client.prompt(session.id, "keep adding")
        last_request = server.requests[-1]
    assert result.steps == 2
    assert result.error is not None
    assert "step limit (2)" in result.error
    assert last_request.tool_names == []
    assert "maximum number of steps" in last_request.last_user_text
    messages = await client.get_messages(session.id)
    last_tool = next(p for p in messages[-1].parts if isinstance(p, ToolPart))
    assert last_tool.state.status == "error"
    assert "step limit" in (last_tool.state.error or "")


@pytest.mark.parametrize(("wire", "sent"), [("openai", "required"), ("anthropic", {"type": "any"})])
async def test_tool_choice_is_left_out_when_no_tools_are_offered(
    wire: str, sent: object, make_client: ClientFactory
) -> None:
    turns = [Turn(tool_calls=[ScriptedToolCall("add", {"a": 1, "b": 1})]), Turn(text="2")]
    agent = Agent(name="adder", options={"tool_choice": "required"}, steps=2)
    with ScriptedLLMServer(turns) as server:
        client = make_client(server, wire)
        await client.register_tool(AddTool())
        session = await client.create_session()
        result = await client.prompt(session.id, "add 1 and 1", agent=agent)
        first, last = server.requests
    assert result.ok
    assert result.tools_used == ["add"]
    assert first.body["tool_choice"] == sent
    # The last step offers no tools; the APIs refuse a tool_choice without them.
    assert last.tool_names == []
    assert "tool_choice" not in last.body


async def test_stream_yields_events_as_they_happen_then_the_result(
    make_client: ClientFactory,
) -> None:
    with ScriptedLLMServer([Turn(text="Hello there, streaming world!", chunk_size=4)]) as server:
        client = make_client(server)
        session = await client.create_session()
        items = [item async for item in client.stream(session.id, "hi")]
    assert isinstance(items[-1], AgentResult)
    result = items[-1]
    events = [i for i in items[:-1] if isinstance(i, Event) and i.type != ev.AGENT_STATE]
    deltas = [e.data["delta"] for e in events if e.type == ev.PART_DELTA]
    assert len(deltas) == 8
    assert "".join(deltas) == result.response == "Hello there, streaming world!"
    assert events[-1].type == ev.RUN_FINISHED


async def test_abort_stops_running_tools_and_leaves_the_session_consistent(
    make_client: ClientFactory,
) -> None:
    sleeper = SleepTool()
    turn = Turn(tool_calls=[ScriptedToolCall("sleep", {"seconds": 30})])
    with ScriptedLLMServer([turn]) as server:
        client = make_client(server)
        await client.register_tool(sleeper)
        session = await client.create_session()
        started = asyncio.Event()
        client.events.subscribe(ev.TOOL_STARTED, lambda e: started.set())
        run = asyncio.create_task(client.prompt(session.id, "sleep long"))
        await asyncio.wait_for(started.wait(), 5)
        await asyncio.sleep(0.1)  # let the tool get into its sleep
        assert client.abort(session.id)
        result = await asyncio.wait_for(run, 5)
    assert result.error == "The run was aborted."
    assert sleeper.cancelled == 1
    assert not client.abort(session.id)  # nothing runs any more
    messages = await client.get_messages(session.id)
    assistant = messages[-1]
    assert assistant.info.finish == "aborted"
    tool = next(p for p in assistant.parts if isinstance(p, ToolPart))
    assert tool.state.status == "error"
    assert tool.state.error == "The run was aborted."


async def test_abort_mid_stream_keeps_the_text_so_far(make_client: ClientFactory) -> None:
    turn = Turn(text="word " * 200, chunk_size=5, chunk_delay=0.02)
    with ScriptedLLMServer([turn]) as server:
        client = make_client(server)
        session = await client.create_session()
        first_delta = asyncio.Event()
        client.events.subscribe(ev.PART_DELTA, lambda e: first_delta.set())
        run = asyncio.create_task(client.prompt(session.id, "talk"))
        await asyncio.wait_for(first_delta.wait(), 5)
        client.abort(session.id)
        result = await asyncio.wait_for(run, 5)
    assert result.error == "The run was aborted."
    messages = await client.get_messages(session.id)
    assert messages[-1].info.finish == "aborted"
    text = next(p for p in messages[-1].parts if isinstance(p, TextPart))
    assert text.text.startswith("word ")
    assert len(text.text) < len("word " * 200)
    assert text.time.end is not None


async def test_second_prompt_sees_the_first_conversation(make_client: ClientFactory) -> None:
    turns = [Turn(text="Nice to meet you, Ada."), Turn(text="Your name is Ada.")]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        session = await client.create_session()
        await client.prompt(session.id, "My name is Ada.")
        result = await client.prompt(session.id, "What is my name?")
        history = server.requests[1].messages
    assert result.response == "Your name is Ada."
    assert [m["role"] for m in history if m["role"] != "system"] == ["user", "assistant", "user"]
    assert history[-2]["content"] == "Nice to meet you, Ada."


async def test_a_tool_unregistered_mid_run_is_refused_not_crashed(
    make_client: ClientFactory,
) -> None:
    call = ScriptedToolCall("add", {"a": 1, "b": 1})

    with ScriptedLLMServer([Turn(tool_calls=[call], delay=0.2), Turn(text="ok")]) as server:
        client = make_client(server)
        await client.register_tool(AddTool())
        session = await client.create_session()
        run = asyncio.create_task(client.prompt(session.id, "add"))
        await asyncio.sleep(0.05)  # the run has offered the tool; now it goes away
        await client.tools.unregister("add")
        result = await run
        sent_back = dict(server.requests[1].tool_results)
    assert result.error is None
    assert "'add' is not available" in sent_back[call.call_id]


async def test_tool_attachments_are_stored_with_the_call(make_client: ClientFactory) -> None:
    class Snapshot(Tool):
        id = "snapshot"
        description = "Take a picture."

        async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
            picture = ToolAttachment("image/png", "data:image/png;base64,iVBORw0K", "shot.png")
            return ToolResult(output="took a picture", attachments=[picture])

    turns = [Turn(tool_calls=[ScriptedToolCall("snapshot", {})]), Turn(text="nice")]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        await client.register_tool(Snapshot())
        session = await client.create_session()
        await client.prompt(session.id, "snap")
    messages = await client.get_messages(session.id)
    tool = next(p for p in messages[1].parts if isinstance(p, ToolPart))
    assert [(a.mime, a.filename) for a in tool.state.attachments] == [("image/png", "shot.png")]


async def test_tool_timeout_from_config_stops_a_slow_tool(tmp_path: Path) -> None:
    sleeper = SleepTool()
    call = ScriptedToolCall("sleep", {"seconds": 30})
    with ScriptedLLMServer([Turn(tool_calls=[call]), Turn(text="too slow")]) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.tool_timeout = 0.2
        async with OpenCodeAsyncClient(config) as client:
            await client.register_tool(sleeper)
            session = await client.create_session()
            result = await client.prompt(session.id, "sleep")
        sent_back = dict(server.requests[1].tool_results)
    assert result.response == "too slow"
    assert sent_back[call.call_id] == "Tool 'sleep' timed out after 0.2 s."
    assert sleeper.cancelled == 1
