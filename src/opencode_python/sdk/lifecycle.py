"""Session lifecycle hooks: app code that runs when sessions change.

Hooks are fed from the event bus, so they see exactly what was stored; a hook may be
sync or async, and a failing hook is logged and breaks nothing.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..core import events as ev
from ..core.events import Event, EventBus

log = logging.getLogger(__name__)

Hook = Callable[..., Awaitable[None] | None]

# hook name -> (event it listens to, what it is called with)
HOOK_EVENTS: dict[str, str] = {
    "on_session_created": ev.SESSION_CREATED,
    "on_session_updated": ev.SESSION_UPDATED,
    "on_message_added": ev.MESSAGE_CREATED,
    "on_session_archived": ev.SESSION_ARCHIVED,
    "on_session_compacted": ev.SESSION_COMPACTED,
}


class SessionLifecycle:
    """Holds the app's hooks and calls them from bus events."""

    def __init__(self, bus: EventBus) -> None:
        self._hooks: dict[str, list[Hook]] = {name: [] for name in HOOK_EVENTS}
        for name, event_type in HOOK_EVENTS.items():
            bus.subscribe(event_type, self._dispatcher(name))

    def add(self, name: str, hook: Hook) -> None:
        self._hooks[name].append(hook)

    def _dispatcher(self, name: str) -> Callable[[Event], Awaitable[None]]:
        async def dispatch(event: Event) -> None:
            argument = _argument(event)
            for hook in self._hooks[name]:
                try:
                    result = hook(argument)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("session lifecycle hook %s (%r) failed", name, hook)

        return dispatch


def _argument(event: Event) -> Any:
    """What a hook receives: the session, or the message that was added."""
    data = event.data
    return data.get("session") or data.get("message") or data
