"""The client's events as OpenCode's, and the SSE streams of ``/event`` and ``/global/event``.

OpenCode's clients read ``data: {"id", "type", "properties"}`` lines ending in one blank
line (LF only: the JS SDK splits on ``\\n\\n``), ``server.connected`` first and a
``server.heartbeat`` every 10 s. Events the engine has and OpenCode does not (a run's
steps, tool starts, tasks) are not sent; streamed text goes as ``message.part.delta``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from ..core import events as ev
from ..core.events import Event, EventBus
from ..core.ids import new_id
from ..core.unfinished import ABORTED
from .wire import message_info, part_json, session_info

HEARTBEAT_S = 10.0
CONNECTED = "server.connected"
HEARTBEAT = "server.heartbeat"


@dataclass(frozen=True, slots=True)
class WireEvent:
    """One OpenCode event; ``directory`` is the project it belongs to (None: all)."""

    type: str
    properties: dict[str, Any]
    directory: str | None = None

    def envelope(self) -> dict[str, Any]:
        return {"id": new_id("event"), "type": self.type, "properties": self.properties}


class EventTranslator:
    """Turns bus events into OpenCode events, for the project in ``directory``."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def translate(self, event: Event) -> list[WireEvent]:
        data, sid = event.data, event.session_id or ""
        kind = event.type
        out: list[tuple[str, dict[str, Any]]] = []
        if kind in (ev.SESSION_CREATED, ev.SESSION_UPDATED, ev.SESSION_ARCHIVED):
            name = "session.created" if kind == ev.SESSION_CREATED else "session.updated"
            info = session_info(data["session"]).model_dump(mode="json", exclude_none=True)
            out.append((name, {"sessionID": info["id"], "info": info}))
        elif kind == ev.SESSION_DELETED:
            session_id = data.get("session_id", sid)
            out.append(("session.deleted", {"sessionID": session_id, "info": {"id": session_id}}))
        elif kind == ev.SESSION_STATUS:
            out.extend(_status(sid, data))
        elif kind == ev.MESSAGE_UPDATED:
            message = message_info(data["message"], self.directory)
            dumped = message.model_dump(mode="json", exclude_none=True)
            out.append(("message.updated", {"sessionID": sid, "info": dumped}))
        elif kind == ev.PART_UPDATED:
            part = part_json(data["part"]).model_dump(mode="json", exclude_none=True)
            props = {"sessionID": sid, "part": part, "time": _ms(event)}
            out.append(("message.part.updated", props))
        elif kind == ev.PART_DELTA:
            out.append(
                (
                    "message.part.delta",
                    {
                        "sessionID": sid,
                        "messageID": data["message_id"],
                        "partID": data["part_id"],
                        "field": data.get("field", "text"),
                        "delta": data["delta"],
                    },
                )
            )
        elif kind == ev.PART_REMOVED:
            out.append(
                (
                    "message.part.removed",
                    {"sessionID": sid, "messageID": data["message_id"], "partID": data["part_id"]},
                )
            )
        elif kind == ev.RUN_FINISHED:
            result = data["result"]
            if result.error is not None:
                name = "MessageAbortedError" if result.error == ABORTED else "UnknownError"
                error = {"name": name, "data": {"message": result.error}}
                out.append(("session.error", {"sessionID": sid, "error": error}))
        return [WireEvent(name, props, self.directory) for name, props in out]


def _status(session_id: str, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    status = data.get("status")
    if status == "retry":
        body = {
            "type": "retry",
            "attempt": data.get("attempt", 1),
            "message": str(data.get("error", "")),
            "next": int((data.get("delay") or 0) * 1000),
        }
        return [("session.status", {"sessionID": session_id, "status": body})]
    if status == "idle":
        return [
            ("session.status", {"sessionID": session_id, "status": {"type": "idle"}}),
            ("session.idle", {"sessionID": session_id}),
        ]
    return [("session.status", {"sessionID": session_id, "status": {"type": "busy"}})]


def _ms(event: Event) -> int:
    return int(event.time * 1000)


class EventHub:
    """Fans the client's events out to every SSE connection, as OpenCode events.

    The server's own events (a permission asked or replied) are put in directly with
    ``emit``. Each connection has its own queue, so a slow reader delays only itself.
    """

    def __init__(self, bus: EventBus, translator: EventTranslator) -> None:
        self._translator = translator
        self._queues: set[asyncio.Queue[WireEvent]] = set()
        self._unsubscribe: Callable[[], None] = bus.subscribe("*", self._on_event)

    def close(self) -> None:
        self._unsubscribe()

    def _on_event(self, event: Event) -> None:
        for wire in self._translator.translate(event):
            self.emit(wire)

    def emit(self, event: WireEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    async def stream(self, *, wrap: bool, heartbeat: float = HEARTBEAT_S) -> AsyncIterator[str]:
        """Each event's JSON from now on, ``server.connected`` first and a heartbeat
        when nothing happened for ``heartbeat`` seconds. ``wrap`` gives
        ``/global/event``'s ``{directory, payload}`` form."""
        queue: asyncio.Queue[WireEvent] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield _data(WireEvent(CONNECTED, {}), wrap)
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), heartbeat)
                except TimeoutError:
                    event = WireEvent(HEARTBEAT, {})
                yield _data(event, wrap)
        finally:
            self._queues.discard(queue)


def _data(event: WireEvent, wrap: bool) -> str:
    body: dict[str, Any] = event.envelope()
    if wrap:
        body = {"payload": body}
        if event.type not in (CONNECTED, HEARTBEAT) and event.directory is not None:
            body = {"directory": event.directory, **body}
    return json.dumps(body, separators=(",", ":"))
