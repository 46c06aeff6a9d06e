"""ScriptedLLMServer driven by the official openai and anthropic clients over real HTTP."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from opencode_python.core.models import CacheUsage, TokenUsage
from opencode_python.testing import (
    Fault,
    RecordedRequest,
    ScriptedLLMServer,
    ScriptedToolCall,
    Turn,
)

USER: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture
async def oai(server: ScriptedLLMServer) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def claude(server: ScriptedLLMServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="test", max_retries=0
    )
    yield client
    await client.close()


async def openai_stream(client: openai.AsyncOpenAI, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("messages", USER)
    stream = await client.chat.completions.create(
        model="gpt-test", stream=True, stream_options={"include_usage": True}, **kwargs
    )
    return [chunk async for chunk in stream]


async def anthropic_events(client: anthropic.AsyncAnthropic, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("messages", USER)
    stream = await client.messages.create(
        model="claude-test", max_tokens=100, stream=True, **kwargs
    )
    return [event async for event in stream]


async def drain(stream: AsyncIterable[Any], into: list[Any]) -> None:
    """Read ``stream`` to its end into ``into``, so a test sees what came before an error."""
    async for item in stream:
        into.append(item)


USAGE = TokenUsage(input=100, output=20, reasoning=7, cache=CacheUsage(read=30, write=5))
FULL_TURN = Turn(
    text="Hello there, this is a scripted answer.",
    reasoning="Let me think about it.",
    tool_calls=[ScriptedToolCall("read", {"path": "src/app.py", "limit": 200}, call_id="c1")],
    usage=USAGE,
)


# --- OpenAI Chat Completions ---------------------------------------------------------


async def test_openai_stream_assembles_text_reasoning_tool_call_and_usage(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turn(FULL_TURN)
    chunks = await openai_stream(oai)

    deltas = [c.choices[0].delta for c in chunks if c.choices]
    content = [d.content for d in deltas if d.content]
    assert "".join(content) == FULL_TURN.text
    assert len(content) > 1  # really streamed in pieces
    reasoning = [getattr(d, "reasoning_content", None) for d in deltas]
    assert "".join(r for r in reasoning if r) == FULL_TURN.reasoning

    calls = [tc for d in deltas for tc in d.tool_calls or []]
    assert calls[0].id == "c1"
    assert calls[0].function is not None
    assert calls[0].function.name == "read"
    arguments = [tc.function.arguments for tc in calls if tc.function and tc.function.arguments]
    assert len(arguments) > 1
    assert json.loads("".join(arguments)) == {"path": "src/app.py", "limit": 200}

    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls"
    assert finishes[:-1] == [None] * (len(finishes) - 1)

    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == 135  # includes cached tokens, as OpenAI counts
    assert last.usage.completion_tokens == 27  # includes reasoning tokens
    assert last.usage.total_tokens == 162
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == 30
    assert last.usage.completion_tokens_details is not None
    assert last.usage.completion_tokens_details.reasoning_tokens == 7


async def test_openai_stream_without_include_usage_sends_no_usage_chunk(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turn(Turn(text="plain"))
    stream = await oai.chat.completions.create(model="m", messages=USER, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_openai_non_streaming(server: ScriptedLLMServer, oai: openai.AsyncOpenAI) -> None:
    server.add_turn(FULL_TURN)
    completion = await oai.chat.completions.create(model="gpt-test", messages=USER)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == FULL_TURN.text
    assert getattr(choice.message, "reasoning_content", None) == FULL_TURN.reasoning
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.id == "c1"
    assert json.loads(call.function.arguments) == {"path": "src/app.py", "limit": 200}  # type: ignore[union-attr]
    assert completion.model == "gpt-test"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 135


async def test_openai_malformed_raw_arguments_sent_verbatim(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turn(Turn(tool_calls=[ScriptedToolCall("bash", raw_arguments='{"command": "ls')]))
    chunks = await openai_stream(oai)
    arguments = "".join(
        tc.function.arguments or ""
        for c in chunks
        if c.choices
        for tc in c.choices[0].delta.tool_calls or []
        if tc.function
    )
    assert arguments == '{"command": "ls'


async def test_openai_request_is_recorded(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turn(Turn(text="done"))
    messages: Any = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "list the files"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c9", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c9", "content": "a.py\nb.py"},
    ]
    tools: Any = [{"type": "function", "function": {"name": "ls", "parameters": {}}}]
    await openai_stream(oai, messages=messages, tools=tools)

    [request] = server.requests
    assert request.wire == "openai"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test"
    assert request.body["model"] == "gpt-test"
    assert request.system_text == "You are terse."
    assert request.last_user_text == "list the files"
    assert request.tool_results == [("c9", "a.py\nb.py")]
    assert request.tool_names == ["ls"]
    assert request.finished is not None
    assert request.finished >= request.started


# --- Anthropic Messages --------------------------------------------------------------


async def test_anthropic_raw_stream_events(
    server: ScriptedLLMServer, claude: anthropic.AsyncAnthropic
) -> None:
    server.add_turn(FULL_TURN)
    events = await anthropic_events(claude)

    types = [e.type for e in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    start = events[0].message.usage
    assert (start.input_tokens, start.cache_read_input_tokens) == (100, 30)
    assert start.cache_creation_input_tokens == 5

    blocks = [e.content_block for e in events if e.type == "content_block_start"]
    assert [b.type for b in blocks] == ["thinking", "text", "tool_use"]
    assert (blocks[2].id, blocks[2].name) == ("c1", "read")
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert "".join(d.thinking for d in deltas if d.type == "thinking_delta") == FULL_TURN.reasoning
    assert [d.signature for d in deltas if d.type == "signature_delta"] != [""]
    text = [d.text for d in deltas if d.type == "text_delta"]
    assert "".join(text) == FULL_TURN.text
    assert len(text) > 1
    partial = [d.partial_json for d in deltas if d.type == "input_json_delta"]
    assert len(partial) > 1
    assert json.loads("".join(partial)) == {"path": "src/app.py", "limit": 200}

    delta = events[-2]
    assert delta.delta.stop_reason == "tool_use"
    assert delta.usage.output_tokens == 27  # thinking counts as output
    assert delta.usage.output_tokens_details.thinking_tokens == 7


async def test_anthropic_stream_helper_builds_final_message(
    server: ScriptedLLMServer, claude: anthropic.AsyncAnthropic
) -> None:
    server.add_turns([FULL_TURN, Turn(text="Just text, no tools.", finish="length")])
    async with claude.messages.stream(model="claude-test", max_tokens=100, messages=USER) as s:
        message = await s.get_final_message()
    assert message.stop_reason == "tool_use"
    thinking, text, tool = message.content
    assert thinking.type == "thinking"
    assert thinking.thinking == FULL_TURN.reasoning
    assert text.type == "text"
    assert text.text == FULL_TURN.text
    assert tool.type == "tool_use"
    assert tool.input == {"path": "src/app.py", "limit": 200}
    assert message.usage.output_tokens == 27
    assert message.usage.cache_read_input_tokens == 30

    async with claude.messages.stream(model="claude-test", max_tokens=100, messages=USER) as s:
        pieces = [piece async for piece in s.text_stream]
        message = await s.get_final_message()
    assert "".join(pieces) == "Just text, no tools."
    assert len(pieces) > 1
    assert message.stop_reason == "max_tokens"


async def test_anthropic_non_streaming(
    server: ScriptedLLMServer, claude: anthropic.AsyncAnthropic
) -> None:
    server.add_turn(FULL_TURN)
    message = await claude.messages.create(model="claude-test", max_tokens=100, messages=USER)
    assert message.id.startswith("msg_")
    assert message.model == "claude-test"
    assert message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"path": "src/app.py", "limit": 200}  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (100, 27)


async def test_anthropic_request_is_recorded(
    server: ScriptedLLMServer, claude: anthropic.AsyncAnthropic
) -> None:
    server.add_turn(Turn(text="ok"))
    messages: Any = [
        {"role": "user", "content": "read the file please"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "file body"}],
                }
            ],
        },
    ]
    system: Any = [{"type": "text", "text": "Be careful."}]
    tools: Any = [{"name": "read", "input_schema": {"type": "object"}}]
    await anthropic_events(claude, messages=messages, system=system, tools=tools)

    [request] = server.requests
    assert request.wire == "anthropic"
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == "Bearer test"  # anthropic 2.x: not x-api-key
    assert "anthropic-version" in request.headers
    assert request.system_text == "Be careful."
    # The last user message only carries tool results: the user text is the one before.
    assert request.last_user_text == "read the file please"
    assert request.tool_results == [("t1", "file body")]
    assert request.tool_names == ["read"]


# --- faults --------------------------------------------------------------------------


async def test_rate_limit_with_retry_after(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    limited = Turn(fault=Fault.status(429, retry_after=2))
    server.add_turn(limited)
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_stream(oai)
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.body == {
        "message": "Scripted fault: HTTP 429",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert limited not in server.remaining_turns

    server.add_turn(Turn(fault=Fault.status(429, retry_after=0.5)))
    with pytest.raises(anthropic.RateLimitError) as a_caught:
        await anthropic_events(claude)
    assert a_caught.value.response.headers["retry-after"] == "0.5"
    assert a_caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Scripted fault: HTTP 429"},
    }


async def test_status_faults_map_to_client_errors(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    server.add_turns(
        [
            Turn(fault=Fault.status(529)),
            Turn(fault=Fault.status(401)),
            Turn(fault=Fault.status(400, body={"error": {"message": "prompt is too long"}})),
        ]
    )
    with pytest.raises(anthropic.OverloadedError):
        await anthropic_events(claude)
    with pytest.raises(openai.AuthenticationError):
        await openai_stream(oai)
    with pytest.raises(openai.BadRequestError, match="prompt is too long"):
        await openai_stream(oai)


async def test_cut_openai_stream_drops_connection_before_finish(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turn(Turn(text="a long answer that never ends", fault=Fault.cut(3)))
    stream = await oai.chat.completions.create(model="m", messages=USER, stream=True)
    seen: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        await drain(stream, seen)
    assert len(seen) == 3
    assert all(c.choices[0].finish_reason is None for c in seen)


async def test_cut_anthropic_stream(
    server: ScriptedLLMServer, claude: anthropic.AsyncAnthropic
) -> None:
    server.add_turns(
        [
            Turn(text="a long answer that never ends", fault=Fault.cut(4)),
            Turn(text="a long answer that never ends", fault=Fault.cut(4, abrupt=False)),
        ]
    )
    # The anthropic client does not wrap transport errors raised mid-stream.
    stream = await claude.messages.create(model="m", max_tokens=10, messages=USER, stream=True)
    seen: list[Any] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        await drain(stream, seen)
    # message_start, ping (skipped by the client), content_block_start, one delta
    assert [e.type for e in seen] == ["message_start", "content_block_start", "content_block_delta"]

    # A clean cut: the HTTP body ends properly but there is no message_delta/message_stop.
    types = [e.type for e in await anthropic_events(claude)]
    assert types == ["message_start", "content_block_start", "content_block_delta"]


async def test_cut_non_streaming_request(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turn(Turn(text="never arrives whole", fault=Fault.cut(0)))
    with pytest.raises(openai.APIConnectionError):
        await oai.chat.completions.create(model="m", messages=USER)


# --- routing, concurrency, misses ----------------------------------------------------


async def test_concurrent_requests_overlap(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turns([Turn(text="one", delay=0.5), Turn(text="two", delay=0.5)])
    began = time.monotonic()
    await asyncio.gather(openai_stream(oai), openai_stream(oai))
    assert time.monotonic() - began < 0.9

    first, second = server.requests
    assert first.finished is not None
    assert second.finished is not None
    assert first.started < second.finished
    assert second.started < first.finished


async def test_when_routes_parallel_requests(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    def wants_summary(request: RecordedRequest) -> bool:
        return "summarize" in request.system_text

    server.add_turns(
        [
            Turn(text="answer for alpha", when="task alpha", delay=0.2),
            Turn(text="answer for beta", when="task beta"),
            Turn(text="a summary", when=wants_summary),
        ]
    )

    async def ask(prompt: str) -> str:
        chunks = await openai_stream(oai, messages=[{"role": "user", "content": prompt}])
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    alpha, beta = await asyncio.gather(ask("do task alpha"), ask("do task beta"))
    assert (alpha, beta) == ("answer for alpha", "answer for beta")

    events = await anthropic_events(claude, system="Please summarize.")
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta") == "a summary"
    assert server.remaining_turns == []


async def test_no_matching_turn_is_a_clear_500(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    server.add_turn(Turn(text="only for zeta", when="zeta"))
    with pytest.raises(openai.InternalServerError) as caught:
        await openai_stream(oai, messages=[{"role": "user", "content": "hello there"}])
    message = str(caught.value)
    assert "no scripted turn matches request #1" in message
    assert "'hello there'" in message
    assert "add a Turn" in message

    with pytest.raises(anthropic.InternalServerError, match="request #2"):
        await anthropic_events(claude)
    assert len(server.remaining_turns) == 1


async def test_failing_script_callable_is_a_clear_500(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    def broken(request: RecordedRequest) -> bool:
        raise KeyError("oops")

    server.add_turn(Turn(text="unreachable", when=broken))
    with pytest.raises(openai.InternalServerError, match=r"choosing a turn for request #1 failed"):
        await openai_stream(oai)


async def test_responder_answers_when_the_queue_has_nothing() -> None:
    def echo(request: RecordedRequest) -> Turn:
        return Turn(text=f"you said: {request.last_user_text}")

    async with ScriptedLLMServer([Turn(text="queued first")], responder=echo) as server:
        client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0)
        texts = []
        for prompt in ("one", "two"):
            chunks = await openai_stream(client, messages=[{"role": "user", "content": prompt}])
            texts.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
        await client.close()
    assert texts == ["queued first", "you said: two"]


async def test_chunk_delay_spaces_out_the_stream(
    server: ScriptedLLMServer, oai: openai.AsyncOpenAI
) -> None:
    server.add_turn(Turn(text="abcdefgh", chunk_size=2, chunk_delay=0.03))
    began = time.monotonic()
    await openai_stream(oai)
    # role chunk + 4 text chunks + finish + usage + [DONE]: 7 gaps of 30 ms
    assert time.monotonic() - began >= 0.2


def test_sync_client_and_unknown_path() -> None:
    with ScriptedLLMServer([Turn(text="from a sync test")]) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0)
        completion = client.chat.completions.create(model="m", messages=USER)
        assert completion.choices[0].message.content == "from a sync test"

        wrong = openai.OpenAI(base_url=server.url, api_key="t", max_retries=0)
        with pytest.raises(openai.NotFoundError, match="openai_base_url"):
            wrong.chat.completions.create(model="m", messages=USER)
        client.close()
        wrong.close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_server_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.delitem(sys.modules, "opencode_python.testing.scripted_server")
    with pytest.raises(ImportError, match=r"pip install 'opencode-python\[testing\]'"):
        importlib.import_module("opencode_python.testing.scripted_server")
