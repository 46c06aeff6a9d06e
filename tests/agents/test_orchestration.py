"""Delegation against the scripted server: the task tool, child sessions, budgets, cancelling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from opencode_python import (
    Agent,
    AgentTask,
    DelegationLimits,
    NotFoundError,
    OpenCodeAsyncClient,
    OpenCodeSyncClient,
    PermissionDeniedError,
)
from opencode_python.core.events import Event
from opencode_python.core.models import TokenUsage, ToolPart
from opencode_python.testing import (
    Fault,
    RecordedRequest,
    ScriptedLLMServer,
    ScriptedToolCall,
    Turn,
)

from ..conftest import scripted_config
from ..tools_for_tests import SleepTool

ClientMaker = Callable[..., OpenCodeAsyncClient]


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[ClientMaker]:
    made: list[OpenCodeAsyncClient] = []

    def build(
        server: ScriptedLLMServer,
        limits: DelegationLimits | None = None,
        tools: list[str] | None = None,
    ) -> OpenCodeAsyncClient:
        config = scripted_config(server, "openai", tmp_path)
        config.builtin_tools = ["task", *(tools or [])]
        config.memory_embedder = "none"
        if limits is not None:
            config.delegation = limits
        client = OpenCodeAsyncClient(config)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.close()


def task_call(prompt: str, agent: str = "general", **extra: Any) -> ScriptedToolCall:
    return ScriptedToolCall(
        "task", {"description": prompt[:20], "prompt": prompt, "subagent_type": agent, **extra}
    )


def results_in(count: int) -> Callable[[RecordedRequest], bool]:
    """Matches the parent's request that carries ``count`` tool results."""
    return lambda request: len(request.tool_results) == count and "task" in request.tool_names


def record(client: OpenCodeAsyncClient, pattern: str = "task.*") -> list[Event]:
    seen: list[Event] = []
    client.events.subscribe(pattern, seen.append)
    return seen


def offered(request: RecordedRequest, name: str) -> dict[str, Any]:
    for tool in request.body.get("tools", []):
        if tool["function"]["name"] == name:
            function: dict[str, Any] = tool["function"]
            return function
    raise AssertionError(f"{name} was not offered")


def tool_description(request: RecordedRequest, name: str) -> str:
    return str(offered(request, name)["description"])


def overlap(a: RecordedRequest, b: RecordedRequest) -> bool:
    assert a.finished is not None
    assert b.finished is not None
    return a.started < b.finished and b.started < a.finished


def by_prompt(server: ScriptedLLMServer, text: str) -> RecordedRequest:
    """The first request whose user text is ``text``."""
    return next(r for r in server.requests if r.last_user_text == text)


async def test_two_task_calls_in_one_step_run_children_at_once_and_roll_up(
    make: ClientMaker,
) -> None:
    child_usage = TokenUsage(input=1000, output=100)
    turns = [
        Turn(
            tool_calls=[task_call("Find the alpha fact"), task_call("Find the beta fact")],
            usage=TokenUsage(input=500, output=20),
            when="Research both",
        ),
        Turn(text="alpha is 1", delay=0.4, usage=child_usage, when="Find the alpha fact"),
        Turn(text="beta is 2", delay=0.4, usage=child_usage, when="Find the beta fact"),
        Turn(text="Both found.", usage=TokenUsage(input=800, output=10), when=results_in(2)),
    ]
    with ScriptedLLMServer(turns) as server:
        client = make(server)
        events = record(client)
        parent = await client.create_session()
        result = await client.prompt(parent.id, "Research both facts")

        assert result.ok, result.error
        assert result.response == "Both found."
        description = tool_description(server.requests[0], "task")
        assert "- general:" in description
        assert "- explore:" in description
        assert "- build" not in description  # primary agents are not subagents

        alpha, beta = (by_prompt(server, t) for t in ("Find the alpha fact", "Find the beta fact"))
        assert overlap(alpha, beta)
        answers = [content for _, content in server.requests[-1].tool_results]
        assert any("alpha is 1" in a for a in answers)
        assert any("beta is 2" in a for a in answers)

        children = await client.store.list_sessions(parent_id=parent.id)
        assert len(children) == 2
        assert all(c.parent_id == parent.id for c in children)
        assert all("@general subagent" in c.title for c in children)
        for child in children:
            messages = await client.get_messages(child.id)
            assert [m.info.role for m in messages] == ["user", "assistant"]

        # usage and cost roll up: the run and the parent session count the children
        assert result.tokens_used.input == 500 + 800 + 2 * 1000
        child_cost = sum(c.cost for c in children)
        assert child_cost > 0
        own_cost = sum(m.info.cost for m in await client.get_messages(parent.id))
        assert result.cost == pytest.approx(own_cost + child_cost)
        stored = await client.get_session(parent.id)
        assert stored.cost == pytest.approx(result.cost)
        assert stored.usage.input == result.tokens_used.input

    started = [e for e in events if e.type == "task.started"]
    completed = [e for e in events if e.type == "task.completed"]
    assert len(started) == len(completed) == 2
    assert {e.data["child_session_id"] for e in completed} == {c.id for c in children}
    assert all(e.session_id == parent.id == e.data["parent_session_id"] for e in completed)
    tasks = client.orchestrator.list_tasks(session_id=parent.id)
    assert [t.status for t in tasks] == ["completed", "completed"]


async def test_a_task_id_resumes_the_child_session(make: ClientMaker) -> None:
    first = task_call("Count the apples")
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[first], when="Start counting"),
            Turn(text="12 apples", when="Count the apples"),
            Turn(text="Counted.", when=results_in(1)),
        ]
    ) as server:
        client = make(server)
        parent = await client.create_session()
        await client.prompt(parent.id, "Start counting")
        (child,) = await client.store.list_sessions(parent_id=parent.id)
        resume = task_call("Now count the pears", task_id=child.id)
        server.add_turns(
            [
                Turn(tool_calls=[resume], when="Continue counting"),
                Turn(text="7 pears", when="Now count the pears"),
                Turn(text="Done.", when=lambda r: r.last_user_text == "Continue counting"),
            ]
        )
        result = await client.prompt(parent.id, "Continue counting")

        assert result.ok, result.error
        assert await client.store.list_sessions(parent_id=parent.id) == [
            await client.get_session(child.id)
        ]
        messages = await client.get_messages(child.id)
        assert [m.info.role for m in messages] == ["user", "assistant"] * 2
        resumed = by_prompt(server, "Now count the pears")
        assert any("12 apples" in str(m.get("content")) for m in resumed.messages)


async def test_a_child_inherits_its_parents_deny_rules(make: ClientMaker) -> None:
    lead = Agent(name="lead", mode="primary", permission={"sleep": "deny"})
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Nap for a second")], when="Delegate the nap"),
            Turn(tool_calls=[ScriptedToolCall("sleep", {"seconds": 0})], when="Nap for a second"),
            Turn(text="could not nap", when=lambda r: "sleep" not in r.tool_names),
            Turn(text="ok", when=results_in(1)),
        ]
    ) as server:
        client = make(server)
        sleep = SleepTool()
        await client.register_tool(sleep)
        await client.register_agent(lead)
        parent = await client.create_session()
        result = await client.prompt(parent.id, "Delegate the nap", agent="lead")

        assert result.ok, result.error
        child_request = by_prompt(server, "Nap for a second")
        assert "sleep" not in child_request.tool_names  # hidden from the child as well
        assert sleep.spans == []  # and refused when the child calls it anyway
        (child,) = await client.store.list_sessions(parent_id=parent.id)
        parts = [p for m in await client.get_messages(child.id) for p in m.parts]
        (call,) = [p for p in parts if isinstance(p, ToolPart)]
        assert call.state.status == "error"
        assert "not available" in (call.state.error or "")


async def test_a_supervisors_blanket_deny_leaves_its_children_their_tools(
    make: ClientMaker,
) -> None:
    supervisor = Agent(name="supervisor", mode="primary", permission={"*": "deny", "task": "allow"})
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Nap for a second")], when="Delegate the nap"),
            Turn(tool_calls=[ScriptedToolCall("sleep", {"seconds": 0})], when="Nap for a second"),
            Turn(text="napped", when=results_in(1)),
            Turn(text="done", when=results_in(1)),
        ]
    ) as server:
        client = make(server)
        sleep = SleepTool()
        await client.register_tool(sleep)
        await client.register_agent(supervisor)
        parent = await client.create_session()
        result = await client.prompt(parent.id, "Delegate the nap", agent="supervisor")

        assert result.ok, result.error
        assert server.requests[0].tool_names == ["task"]  # the supervisor only delegates
        assert "sleep" in by_prompt(server, "Nap for a second").tool_names
        assert len(sleep.spans) == 1  # the child used its own tool


async def test_the_depth_limit_stops_nesting(make: ClientMaker) -> None:
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Go one level down")], when="Start"),
            Turn(text="deepest", when="Go one level down"),
            Turn(text="done", when=results_in(1)),
        ]
    ) as server:
        client = make(server, DelegationLimits(max_depth=1))
        parent = await client.create_session()
        result = await client.prompt(parent.id, "Start")
        assert result.ok, result.error
        assert "task" in server.requests[0].tool_names
        assert "task" not in by_prompt(server, "Go one level down").tool_names

    with ScriptedLLMServer([Turn(text="alone")]) as server:
        client = make(server, DelegationLimits(max_depth=0))
        session = await client.create_session()
        await client.prompt(session.id, "Start")
        assert "task" not in server.requests[0].tool_names


async def test_the_agent_budget_refuses_extra_subagents(make: ClientMaker) -> None:
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("First job"), task_call("Second job")], when="Two jobs"),
            Turn(text="job done", when="job"),
            Turn(text="one of two", when=results_in(2)),
        ]
    ) as server:
        client = make(server, DelegationLimits(max_agents=1))
        events = record(client)
        parent = await client.create_session()
        result = await client.prompt(parent.id, "Two jobs")

        assert result.ok, result.error
        outputs = sorted(content for _, content in server.requests[-1].tool_results)
        assert sum("job done" in o for o in outputs) == 1
        assert sum("at most 1 subagent" in o for o in outputs) == 1, outputs
        assert len(await client.store.list_sessions(parent_id=parent.id)) == 1
    assert sorted(e.type for e in events) == ["task.cancelled", "task.completed", "task.started"]


async def test_the_wall_time_budget_stops_running_children(make: ClientMaker) -> None:
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Slow research")], when="Hurry"),
            Turn(text="too late", delay=10, when="Slow research"),
            Turn(text="stopped early", when=results_in(1)),
        ]
    ) as server:
        client = make(server, DelegationLimits(max_wall_time=0.5))
        events = record(client)
        parent = await client.create_session()
        started = time.monotonic()
        result = await client.prompt(parent.id, "Hurry")
        elapsed = time.monotonic() - started

        assert result.ok, result.error
        assert result.response == "stopped early"
        assert elapsed < 5
        ((_, output),) = server.requests[-1].tool_results
        assert "wall-time budget" in output
        assert "0.5 s" in output
        (child,) = await client.store.list_sessions(parent_id=parent.id)
        last = (await client.get_messages(child.id))[-1].info
        assert last.finish == "aborted"
    (cancelled,) = [e for e in events if e.type == "task.cancelled"]
    assert "wall-time budget" in cancelled.data["error"]


async def test_the_cost_budget_stops_children_after_an_expensive_step(
    make: ClientMaker,
) -> None:
    expensive = TokenUsage(input=2_000_000, output=0)  # a few dollars on gpt-4.1-mini
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Costly job")], when="Spend"),
            Turn(
                tool_calls=[ScriptedToolCall("sleep", {"seconds": 10})],
                usage=expensive,
                when="Costly job",
            ),
            Turn(text="over budget", when=results_in(1)),
        ]
    ) as server:
        client = make(server, DelegationLimits(max_cost=0.01))
        await client.register_tool(SleepTool())
        parent = await client.create_session()
        started = time.monotonic()
        result = await client.prompt(parent.id, "Spend")

        assert time.monotonic() - started < 5
        assert result.ok, result.error
        ((_, output),) = server.requests[-1].tool_results
        assert "cost budget" in output
        assert "$0.01" in output
        (child,) = await client.store.list_sessions(parent_id=parent.id)
        assert result.cost >= child.cost > 0.01  # the stopped child's spend still counts


async def test_cancelling_the_parent_cancels_its_children(make: ClientMaker) -> None:
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Endless job")], when="Go"),
            Turn(text="never", delay=10, when="Endless job"),
        ]
    ) as server:
        client = make(server)
        events = record(client)
        parent = await client.create_session()
        child_streaming = asyncio.Event()

        def on_step(event: Event) -> None:
            if event.session_id != parent.id:
                child_streaming.set()

        client.events.subscribe("run.step", on_step)
        run = asyncio.create_task(client.prompt(parent.id, "Go"))
        await asyncio.wait_for(child_streaming.wait(), 5)
        assert client.abort(parent.id)
        result = await asyncio.wait_for(run, 5)

        assert result.error == "The run was aborted."
        (task,) = client.orchestrator.list_tasks(session_id=parent.id)
        assert task.status == "cancelled"
        assert task.session_id is not None
        last = (await client.get_messages(task.session_id))[-1].info
        assert last.finish == "aborted"
        assert client.list_running_agents() == []
    assert [e.type for e in events] == ["task.started", "task.cancelled"]


async def test_a_failing_child_gives_the_parent_an_error_result(make: ClientMaker) -> None:
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Doomed job")], when="Try it"),
            Turn(fault=Fault.status(400), when="Doomed job"),
            Turn(text="the helper failed, so here is my own answer", when=results_in(1)),
        ]
    ) as server:
        client = make(server)
        events = record(client)
        parent = await client.create_session()
        result = await client.prompt(parent.id, "Try it")

        assert result.ok, result.error
        assert result.response.startswith("the helper failed")
        parts = [p for m in await client.get_messages(parent.id) for p in m.parts]
        (call,) = [p for p in parts if isinstance(p, ToolPart)]
        assert call.state.status == "error"
        assert "general subagent did not finish" in (call.state.error or "")
    assert [e.type for e in events] == ["task.started", "task.failed"]


async def test_the_task_tool_lists_only_the_subagents_the_rules_allow(make: ClientMaker) -> None:
    picky = Agent(
        name="picky", mode="primary", permission={"task": {"*": "deny", "explore": "allow"}}
    )
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Sneak a job", agent="general")], when="Pick"),
            Turn(text="refused", when=results_in(1)),
        ]
    ) as server:
        client = make(server)
        await client.register_agent(picky)
        session = await client.create_session()
        result = await client.prompt(session.id, "Pick", agent="picky")

        assert result.ok, result.error
        description = tool_description(server.requests[0], "task")
        assert "- explore:" in description
        assert "- general:" not in description
        subagent = offered(server.requests[0], "task")["parameters"]["properties"]["subagent_type"]
        assert subagent["enum"] == ["explore"]
        ((_, output),) = server.requests[-1].tool_results
        assert "Permission denied" in output
        assert await client.store.list_sessions(parent_id=session.id) == []


async def test_run_parallel_agents_keeps_order_and_respects_concurrency(
    make: ClientMaker,
) -> None:
    turns = [Turn(text=f"answer {i}", delay=0.3, when=f"job {i}") for i in range(4)]
    with ScriptedLLMServer(turns) as server:
        client = make(server)
        parent = await client.create_session()
        tasks = [AgentTask(agent_name="general", prompt=f"job {i}") for i in range(4)]
        results = await client.run_parallel_agents(tasks, parent.id, max_concurrency=2)

        assert [r.response for r in results] == [f"answer {i}" for i in range(4)]
        spans = sorted((r.started, r.finished or 0.0) for r in server.requests)
        most = max(sum(s <= t < f for s, f in spans) for t, _ in spans)
        assert most == 2
        orchestrator = client.orchestrator
        finished = orchestrator.results(parent.id)
        assert len(finished) == 4
        assert all(orchestrator.status(task_id) == "completed" for task_id in finished)
        stored = await client.get_session(parent.id)
        assert stored.cost == pytest.approx(sum(r.cost for r in results))


async def test_delegate_task_checks_agents_and_rules_before_running(make: ClientMaker) -> None:
    with ScriptedLLMServer([Turn(text="explored", when="Look around")]) as server:
        client = make(server)
        await client.register_agent(Agent(name="solo", mode="primary", permission={"task": "deny"}))
        session = await client.create_session()
        with pytest.raises(NotFoundError, match="nobody"):
            await client.delegate_task("build", "nobody", "Look around", session.id)
        with pytest.raises(PermissionDeniedError, match="may not delegate"):
            await client.delegate_task("solo", "explore", "Look around", session.id)
        assert server.requests == []

        result = await client.delegate_task(
            "build", "explore", "Look around", session.id, description="survey"
        )
        assert result.response == "explored"
        child = await client.get_session(result.session_id)
        assert child.parent_id == session.id
        assert child.title == "survey (@explore subagent)"


async def test_a_running_task_can_be_cancelled_by_id(make: ClientMaker) -> None:
    with ScriptedLLMServer([Turn(text="never", delay=10)]) as server:
        client = make(server)
        started: asyncio.Queue[str] = asyncio.Queue()
        client.events.subscribe("task.started", lambda e: started.put_nowait(e.data["task_id"]))
        session = await client.create_session()
        run = asyncio.create_task(client.delegate_task("build", "general", "Wait", session.id))
        task_id = await asyncio.wait_for(started.get(), 5)
        assert client.orchestrator.status(task_id) == "running"
        assert client.orchestrator.cancel(task_id)
        result = await asyncio.wait_for(run, 5)
        assert result.error == "Stopped: the task was cancelled"
        assert client.orchestrator.status(task_id) == "cancelled"
        assert not client.orchestrator.cancel(task_id)


async def test_stream_includes_the_subagents_events(make: ClientMaker) -> None:
    with ScriptedLLMServer(
        [
            Turn(tool_calls=[task_call("Write a haiku")], when="Delegate"),
            Turn(text="an old silent pond", when="Write a haiku"),
            Turn(text="Here it is.", when=results_in(1)),
        ]
    ) as server:
        client = make(server)
        parent = await client.create_session()
        seen = [item async for item in client.stream(parent.id, "Delegate")]
        events = [item for item in seen if isinstance(item, Event)]
        (started,) = [e for e in events if e.type == "task.started"]
        child_id = started.data["child_session_id"]
        deltas = "".join(
            e.data["delta"]
            for e in events
            if e.type == "message.part.delta" and e.session_id == child_id
        )
        assert deltas == "an old silent pond"


def test_the_sync_client_delegates_too(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="synced", when="Sync job")]) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.memory_embedder = "none"
        with OpenCodeSyncClient(config) as client:
            session = client.create_session()
            (result,) = client.run_parallel_agents(
                [AgentTask(agent_name="general", prompt="Sync job")], session.id
            )
            assert result.response == "synced"
            (task,) = client.list_tasks(session_id=session.id)
            assert task.status == "completed"
            assert not client.cancel_task(task.task_id)


async def test_the_task_part_names_its_child_session_while_the_child_runs(
    make: ClientMaker,
) -> None:
    """A UI watching the parent can open the child at once, not only after it ends."""
    turns = [
        Turn(tool_calls=[task_call("Look it up slowly")], when="Delegate"),
        Turn(text="found", delay=0.3, when="Look it up slowly"),
        Turn(text="Done.", when=results_in(1)),
    ]
    with ScriptedLLMServer(turns) as server:
        client = make(server)
        seen: list[tuple[str, str | None]] = []  # (status, session_id) as each update came

        def snapshot(event: Event) -> None:
            part = event.data["part"]
            if getattr(part, "tool", None) == "task":
                seen.append((part.state.status, part.state.metadata.get("session_id")))

        client.events.subscribe("message.part.updated", snapshot)
        started = record(client, "task.started")
        parent = await client.create_session()
        await client.prompt(parent.id, "Delegate it")
    child = started[0].data["child_session_id"]
    assert ("running", child) in seen
