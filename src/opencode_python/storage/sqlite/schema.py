"""Opening the file: connection settings and the schema, migrated by ``user_version``.

Several processes may share the file: WAL lets readers run beside the one writer, and
the busy timeout makes a writer wait for the lock instead of failing.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import suppress
from pathlib import Path

from ...core.errors import StorageError

BUSY_TIMEOUT_MS = 5000

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
    (
        # The writer of an unfinished assistant message (its lease token, see lease.py),
        # so recovery can tell a live writer's message from one a dead process left.
        # NULL once the message is finished. '' marks an unfinished message written
        # before owners were recorded: dead if the loop wrote it (it has a step-start
        # part; messages added by hand do not).
        "ALTER TABLE messages ADD COLUMN owner TEXT",
        """UPDATE messages SET owner = '' WHERE json_extract(data, '$.role') = 'assistant'
            AND json_extract(data, '$.time.completed') IS NULL
            AND EXISTS (SELECT 1 FROM parts WHERE parts.message_id = messages.id
                AND json_extract(parts.data, '$.type') = 'step-start')""",
        "CREATE INDEX messages_unfinished ON messages (id) WHERE owner IS NOT NULL",
    ),
    (
        # The time a memory is about (a conversation turn's date), when it is known.
        "ALTER TABLE memories ADD COLUMN occurred_at INTEGER",
        "DROP TRIGGER memories_after_update",
        """CREATE TRIGGER memories_after_update AFTER UPDATE OF session_id, project_id, agent,
            scope, content, metadata, created, embedder, dims, embedding, occurred_at
            ON memories
        BEGIN
            UPDATE memory_version SET version = version + 1;
        END""",
    ),
    (
        # Text the embedder sees before a memory's content (the turns before it).
        "ALTER TABLE memories ADD COLUMN context TEXT",
        "DROP TRIGGER memories_after_update",
        """CREATE TRIGGER memories_after_update AFTER UPDATE OF session_id, project_id, agent,
            scope, content, metadata, created, embedder, dims, embedding, occurred_at,
            context ON memories
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


def connect(path: Path) -> sqlite3.Connection:
    """Open the file, set it up and bring its schema up to date.

    The one place that picks the SQLite build. ``isolation_level=None`` leaves
    transactions to us (``BEGIN IMMEDIATE`` ... ``COMMIT``); ``check_same_thread=False``
    lets a store that was never closed be closed at exit, after its thread has stopped.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the directory of database {path}: {exc.strerror or exc}"
        ) from exc
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise _open_error(path, exc) from exc
    try:
        for pragma in _PRAGMAS:
            _execute_patiently(conn, pragma)
        _migrate(conn, path)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise _open_error(path, exc) from exc
        raise
    return conn


def locked_error(path: Path) -> StorageError:
    return StorageError(
        f"database {path} stayed locked by another process for "
        f"{BUSY_TIMEOUT_MS / 1000:g} s; try again, or stop the process holding it"
    )


def _open_error(path: Path, exc: sqlite3.Error) -> StorageError:
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in str(exc):
            return locked_error(path)
        return StorageError(
            f"cannot open database {path}: {exc}; check that the path is a writable file location"
        )
    return StorageError(
        f"{path} is not a valid SQLite database ({exc}); it was left untouched: "
        "move it away or choose another storage path"
    )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date. Serialised across processes by the write lock."""
    if _user_version(conn) == len(MIGRATIONS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _user_version(conn)
        if version > len(MIGRATIONS):
            raise StorageError(
                f"database {path} has schema version {version}, newer than this "
                f"opencode-python understands ({len(MIGRATIONS)}); upgrade opencode-python"
            )
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.OperationalError):  # SQLite may have ended it already
            conn.execute("ROLLBACK")
        raise


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _execute_patiently(conn: sqlite3.Connection, sql: str) -> None:
    """Run a setup statement, retrying the brief ``locked`` SQLite reports without
    calling the busy handler (switching a brand-new file to WAL while another process
    does the same)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
