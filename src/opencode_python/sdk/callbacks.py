"""Progress and notification callbacks, fed from the client's event bus.

Apps that only want "step 2 of 10" or "retrying after a rate limit" register a
callback instead of subscribing to raw events.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..agents.result import AgentResult
from ..core import events as ev
from ..core.events import Event, EventBus
from ..core.models import ToolPart

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Notification:
    """Something a user should hear about: a retry, a failure, a finished run."""

    level: Literal["info", "warning", "error"]
    title: str
    message: str
    session_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[int, str], Awaitable[None] | None]
NotificationCallback = Callable[[Notification], Awaitable[None] | None]


class CallbackHub:
    """Turns bus events into progress and notification callbacks."""

    def __init__(self, bus: EventBus, *, progress: bool, notifications: bool) -> None:
        self._progress: list[ProgressCallback] = []
        self._notify: list[NotificationCallback] = []
        if progress:
            bus.subscribe(ev.RUN_STEP, self._on_step)
            bus.subscribe(ev.TOOL_STARTED, self._on_tool)
        if notifications:
            bus.subscribe(ev.PROVIDER_RETRY, self._on_retry)
            bus.subscribe(ev.TOOL_ERROR, self._on_tool_error)
            bus.subscribe(ev.RUN_FINISHED, self._on_finished)

    def add_progress(self, callback: ProgressCallback) -> None:
        self._progress.append(callback)

    def add_notification(self, callback: NotificationCallback) -> None:
        self._notify.append(callback)

    async def _on_step(self, event: Event) -> None:
        d = event.data
        await self._emit_progress(
            d["step"], f"step {d['step']} of at most {d['max_steps']}: asking {d['model']}"
        )

    async def _on_tool(self, event: Event) -> None:
        part: ToolPart = event.data["part"]
        await self._emit_progress(0, f"running tool {part.tool}")

    async def _on_retry(self, event: Event) -> None:
        d = event.data
        await self._emit_notification(
            Notification(
                "warning",
                "Retrying model call",
                f"{d['error']}; retry {d['attempt']} of {d['max_retries']} in {d['delay']:.1f} s",
                event.session_id,
                dict(d),
            )
        )

    async def _on_tool_error(self, event: Event) -> None:
        part: ToolPart = event.data["part"]
        await self._emit_notification(
            Notification(
                "warning",
                f"Tool {part.tool} failed",
                str(event.data.get("error")),
                event.session_id,
                {"call_id": part.call_id, "tool": part.tool},
            )
        )

    async def _on_finished(self, event: Event) -> None:
        result: AgentResult = event.data["result"]
        if result.error:
            note = Notification("error", "Run failed", result.error, event.session_id)
        else:
            note = Notification(
                "info",
                "Run finished",
                f"{result.steps} step(s), {result.tokens_used.total} tokens, "
                f"${result.cost:.4f}, {result.duration:.1f} s",
                event.session_id,
            )
        note.data = {"result": result}
        await self._emit_notification(note)

    async def _emit_progress(self, current: int, message: str) -> None:
        for callback in self._progress:
            await _call(callback, current, message)

    async def _emit_notification(self, note: Notification) -> None:
        for callback in self._notify:
            await _call(callback, note)


async def _call(callback: Callable[..., Any], *args: Any) -> None:
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("callback %r failed", callback)
