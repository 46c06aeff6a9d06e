"""Tool calls in the plain text of a model that has no tool-calling API.

The local model is asked to answer ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``.
A small model follows that loosely, so parsing is forgiving where intent is plain (a
missing closing tag at the end, a whole answer that is one JSON call) and strict
elsewhere: whatever is not a call to an offered tool stays text, and nothing here
raises. Pure functions and one small state machine, testable without a model.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """A call to an offered tool, as the model wrote it."""

    name: str
    arguments: dict[str, Any]


Piece = str | ParsedCall


def as_call(value: object, tools: Collection[str], *, need_arguments: bool) -> ParsedCall | None:
    """``value`` as a call if it is ``{"name": <offered tool>, "arguments": {...}}``.

    Inside a tool_call block the intent is explicit, so missing arguments mean none;
    a bare JSON answer must name its arguments to count as a call.
    """
    if not isinstance(value, dict):
        return None
    name = value.get("name")
    if not isinstance(name, str) or name not in tools:
        return None
    if "arguments" not in value:
        return None if need_arguments else ParsedCall(name, {})
    arguments = value["arguments"]
    return ParsedCall(name, arguments) if isinstance(arguments, dict) else None


def parse_block(body: str, tools: Collection[str]) -> ParsedCall | None:
    """The call in the body of a closed tool_call block, or None."""
    try:
        return as_call(json.loads(body), tools, need_arguments=False)
    except ValueError:
        return None


def parse_unclosed_block(body: str, tools: Collection[str]) -> ParsedCall | None:
    """The call in a block the output ended inside: one JSON object and nothing after it."""
    text = body.strip()
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    return as_call(value, tools, need_arguments=False) if end == len(text) else None


def parse_bare_call(text: str, tools: Collection[str]) -> ParsedCall | None:
    """The call if the whole output is one JSON object calling an offered tool."""
    try:
        return as_call(json.loads(text), tools, need_arguments=True)
    except ValueError:
        return None


def partial_tag_length(text: str) -> int:
    """How many trailing characters of ``text`` could be the start of ``<tool_call>``."""
    for size in range(min(len(text), len(OPEN_TAG) - 1), 0, -1):
        if OPEN_TAG.startswith(text[-size:]):
            return size
    return 0


class ToolCallParser:
    """Splits streamed model output into text pieces and tool calls.

    Text is released as soon as it cannot be markup: a tail that may begin
    ``<tool_call>`` waits for the next chunk, a block waits for its closing tag, and
    an output that starts with ``{`` waits for the end (it may be a bare JSON call).
    With no tools offered every chunk passes through untouched.
    """

    def __init__(self, tools: Collection[str]) -> None:
        self._tools = frozenset(tools)
        self._buffer = ""
        self._in_block = False
        self._started = False  # a non-space character has been seen
        self._bare = False  # the output began with "{"

    def feed(self, text: str) -> list[Piece]:
        """The pieces ``text`` completes; the rest is held for later chunks."""
        if not self._tools:
            return [text] if text else []
        self._buffer += text
        if not self._started:
            stripped = self._buffer.lstrip()
            if not stripped:
                return []
            self._started = True
            self._bare = stripped.startswith("{")
        return [] if self._bare else self._drain()

    def finish(self) -> list[Piece]:
        """Everything still held, once the output has ended."""
        if self._bare:
            self._bare = False
            call = parse_bare_call(self._buffer, self._tools)
            if call is not None:
                self._buffer = ""
                return [call]
            pieces = self._drain()  # not one call: read it like any other output
        else:
            pieces = []
        rest, self._buffer = self._buffer, ""
        if self._in_block:
            self._in_block = False
            call = parse_unclosed_block(rest, self._tools)
            pieces.append(call if call is not None else OPEN_TAG + rest)
        elif rest:
            pieces.append(rest)
        return pieces

    def _drain(self) -> list[Piece]:
        pieces: list[Piece] = []
        while True:
            if self._in_block:
                end = self._buffer.find(CLOSE_TAG)
                if end < 0:
                    return pieces
                body = self._buffer[:end]
                self._buffer = self._buffer[end + len(CLOSE_TAG) :]
                self._in_block = False
                call = parse_block(body, self._tools)
                pieces.append(call if call is not None else OPEN_TAG + body + CLOSE_TAG)
                continue
            start = self._buffer.find(OPEN_TAG)
            if start < 0:
                keep = partial_tag_length(self._buffer)
                ready = self._buffer[: len(self._buffer) - keep]
                self._buffer = self._buffer[len(ready) :]
                if ready:
                    pieces.append(ready)
                return pieces
            if start:
                pieces.append(self._buffer[:start])
            self._buffer = self._buffer[start + len(OPEN_TAG) :]
            self._in_block = True
