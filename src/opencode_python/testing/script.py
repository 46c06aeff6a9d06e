"""The script both fakes replay: turns, tool calls, faults, and the requests they saw.

A test writes the model's answers up front as ``Turn``s. ``ScriptedLLMServer`` sends
them over real HTTP in the OpenAI or Anthropic wire format, ``ScriptedProvider`` yields
them as neutral stream events, and both record what they were asked as
``RecordedRequest``s, so one script drives a test at either level.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.models import TokenUsage
from ..providers.base import (
    ChatRequest,
    ImageBlock,
    ReasoningBlock,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)

ScriptedFinish = Literal["stop", "tool_calls", "length", "content_filter"]
"""Why a scripted turn ends; each wire format spells it its own way."""

Wire = Literal["openai", "anthropic"]

_call_numbers = itertools.count(1)


def _next_call_id() -> str:
    return f"call_{next(_call_numbers)}"


@dataclass(slots=True)
class ScriptedToolCall:
    """A tool call the model makes.

    ``raw_arguments`` is sent verbatim, so a test can send malformed JSON. ``call_id``
    is unique in the process when not given, and known before the turn is played, so a
    test can look for it in the tool results of the next request.
    """

    name: str
    arguments: dict[str, Any] | None = None
    raw_arguments: str | None = None
    call_id: str = field(default_factory=_next_call_id)

    def __post_init__(self) -> None:
        if self.arguments is not None and self.raw_arguments is not None:
            raise ValueError(
                f"ScriptedToolCall {self.name!r}: give arguments or raw_arguments, not both"
            )

    @property
    def arguments_json(self) -> str:
        """The arguments as the model writes them: JSON text, or the raw text verbatim."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments or {})


@dataclass(frozen=True, slots=True)
class Fault:
    """A failure to play instead of (or in the middle of) a turn.

    Build one with ``Fault.status`` (an HTTP error response), ``Fault.cut`` (a stream
    that stops early), ``Fault.hang`` (no answer at all) or ``Fault.stall`` (a stream
    that goes silent), the failures an agent loop has to survive.
    """

    kind: Literal["status", "cut", "hang", "stall"]
    status_code: int = 200
    retry_after: float | None = None
    body: dict[str, Any] | None = None
    after_chunks: int = 0
    abrupt: bool = True

    @classmethod
    def status(
        cls, code: int, retry_after: float | None = None, body: dict[str, Any] | None = None
    ) -> Fault:
        """An HTTP error: ``retry_after`` becomes a ``retry-after`` header (seconds) and
        ``body`` replaces the default error body of the wire format."""
        if not 400 <= code <= 599:
            raise ValueError(f"Fault.status needs an HTTP error code (400-599), got {code}")
        return cls("status", status_code=code, retry_after=retry_after, body=body)

    @classmethod
    def cut(cls, after_chunks: int, *, abrupt: bool = True) -> Fault:
        """A stream that starts with 200, sends ``after_chunks`` events and stops with no
        finish reason. ``abrupt`` drops the connection mid-body (a network failure);
        ``abrupt=False`` ends the HTTP body cleanly, as a proxy that lost its upstream."""
        if after_chunks < 0:
            raise ValueError(f"Fault.cut needs after_chunks >= 0, got {after_chunks}")
        return cls("cut", after_chunks=after_chunks, abrupt=abrupt)

    @classmethod
    def hang(cls) -> Fault:
        """Accept the request and never answer: no status, no headers, no body."""
        return cls("hang")

    @classmethod
    def stall(cls, after_chunks: int) -> Fault:
        """Start a 200 stream, send ``after_chunks`` events, then go silent with the
        connection left open, as a provider that stopped generating."""
        if after_chunks < 0:
            raise ValueError(f"Fault.stall needs after_chunks >= 0, got {after_chunks}")
        return cls("stall", after_chunks=after_chunks)


@dataclass(slots=True)
class Turn:
    """One scripted model response.

    ``when`` picks which request the turn answers: a string matches when it occurs in
    the last user text of the request, a callable decides for itself, and ``None``
    matches anything. Requests take the first queued turn that matches, so parallel
    callers (sub-agents) each get their own answer whatever order they arrive in.
    ``text``, ``reasoning`` and tool arguments are streamed in pieces of ``chunk_size``
    characters, ``chunk_delay`` seconds apart, after waiting ``delay`` seconds.
    """

    text: str | None = None
    reasoning: str | None = None
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    usage: TokenUsage | None = None
    finish: ScriptedFinish | None = None
    fault: Fault | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_size: int = 8
    when: str | Callable[[RecordedRequest], bool] | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f"Turn.chunk_size must be at least 1, got {self.chunk_size}")
        if self.delay < 0 or self.chunk_delay < 0:
            raise ValueError("Turn.delay and Turn.chunk_delay must not be negative")

    @property
    def finish_reason(self) -> ScriptedFinish:
        """``finish`` if given, else ``tool_calls`` when the turn calls tools, else ``stop``."""
        if self.finish is not None:
            return self.finish
        return "tool_calls" if self.tool_calls else "stop"

    @property
    def token_usage(self) -> TokenUsage:
        """``usage`` if given, else all zeros."""
        return self.usage if self.usage is not None else TokenUsage()

    def matches(self, request: RecordedRequest) -> bool:
        """Whether this turn may answer ``request``."""
        if self.when is None:
            return True
        if isinstance(self.when, str):
            return self.when in request.last_user_text
        return self.when(request)

    def pieces(self, text: str) -> list[str]:
        """``text`` cut into ``chunk_size`` pieces, so that streaming is real."""
        size = self.chunk_size
        return [text[i : i + size] for i in range(0, len(text), size)]


def _text_of(content: Any) -> str:
    """The text of a string or a list of content blocks, in either wire format."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block["text"]
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        )
    return ""


def _is_tool_results(content: Any) -> bool:
    """Whether an Anthropic user message only carries tool results (no user text)."""
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    )


@dataclass(slots=True)
class RecordedRequest:
    """A request a fake received, with helpers that read it the same way for both wires.

    ``started`` and ``finished`` are ``time.monotonic()`` readings: arrival, and the
    moment the last byte of the response was handed to the connection (``None`` while
    the response is under way, or if the client left before it ended).
    """

    wire: Wire
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    started: float
    finished: float | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        if not isinstance(messages, list):
            return []
        return [m for m in messages if isinstance(m, dict)]

    @property
    def last_user_text(self) -> str:
        """The text of the last user message. Anthropic tool results travel in user
        messages; those are skipped, so both wires agree on what the user last said."""
        for message in reversed(self.messages):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if self.wire == "anthropic" and _is_tool_results(content):
                continue
            return _text_of(content)
        return ""

    @property
    def system_text(self) -> str:
        """The system prompt: OpenAI system/developer messages, Anthropic ``system``."""
        if self.wire == "anthropic":
            return _text_of(self.body.get("system", ""))
        return "\n".join(
            _text_of(m.get("content"))
            for m in self.messages
            if m.get("role") in ("system", "developer")
        )

    @property
    def tool_results(self) -> list[tuple[str, str]]:
        """``(call_id, content)`` of every tool result sent back to the model, in order."""
        results: list[tuple[str, str]] = []
        for message in self.messages:
            content = message.get("content")
            if self.wire == "openai":
                if message.get("role") == "tool":
                    results.append((str(message.get("tool_call_id", "")), _text_of(content)))
            elif isinstance(content, list):
                results.extend(
                    (str(block.get("tool_use_id", "")), _text_of(block.get("content", "")))
                    for block in content
                    if isinstance(block, dict) and block.get("type") == "tool_result"
                )
        return results

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools the request declares."""
        tools = self.body.get("tools")
        if not isinstance(tools, list):
            return []
        names: list[str] = []
        for tool in tools:
            if not isinstance(tool, dict):
                continue
            spec = tool.get("function", {}) if self.wire == "openai" else tool
            if isinstance(spec, dict) and isinstance(spec.get("name"), str):
                names.append(spec["name"])
        return names

    @classmethod
    def from_chat_request(cls, request: ChatRequest, started: float) -> RecordedRequest:
        """A neutral request in OpenAI shape, so ``when`` and ``responder`` callables
        written for ``ScriptedLLMServer`` also work with ``ScriptedProvider``."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": s} for s in request.system]
        for message in request.messages:
            parts: list[dict[str, Any]] = []
            calls: list[dict[str, Any]] = []
            reasoning: list[str] = []
            for block in message.content:
                if isinstance(block, TextBlock):
                    parts.append({"type": "text", "text": block.text})
                elif isinstance(block, ImageBlock):
                    url = f"data:{block.mime};base64,{block.data_base64}"
                    parts.append({"type": "image_url", "image_url": {"url": url}})
                elif isinstance(block, ReasoningBlock):
                    reasoning.append(block.text)
                elif isinstance(block, ToolCallBlock):
                    function = {"name": block.name, "arguments": json.dumps(block.arguments)}
                    calls.append({"id": block.call_id, "type": "function", "function": function})
                elif isinstance(block, ToolResultBlock):
                    messages.append(
                        {"role": "tool", "tool_call_id": block.call_id, "content": block.output}
                    )
            if message.role == "tool" or not (parts or calls or reasoning):
                continue
            rendered: dict[str, Any] = {"role": message.role, "content": parts}
            if calls:
                rendered["tool_calls"] = calls
            if reasoning:
                rendered["reasoning_content"] = "".join(reasoning)
            messages.append(rendered)
        tools = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
        body: dict[str, Any] = {"model": request.model, "messages": messages, "stream": True}
        if tools:
            body["tools"] = tools
        return cls(wire="openai", path="", headers={}, body=body, started=started)
