"""The tool execution log: every call a model made, derived from its stored tool part.

A tool call has one stored form, its ``ToolPart``. The log's record is computed from
that part (``execution_of``) and written in the same transaction, so the two never
disagree; calls that were refused are in the log with the reason, since an audit log
that omits refusals hides what matters most.
"""

from __future__ import annotations

from ..core.models import ExecutionStatus, ToolExecution, ToolPart
from ..storage.contract import ToolLog

#: The ``ToolState.metadata`` key where a refused call keeps its reason.
REFUSED_KEY = "refused"


def execution_id(part_id: str) -> str:
    """The log record's id for a tool part: stable, so each write replaces the last."""
    return "tex_" + part_id.partition("_")[2]


def execution_of(part: ToolPart, agent: str) -> ToolExecution:
    """The log record of the call ``part`` holds, as it stands now."""
    state = part.state
    status: ExecutionStatus
    reason = state.metadata.get(REFUSED_KEY)
    if state.status in ("pending", "running"):
        status = "running"
    elif state.status == "completed":
        status = "completed"
    elif reason is not None:
        status = "refused"
    elif "aborted" in state.metadata:
        status = "aborted"
    elif "interrupted" in state.metadata:
        status = "interrupted"
    else:
        status = "error"
    record = ToolExecution(
        id=execution_id(part.id),
        session_id=part.session_id,
        message_id=part.message_id,
        call_id=part.call_id,
        tool=part.tool,
        agent=agent,
        arguments=dict(state.input),
        status=status,
        reason=reason if status == "refused" else None,
        title=state.title,
        output=state.output,
        error=state.error,
    )
    if state.time is not None:
        record.time.start = state.time.start
        record.time.end = state.time.end
    return record


class ToolExecutionTracker:
    """Reads the execution log of a store (empty without one)."""

    def __init__(self, store: ToolLog | None = None) -> None:
        self.store = store

    async def history(
        self, session_id: str, *, tool: str | None = None, limit: int | None = 100
    ) -> list[ToolExecution]:
        """The most recent ``limit`` executions of a session, oldest first."""
        if self.store is None:
            return []
        return await self.store.list_tool_executions(session_id, tool=tool, limit=limit)
