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

import asyncio
import json
import sqlite3
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
    Message,
    MessageWithParts,
    Part,
    Session,
    TokenUsage,
    ToolExecution,
    now_ms,
    parse_part,
)
from .base import Store

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
