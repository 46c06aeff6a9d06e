"""The ``Store`` contract: what the engine needs from persistent storage.

Implementations: ``SQLiteStore`` (embedded default). Every method is async; a store is
opened once by its owner (the client) and closed with ``close()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

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


class Store(ABC):
    """Sessions, messages, parts and small key-value state, persisted."""

    # lifecycle
    @abstractmethod
    async def open(self) -> None:
        """Create the file and schema if needed. Idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Flush and release the database. Safe to call twice."""

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

    # sessions
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
        """Replace the stored session. Raises ``NotFoundError`` if it is gone."""

    @abstractmethod
    async def add_session_usage(self, session_id: str, usage: TokenUsage, cost: float) -> Session:
        """Add a step's usage and cost to the session's totals, atomically; returns it."""

    @abstractmethod
    async def delete_session(self, session_id: str) -> None:
        """Delete the session with its messages, parts and child sessions, atomically.

        Raises ``NotFoundError`` when there is no such session.
        """

    # messages and parts
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

    # export / import
    @abstractmethod
    async def export_session(self, session_id: str) -> dict[str, Any]:
        """The session, its messages and parts (and child sessions) as JSON-able data.

        Shape: ``{"format": "opencode-python.session", "version": 1, "session": {...},
        "messages": [{"info": {...}, "parts": [...]}], "children": [<exports>]}``.
        """

    @abstractmethod
    async def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        """Store what ``export_session`` produced, keeping every id and field.

        If the session exists, raises ``StorageError`` unless ``overwrite`` is true, in
        which case the stored session (and its children) is replaced.
        """

    # key-value state
    @abstractmethod
    async def get_state(self, namespace: str, key: str) -> Any | None:
        """The JSON value stored under ``namespace``/``key``, or None."""

    @abstractmethod
    async def set_state(self, namespace: str, key: str, value: Any) -> None: ...

    @abstractmethod
    async def delete_state(self, namespace: str, key: str) -> None: ...

    # tool executions
    @abstractmethod
    async def save_tool_execution(self, execution: ToolExecution) -> None:
        """Insert or replace one execution record (written at start and at end)."""

    @abstractmethod
    async def list_tool_executions(
        self, session_id: str, *, tool: str | None = None, limit: int | None = 100
    ) -> list[ToolExecution]:
        """The most recent ``limit`` executions of a session (optionally of one tool),
        oldest first."""

    # approvals
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

    # memories
    @abstractmethod
    async def save_memory(self, entry: MemoryEntry) -> None:
        """Insert or replace a memory (``relevance_score`` is not stored)."""

    @abstractmethod
    async def get_memory(self, memory_id: str) -> MemoryEntry:
        """Raises ``NotFoundError`` naming the id when there is no such memory."""

    @abstractmethod
    async def delete_memory(self, memory_id: str) -> bool:
        """False when there was no such memory."""

    @abstractmethod
    async def list_memories(
        self, filt: MemoryFilter, *, limit: int | None = None
    ) -> list[MemoryEntry]:
        """The memories ``filt`` sees, newest first."""

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
