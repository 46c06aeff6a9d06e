"""``ToolExecutionTracker``: every tool execution, persisted as it starts and ends."""

from __future__ import annotations

import asyncio
from typing import Any

from ..core.models import ToolExecution, now_ms
from ..storage.base import Store
from .framework import ToolContext


class ToolExecutionTracker:
    """Records executions in a store (or nowhere, without one) and reads them back."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store

    async def started(self, tool_id: str, args: dict[str, Any], ctx: ToolContext) -> ToolExecution:
        """Record a call that is about to run; returns the record to finish later."""
        record = ToolExecution(
            session_id=ctx.session_id,
            message_id=ctx.message_id,
            call_id=ctx.call_id,
            tool=tool_id,
            agent=ctx.agent,
            arguments=args,
        )
        await self._save(record)
        return record

    async def finished(
        self,
        record: ToolExecution,
        *,
        status: str,
        title: str | None = None,
        output: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a call ended. Shielded: an aborted run still records the abort."""
        record.status = "completed" if status == "completed" else "error"
        record.title, record.output, record.error = title, output, error
        record.time.end = now_ms()
        await asyncio.shield(self._save(record))

    async def history(
        self, session_id: str, *, tool: str | None = None, limit: int | None = 100
    ) -> list[ToolExecution]:
        """The most recent ``limit`` executions of a session, oldest first."""
        if self.store is None:
            return []
        return await self.store.list_tool_executions(session_id, tool=tool, limit=limit)

    async def _save(self, record: ToolExecution) -> None:
        if self.store is not None:
            await self.store.save_tool_execution(record)
