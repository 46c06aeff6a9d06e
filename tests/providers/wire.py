"""Fake HTTP for the adapters: real SSE bytes served through httpx2.MockTransport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from opencode_python.providers.base import StreamEvent

LOCAL = "http://127.0.0.1:9"
"""A loopback base URL: allowed while real requests are blocked, never connected to."""


def openai_sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    """A Chat Completions stream body: one ``data:`` event per chunk, then ``[DONE]``."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body = b"".join(f"data: {json.dumps({**head, **c})}\n\n".encode() for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def delta(finish: str | None = None, **fields: Any) -> dict[str, Any]:
    """A chunk with one choice whose delta holds ``fields``."""
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def anthropic_sse(*events: dict[str, Any]) -> bytes:
    """A Messages stream body: every event with its ``event:`` line, as the API sends."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def message_start(**usage: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0, **usage},
    }
    return {"type": "message_start", "message": message}


@dataclass
class FakeServer:
    """Answers every request with the next scripted response and records the requests."""

    responses: list[httpx2.Response | Callable[[], httpx2.Response]]
    requests: list[httpx2.Request] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        response = self.responses.pop(0)
        return response() if callable(response) else response

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))


def sse_response(body: bytes) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def error_response(status: int, body: dict[str, Any], **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


def broken_response(body: bytes, error: Exception) -> httpx2.Response:
    """A 200 stream that sends ``body`` and then fails as the connection would."""

    async def content() -> AsyncIterator[bytes]:
        yield body
        raise error

    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=content())


async def collect(
    stream: AsyncIterator[StreamEvent], into: list[StreamEvent] | None = None
) -> list[StreamEvent]:
    """Every event of ``stream``; ``into`` keeps those seen before a failure."""
    events = into if into is not None else []
    async for event in stream:
        events.append(event)
    return events
