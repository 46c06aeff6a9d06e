"""Both adapters against ScriptedLLMServer: real sockets, real HTTP, both wire formats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from opencode_python.core.errors import (
    BrokenStreamError,
    ProviderUnavailableError,
    RateLimitError,
)
from opencode_python.core.models import CacheUsage, TokenUsage
from opencode_python.providers import (
    AnthropicProvider,
    ChatMessage,
    ChatRequest,
    Finish,
    OpenAIProvider,
    Provider,
    ProviderConfig,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallStart,
    ToolResultBlock,
    ToolSchema,
)
from opencode_python.testing import Fault, ScriptedLLMServer, ScriptedToolCall, Turn

from .wire import collect

WIRES = ["openai", "anthropic"]


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture(params=WIRES)
async def provider(
    request: pytest.FixtureRequest, server: ScriptedLLMServer
) -> AsyncIterator[Provider]:
    adapter: Provider
    if request.param == "openai":
        config = ProviderConfig(provider_id="scripted", base_url=server.openai_base_url)
        adapter = OpenAIProvider(config)
    else:
        config = ProviderConfig(
            provider_id="scripted", kind="anthropic", base_url=server.anthropic_base_url
        )
        adapter = AnthropicProvider(config)
    yield adapter
    await adapter.aclose()


def ask(*messages: ChatMessage) -> ChatRequest:
    return ChatRequest(
        model="scripted-model",
        system=["Be brief."],
        messages=list(messages) or [ChatMessage("user", [TextBlock("hi")])],
        tools=[ToolSchema("read", "Read a file", {"type": "object", "properties": {}})],
        max_output_tokens=1000,
    )


def text_of(events: list[StreamEvent], kind: type[TextDelta] | type[ReasoningDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


async def test_full_turn(server: ScriptedLLMServer, provider: Provider) -> None:
    usage = TokenUsage(input=100, output=20, reasoning=7, cache=CacheUsage(read=30, write=5))
    server.add_turn(
        Turn(
            text="Hello there, this is scripted.",
            reasoning="Let me think.",
            tool_calls=[ScriptedToolCall("read", {"path": "src/app.py"}, call_id="c1")],
            usage=usage,
        )
    )
    events = await collect(provider.stream(ask()))
    assert text_of(events, TextDelta) == "Hello there, this is scripted."
    assert text_of(events, ReasoningDelta) == "Let me think."
    assert ToolCallStart("c1", "read") in events
    assert ToolCall("c1", "read", '{"path": "src/app.py"}') in events
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.reason == "tool_calls"
    if isinstance(provider, AnthropicProvider):
        assert finish.usage == usage
        signatures = [e.metadata for e in events if isinstance(e, ReasoningDelta) and e.metadata]
        assert len(signatures) == 1
    else:  # Chat Completions reports no cache writes: they count as plain input
        assert finish.usage == TokenUsage(
            input=105, output=20, reasoning=7, cache=CacheUsage(read=30)
        )
    assert server.requests[0].system_text == "Be brief."
    assert server.requests[0].tool_names == ["read"]


async def test_tool_call_round_trip(server: ScriptedLLMServer, provider: Provider) -> None:
    call = ScriptedToolCall("read", {"path": "a.txt"})
    server.add_turns([Turn(tool_calls=[call]), Turn(text="The file says hello.")])
    first = await collect(provider.stream(ask()))
    made = [e for e in first if isinstance(e, ToolCall)]
    assert made == [ToolCall(call.call_id, "read", '{"path": "a.txt"}')]
    reasoning = [ReasoningBlock("hmm", {"signature": "c2ln"})]
    history = [
        ChatMessage("user", [TextBlock("hi")]),
        ChatMessage(
            "assistant", [*reasoning, ToolCallBlock(call.call_id, "read", {"path": "a.txt"})]
        ),
        ChatMessage("tool", [ToolResultBlock(call.call_id, "read", "hello")]),
    ]
    second = await collect(provider.stream(ask(*history)))
    assert text_of(second, TextDelta) == "The file says hello."
    assert second[-1] == Finish("stop", TokenUsage())
    assert server.requests[1].tool_results == [(call.call_id, "hello")]


async def test_rate_limit_with_retry_after(server: ScriptedLLMServer, provider: Provider) -> None:
    server.add_turn(Turn(fault=Fault.status(429, retry_after=2)))
    with pytest.raises(RateLimitError) as caught:
        await collect(provider.stream(ask()))
    assert caught.value.retry_after == 2.0
    assert caught.value.status_code == 429
    assert len(server.requests) == 1


async def test_server_error(server: ScriptedLLMServer, provider: Provider) -> None:
    code = 529 if isinstance(provider, AnthropicProvider) else 503
    server.add_turn(Turn(fault=Fault.status(code)))
    with pytest.raises(ProviderUnavailableError):
        await collect(provider.stream(ask()))


@pytest.mark.parametrize("abrupt", [True, False])
async def test_cut_stream_is_broken(
    server: ScriptedLLMServer, provider: Provider, abrupt: bool
) -> None:
    server.add_turn(
        Turn(text="a long answer that will not arrive", fault=Fault.cut(3, abrupt=abrupt))
    )
    events: list[StreamEvent] = []
    with pytest.raises(BrokenStreamError) as caught:
        await collect(provider.stream(ask()), into=events)
    assert caught.value.retryable
    assert not any(isinstance(e, Finish) for e in events)


async def test_cancelling_a_stream_is_not_a_provider_error(
    server: ScriptedLLMServer, provider: Provider
) -> None:
    server.add_turn(Turn(text="slow " * 50, chunk_size=5, chunk_delay=0.05))
    events: list[StreamEvent] = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await collect(provider.stream(ask()), into=events)
    assert 0 < len(events) < 50
    server.add_turn(Turn(text="next"))  # the adapter is still usable
    assert text_of(await collect(provider.stream(ask())), TextDelta) == "next"
