"""The event bus a client owns: every step of a run is published here.

Patterns are event names or shell-style wildcards (``message.*``, ``*``). Handlers may
be sync or async and may publish in turn; a failing handler is logged and skipped.
Delivery is in publish order: ``publish`` returns after every handler has run.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger(__name__)

# Names of the events the engine publishes.
SESSION_CREATED = "session.created"
SESSION_UPDATED = "session.updated"
SESSION_DELETED = "session.deleted"
SESSION_STATUS = "session.status"
SESSION_ARCHIVED = "session.archived"
SESSION_COMPACTED = "session.compacted"
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
PART_UPDATED = "message.part.updated"
PART_REMOVED = "message.part.removed"
PART_DELTA = "message.part.delta"
TOOL_STARTED = "tool.started"
TOOL_COMPLETED = "tool.completed"
TOOL_ERROR = "tool.error"
PROVIDER_RETRY = "provider.retry"
RUN_STARTED = "run.started"
RUN_STEP = "run.step"
RUN_FINISHED = "run.finished"
OUTPUT_PARTIAL = "output.partial"
AGENT_STATE = "agent.state"
TASK_STARTED = "task.started"
TASK_COMPLETED = "task.completed"
TASK_FAILED = "task.failed"
TASK_CANCELLED = "task.cancelled"


@dataclass(slots=True)
class Event:
    """One thing that happened. ``data`` holds the event's fields (models, ids, text)."""

    type: str
    data: dict[str, Any]
    session_id: str | None = None
    time: float = field(default_factory=time.time)

    @property
    def partial(self) -> Any:
        """The structured answer so far, in an ``output.partial`` event (else None)."""
        return self.data.get("partial")


Handler = Callable[[Event], Awaitable[None] | None]


class EventBus:
    """Publish/subscribe with wildcard patterns; owned by one client, never global."""

    def __init__(self) -> None:
        self._subscriptions: list[tuple[int, str, Handler]] = []
        self._next_token = 0
        self._routes: dict[str, list[Handler]] = {}

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for every event whose type matches ``pattern``.

        Returns a callable that removes the subscription (safe to call twice).
        """
        token = self._next_token
        self._next_token += 1
        self._subscriptions.append((token, pattern, handler))
        self._routes.clear()

        def unsubscribe() -> None:
            before = len(self._subscriptions)
            self._subscriptions = [s for s in self._subscriptions if s[0] != token]
            if len(self._subscriptions) != before:
                self._routes.clear()

        return unsubscribe

    def _handlers_for(self, event_type: str) -> list[Handler]:
        handlers = self._routes.get(event_type)
        if handlers is None:
            handlers = [h for _, pattern, h in self._subscriptions if _matches(pattern, event_type)]
            self._routes[event_type] = handlers
        return handlers

    def has_subscribers(self, event_type: str) -> bool:
        """Whether publishing ``event_type`` would reach anyone (lets hot paths skip work)."""
        return bool(self._handlers_for(event_type))

    async def publish(
        self, event_type: str, data: dict[str, Any], *, session_id: str | None = None
    ) -> Event:
        """Deliver an event to every matching handler, in subscription order."""
        event = Event(event_type, data, session_id)
        for handler in self._handlers_for(event_type):
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("event handler %r failed on %s", handler, event_type)
        return event


def _matches(pattern: str, event_type: str) -> bool:
    if pattern == "*" or pattern == event_type:
        return True
    return fnmatchcase(event_type, pattern)
