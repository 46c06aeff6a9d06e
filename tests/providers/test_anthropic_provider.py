"""AnthropicProvider through the official client: raw events, wire format, failures."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from opencode_python.core.errors import (
    BrokenStreamError,
    ContextOverflowError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitError,
    RealRequestBlockedError,
)
from opencode_python.core.models import CacheUsage, FinishReason, TokenUsage
from opencode_python.providers import (
    AnthropicProvider,
    ChatMessage,
    ChatRequest,
    Finish,
    ImageBlock,
    ProviderConfig,
    ReasoningBlock,
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
    block_real_requests,
)
from opencode_python.providers.config import ModelOverride

from .wire import (
    LOCAL,
    FakeServer,
    anthropic_sse,
    broken_response,
    collect,
    error_response,
    message_start,
    sse_response,
)


def make(server: FakeServer, **config: Any) -> AnthropicProvider:
    fields: dict[str, Any] = {"provider_id": "anthropic", "base_url": LOCAL, **config}
    return AnthropicProvider(ProviderConfig(**fields), http_client=server.client())


def ask(model: str = "claude-sonnet-4-6", max_output_tokens: int | None = None) -> ChatRequest:
    messages = [ChatMessage("user", [TextBlock("hi")])]
    return ChatRequest(model=model, messages=messages, max_output_tokens=max_output_tokens)


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str, **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": usage,
    }


def finished(stop_reason: str = "end_turn") -> bytes:
    return anthropic_sse(
        message_start(input_tokens=1),
        block_start(0, {"type": "text", "text": ""}),
        block_delta(0, {"type": "text_delta", "text": "ok"}),
        block_stop(0),
        message_delta(stop_reason, output_tokens=1),
        {"type": "message_stop"},
    )


async def test_stream_maps_thinking_text_tool_use_and_usage() -> None:
    body = anthropic_sse(
        message_start(input_tokens=12, cache_read_input_tokens=800, cache_creation_input_tokens=50),
        {"type": "ping"},
        block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        block_delta(0, {"type": "thinking_delta", "thinking": "Let me "}),
        block_delta(0, {"type": "thinking_delta", "thinking": "see."}),
        block_delta(0, {"type": "signature_delta", "signature": "sig=="}),
        block_stop(0),
        block_start(1, {"type": "redacted_thinking", "data": "opaque"}),
        block_stop(1),
        block_start(2, {"type": "text", "text": ""}),
        block_delta(2, {"type": "text_delta", "text": "Reading"}),
        block_stop(2),
        block_start(3, {"type": "tool_use", "id": "tu_1", "name": "read", "input": {}}),
        block_delta(3, {"type": "input_json_delta", "partial_json": '{"path"'}),
        block_delta(3, {"type": "input_json_delta", "partial_json": ': "a"}'}),
        block_stop(3),
        block_start(4, {"type": "tool_use", "id": "tu_2", "name": "ls", "input": {}}),
        block_stop(4),
        message_delta("tool_use", output_tokens=40, output_tokens_details={"thinking_tokens": 15}),
        {"type": "message_stop"},
    )
    server = FakeServer([sse_response(body)])
    events = await collect(make(server).stream(ask()))
    assert events == [
        ReasoningDelta("Let me "),
        ReasoningDelta("see."),
        ReasoningDelta("", metadata={"signature": "sig=="}),
        ReasoningDelta("", metadata={"redacted_data": "opaque"}),
        TextDelta("Reading"),
        ToolCallStart("tu_1", "read"),
        ToolCallDelta("tu_1", '{"path"'),
        ToolCallDelta("tu_1", ': "a"}'),
        ToolCall("tu_1", "read", '{"path": "a"}'),
        ToolCallStart("tu_2", "ls"),
        ToolCall("tu_2", "ls", "{}"),
        Finish(
            "tool_calls",
            TokenUsage(input=12, output=25, reasoning=15, cache=CacheUsage(read=800, write=50)),
        ),
    ]


@pytest.mark.parametrize(
    ("wire", "mapped"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
    ],
)
async def test_stop_reasons(wire: str, mapped: FinishReason) -> None:
    events = await collect(make(FakeServer([sse_response(finished(wire))])).stream(ask()))
    assert events == [TextDelta("ok"), Finish(mapped, TokenUsage(input=1, output=1))]


async def test_request_on_the_wire() -> None:
    server = FakeServer([sse_response(finished())])
    provider = make(server, options={"thinking": {"type": "enabled", "budget_tokens": 2048}})
    request = ChatRequest(
        model="claude-sonnet-4-6",
        system=["You are terse.", "Project rules."],
        messages=[
            ChatMessage("user", [TextBlock("look"), ImageBlock("image/png", "AAAA")]),
            ChatMessage(
                "assistant",
                [
                    ReasoningBlock("thought", {"signature": "sig"}),
                    ReasoningBlock("unsigned thought"),
                    ReasoningBlock("", {"redacted_data": "opaque"}),
                    TextBlock(""),
                    TextBlock("Reading."),
                    ToolCallBlock("tu_1", "read", {"path": "a"}),
                    ToolCallBlock("tu_2", "ls", {}),
                ],
            ),
            ChatMessage("tool", [ToolResultBlock("tu_1", "read", "file text")]),
            ChatMessage("tool", [ToolResultBlock("tu_2", "ls", "boom", is_error=True)]),
            ChatMessage("user", [TextBlock("and now?")]),
        ],
        tools=[ToolSchema("read", "Read a file", {"properties": {"path": {"type": "string"}}})],
        temperature=0.3,
    )
    await collect(provider.stream(request))
    sent = server.bodies[0]
    assert server.requests[0].url == "http://127.0.0.1:9/v1/messages"
    cache = {"type": "ephemeral"}
    assert sent["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Project rules.", "cache_control": cache},
    ]
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "thought", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "tu_1", "name": "read", "input": {"path": "a"}},
                {
                    "type": "tool_use",
                    "id": "tu_2",
                    "name": "ls",
                    "input": {},
                    "cache_control": cache,
                },
            ],
        },
        {
            # both tool messages and the user's text merge into one user turn, results first
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "tu_1", "content": "file text"},
                {"type": "tool_result", "tool_use_id": "tu_2", "content": "boom", "is_error": True},
                {"type": "text", "text": "and now?", "cache_control": cache},
            ],
        },
    ]
    assert sent["tools"] == [
        {
            "name": "read",
            "description": "Read a file",
            "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
        }
    ]
    assert sent["stream"] is True
    assert sent["temperature"] == 0.3
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["max_tokens"] == 8192  # the catalog's default output limit


async def test_max_tokens_from_request_then_config_override() -> None:
    server = FakeServer([sse_response(finished()), sse_response(finished())])
    provider = make(server, models={"claude-sonnet-4-6": ModelOverride(max_output=64000)})
    await collect(provider.stream(ask(max_output_tokens=100)))
    await collect(provider.stream(ask()))
    assert [b["max_tokens"] for b in server.bodies] == [100, 64000]


@pytest.mark.parametrize(
    ("tool_choice", "sent"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "read"}}, {"type": "tool", "name": "read"}),
        ({"name": "read"}, {"type": "tool", "name": "read"}),
        # Anthropic's own form passes as it is.
        ({"type": "any", "disable_parallel_tool_use": True}, None),
    ],
)
async def test_openai_tool_choice_forms_are_sent_in_anthropics(
    tool_choice: object, sent: dict[str, str] | None
) -> None:
    server = FakeServer([sse_response(finished())])
    request = ask()
    request.tools = [ToolSchema("read", "Read a file", {"properties": {}})]
    request.options = {"tool_choice": tool_choice}
    await collect(make(server).stream(request))
    assert server.bodies[0]["tool_choice"] == (sent or tool_choice)


# --- failures ------------------------------------------------------------------------


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (529, anthropic_error("overloaded_error", "Overloaded"), ProviderUnavailableError),
        (500, anthropic_error("api_error", "Internal error"), ProviderUnavailableError),
        (401, anthropic_error("authentication_error", "invalid x-api-key"), ProviderAuthError),
        (403, anthropic_error("permission_error", "no access"), ProviderAuthError),
        (
            400,
            anthropic_error(
                "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"
            ),
            ContextOverflowError,
        ),
        (
            413,
            anthropic_error("request_too_large", "Request exceeds the maximum size"),
            ContextOverflowError,
        ),
        (400, anthropic_error("invalid_request_error", "messages: bad"), ProviderRequestError),
        (404, anthropic_error("not_found_error", "model: claude-x"), ProviderRequestError),
    ],
)
async def test_status_errors(
    status: int, body: dict[str, Any], expected: type[ProviderError]
) -> None:
    server = FakeServer([error_response(status, body)])
    with pytest.raises(expected) as caught:
        await collect(make(server).stream(ask()))
    assert type(caught.value) is expected
    assert caught.value.status_code == status
    assert len(server.requests) == 1


async def test_rate_limit_carries_retry_after() -> None:
    body = anthropic_error("rate_limit_error", "Number of requests has exceeded your rate limit")
    server = FakeServer([error_response(429, body, **{"retry-after": "12"})])
    with pytest.raises(RateLimitError, match="Retry after 12s") as caught:
        await collect(make(server).stream(ask()))
    assert caught.value.retry_after == 12.0


async def test_error_event_inside_the_stream() -> None:
    body = anthropic_sse(
        message_start(input_tokens=1),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    with pytest.raises(ProviderUnavailableError, match="Overloaded") as caught:
        await collect(make(FakeServer([sse_response(body)])).stream(ask()))
    assert caught.value.status_code is None


async def test_stream_without_stop_reason_is_broken() -> None:
    body = anthropic_sse(
        message_start(input_tokens=1),
        block_start(0, {"type": "text", "text": ""}),
        block_delta(0, {"type": "text_delta", "text": "par"}),
    )
    events: list[StreamEvent] = []
    with pytest.raises(BrokenStreamError, match="no stop_reason"):
        await collect(make(FakeServer([sse_response(body)])).stream(ask()), into=events)
    assert events == [TextDelta("par")]


async def test_connection_lost_mid_stream() -> None:
    part = anthropic_sse(message_start(input_tokens=1))
    server = FakeServer(
        [
            broken_response(part, httpx2.RemoteProtocolError("peer closed connection")),
            broken_response(part, httpx2.ReadTimeout("read timed out")),
        ]
    )
    provider = make(server)
    with pytest.raises(BrokenStreamError):
        await collect(provider.stream(ask()))
    with pytest.raises(ProviderConnectionError, match="timed out"):
        await collect(provider.stream(ask()))


async def test_guard_blocks_api_anthropic_com_before_any_io() -> None:
    server = FakeServer([])
    config = ProviderConfig(provider_id="anthropic", api_key="sk-ant-test")
    provider = AnthropicProvider(config, http_client=server.client())
    with (
        block_real_requests(),
        pytest.raises(RealRequestBlockedError, match=r"api\.anthropic\.com"),
    ):
        await collect(provider.stream(ask()))
    assert server.requests == []
    await provider.aclose()


async def test_key_is_sent_and_missing_key_fails_before_io(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    server = FakeServer([sse_response(finished())])
    keyed = AnthropicProvider(
        ProviderConfig(provider_id="anthropic", api_key="sk-ant-test"), http_client=server.client()
    )
    keyless = AnthropicProvider(
        ProviderConfig(provider_id="anthropic"), http_client=server.client()
    )
    with block_real_requests(False):
        await collect(keyed.stream(ask()))
        with pytest.raises(ProviderAuthError, match="ANTHROPIC_API_KEY"):
            await collect(keyless.stream(ask()))
    assert len(server.requests) == 1
    # anthropic 2.x sends the key as a bearer token, not x-api-key
    assert server.requests[0].headers["authorization"] == "Bearer sk-ant-test"
