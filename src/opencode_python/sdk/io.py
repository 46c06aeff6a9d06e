"""The IO handler: one object that answers for the user (permissions and questions).

Apps with a UI implement both methods once and hand the object to
``client.set_io_handler`` instead of registering two callbacks.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..permissions.gate import ApproverResult, PermissionRequest
from ..tools.framework import Question


@runtime_checkable
class IOHandler(Protocol):
    """Answers ``ask`` permission rules and the ``question`` tool for the user."""

    async def confirm_permission(self, request: PermissionRequest) -> ApproverResult:
        """``"once"``, ``"always"``, ``"reject"`` or a ``PermissionReply`` with a message."""
        ...

    async def ask_questions(self, questions: list[Question]) -> list[str]:
        """One answer per question, in order."""
        ...
