"""An in-process ``Provider`` that replays scripted turns as neutral stream events.

For tests of the agent loop that need no HTTP at all: the same ``Turn``s that
``ScriptedLLMServer`` sends over the wire come out here as ``StreamEvent``s, and faults
come out as the ``ProviderError`` a real adapter would raise for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable

from ..core.errors import (
    BrokenStreamError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitError,
)
from ..providers.base import (
    ChatRequest,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallStart,
)
from .script import Fault, RecordedRequest, Turn


class ScriptedProvider:
    """Plays ``Turn``s in order of arrival, taking the first whose ``when`` matches.

    ``when`` and ``responder`` callables receive the request as a ``RecordedRequest`` in
    OpenAI shape, so one script serves this provider and ``ScriptedLLMServer`` alike;
    ``requests`` keeps the ``ChatRequest``s themselves.
    """

    def __init__(
        self,
        turns: Iterable[Turn] | None = None,
        *,
        responder: Callable[[RecordedRequest], Turn] | None = None,
        id: str = "scripted",
    ) -> None:
        self.id = id
        self.requests: list[ChatRequest] = []
        self._turns: list[Turn] = list(turns or [])
        self._responder = responder

    def add_turn(self, turn: Turn) -> None:
        self._turns.append(turn)

    def add_turns(self, turns: Iterable[Turn]) -> None:
        self._turns.extend(turns)

    @property
    def remaining_turns(self) -> list[Turn]:
        """The queued turns no request has taken yet (a copy)."""
        return list(self._turns)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        turn = self._take_turn(request)
        if turn.delay:
            await asyncio.sleep(turn.delay)
        fault = turn.fault
        if fault is not None and fault.kind == "status":
            raise self._status_error(fault)
        events = self._events(turn)
        if fault is not None:  # a cut, a hang or a stall
            events = [] if fault.kind == "hang" else events[: fault.after_chunks]
        for sent, event in enumerate(events):
            if sent and turn.chunk_delay:
                await asyncio.sleep(turn.chunk_delay)
            yield event
        if fault is not None and fault.kind in ("hang", "stall"):
            # In process there is no socket to time out: report what the network
            # adapters report once their read timeout passes.
            raise ProviderConnectionError(
                f"Scripted {fault.kind}: the request to {self.id} timed out",
                provider_id=self.id,
            )
        if fault is not None:
            raise BrokenStreamError(
                f"Scripted stream cut after {len(events)} events, before the model finished",
                provider_id=self.id,
            )
        if events and turn.chunk_delay:
            await asyncio.sleep(turn.chunk_delay)
        yield Finish(turn.finish_reason, turn.token_usage)

    async def aclose(self) -> None:
        """Nothing to release; present because the ``Provider`` protocol asks for it."""

    def _take_turn(self, request: ChatRequest) -> Turn:
        recorded = RecordedRequest.from_chat_request(request, time.monotonic())
        for index, turn in enumerate(self._turns):
            if turn.matches(recorded):
                return self._turns.pop(index)
        if self._responder is not None:
            return self._responder(recorded)
        raise ProviderError(
            f"ScriptedProvider: no scripted turn matches request #{len(self.requests)} "
            f"(last user text: {recorded.last_user_text[:200]!r}); add a Turn",
            provider_id=self.id,
        )

    def _events(self, turn: Turn) -> list[StreamEvent]:
        """Everything the turn streams before its ``Finish``."""
        events: list[StreamEvent] = [ReasoningDelta(p) for p in turn.pieces(turn.reasoning or "")]
        events += [TextDelta(p) for p in turn.pieces(turn.text or "")]
        for call in turn.tool_calls:
            events.append(ToolCallStart(call.call_id, call.name))
            events += [ToolCallDelta(call.call_id, p) for p in turn.pieces(call.arguments_json)]
            events.append(ToolCall(call.call_id, call.name, call.arguments_json))
        return events

    def _status_error(self, fault: Fault) -> ProviderError:
        """The error a real adapter raises for this HTTP status."""
        code = fault.status_code
        error: type[ProviderError]
        if code == 429:
            error = RateLimitError
        elif code >= 500:
            error = ProviderUnavailableError
        elif code in (401, 403):
            error = ProviderAuthError
        else:
            error = ProviderRequestError
        return error(
            f"Scripted fault: HTTP {code}",
            provider_id=self.id,
            status_code=code,
            retry_after=fault.retry_after,
        )
