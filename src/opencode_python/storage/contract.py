"""The ``Store`` contract: what the engine needs from persistent storage.

Small protocols, one per concern, so a component can say which part of the store it
uses (the permission gate needs approvals, the memory manager the memory index), and
``Store``, which combines them with the lifecycle and export/import. Implementations
subclass ``Store`` (``SQLiteStore``) and prove themselves with the suite in
``opencode_python.testing.store_conformance``. Every method is async; a store is opened
once by its owner (the client) and closed with ``close()``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

from ..core.errors import NotFoundError
from ..core.models import (
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


@dataclass(frozen=True, slots=True)
class MemoryVectors:
    """Every vector one embedder made that a project can see, with the columns a
    ``MemoryFilter`` tests, so a vector index can filter without asking again.

    Row ``i`` of the matrix is ``vectors[i * dims * 4:(i + 1) * dims * 4]``: float32,
    little-endian, as stored. ``None`` columns are stored as ``""``.
    """

    ids: list[str]
    scopes: list[str]
    session_ids: list[str]
    agents: list[str]
    created: list[int]
    metadata: list[str]
    """Each entry's metadata as JSON text (parsed only when a filter asks)."""
    dims: int
    vectors: bytes
    occurred: list[int] = field(default_factory=list)
    """When each memory is about: its ``occurred_at``, else when it was created."""


@dataclass(slots=True)
class UsageCharge:
    """Usage and cost to add to a session's totals (atomically, inside the batch)."""

    session_id: str
    usage: TokenUsage
    cost: float


@dataclass(slots=True)
class WriteBatch:
    """Rows that commit together, in one transaction, in this order: removed parts
    (by id), messages (upsert, keeping their parts), parts (upsert), executions
    (upsert), charges (added to session totals). A message and the charge of its usage
    in one batch can never disagree."""

    messages: list[Message] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    removed_parts: list[str] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)
    charges: list[UsageCharge] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Whether there is anything to write."""
        return bool(
            self.messages or self.parts or self.removed_parts or self.executions or self.charges
        )


@dataclass(slots=True)
class Recovery:
    """What ``recover_interrupted`` closed, as now stored (for events)."""

    messages: list[Message] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.messages or self.parts or self.executions)


class SessionStore(Protocol):
    """Sessions, their messages and parts, atomic batches, and crash recovery."""

    @abstractmethod
    async def create_session(self, session: Session) -> Session:
        """Store a new session. Raises ``StorageError`` if its id is taken."""

    @abstractmethod
    async def get_session(self, session_id: str) -> Session:
        """Raises ``NotFoundError`` naming the id when there is no such session."""

    @abstractmethod
    async def list_sessions(
        self,
        *,
        project_id: str | None = None,
        parent_id: str | None = None,
        roots_only: bool = False,
        limit: int | None = None,
    ) -> list[Session]:
        """Newest first (by last update)."""

    @abstractmethod
    async def update_session(self, session: Session) -> Session:
        """Replace the stored session's fields but its ``usage`` and ``cost``, which only
        charges change (so a rename racing a run never loses a step's usage); returns
        the session as stored. Raises ``NotFoundError`` if it is gone."""

    @abstractmethod
    async def add_session_usage(self, session_id: str, usage: TokenUsage, cost: float) -> Session:
        """Add a step's usage and cost to the session's totals, atomically; returns it."""

    @abstractmethod
    async def delete_session(self, session_id: str) -> None:
        """Delete the session with its messages, parts, execution records and child
        sessions, atomically. Raises ``NotFoundError`` when there is no such session."""

    @abstractmethod
    async def save_message(self, message: Message) -> None:
        """Insert or replace a message; a replaced message keeps its parts.

        Raises ``NotFoundError`` when its session does not exist.
        """

    @abstractmethod
    async def get_message(self, session_id: str, message_id: str) -> MessageWithParts:
        """Raises ``NotFoundError`` when the session has no such message."""

    @abstractmethod
    async def list_messages(
        self, session_id: str, *, limit: int | None = None
    ) -> list[MessageWithParts]:
        """Messages in creation order, each with its parts in creation order.

        With ``limit``, the most recent ``limit`` messages (still oldest first).
        Raises ``NotFoundError`` when there is no such session.
        """

    @abstractmethod
    async def delete_message(self, session_id: str, message_id: str) -> None:
        """Delete a message and its parts. Raises ``NotFoundError`` if it is not there."""

    @abstractmethod
    async def save_part(self, part: Part) -> None:
        """Insert or replace a part. Raises ``NotFoundError`` when its message does not exist."""

    @abstractmethod
    async def save_parts(self, parts: Sequence[Part]) -> None:
        """Insert or replace several parts in one transaction."""

    @abstractmethod
    async def delete_parts(self, message_id: str, part_ids: Sequence[str] | None = None) -> None:
        """Delete the given parts of a message, or all of them when ``part_ids`` is None."""

    @abstractmethod
    async def write(self, batch: WriteBatch) -> dict[str, Session]:
        """Commit the whole batch in one transaction (all or nothing); returns the
        sessions that were charged, after the charge, by id.

        Raises ``NotFoundError`` naming the id when a message's session, a part's
        message, an execution's session or a charged session does not exist; then
        nothing of the batch is written. A write whose caller is cancelled once the
        call has begun still commits, whole: a run that hands its rows over and is
        then aborted does not lose them.
        """

    @abstractmethod
    async def recover_interrupted(
        self, *, session_id: str | None = None, include_own: bool = False
    ) -> Recovery:
        """Close, as *interrupted*, what a writer that is no longer alive left unfinished.

        Unfinished means: assistant messages with ``time.completed`` None, text and
        reasoning parts with ``time.end`` None, tool parts pending or running, and
        execution records running (see ``opencode_python.core.unfinished``). A writer
        is this store or another store (in this process or another) on the same data;
        it is alive from its ``open()`` until its ``close()`` or its process's death.
        Records of live writers are left alone, except this store's own when
        ``include_own`` is true (the runtime passes it for a session whose run lock it
        holds). ``session_id`` None: every session. One transaction, one time stamp.
        """


class ApprovalStore(Protocol):
    """``always`` answers to permission questions, kept per project and agent."""

    @abstractmethod
    async def add_approval(self, approval: Approval) -> None:
        """Keep an ``always`` approval; adding the same one twice keeps one."""

    @abstractmethod
    async def list_approvals(self, project_id: str, *, agent: str | None = None) -> list[Approval]:
        """A project's approvals (optionally one agent's), oldest first."""

    @abstractmethod
    async def delete_approval(
        self, project_id: str, agent: str, permission: str, pattern: str
    ) -> bool:
        """Revoke one approval; False when there was none."""


class ToolLog(Protocol):
    """The audit log of tool calls, refused ones included."""

    @abstractmethod
    async def save_tool_execution(self, execution: ToolExecution) -> None:
        """Insert or replace one execution record.

        Raises ``NotFoundError`` when its session does not exist.
        """

    @abstractmethod
    async def list_tool_executions(
        self, session_id: str, *, tool: str | None = None, limit: int | None = 100
    ) -> list[ToolExecution]:
        """The most recent ``limit`` executions of a session (optionally of one tool),
        oldest first."""


class KeyValue(Protocol):
    """Small JSON values by namespace and key."""

    @abstractmethod
    async def get_state(self, namespace: str, key: str) -> Any | None:
        """The JSON value stored under ``namespace``/``key``, or None."""

    @abstractmethod
    async def set_state(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-able value, replacing what was there."""

    @abstractmethod
    async def delete_state(self, namespace: str, key: str) -> None:
        """Forget a value; nothing happens when there is none."""


class MemoryIndex(Protocol):
    """Long-term memories with the primitives hybrid search is built from."""

    @abstractmethod
    async def save_memory(self, entry: MemoryEntry) -> None:
        """Insert or replace a memory (``relevance_score`` is not stored)."""

    async def save_memories(self, entries: Sequence[MemoryEntry]) -> None:
        """Insert or replace several memories; a store may do it in one transaction."""
        for entry in entries:
            await self.save_memory(entry)

    @abstractmethod
    async def get_memory(self, memory_id: str) -> MemoryEntry:
        """Raises ``NotFoundError`` naming the id when there is no such memory."""

    async def get_memories(self, memory_ids: Sequence[str]) -> list[MemoryEntry]:
        """The memories with these ids, in their order; ids of deleted memories are left
        out (a search's results may be deleted before they are loaded)."""
        found = []
        for memory_id in memory_ids:
            try:
                found.append(await self.get_memory(memory_id))
            except NotFoundError:
                continue
        return found

    @abstractmethod
    async def delete_memory(self, memory_id: str) -> bool:
        """False when there was no such memory."""

    @abstractmethod
    async def list_memories(
        self, filt: MemoryFilter, *, limit: int | None = None
    ) -> list[MemoryEntry]:
        """The memories ``filt`` sees, newest first."""

    async def has_memories(self, filt: MemoryFilter) -> bool:
        """Whether ``filt`` sees any memory (a store may answer without sorting)."""
        return bool(await self.list_memories(filt, limit=1))

    @abstractmethod
    async def keyword_search(
        self, query: str, filt: MemoryFilter, limit: int
    ) -> list[tuple[str, float]]:
        """Ids of memories whose content shares a word with ``query``, best first, with
        a score (higher is better). The query is plain words: search syntax in it is
        matched literally."""

    @abstractmethod
    async def memory_vectors(self, project_id: str, embedder: str, dims: int) -> MemoryVectors:
        """The ``dims``-long vectors ``embedder`` made of memories of the project and of
        user-scope memories of every project."""

    @abstractmethod
    async def memory_version(self) -> int:
        """A number that changes whenever any process adds, changes or deletes a memory
        (not when one is merely used), so caches over memories know to reload."""

    @abstractmethod
    async def touch_memories(self, memory_ids: Sequence[str]) -> None:
        """Record that these memories were used now: ``last_used`` = now, ``use_count`` + 1."""

    @abstractmethod
    async def prune_memories(
        self,
        scope: MemoryScope,
        *,
        max_count: int | None = None,
        max_age_ms: int | None = None,
        project_id: str | None = None,
    ) -> int:
        """Forget memories of ``scope`` (in one project, or all): those unused for longer
        than ``max_age_ms`` (since last use, or creation if never used), then all but
        the ``max_count`` most recently used. Returns how many were deleted."""


class Store(SessionStore, ApprovalStore, ToolLog, KeyValue, MemoryIndex, Protocol):
    """Everything the engine persists, with a lifecycle and export/import."""

    @abstractmethod
    async def open(self) -> None:
        """Create the file and schema if needed and start being a live writer.
        Idempotent. Does not recover anything (see ``recover_interrupted``)."""

    @abstractmethod
    async def close(self) -> None:
        """Finish queued work and release the database. Safe to call twice."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def export_session(self, session_id: str) -> dict[str, Any]:
        """The session, its messages and parts (and child sessions) as JSON-able data,
        in the format of ``opencode_python.storage.export``."""

    @abstractmethod
    async def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        """Store what ``export_session`` produced, keeping every id and field.

        If the session exists, raises ``StorageError`` unless ``overwrite`` is true, in
        which case the stored session (and its children) is replaced.
        """
