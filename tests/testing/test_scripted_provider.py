"""ScriptedProvider: the same turns, replayed in process as neutral stream events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from opencode_python.core.errors import (
    BrokenStreamError,
    ProviderAuthError,
    ProviderError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitError,
)
from opencode_python.core.models import CacheUsage, TokenUsage
from opencode_python.providers.base import (
    ChatMessage,
    ChatRequest,
    Finish,
    Provider,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallDelta,
    ToolCallStart,
    ToolResultBlock,
    ToolSchema,
)
from opencode_python.testing import (
    Fault,
    RecordedRequest,
    ScriptedProvider,
    ScriptedToolCall,
    Turn,
)


def ask(text: str, *, system: str = "") -> ChatRequest:
    return ChatRequest(
        model="scripted-model",
        messages=[ChatMessage("user", [TextBlock(text)])],
        system=[system] if system else [],
    )


async def drain(stream: AsyncIterator[StreamEvent], into: list[StreamEvent]) -> None:
    """Read ``stream`` into ``into``, so a test sees what came before an error."""
    async for event in stream:
        into.append(event)


async def collect(provider: ScriptedProvider, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in provider.stream(request)]


async def test_replays_a_turn_as_stream_events() -> None:
    usage = TokenUsage(input=10, output=4, reasoning=2, cache=CacheUsage(read=3))
    turn = Turn(
        text="Hello, scripted world",
        reasoning="thinking it over",
        tool_calls=[ScriptedToolCall("read", {"path": "a.py"}, call_id="c1")],
        usage=usage,
    )
    provider = ScriptedProvider([turn])
    assert isinstance(provider, Provider)

    events = await collect(provider, ask("hi"))

    reasoning = [e.text for e in events if isinstance(e, ReasoningDelta)]
    text = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(reasoning) == "thinking it over"
    assert len(reasoning) > 1
    assert "".join(text) == "Hello, scripted world"
    assert len(text) > 1
    [start] = [e for e in events if isinstance(e, ToolCallStart)]
    assert start == ToolCallStart("c1", "read")
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(pieces) > 1  # the arguments stream too, in the turn's chunks
    assert "".join(p.text for p in pieces) == '{"path": "a.py"}'
    assert [type(e) for e in events[-2:]] == [ToolCall, Finish]
    assert events[-2] == ToolCall("c1", "read", '{"path": "a.py"}')
    assert events[-1] == Finish("tool_calls", usage)
    assert provider.requests == [ask("hi")]
    assert provider.remaining_turns == []


async def test_raw_arguments_and_finish_override() -> None:
    provider = ScriptedProvider(
        [Turn(tool_calls=[ScriptedToolCall("bash", raw_arguments="{not json")], finish="length")]
    )
    events = await collect(provider, ask("go"))
    call = events[-2]
    assert isinstance(call, ToolCall)
    assert call.arguments == "{not json"
    assert events[-1] == Finish("length", TokenUsage())


def test_tool_call_ids_are_generated_and_unique() -> None:
    first, second = ScriptedToolCall("a"), ScriptedToolCall("b")
    assert first.call_id.startswith("call_")
    assert first.call_id != second.call_id
    with pytest.raises(ValueError, match="not both"):
        ScriptedToolCall("a", arguments={}, raw_arguments="{}")


@pytest.mark.parametrize(
    ("code", "error", "retryable"),
    [
        (429, RateLimitError, True),
        (503, ProviderUnavailableError, True),
        (529, ProviderUnavailableError, True),
        (401, ProviderAuthError, False),
        (403, ProviderAuthError, False),
        (400, ProviderRequestError, False),
    ],
)
async def test_status_faults_raise_the_adapter_error(
    code: int, error: type[ProviderError], retryable: bool
) -> None:
    provider = ScriptedProvider([Turn(text="never", fault=Fault.status(code, retry_after=1.5))])
    with pytest.raises(error) as caught:
        await collect(provider, ask("hi"))
    assert type(caught.value) is error
    assert caught.value.status_code == code
    assert caught.value.retry_after == 1.5
    assert caught.value.retryable is retryable
    assert caught.value.provider_id == "scripted"


async def test_cut_raises_broken_stream_after_n_events() -> None:
    provider = ScriptedProvider([Turn(text="abcdefghijklmnop", chunk_size=4, fault=Fault.cut(2))])
    seen: list[StreamEvent] = []
    with pytest.raises(BrokenStreamError, match="after 2 events"):
        await drain(provider.stream(ask("hi")), seen)
    assert seen == [TextDelta("abcd"), TextDelta("efgh")]


async def test_cut_never_sends_finish_even_when_n_is_large() -> None:
    provider = ScriptedProvider([Turn(text="short", fault=Fault.cut(50))])
    seen: list[StreamEvent] = []
    with pytest.raises(BrokenStreamError):
        await drain(provider.stream(ask("hi")), seen)
    assert not any(isinstance(e, Finish) for e in seen)


async def test_when_routes_parallel_streams_and_delays_overlap() -> None:
    provider = ScriptedProvider(
        [
            Turn(text="alpha done", when="alpha", delay=0.2),
            Turn(text="beta done", when="beta", delay=0.2),
        ]
    )

    async def run(prompt: str) -> str:
        events = await collect(provider, ask(prompt))
        return "".join(e.text for e in events if isinstance(e, TextDelta))

    began = time.monotonic()
    beta, alpha = await asyncio.gather(run("task beta"), run("task alpha"))
    assert (alpha, beta) == ("alpha done", "beta done")
    assert time.monotonic() - began < 0.35


async def test_when_callable_sees_the_request_in_openai_shape() -> None:
    seen: list[RecordedRequest] = []

    def after_tool(request: RecordedRequest) -> bool:
        seen.append(request)
        return bool(request.tool_results)

    provider = ScriptedProvider([Turn(text="used the result", when=after_tool), Turn(text="first")])
    await collect(provider, ask("read it", system="Be brief."))
    request = ChatRequest(
        model="m",
        system=["Be brief."],
        messages=[
            ChatMessage("user", [TextBlock("read it")]),
            ChatMessage("assistant", [ToolCallBlock("c1", "read", {"path": "x"})]),
            ChatMessage("tool", [ToolResultBlock("c1", "read", "contents")]),
        ],
        tools=[ToolSchema("read", "Read a file", {"type": "object"})],
    )
    events = await collect(provider, request)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "used the result"

    view = seen[-1]
    assert view.system_text == "Be brief."
    assert view.last_user_text == "read it"
    assert view.tool_results == [("c1", "contents")]
    assert view.tool_names == ["read"]


async def test_responder_and_missing_turn() -> None:
    provider = ScriptedProvider(responder=lambda r: Turn(text=f"echo {r.last_user_text}"))
    events = await collect(provider, ask("ping"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "echo ping"

    empty = ScriptedProvider(id="fake")
    with pytest.raises(ProviderError, match=r"no scripted turn matches request #1") as caught:
        await collect(empty, ask("anything"))
    assert caught.value.provider_id == "fake"
    await empty.aclose()
    await empty.aclose()


async def test_chunk_delay_is_honoured() -> None:
    provider = ScriptedProvider([Turn(text="abcdef", chunk_size=2, chunk_delay=0.03)])
    began = time.monotonic()
    await collect(provider, ask("hi"))
    assert time.monotonic() - began >= 0.09  # three gaps: two between text, one before finish
