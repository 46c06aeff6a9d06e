"""Provider failures during a run: retries, broken streams, errors that must not retry."""

from __future__ import annotations

import time

import pytest

from opencode_python.core import events as ev
from opencode_python.core.events import Event
from opencode_python.core.models import TextPart, ToolPart
from opencode_python.providers.retry import RetryPolicy
from opencode_python.testing import Fault, ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import ClientFactory
from ..tools_for_tests import AddTool


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_rate_limit_with_retry_after_is_retried_after_that_delay(
    wire: str, make_client: ClientFactory
) -> None:
    turns = [Turn(fault=Fault.status(429, retry_after=0.3)), Turn(text="Worth the wait.")]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server, wire)
        session = await client.create_session()
        retries: list[Event] = []
        client.events.subscribe(ev.PROVIDER_RETRY, retries.append)
        started = time.monotonic()
        result = await client.prompt(session.id, "hello")
        elapsed = time.monotonic() - started
        assert len(server.requests) == 2
    assert result.error is None
    assert result.response == "Worth the wait."
    assert len(retries) == 1
    assert retries[0].data["delay"] == pytest.approx(0.3)
    assert retries[0].data["status_code"] == 429
    assert retries[0].data["error_type"] == "RateLimitError"
    assert elapsed >= 0.3
    messages = await client.get_messages(session.id)
    assert [p.type for p in messages[-1].parts] == ["step-start", "text", "step-finish"]


@pytest.mark.parametrize("abrupt", [True, False], ids=["connection-dropped", "body-ended"])
@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_a_stream_cut_midway_is_retried_without_leaving_partial_parts(
    wire: str, abrupt: bool, make_client: ClientFactory
) -> None:
    broken = Turn(
        text="This answer will be cut off halfway through.",
        tool_calls=[ScriptedToolCall("add", {"a": 1, "b": 2})],
        fault=Fault.cut(4, abrupt=abrupt),
    )
    turns = [broken, Turn(text="Complete answer.")]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server, wire)
        await client.register_tool(AddTool())
        session = await client.create_session()
        removed: list[Event] = []
        client.events.subscribe(ev.PART_REMOVED, removed.append)
        result = await client.prompt(session.id, "hello")
    assert result.error is None
    assert result.response == "Complete answer."
    assert removed, "the failed attempt's parts were never removed"
    messages = await client.get_messages(session.id)
    assert len(messages) == 2
    parts = messages[-1].parts
    assert [p.type for p in parts] == ["step-start", "text", "step-finish"]
    assert [p.text for p in parts if isinstance(p, TextPart)] == ["Complete answer."]


async def test_exhausted_retries_give_a_clear_error_and_no_unfinished_parts(
    make_client: ClientFactory,
) -> None:
    turns = [
        Turn(tool_calls=[ScriptedToolCall("add", {"a": 1, "b": 2})]),
        *[Turn(fault=Fault.status(503)) for _ in range(3)],
    ]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        client.retry = RetryPolicy(max_retries=2, base_delay=0.01)
        await client.register_tool(AddTool())
        session = await client.create_session()
        result = await client.prompt(session.id, "add")
        assert len(server.requests) == 4
        assert server.remaining_turns == []
    assert result.error is not None
    assert "503" in result.error
    assert "gave up after 2 retries" in result.error
    messages = await client.get_messages(session.id)
    failed = messages[-1].info
    assert failed.finish == "error"
    assert failed.error is not None
    assert failed.error.name == "ProviderUnavailableError"
    assert [p.type for p in messages[-1].parts] == []
    states = [p.state.status for m in messages for p in m.parts if isinstance(p, ToolPart)]
    assert states == ["completed"]


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_auth_errors_are_not_retried(wire: str, make_client: ClientFactory) -> None:
    with ScriptedLLMServer([Turn(fault=Fault.status(401)), Turn(text="never")]) as server:
        client = make_client(server, wire)
        session = await client.create_session()
        result = await client.prompt(session.id, "hello")
        assert len(server.requests) == 1
    assert result.error is not None
    assert "API_KEY" in result.error


async def test_context_overflow_is_not_retried(make_client: ClientFactory) -> None:
    overflow = Fault.status(
        400,
        body={
            "error": {
                "message": "This model's maximum context length is 128000 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
    )
    with ScriptedLLMServer([Turn(fault=overflow), Turn(text="never")]) as server:
        client = make_client(server)
        session = await client.create_session()
        result = await client.prompt(session.id, "a very long prompt")
        assert len(server.requests) == 1
    messages = await client.get_messages(session.id)
    error = messages[-1].info.error
    assert error is not None
    assert error.name == "ContextOverflowError"
    assert result.error == error.message
