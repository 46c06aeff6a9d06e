"""Permission asks over HTTP: published as ``permission.asked``, answered by a reply
endpoint, rejected when nobody answers in time.

The run that asked waits on a future; the reply routes resolve it. A request nobody
answers within ``timeout`` seconds is rejected (and ``permission.replied`` says so), so
a run never hangs on a closed browser tab.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import NotFoundError
from ..core.ids import new_id
from ..permissions.gate import PermissionReply, PermissionRequest, Reply

DEFAULT_TIMEOUT_S = 300.0


@dataclass(slots=True)
class Pending:
    id: str
    request: PermissionRequest
    future: asyncio.Future[PermissionReply] = field(repr=False)

    def wire(self) -> dict[str, Any]:
        """OpenCode's ``PermissionRequest``."""
        request = self.request
        out: dict[str, Any] = {
            "id": self.id,
            "sessionID": request.session_id,
            "permission": request.permission,
            "patterns": list(request.patterns),
            "metadata": dict(request.metadata),
            "always": list(request.always_patterns),
        }
        if request.call_id:
            out["tool"] = {"messageID": request.message_id or "", "callID": request.call_id}
        return out


class HTTPApprover:
    """The client's approver while it is served: asks wait for an HTTP reply."""

    def __init__(
        self,
        emit: Callable[[str, dict[str, Any]], None],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._emit = emit
        self.timeout = timeout
        self._pending: dict[str, Pending] = {}

    def pending(self) -> list[Pending]:
        return list(self._pending.values())

    async def __call__(self, request: PermissionRequest) -> PermissionReply:
        pending = Pending(new_id("permission"), request, asyncio.get_running_loop().create_future())
        self._pending[pending.id] = pending
        self._emit("permission.asked", pending.wire())
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), self.timeout)
        except TimeoutError:
            self._replied(pending, "reject")
            return PermissionReply(
                "reject", f"nobody answered the permission request within {self.timeout:g} s"
            )
        finally:
            self._pending.pop(pending.id, None)

    def reply(self, request_id: str, reply: Reply, message: str | None = None) -> None:
        """Answer a pending request. Raises ``NotFoundError`` for one that is unknown or
        already answered."""
        pending = self._pending.get(request_id)
        if pending is None or pending.future.done():
            raise NotFoundError(f"Permission request not found: {request_id}")
        pending.future.set_result(PermissionReply(reply, message))
        self._replied(pending, reply)

    def _replied(self, pending: Pending, reply: Reply) -> None:
        self._emit(
            "permission.replied",
            {"sessionID": pending.request.session_id, "requestID": pending.id, "reply": reply},
        )
