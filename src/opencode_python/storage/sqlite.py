"""The embedded store: one SQLite file in WAL mode, one JSON document per row.

Several processes may share the file: WAL lets readers run beside the one writer, and
the busy timeout makes a writer wait for the lock instead of failing. Every model is
stored as its ``model_dump_json()`` and read back with pydantic, so nothing is lost.

One aiosqlite connection (one worker thread) serves the store. Each round trip to that
thread costs far more than the SQL itself, so the hot paths (``save_part``,
``save_message``, ``list_messages``) are one statement each; multi-statement work runs in
``_transaction()``.
"""

from __future__ import annotations

import array
import asyncio
import json
import re
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import aiosqlite
from pydantic import ValidationError

from ..core.errors import NotFoundError, StorageError
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
    now_ms,
    parse_part,
)
from .base import MemoryVectors, Store

BUSY_TIMEOUT_MS = 5000
EXPORT_FORMAT = "opencode-python.session"
EXPORT_VERSION = 1

# Schema history: step N brings user_version from N to N + 1. Only ever append steps.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            project_id TEXT NOT NULL,
            parent_id TEXT,
            time_created INTEGER NOT NULL,
            time_updated INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX sessions_updated ON sessions (time_updated, id)",
        "CREATE INDEX sessions_project_updated ON sessions (project_id, time_updated, id)",
        "CREATE INDEX sessions_parent_updated ON sessions (parent_id, time_updated, id)",
        """CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            time_created INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX messages_session ON messages (session_id, id)",
        """CREATE TABLE parts (
            id TEXT PRIMARY KEY,
            message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            session_id TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX parts_message ON parts (message_id, id)",
        """CREATE TABLE kv_state (
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (namespace, key)
        ) WITHOUT ROWID""",
    ),
    (
        """CREATE TABLE tool_executions (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            tool TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX tool_executions_session ON tool_executions (session_id, id)",
        "CREATE INDEX tool_executions_session_tool ON tool_executions (session_id, tool, id)",
        """CREATE TABLE approvals (
            project_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            permission TEXT NOT NULL,
            pattern TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (project_id, agent, permission, pattern)
        ) WITHOUT ROWID""",
    ),
    (
        # ``seq`` is the rowid the full-text index points at; declared INTEGER PRIMARY
        # KEY so VACUUM cannot renumber it under the index.
        """CREATE TABLE memories (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            session_id TEXT,
            project_id TEXT NOT NULL,
            agent TEXT,
            scope TEXT NOT NULL,
            content TEXT NOT NULL,
            metadata TEXT NOT NULL,
            created INTEGER NOT NULL,
            last_used INTEGER,
            use_count INTEGER NOT NULL DEFAULT 0,
            embedder TEXT,
            dims INTEGER,
            embedding BLOB
        )""",
        "CREATE INDEX memories_project_scope_created ON memories (project_id, scope, created)",
        "CREATE INDEX memories_scope_created ON memories (scope, created)",
        """CREATE VIRTUAL TABLE memories_fts USING fts5 (
            content, content = 'memories', content_rowid = 'seq',
            tokenize = 'porter unicode61'
        )""",
        # One row counting writes to memories, across processes (see memory_version()).
        """CREATE TABLE memory_version (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            version INTEGER NOT NULL
        )""",
        "INSERT INTO memory_version (id, version) VALUES (0, 0)",
        """CREATE TRIGGER memories_after_insert AFTER INSERT ON memories BEGIN
            INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);
            UPDATE memory_version SET version = version + 1;
        END""",
        """CREATE TRIGGER memories_after_delete AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts (memories_fts, rowid, content)
                VALUES ('delete', old.seq, old.content);
            UPDATE memory_version SET version = version + 1;
        END""",
        """CREATE TRIGGER memories_after_update_content AFTER UPDATE OF content ON memories
        BEGIN
            INSERT INTO memories_fts (memories_fts, rowid, content)
                VALUES ('delete', old.seq, old.content);
            INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);
        END""",
        # Not on last_used/use_count: using a memory must not invalidate vector caches.
        """CREATE TRIGGER memories_after_update AFTER UPDATE OF session_id, project_id, agent,
            scope, content, metadata, created, embedder, dims, embedding ON memories
        BEGIN
            UPDATE memory_version SET version = version + 1;
        END""",
    ),
)

_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA journal_mode = WAL",
)

_INSERT_SESSION = (
    "INSERT INTO sessions (id, project_id, parent_id, time_created, time_updated, data) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE_SESSION = (
    "UPDATE sessions SET project_id = ?, parent_id = ?, time_created = ?, time_updated = ?, "
    "data = ? WHERE id = ?"
)
# Adds a step's usage and cost to a session in one atomic statement.
_ADD_USAGE = (
    "UPDATE sessions SET time_updated = :now, data = json_set(data, "
    "'$.usage.input', json_extract(data, '$.usage.input') + :input, "
    "'$.usage.output', json_extract(data, '$.usage.output') + :output, "
    "'$.usage.reasoning', json_extract(data, '$.usage.reasoning') + :reasoning, "
    "'$.usage.cache.read', json_extract(data, '$.usage.cache.read') + :cache_read, "
    "'$.usage.cache.write', json_extract(data, '$.usage.cache.write') + :cache_write, "
    "'$.cost', json_extract(data, '$.cost') + :cost, "
    "'$.time.updated', :now) WHERE id = :id RETURNING data"
)
# A session and all its descendants. UNION (not UNION ALL) ends even on a parent cycle.
_TREE = (
    "WITH RECURSIVE tree(id) AS (SELECT ? UNION "
    "SELECT s.id FROM sessions AS s JOIN tree ON s.parent_id = tree.id) "
)
# Starts with DELETE, not WITH: Python's sqlite3 only reports rowcount for statements
# it recognises as DML by their first word.
_DELETE_TREE = f"DELETE FROM sessions WHERE id IN ({_TREE}SELECT id FROM tree)"
_SELECT_TREE_SESSIONS = (
    _TREE + "SELECT s.id, s.parent_id, s.data FROM sessions AS s JOIN tree USING (id) ORDER BY s.id"
)
_INSERT_MESSAGE = "INSERT INTO messages (id, session_id, time_created, data) VALUES (?, ?, ?, ?)"
# An upsert, never INSERT OR REPLACE: a replace deletes the row and cascades to its parts.
_UPSERT_MESSAGE = (
    _INSERT_MESSAGE + " ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, "
    "time_created = excluded.time_created, data = excluded.data"
)
_INSERT_PARTS = "INSERT INTO parts (id, message_id, session_id, data) VALUES "
_INSERT_PART = _INSERT_PARTS + "(?, ?, ?, ?)"
_PART_UPSERT_TAIL = (
    " ON CONFLICT (id) DO UPDATE SET message_id = excluded.message_id, "
    "session_id = excluded.session_id, data = excluded.data"
)
_UPSERT_PART = _INSERT_PART + _PART_UPSERT_TAIL
_PARTS_PER_STATEMENT = 200  # 4 parameters a row stays under every SQLite's variable limit

# Messages with their parts in one query (one consistent snapshot, one round trip):
# rows of (message id, message JSON, part JSON or NULL), ordered by message then part.
_MESSAGES_WITH_PARTS = (
    "SELECT m.id, m.data, p.data FROM {messages} AS m "
    "LEFT JOIN parts AS p ON p.message_id = m.id ORDER BY m.id, p.id"
)
_SELECT_MESSAGES = _MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE session_id = ?)"
)
_SELECT_LAST_MESSAGES = _MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?)"
)
_SELECT_MESSAGE = _MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE id = ? AND session_id = ?)"
)
_SELECT_TREE_MESSAGES = _TREE + _MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE session_id IN tree)"
)


def connect(path: Path) -> sqlite3.Connection:
    """Open a raw connection. The one place that picks the SQLite build.

    ``isolation_level=None`` leaves transactions to us (``BEGIN IMMEDIATE`` ... ``COMMIT``).
    """
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


@lru_cache(maxsize=64)
def _upsert_parts_sql(rows: int) -> str:
    """One multi-row upsert: saving several parts costs one round trip, not one each."""
    values = ", ".join(["(?, ?, ?, ?)"] * rows)
    return _INSERT_PARTS + values + _PART_UPSERT_TAIL


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _session_row(session: Session) -> tuple[Any, ...]:
    return (
        session.id,
        session.project_id,
        session.parent_id,
        session.time.created,
        session.time.updated,
        session.model_dump_json(),
    )


def _message_row(message: Message) -> tuple[Any, ...]:
    return (message.id, message.session_id, message.time.created, message.model_dump_json())


def _part_row(part: Part) -> tuple[Any, ...]:
    return (part.id, part.message_id, part.session_id, part.model_dump_json())


def _group(rows: Iterable[Any]) -> list[MessageWithParts]:
    """Fold rows of ``_MESSAGES_WITH_PARTS`` into messages with their parts."""
    result: list[MessageWithParts] = []
    parts: list[Part] = []
    last_id = None
    for message_id, message_data, part_data in rows:
        if message_id != last_id:
            last_id = message_id
            parts = []
            info = Message.model_validate_json(message_data)
            result.append(MessageWithParts.model_construct(info=info, parts=parts))
        if part_data is not None:
            parts.append(parse_part(part_data))
    return result


_MEMORY_COLUMNS = (
    "id, session_id, project_id, agent, scope, content, metadata, created, last_used, "
    "use_count, embedder, dims, embedding"
)
_UPSERT_MEMORY = (
    f"INSERT INTO memories ({_MEMORY_COLUMNS}) VALUES ({_marks(13)}) "
    "ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, "
    "project_id = excluded.project_id, agent = excluded.agent, scope = excluded.scope, "
    "content = excluded.content, metadata = excluded.metadata, created = excluded.created, "
    "last_used = excluded.last_used, use_count = excluded.use_count, "
    "embedder = excluded.embedder, dims = excluded.dims, embedding = excluded.embedding"
)
_SELECT_MEMORY = f"SELECT {_MEMORY_COLUMNS} FROM memories AS m"
_SELECT_MEMORY_VECTORS = (
    "SELECT id, scope, coalesce(session_id, ''), coalesce(agent, ''), created, metadata, "
    "embedding FROM memories WHERE embedder = ? AND dims = ? "
    "AND (project_id = ? OR scope = 'user') ORDER BY seq"
)
_KEYWORD_SEARCH = (
    "SELECT m.id, bm25(memories_fts) AS rank FROM memories_fts "
    "JOIN memories AS m ON m.seq = memories_fts.rowid "
    "WHERE memories_fts MATCH ? AND {where} ORDER BY rank LIMIT ?"
)
# Words too common to say what a memory is about; matching them would rank most of the
# table. Dropped from keyword queries unless the query has nothing else.
# fmt: off
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "did", "do", "does", "for",
    "from", "had", "has", "have", "how", "i", "if", "in", "is", "it", "its", "me", "my",
    "not", "of", "on", "or", "our", "so", "that", "the", "their", "them", "there", "these",
    "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "you", "your",
})
# fmt: on
_MAX_QUERY_TERMS = 32
_WORD = re.compile(r"\w+")


def _match_expression(query: str) -> str | None:
    """The query's words as an FTS5 OR of quoted terms: user text never acts as syntax
    (``AND``, ``*``, ``"``, ``NEAR`` are matched as plain words or dropped)."""
    words = list(dict.fromkeys(_WORD.findall(query.lower())))
    terms = [w for w in words if w not in _STOPWORDS] or words
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms[:_MAX_QUERY_TERMS])


def _memory_where(filt: MemoryFilter) -> tuple[str, list[Any]]:
    """SQL over ``memories AS m`` for what ``filt`` sees (see ``MemoryFilter``)."""
    visible = ["(m.scope = 'project' AND m.project_id = ?)"]
    params: list[Any] = [filt.project_id]
    if filt.session_id is not None:
        visible.append("(m.scope = 'session' AND m.project_id = ? AND m.session_id = ?)")
        params += [filt.project_id, filt.session_id]
    if filt.agent is not None:
        visible.append("(m.scope = 'agent' AND m.project_id = ? AND m.agent = ?)")
        params += [filt.project_id, filt.agent]
    if filt.user:
        visible.append("m.scope = 'user'")
    clauses = ["(" + " OR ".join(visible) + ")"]
    for key, value in filt.metadata.items():
        clauses.append("json_extract(m.metadata, ?) = ?")
        params += [f'$."{key}"', value]
    if filt.since_ms is not None:
        clauses.append("m.created >= ?")
        params.append(filt.since_ms)
    if filt.until_ms is not None:
        clauses.append("m.created < ?")
        params.append(filt.until_ms)
    return " AND ".join(clauses), params


def _pack_vector(vector: Sequence[float]) -> bytes:
    packed = array.array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack_vector(blob: bytes) -> list[float]:
    unpacked = array.array("f")
    unpacked.frombytes(blob)
    if sys.byteorder == "big":
        unpacked.byteswap()
    return unpacked.tolist()


def _memory_row(entry: MemoryEntry) -> tuple[Any, ...]:
    vector = entry.embedding
    return (
        entry.id,
        entry.session_id,
        entry.project_id,
        entry.agent,
        entry.scope,
        entry.content,
        json.dumps(entry.metadata),
        entry.created,
        entry.last_used,
        entry.use_count,
        entry.embedder,
        None if vector is None else len(vector),
        None if vector is None else _pack_vector(vector),
    )


def _memory_from_row(row: Sequence[Any]) -> MemoryEntry:
    return MemoryEntry(
        id=row[0],
        session_id=row[1],
        project_id=row[2],
        agent=row[3],
        scope=row[4],
        content=row[5],
        metadata=json.loads(row[6]),
        created=row[7],
        last_used=row[8],
        use_count=row[9],
        embedder=row[10],
        embedding=None if row[12] is None else _unpack_vector(row[12]),
    )


class SQLiteStore(Store):
    """``Store`` on one SQLite file. Opens on first use; ``close()`` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._closed = False
        # One operation at a time on the connection, so a statement never lands inside
        # another task's open transaction.
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        async with self._lock:
            self._closed = False
            if self._db is None:
                await self._open_locked()

    async def close(self) -> None:
        async with self._lock:
            db, self._db = self._db, None
            self._closed = True
            if db is not None:
                await db.close()

    async def _open_locked(self) -> aiosqlite.Connection:
        if self._closed:
            raise StorageError(f"the store for {self.path} is closed; call open() to use it again")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the directory of database {self.path}: {exc.strerror or exc}"
            ) from exc
        db = aiosqlite.Connection(partial(connect, self.path), iter_chunk_size=64)
        try:
            await db
            for pragma in _PRAGMAS:
                await _execute_patiently(db, pragma)
            await self._migrate(db)
        except BaseException as exc:
            await db.close()
            if isinstance(exc, sqlite3.Error):
                raise self._open_error(exc) from exc
            raise
        self._db = db
        return db

    def _open_error(self, exc: sqlite3.Error) -> StorageError:
        if isinstance(exc, sqlite3.OperationalError):
            if "locked" in str(exc):
                return self._locked_error()
            return StorageError(
                f"cannot open database {self.path}: {exc}; check that the path is a "
                "writable file location"
            )
        return StorageError(
            f"{self.path} is not a valid SQLite database ({exc}); it was left untouched: "
            "move it away or choose another storage path"
        )

    def _locked_error(self) -> StorageError:
        return StorageError(
            f"database {self.path} stayed locked by another process for "
            f"{BUSY_TIMEOUT_MS / 1000:g} s; try again, or stop the process holding it"
        )

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        """Bring the schema up to date. Serialised across processes by the write lock."""
        if await self._user_version(db) == len(MIGRATIONS):
            return
        try:
            await db.execute("BEGIN IMMEDIATE")
            version = await self._user_version(db)
            if version > len(MIGRATIONS):
                raise StorageError(
                    f"database {self.path} has schema version {version}, newer than this "
                    f"opencode-python understands ({len(MIGRATIONS)}); upgrade opencode-python"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            await db.execute("COMMIT")
        except BaseException:
            await _rollback(db)
            raise

    @staticmethod
    async def _user_version(db: aiosqlite.Connection) -> int:
        rows = list(await db.execute_fetchall("PRAGMA user_version"))
        return int(rows[0][0])

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, held by this operation alone; SQLite errors become StorageError."""
        async with self._lock:
            db = self._db or await self._open_locked()
            try:
                yield db
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc):
                    raise self._locked_error() from exc
                raise StorageError(f"database {self.path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"database {self.path}: {exc}") from exc

    @asynccontextmanager
    async def _transaction(self, *, write: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """Statements that commit together, or, with ``write=False``, read one snapshot.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so a write transaction waits
        for other processes at its start instead of failing halfway through.
        """
        async with self._connection() as db:
            try:
                await db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield db
            except BaseException:
                # Shielded: a cancelled caller must still leave no transaction open. The
                # ROLLBACK queues behind any statement still running for this caller.
                await asyncio.shield(_rollback(db))
                raise
            await db.execute("COMMIT")

    # sessions ----------------------------------------------------------------------

    def _no_session(self, session_id: str) -> NotFoundError:
        return NotFoundError(
            f"session {session_id!r} not found in {self.path}; "
            "list existing sessions with list_sessions()"
        )

    async def create_session(self, session: Session) -> Session:
        async with self._connection() as db:
            try:
                await db.execute(_INSERT_SESSION, _session_row(session))
            except sqlite3.IntegrityError as exc:
                raise StorageError(
                    f"session {session.id!r} already exists in {self.path}; "
                    "change it with update_session()"
                ) from exc
        return session

    async def get_session(self, session_id: str) -> Session:
        async with self._connection() as db:
            rows = list(
                await db.execute_fetchall("SELECT data FROM sessions WHERE id = ?", (session_id,))
            )
        if not rows:
            raise self._no_session(session_id)
        return Session.model_validate_json(rows[0][0])

    async def list_sessions(
        self,
        *,
        project_id: str | None = None,
        parent_id: str | None = None,
        roots_only: bool = False,
        limit: int | None = None,
    ) -> list[Session]:
        clauses: list[str] = []
        params: list[Any] = []
        if project_id is not None:
            clauses.append("project_id = ?")
            params.append(project_id)
        if parent_id is not None:
            clauses.append("parent_id = ?")
            params.append(parent_id)
        if roots_only:
            clauses.append("parent_id IS NULL")
        sql = "SELECT data FROM sessions"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY time_updated DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        async with self._connection() as db:
            rows = await db.execute_fetchall(sql, params)
        return [Session.model_validate_json(data) for (data,) in rows]

    async def update_session(self, session: Session) -> Session:
        row = _session_row(session)
        async with self._connection() as db:
            cursor = await db.execute(_UPDATE_SESSION, (*row[1:], session.id))
            if cursor.rowcount == 0:
                raise self._no_session(session.id)
        return session

    async def add_session_usage(self, session_id: str, usage: TokenUsage, cost: float) -> Session:
        params = {
            "id": session_id,
            "now": now_ms(),
            "input": usage.input,
            "output": usage.output,
            "reasoning": usage.reasoning,
            "cache_read": usage.cache.read,
            "cache_write": usage.cache.write,
            "cost": cost,
        }
        async with self._connection() as db:
            rows = list(await db.execute_fetchall(_ADD_USAGE, params))
        if not rows:
            raise self._no_session(session_id)
        return Session.model_validate_json(rows[0][0])

    async def delete_session(self, session_id: str) -> None:
        # One statement: atomic on its own. Messages and parts go by ON DELETE CASCADE.
        async with self._connection() as db:
            cursor = await db.execute(_DELETE_TREE, (session_id,))
            if cursor.rowcount == 0:
                raise self._no_session(session_id)

    # messages and parts ------------------------------------------------------------

    async def save_message(self, message: Message) -> None:
        async with self._connection() as db:
            try:
                await db.execute(_UPSERT_MESSAGE, _message_row(message))
            except sqlite3.IntegrityError as exc:
                raise NotFoundError(
                    f"cannot save message {message.id!r}: its session "
                    f"{message.session_id!r} does not exist in {self.path}; create the "
                    "session first"
                ) from exc

    async def get_message(self, session_id: str, message_id: str) -> MessageWithParts:
        async with self._connection() as db:
            rows = await db.execute_fetchall(_SELECT_MESSAGE, (message_id, session_id))
        messages = _group(rows)
        if not messages:
            raise NotFoundError(
                f"message {message_id!r} not found in session {session_id!r}; list its "
                "messages with list_messages()"
            )
        return messages[0]

    async def list_messages(
        self, session_id: str, *, limit: int | None = None
    ) -> list[MessageWithParts]:
        async with self._connection() as db:
            if limit is None:
                rows = await db.execute_fetchall(_SELECT_MESSAGES, (session_id,))
            else:
                rows = await db.execute_fetchall(_SELECT_LAST_MESSAGES, (session_id, limit))
            messages = _group(rows)
            if not messages:
                exists = await db.execute_fetchall(
                    "SELECT 1 FROM sessions WHERE id = ?", (session_id,)
                )
                if not list(exists):
                    raise self._no_session(session_id)
        return messages

    async def delete_message(self, session_id: str, message_id: str) -> None:
        async with self._connection() as db:
            cursor = await db.execute(
                "DELETE FROM messages WHERE id = ? AND session_id = ?", (message_id, session_id)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(
                    f"message {message_id!r} not found in session {session_id!r}; list its "
                    "messages with list_messages()"
                )

    async def save_part(self, part: Part) -> None:
        async with self._connection() as db:
            try:
                await db.execute(_UPSERT_PART, _part_row(part))
            except sqlite3.IntegrityError as exc:
                raise self._no_part_message([part]) from exc

    async def save_parts(self, parts: Sequence[Part]) -> None:
        step = _PARTS_PER_STATEMENT
        chunks = [parts[i : i + step] for i in range(0, len(parts), step)]
        if not chunks:
            return
        # One chunk is one statement, atomic by itself; more need a transaction.
        context = self._transaction() if len(chunks) > 1 else self._connection()
        async with context as db:
            try:
                for chunk in chunks:
                    params = [value for part in chunk for value in _part_row(part)]
                    await db.execute(_upsert_parts_sql(len(chunk)), params)
            except sqlite3.IntegrityError as exc:
                raise self._no_part_message(parts) from exc

    def _no_part_message(self, parts: Sequence[Part]) -> NotFoundError:
        message_ids = sorted({part.message_id for part in parts})
        return NotFoundError(
            f"cannot save parts: their message ({', '.join(message_ids)}) is not in "
            f"{self.path}; save the message before its parts"
        )

    async def delete_parts(self, message_id: str, part_ids: Sequence[str] | None = None) -> None:
        if part_ids is None:
            sql, params = "DELETE FROM parts WHERE message_id = ?", [message_id]
        elif not part_ids:
            return
        else:
            sql = f"DELETE FROM parts WHERE message_id = ? AND id IN ({_marks(len(part_ids))})"
            params = [message_id, *part_ids]
        async with self._connection() as db:
            await db.execute(sql, params)

    # export / import ---------------------------------------------------------------

    async def export_session(self, session_id: str) -> dict[str, Any]:
        async with self._transaction(write=False) as db:
            session_rows = list(await db.execute_fetchall(_SELECT_TREE_SESSIONS, (session_id,)))
            if not session_rows:
                raise self._no_session(session_id)
            message_rows = await db.execute_fetchall(_SELECT_TREE_MESSAGES, (session_id,))
        sessions = {sid: Session.model_validate_json(data) for sid, _, data in session_rows}
        children: defaultdict[str, list[str]] = defaultdict(list)
        for sid, parent_id, _ in session_rows:
            if sid != session_id and parent_id is not None:
                children[parent_id].append(sid)
        messages: defaultdict[str, list[MessageWithParts]] = defaultdict(list)
        for message in _group(message_rows):
            messages[message.info.session_id].append(message)

        seen: set[str] = set()

        def export(sid: str) -> dict[str, Any]:
            seen.add(sid)
            return {
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "session": sessions[sid].model_dump(mode="json"),
                "messages": [m.model_dump(mode="json") for m in messages[sid]],
                "children": [export(child) for child in children[sid] if child not in seen],
            }

        return export(session_id)

    async def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        tree: list[tuple[Session, list[MessageWithParts]]] = []
        root = _parse_export(data, tree, parent_id=None)
        ids = [session.id for session, _ in tree]
        async with self._transaction() as db:
            existing = [
                row[0]
                for row in await db.execute_fetchall(
                    f"SELECT id FROM sessions WHERE id IN ({_marks(len(ids))})", ids
                )
            ]
            if existing and not overwrite:
                raise StorageError(
                    f"session {existing[0]!r} already exists in {self.path}; pass "
                    "overwrite=True to replace it, or delete it first"
                )
            for sid in existing:
                await db.execute(_DELETE_TREE, (sid,))
            try:
                await db.executemany(_INSERT_SESSION, [_session_row(s) for s, _ in tree])
                await db.executemany(
                    _INSERT_MESSAGE, [_message_row(m.info) for _, ms in tree for m in ms]
                )
                await db.executemany(
                    _INSERT_PART, [_part_row(p) for _, ms in tree for m in ms for p in m.parts]
                )
            except sqlite3.IntegrityError as exc:
                raise StorageError(
                    f"cannot import session {root.id!r}: {exc}; an id in the export is "
                    "duplicated or already belongs to another session in this store"
                ) from exc
        return root

    # key-value state ---------------------------------------------------------------

    async def get_state(self, namespace: str, key: str) -> Any | None:
        async with self._connection() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT value FROM kv_state WHERE namespace = ? AND key = ?", (namespace, key)
                )
            )
        return json.loads(rows[0][0]) if rows else None

    async def set_state(self, namespace: str, key: str, value: Any) -> None:
        encoded = json.dumps(value)
        async with self._connection() as db:
            await db.execute(
                "INSERT INTO kv_state (namespace, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                (namespace, key, encoded),
            )

    async def delete_state(self, namespace: str, key: str) -> None:
        async with self._connection() as db:
            await db.execute(
                "DELETE FROM kv_state WHERE namespace = ? AND key = ?", (namespace, key)
            )

    # tool executions ---------------------------------------------------------------

    async def save_tool_execution(self, execution: ToolExecution) -> None:
        async with self._connection() as db:
            await db.execute(
                "INSERT INTO tool_executions (id, session_id, tool, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (execution.id, execution.session_id, execution.tool, execution.model_dump_json()),
            )

    async def list_tool_executions(
        self, session_id: str, *, tool: str | None = None, limit: int | None = 100
    ) -> list[ToolExecution]:
        sql = "SELECT data FROM tool_executions WHERE session_id = ?"
        params: list[Any] = [session_id]
        if tool is not None:
            sql += " AND tool = ?"
            params.append(tool)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        async with self._connection() as db:
            rows = list(await db.execute_fetchall(sql, params))
        return [ToolExecution.model_validate_json(row[0]) for row in reversed(rows)]

    # approvals ---------------------------------------------------------------------

    async def add_approval(self, approval: Approval) -> None:
        async with self._connection() as db:
            await db.execute(
                "INSERT OR IGNORE INTO approvals (project_id, agent, permission, pattern, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    approval.project_id,
                    approval.agent,
                    approval.permission,
                    approval.pattern,
                    approval.created,
                ),
            )

    async def list_approvals(self, project_id: str, *, agent: str | None = None) -> list[Approval]:
        sql = (
            "SELECT project_id, agent, permission, pattern, created FROM approvals "
            "WHERE project_id = ?"
        )
        params: list[Any] = [project_id]
        if agent is not None:
            sql += " AND agent = ?"
            params.append(agent)
        async with self._connection() as db:
            rows = list(
                await db.execute_fetchall(sql + " ORDER BY created, permission, pattern", params)
            )
        return [
            Approval(project_id=r[0], agent=r[1], permission=r[2], pattern=r[3], created=r[4])
            for r in rows
        ]

    async def delete_approval(
        self, project_id: str, agent: str, permission: str, pattern: str
    ) -> bool:
        async with self._connection() as db:
            cursor = await db.execute(
                "DELETE FROM approvals WHERE project_id = ? AND agent = ? AND permission = ? "
                "AND pattern = ?",
                (project_id, agent, permission, pattern),
            )
            return bool(cursor.rowcount)

    # memories ----------------------------------------------------------------------

    async def save_memory(self, entry: MemoryEntry) -> None:
        async with self._connection() as db:
            await db.execute(_UPSERT_MEMORY, _memory_row(entry))

    async def save_memories(self, entries: Sequence[MemoryEntry]) -> None:
        """Insert or replace several memories in one transaction (bulk loads)."""
        async with self._transaction() as db:
            await db.executemany(_UPSERT_MEMORY, [_memory_row(e) for e in entries])

    async def get_memory(self, memory_id: str) -> MemoryEntry:
        async with self._connection() as db:
            rows = list(await db.execute_fetchall(_SELECT_MEMORY + " WHERE id = ?", (memory_id,)))
        if not rows:
            raise NotFoundError(
                f"memory {memory_id!r} not found in {self.path}; it may have been deleted or pruned"
            )
        return _memory_from_row(rows[0])

    async def delete_memory(self, memory_id: str) -> bool:
        async with self._connection() as db:
            cursor = await db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
            return bool(cursor.rowcount)

    async def list_memories(
        self, filt: MemoryFilter, *, limit: int | None = None
    ) -> list[MemoryEntry]:
        where, params = _memory_where(filt)
        sql = f"{_SELECT_MEMORY} WHERE {where} ORDER BY m.created DESC, m.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        async with self._connection() as db:
            rows = await db.execute_fetchall(sql, params)
        return [_memory_from_row(row) for row in rows]

    async def keyword_search(
        self, query: str, filt: MemoryFilter, limit: int
    ) -> list[tuple[str, float]]:
        expression = _match_expression(query)
        if expression is None or limit <= 0:
            return []
        where, params = _memory_where(filt)
        async with self._connection() as db:
            rows = await db.execute_fetchall(
                _KEYWORD_SEARCH.format(where=where), [expression, *params, limit]
            )
        # bm25() is lower-is-better; flip it so every score in the SDK is higher-is-better.
        return [(memory_id, -rank) for memory_id, rank in rows]

    async def memory_vectors(self, project_id: str, embedder: str, dims: int) -> MemoryVectors:
        async with self._connection() as db:
            rows = list(
                await db.execute_fetchall(_SELECT_MEMORY_VECTORS, (embedder, dims, project_id))
            )
        blob = b"".join(row[6] for row in rows)
        if sys.byteorder == "big":
            swapped = array.array("f")
            swapped.frombytes(blob)
            swapped.byteswap()
            blob = swapped.tobytes()
        return MemoryVectors(
            ids=[row[0] for row in rows],
            scopes=[row[1] for row in rows],
            session_ids=[row[2] for row in rows],
            agents=[row[3] for row in rows],
            created=[row[4] for row in rows],
            metadata=[row[5] for row in rows],
            dims=dims,
            vectors=blob,
        )

    async def memory_version(self) -> int:
        async with self._connection() as db:
            rows = list(await db.execute_fetchall("SELECT version FROM memory_version"))
        return int(rows[0][0])

    async def touch_memories(self, memory_ids: Sequence[str]) -> None:
        if not memory_ids:
            return
        async with self._connection() as db:
            await db.execute(
                "UPDATE memories SET last_used = ?, use_count = use_count + 1 "
                f"WHERE id IN ({_marks(len(memory_ids))})",
                [now_ms(), *memory_ids],
            )

    async def prune_memories(
        self,
        scope: MemoryScope,
        *,
        max_count: int | None = None,
        max_age_ms: int | None = None,
        project_id: str | None = None,
    ) -> int:
        where = "scope = ?"
        params: list[Any] = [scope]
        if project_id is not None:
            where += " AND project_id = ?"
            params.append(project_id)
        deleted = 0
        async with self._transaction() as db:
            if max_age_ms is not None:
                cursor = await db.execute(
                    f"DELETE FROM memories WHERE {where} AND coalesce(last_used, created) < ?",
                    [*params, now_ms() - max_age_ms],
                )
                deleted += cursor.rowcount
            if max_count is not None:
                cursor = await db.execute(
                    f"DELETE FROM memories WHERE seq IN (SELECT seq FROM memories WHERE {where} "
                    "ORDER BY coalesce(last_used, created) DESC, use_count DESC, seq DESC "
                    "LIMIT -1 OFFSET ?)",
                    [*params, max(max_count, 0)],
                )
                deleted += cursor.rowcount
        return deleted


async def _rollback(db: aiosqlite.Connection) -> None:
    # "no transaction is active": the transaction never began, or SQLite ended it already.
    with suppress(sqlite3.OperationalError):
        await db.execute("ROLLBACK")


def _parse_export(
    data: Any, into: list[tuple[Session, list[MessageWithParts]]], *, parent_id: str | None
) -> Session:
    """Validate one export level and its children, parents before children, into ``into``."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise StorageError(
            f"not an opencode-python session export: expected a dict with format {EXPORT_FORMAT!r}"
        )
    if data.get("version") != EXPORT_VERSION:
        raise StorageError(
            f"session export version {data.get('version')!r} is not supported; this "
            f"opencode-python reads version {EXPORT_VERSION}"
        )
    try:
        session = Session.model_validate(data["session"])
        messages = [MessageWithParts.model_validate(m) for m in data.get("messages", [])]
        children = list(data.get("children", []))
    except (KeyError, TypeError, ValidationError) as exc:
        raise StorageError(f"invalid session export: {exc}") from exc
    if parent_id is not None and session.parent_id != parent_id:
        raise StorageError(
            f"invalid session export: child session {session.id!r} names parent "
            f"{session.parent_id!r} but is listed under {parent_id!r}"
        )
    for message in messages:
        if message.info.session_id != session.id:
            raise StorageError(
                f"invalid session export: message {message.info.id!r} belongs to session "
                f"{message.info.session_id!r} but is listed under {session.id!r}"
            )
        for part in message.parts:
            if part.message_id != message.info.id:
                raise StorageError(
                    f"invalid session export: part {part.id!r} belongs to message "
                    f"{part.message_id!r} but is listed under {message.info.id!r}"
                )
    into.append((session, messages))
    for child in children:
        _parse_export(child, into, parent_id=session.id)
    return session


async def _execute_patiently(db: aiosqlite.Connection, sql: str) -> None:
    """Run a setup statement, retrying the brief ``locked`` SQLite reports without
    calling the busy handler (switching a brand-new file to WAL while another process
    does the same)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await db.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)
