"""OpenAIProvider through the official client: what goes out, what comes back, failures."""

from __future__ import annotations

import json

import httpx2
import pytest

from opencode_python.core.errors import (
    BrokenStreamError,
    ConfigError,
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
    ChatMessage,
    ChatRequest,
    Finish,
    ImageBlock,
    OpenAIProvider,
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

from .wire import (
    LOCAL,
    FakeServer,
    broken_response,
    collect,
    delta,
    error_response,
    openai_sse,
    sse_response,
)


def make(server: FakeServer, **config: object) -> OpenAIProvider:
    fields: dict[str, object] = {"provider_id": "local", "base_url": LOCAL, **config}
    return OpenAIProvider(ProviderConfig.model_validate(fields), http_client=server.client())


def ask(text: str = "hi", max_output_tokens: int | None = None) -> ChatRequest:
    messages = [ChatMessage("user", [TextBlock(text)])]
    return ChatRequest(model="m", messages=messages, max_output_tokens=max_output_tokens)


USAGE = {
    "prompt_tokens": 100,
    "completion_tokens": 30,
    "total_tokens": 130,
    "prompt_tokens_details": {"cached_tokens": 60},
    "completion_tokens_details": {"reasoning_tokens": 10},
}


async def test_stream_maps_text_reasoning_tool_calls_and_usage() -> None:
    body = openai_sse(
        delta(role="assistant", content=""),
        delta(reasoning_content="think "),
        delta(reasoning="more"),
        delta(content="Hel"),
        delta(content="lo"),
        delta(
            tool_calls=[{"index": 0, "id": "c1", "type": "function", "function": {"name": "read"}}]
        ),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"pa'}}]),
        delta(
            tool_calls=[
                {"index": 1, "id": "c2", "function": {"name": "ls", "arguments": ""}},
                {"index": 0, "function": {"arguments": 'th": "a"}'}},
            ]
        ),
        delta(finish="tool_calls"),
        {"choices": [], "usage": USAGE},  # usage comes after the finish reason
    )
    server = FakeServer([sse_response(body)])
    events = await collect(make(server).stream(ask()))
    assert events == [
        ReasoningDelta("think "),
        ReasoningDelta("more"),
        TextDelta("Hel"),
        TextDelta("lo"),
        ToolCallStart("c1", "read"),
        ToolCallDelta("c1", '{"pa'),
        ToolCallStart("c2", "ls"),
        ToolCallDelta("c1", 'th": "a"}'),
        ToolCall("c1", "read", '{"path": "a"}'),
        ToolCall("c2", "ls", "{}"),
        Finish(
            "tool_calls",
            TokenUsage(input=40, output=20, reasoning=10, cache=CacheUsage(read=60)),
        ),
    ]


async def test_finish_without_usage_and_stop_after_tool_calls() -> None:
    body = openai_sse(
        delta(tool_calls=[{"index": 0, "function": {"name": "ls", "arguments": "{}"}}]),
        delta(finish="stop"),
    )
    events = await collect(make(FakeServer([sse_response(body)])).stream(ask()))
    start, call, finish = events
    assert isinstance(start, ToolCallStart)
    assert start.call_id.startswith("call_")
    assert call == ToolCall(start.call_id, "ls", "{}")
    assert finish == Finish("tool_calls", TokenUsage())


@pytest.mark.parametrize(
    ("wire", "mapped"),
    [("stop", "stop"), ("length", "length"), ("content_filter", "content_filter"), ("x", "other")],
)
async def test_finish_reasons(wire: str, mapped: FinishReason) -> None:
    body = openai_sse(delta(content="a"), delta(finish=wire))
    events = await collect(make(FakeServer([sse_response(body)])).stream(ask()))
    assert events[-1] == Finish(mapped, TokenUsage())


async def test_request_on_the_wire() -> None:
    server = FakeServer([sse_response(openai_sse(delta(finish="stop")))])
    provider = make(
        server,
        options={"extra_headers": {"X-Team": "a"}, "top_k": 5, "seed": 7},
    )
    request = ChatRequest(
        model="m",
        system=["You are terse.", "Project rules."],
        messages=[
            ChatMessage("user", [TextBlock("look"), ImageBlock("image/png", "AAAA")]),
            ChatMessage(
                "assistant",
                [
                    ReasoningBlock("hidden", {"signature": "s"}),
                    TextBlock("Reading."),
                    ToolCallBlock("c1", "read", {"path": "a"}),
                ],
            ),
            ChatMessage("tool", [ToolResultBlock("c1", "read", "file text")]),
            ChatMessage("assistant", [ToolCallBlock("c2", "ls", {})]),
            ChatMessage("tool", [ToolResultBlock("c2", "ls", "boom", is_error=True)]),
            ChatMessage("user", [TextBlock("thanks")]),
        ],
        tools=[ToolSchema("read", "Read a file", {"type": "object", "properties": {}})],
        temperature=0.2,
        top_p=0.9,
        max_output_tokens=123,
        options={"extra_body": {"cache": True}},
    )
    await collect(provider.stream(request))
    sent = server.bodies[0]
    assert server.requests[0].url == "http://127.0.0.1:9/chat/completions"
    assert server.requests[0].headers["x-team"] == "a"
    assert sent["messages"] == [
        {"role": "system", "content": "You are terse.\n\nProject rules."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {
            "role": "assistant",
            "content": "Reading.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path": "a"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "file text"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c2", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c2", "content": "boom"},
        {"role": "user", "content": "thanks"},
    ]
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "read",
                "description": "Read a file",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.2, 0.9, 123)
    # known parameters pass as they are, unknown ones travel in the body too
    assert (sent["seed"], sent["top_k"], sent["cache"]) == (7, 5, True)


async def test_official_endpoint_gets_max_completion_tokens() -> None:
    server = FakeServer([sse_response(openai_sse(delta(finish="stop")))])
    config = ProviderConfig(provider_id="openai", api_key="sk-test")
    provider = OpenAIProvider(config, http_client=server.client())
    with block_real_requests(False):  # the mock transport stands in for api.openai.com
        await collect(provider.stream(ask(max_output_tokens=50)))
    assert server.requests[0].url.host == "api.openai.com"
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"
    assert server.bodies[0]["max_completion_tokens"] == 50
    assert "max_tokens" not in server.bodies[0]


@pytest.mark.parametrize(
    "tool_choice", ["required", {"type": "function", "function": {"name": "read"}}]
)
async def test_tool_choice_is_sent_as_it_is(tool_choice: object) -> None:
    server = FakeServer([sse_response(openai_sse(delta(finish="stop")))])
    request = ask()
    request.tools = [ToolSchema("read", "Read a file", {"type": "object", "properties": {}})]
    request.options = {"tool_choice": tool_choice}
    await collect(make(server).stream(request))
    assert server.bodies[0]["tool_choice"] == tool_choice


async def test_reserved_option_is_a_config_error() -> None:
    server = FakeServer([])
    with pytest.raises(ConfigError, match="'model'"):
        await collect(make(server, options={"model": "x"}).stream(ask()))
    assert server.requests == []


# --- failures ------------------------------------------------------------------------


def openai_error(
    message: str, code: str | None = None, kind: str = "invalid_request_error"
) -> dict[str, object]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (
            429,
            openai_error("slow down", "rate_limit_exceeded"),
            {"retry-after": "7"},
            RateLimitError,
        ),
        (500, openai_error("oops", kind="server_error"), {}, ProviderUnavailableError),
        (503, openai_error("busy", kind="server_error"), {}, ProviderUnavailableError),
        (401, openai_error("bad key", "invalid_api_key"), {}, ProviderAuthError),
        (403, openai_error("no access"), {}, ProviderAuthError),
        (
            400,
            openai_error(
                "This model's maximum context length is 8192 tokens", "context_length_exceeded"
            ),
            {},
            ContextOverflowError,
        ),
        (400, openai_error("prompt is too long: 300000 tokens"), {}, ContextOverflowError),
        (400, openai_error("bad tool schema"), {}, ProviderRequestError),
        (404, openai_error("model does not exist", "model_not_found"), {}, ProviderRequestError),
    ],
)
async def test_status_errors(
    status: int, body: dict[str, object], headers: dict[str, str], expected: type[ProviderError]
) -> None:
    server = FakeServer([error_response(status, body, **headers)])
    with pytest.raises(expected) as caught:
        await collect(make(server).stream(ask()))
    error = caught.value
    assert type(error) is expected
    assert error.status_code == status
    assert error.provider_id == "local"
    assert len(server.requests) == 1  # the client's own retries are off


async def test_rate_limit_carries_retry_after() -> None:
    server = FakeServer([error_response(429, openai_error("slow"), **{"retry-after-ms": "1500"})])
    with pytest.raises(RateLimitError) as caught:
        await collect(make(server).stream(ask()))
    assert caught.value.retry_after == 1.5
    assert caught.value.retryable


async def test_auth_error_says_what_to_set() -> None:
    server = FakeServer([error_response(401, openai_error("Incorrect API key", "invalid_api_key"))])
    provider = make(server, provider_id="groq")
    with pytest.raises(ProviderAuthError, match=r"GROQ_API_KEY or providers\.groq\.api_key"):
        await collect(provider.stream(ask()))


async def test_connection_refused_and_timeout() -> None:
    def refuse() -> httpx2.Response:
        raise httpx2.ConnectError("connection refused")

    def slow() -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out")

    server = FakeServer([refuse, slow])
    provider = make(server)
    with pytest.raises(ProviderConnectionError, match="Could not reach local"):
        await collect(provider.stream(ask()))
    with pytest.raises(ProviderConnectionError, match="timed out"):
        await collect(provider.stream(ask()))


async def test_stream_without_finish_reason_is_broken() -> None:
    server = FakeServer([sse_response(openai_sse(delta(content="par"), done=False))])
    events: list[StreamEvent] = []
    with pytest.raises(BrokenStreamError, match="no finish_reason") as caught:
        await collect(make(server).stream(ask()), into=events)
    assert events == [TextDelta("par")]
    assert caught.value.retryable


async def test_connection_lost_mid_stream() -> None:
    part = openai_sse(delta(content="par"), done=False)
    server = FakeServer(
        [
            broken_response(part, httpx2.RemoteProtocolError("peer closed connection")),
            broken_response(part, httpx2.ReadError("reset by peer")),
        ]
    )
    provider = make(server)
    with pytest.raises(BrokenStreamError, match="closed the stream"):
        await collect(provider.stream(ask()))
    with pytest.raises(ProviderConnectionError, match="broke while streaming"):
        await collect(provider.stream(ask()))


async def test_error_event_inside_the_stream() -> None:
    body = openai_sse(
        delta(content="a"), {"error": {"message": "overloaded", "type": "server_error"}}
    )
    with pytest.raises(ProviderUnavailableError, match="overloaded") as caught:
        await collect(make(FakeServer([sse_response(body)])).stream(ask()))
    assert caught.value.status_code is None


# --- guard and keys ------------------------------------------------------------------


async def test_guard_blocks_api_openai_com_before_any_io() -> None:
    server = FakeServer([])
    config = ProviderConfig(provider_id="openai", api_key="sk-test")
    provider = OpenAIProvider(config, http_client=server.client())
    with block_real_requests(), pytest.raises(RealRequestBlockedError, match=r"api\.openai\.com"):
        await collect(provider.stream(ask()))
    assert server.requests == []
    await provider.aclose()
    await provider.aclose()  # twice is fine


async def test_missing_key_for_hosted_provider_fails_before_io(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = FakeServer([])
    provider = OpenAIProvider(ProviderConfig(provider_id="openai"), http_client=server.client())
    with block_real_requests(False), pytest.raises(ProviderAuthError, match="OPENAI_API_KEY"):
        await collect(provider.stream(ask()))
    assert server.requests == []


async def test_local_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    server = FakeServer([sse_response(openai_sse(delta(finish="stop")))])
    await collect(make(server).stream(ask()))
    assert "sk-must-not-leak" not in json.dumps(dict(server.requests[0].headers))
