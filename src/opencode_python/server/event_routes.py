"""``/event``, ``/global/event`` and the permission replies: a run's life, live.

Streams are ``text/event-stream`` with LF line endings only, which the JS SDK needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sse_starlette import EventSourceResponse

from .app import ServerState, state_of
from .bodies import PermissionReplyBody, PermissionRespond
from .errors import PermissionNotFound

router = APIRouter()
global_router = APIRouter(tags=["global"])  # /global/*: no directory, as in OpenCode
State = Annotated[ServerState, Depends(state_of)]


def _sse(events: AsyncIterator[str]) -> EventSourceResponse:
    async def frames() -> AsyncIterator[dict[str, str]]:
        async for data in events:
            yield {"data": data}

    headers = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
    return EventSourceResponse(frames(), sep="\n", headers=headers)


@router.get("/event", operation_id="event.subscribe", tags=["event"])
async def subscribe(state: State) -> EventSourceResponse:
    """This project's events, from now on (``server.connected`` first)."""
    return _sse(state.hub.stream(wrap=False))


@global_router.get("/global/event", operation_id="global.event")
async def global_events(state: State) -> EventSourceResponse:
    """Every event as ``{directory, payload}``."""
    return _sse(state.hub.stream(wrap=True))


@router.get("/permission", operation_id="permission.list", tags=["permission"])
async def pending(state: State) -> list[dict[str, Any]]:
    """The permission requests waiting for an answer."""
    return [request.wire() for request in state.approver.pending()]


@router.post(
    "/session/{sessionID}/permissions/{permissionID}",
    operation_id="permission.respond",
    tags=["permission"],
)
async def respond(state: State, sessionID: str, permissionID: str, body: PermissionRespond) -> bool:
    """Answer a permission request (the v1 SDK's ``postSessionIdPermissionsPermissionId``)."""
    _answer(state, permissionID, body.response, None, session_id=sessionID)
    return True


@router.post("/permission/{requestID}/reply", operation_id="permission.reply", tags=["permission"])
async def reply(state: State, requestID: str, body: PermissionReplyBody) -> bool:
    _answer(state, requestID, body.reply, body.message)
    return True


def _answer(
    state: ServerState,
    request_id: str,
    answer: Any,
    message: str | None,
    *,
    session_id: str | None = None,
) -> None:
    pending = {p.id: p for p in state.approver.pending()}.get(request_id)
    if pending is None or (session_id is not None and pending.request.session_id != session_id):
        raise PermissionNotFound(request_id)
    state.approver.reply(request_id, answer, message)
