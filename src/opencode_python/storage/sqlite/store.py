"""``SQLiteStore``: the ``Store`` contract on one SQLite file, served by one thread.

Every method is one hop to the store thread (``worker.py``) running one operation
from the modules beside this one; the methods here only pick the operation.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from ...core.errors import StorageError
from ...core.models import (
    Approval,
    MemoryEntry,
    MemoryFilter,
    MemoryScope,
    Message,
    MessageWithParts,
    Part,
    Session,
    TokenUsage,
    ToolExecution,
)
from ..contract import MemoryVectors, Recovery, Store, UsageCharge, WriteBatch
from . import approvals, kv, memory, messages, recovery, sessions, toollog, transfer
from .batch import write_batch
from .db import Db
from .worker import Worker

P = ParamSpec("P")
T = TypeVar("T")


class SQLiteStore(Store):
    """``Store`` on one SQLite file (WAL). Opens on first use; ``close()`` when done.

    A store that is never closed still lets the process exit with every write
    committed, and warns (``ResourceWarning``) as an unclosed file does.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._worker: Worker | None = None
        self._finalizer: weakref.finalize[[], SQLiteStore] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    async def _call(
        self, op: Callable[Concatenate[Db, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        worker = self._worker
        if worker is None:
            if self._closed:
                raise StorageError(
                    f"the store for {self.path} is closed; call open() to use it again"
                )
            worker = self._worker = Worker(self.path)
            self._finalizer = weakref.finalize(self, worker.abandon)
        return await worker.call(self, op, *args, **kwargs)

    # lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        self._closed = False
        await self._call(_nothing)

    async def close(self) -> None:
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None:
            assert self._finalizer is not None
            self._finalizer.detach()
            await worker.close()

    # sessions ----------------------------------------------------------------------

    async def create_session(self, session: Session) -> Session:
        return await self._call(sessions.create, session)

    async def get_session(self, session_id: str) -> Session:
        return await self._call(sessions.get, session_id)

    async def list_sessions(
        self,
        *,
        project_id: str | None = None,
        parent_id: str | None = None,
        roots_only: bool = False,
        limit: int | None = None,
    ) -> list[Session]:
        return await self._call(sessions.list_, project_id, parent_id, roots_only, limit)

    async def update_session(self, session: Session) -> Session:
        return await self._call(sessions.update, session)

    async def add_session_usage(self, session_id: str, usage: TokenUsage, cost: float) -> Session:
        return await self._call(sessions.charge, UsageCharge(session_id, usage, cost))

    async def delete_session(self, session_id: str) -> None:
        await self._call(sessions.delete, session_id)

    # messages and parts ------------------------------------------------------------

    async def save_message(self, message: Message) -> None:
        await self._call(messages.save_message, message)

    async def get_message(self, session_id: str, message_id: str) -> MessageWithParts:
        return await self._call(messages.get_message, session_id, message_id)

    async def list_messages(
        self, session_id: str, *, limit: int | None = None
    ) -> list[MessageWithParts]:
        return await self._call(messages.list_messages, session_id, limit)

    async def delete_message(self, session_id: str, message_id: str) -> None:
        await self._call(messages.delete_message, session_id, message_id)

    async def save_part(self, part: Part) -> None:
        await self._call(messages.save_parts, [part])

    async def save_parts(self, parts: Sequence[Part]) -> None:
        if parts:
            await self._call(messages.save_parts, parts)

    async def delete_parts(self, message_id: str, part_ids: Sequence[str] | None = None) -> None:
        if part_ids is None or part_ids:
            await self._call(messages.delete_parts, message_id, part_ids)

    async def write(self, batch: WriteBatch) -> dict[str, Session]:
        if not batch:
            return {}
        return await self._call(write_batch, batch)

    async def recover_interrupted(
        self, *, session_id: str | None = None, include_own: bool = False
    ) -> Recovery:
        return await self._call(recovery.recover, session_id, include_own)

    # export / import ---------------------------------------------------------------

    async def export_session(self, session_id: str) -> dict[str, Any]:
        return await self._call(transfer.export, session_id)

    async def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        return await self._call(transfer.import_, data, overwrite)

    # key-value state ---------------------------------------------------------------

    async def get_state(self, namespace: str, key: str) -> Any | None:
        return await self._call(kv.get, namespace, key)

    async def set_state(self, namespace: str, key: str, value: Any) -> None:
        await self._call(kv.set_, namespace, key, json.dumps(value))

    async def delete_state(self, namespace: str, key: str) -> None:
        await self._call(kv.delete, namespace, key)

    # tool executions ---------------------------------------------------------------

    async def save_tool_execution(self, execution: ToolExecution) -> None:
        await self._call(toollog.upsert, [execution])

    async def list_tool_executions(
        self, session_id: str, *, tool: str | None = None, limit: int | None = 100
    ) -> list[ToolExecution]:
        return await self._call(toollog.list_, session_id, tool, limit)

    # approvals ---------------------------------------------------------------------

    async def add_approval(self, approval: Approval) -> None:
        await self._call(approvals.add, approval)

    async def list_approvals(self, project_id: str, *, agent: str | None = None) -> list[Approval]:
        return await self._call(approvals.list_, project_id, agent)

    async def delete_approval(
        self, project_id: str, agent: str, permission: str, pattern: str
    ) -> bool:
        return await self._call(approvals.delete, project_id, agent, permission, pattern)

    # memories ----------------------------------------------------------------------

    async def save_memory(self, entry: MemoryEntry) -> None:
        await self._call(memory.save, [entry])

    async def save_memories(self, entries: Sequence[MemoryEntry]) -> None:
        """Insert or replace several memories in one transaction (bulk loads)."""
        if entries:
            await self._call(memory.save, entries)

    async def get_memory(self, memory_id: str) -> MemoryEntry:
        return await self._call(memory.get, memory_id)

    async def get_memories(self, memory_ids: Sequence[str]) -> list[MemoryEntry]:
        """All in one query."""
        return await self._call(memory.get_many, memory_ids) if memory_ids else []

    async def delete_memory(self, memory_id: str) -> bool:
        return await self._call(memory.delete, memory_id)

    async def list_memories(
        self, filt: MemoryFilter, *, limit: int | None = None
    ) -> list[MemoryEntry]:
        return await self._call(memory.list_, filt, limit)

    async def has_memories(self, filt: MemoryFilter) -> bool:
        return await self._call(memory.has_any, filt)

    async def keyword_search(
        self, query: str, filt: MemoryFilter, limit: int
    ) -> list[tuple[str, float]]:
        return await self._call(memory.keyword_search, query, filt, limit)

    async def memory_vectors(self, project_id: str, embedder: str, dims: int) -> MemoryVectors:
        return await self._call(memory.vectors, project_id, embedder, dims)

    async def memory_version(self) -> int:
        return await self._call(memory.version)

    async def touch_memories(self, memory_ids: Sequence[str]) -> None:
        if memory_ids:
            await self._call(memory.touch, memory_ids)

    async def prune_memories(
        self,
        scope: MemoryScope,
        *,
        max_count: int | None = None,
        max_age_ms: int | None = None,
        project_id: str | None = None,
    ) -> int:
        return await self._call(memory.prune, scope, max_count, max_age_ms, project_id)


def _nothing(db: Db) -> None:
    """The operation ``open()`` runs: opening is what the thread does before any."""
