"""Messages and their parts: saved and read in as few statements as possible.

An unfinished assistant message carries its writer's lease token in ``owner`` (NULL
once finished), which is how recovery tells a live writer's records from a dead one's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from functools import lru_cache
from typing import Any

from ...core.errors import NotFoundError
from ...core.models import Message, MessageWithParts, Part, parse_part
from ...core.unfinished import is_open_message
from .db import IDS_PER_STATEMENT, Db, chunks, marks, missing_ids

INSERT_MESSAGE = (
    "INSERT INTO messages (id, session_id, time_created, data, owner) VALUES (?, ?, ?, ?, ?)"
)
# An upsert, never INSERT OR REPLACE: a replace deletes the row and cascades to its parts.
_UPSERT_MESSAGE = (
    INSERT_MESSAGE + " ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, "
    "time_created = excluded.time_created, data = excluded.data, owner = excluded.owner"
)
_INSERT_PARTS = "INSERT INTO parts (id, message_id, session_id, data) VALUES "
INSERT_PART = _INSERT_PARTS + "(?, ?, ?, ?)"
_PART_UPSERT_TAIL = (
    " ON CONFLICT (id) DO UPDATE SET message_id = excluded.message_id, "
    "session_id = excluded.session_id, data = excluded.data"
)
_UPSERT_PART = INSERT_PART + _PART_UPSERT_TAIL
_PARTS_PER_STATEMENT = 200  # 4 parameters a row stays under every SQLite's variable limit

# Messages with their parts in one query (one consistent snapshot, one statement):
# rows of (message id, message JSON, part JSON or NULL), ordered by message then part.
MESSAGES_WITH_PARTS = (
    "SELECT m.id, m.data, p.data FROM {messages} AS m "
    "LEFT JOIN parts AS p ON p.message_id = m.id ORDER BY m.id, p.id"
)
_SELECT_MESSAGES = MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE session_id = ?)"
)
_SELECT_LAST_MESSAGES = MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?)"
)
_SELECT_MESSAGE = MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE id = ? AND session_id = ?)"
)


def message_row(message: Message, owner: str) -> tuple[Any, ...]:
    """The row of ``message``, tagged with ``owner`` while it is unfinished."""
    return (
        message.id,
        message.session_id,
        message.time.created,
        message.model_dump_json(),
        owner if is_open_message(message) else None,
    )


def part_row(part: Part) -> tuple[Any, ...]:
    return (part.id, part.message_id, part.session_id, part.model_dump_json())


def group(rows: Iterable[Any]) -> list[MessageWithParts]:
    """Fold rows of ``MESSAGES_WITH_PARTS`` into messages with their parts."""
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


@lru_cache(maxsize=64)
def _upsert_parts_sql(rows: int) -> str:
    """One multi-row upsert: saving several parts costs one statement, not one each."""
    values = ", ".join(["(?, ?, ?, ?)"] * rows)
    return _INSERT_PARTS + values + _PART_UPSERT_TAIL


# writing -------------------------------------------------------------------------


def upsert_messages(db: Db, messages: Sequence[Message]) -> None:
    """Insert or replace messages, keeping their parts; NotFoundError for a missing session."""
    try:
        if len(messages) == 1:
            db.conn.execute(_UPSERT_MESSAGE, message_row(messages[0], db.lease.token))
        else:
            db.conn.executemany(_UPSERT_MESSAGE, [message_row(m, db.lease.token) for m in messages])
    except sqlite3.IntegrityError as exc:
        missing = missing_ids(db, "sessions", [m.session_id for m in messages])
        message = next(m for m in messages if m.session_id in missing)
        raise NotFoundError(
            f"cannot save message {message.id!r}: its session {message.session_id!r} does "
            f"not exist in {db.path}; create the session first"
        ) from exc


def upsert_parts(db: Db, parts: Sequence[Part]) -> None:
    """Insert or replace parts (in chunks: run inside a transaction when there are
    more than one); NotFoundError naming a missing message."""
    try:
        for chunk in chunks(parts, _PARTS_PER_STATEMENT):
            if len(chunk) == 1:
                db.conn.execute(_UPSERT_PART, part_row(chunk[0]))
            else:
                params = [value for part in chunk for value in part_row(part)]
                db.conn.execute(_upsert_parts_sql(len(chunk)), params)
    except sqlite3.IntegrityError as exc:
        missing = sorted(missing_ids(db, "messages", [p.message_id for p in parts]))
        raise NotFoundError(
            f"cannot save parts: their message ({', '.join(missing)}) is not in "
            f"{db.path}; save the message before its parts"
        ) from exc


def remove_parts(db: Db, part_ids: Sequence[str]) -> None:
    for chunk in chunks(part_ids, IDS_PER_STATEMENT):
        db.conn.execute(f"DELETE FROM parts WHERE id IN ({marks(len(chunk))})", chunk)


# operations ----------------------------------------------------------------------


def save_message(db: Db, message: Message) -> None:
    upsert_messages(db, [message])


def save_parts(db: Db, parts: Sequence[Part]) -> None:
    # One chunk is one statement, atomic by itself; more need a transaction.
    with db.transaction() if len(parts) > _PARTS_PER_STATEMENT else nullcontext():
        upsert_parts(db, parts)


def get_message(db: Db, session_id: str, message_id: str) -> MessageWithParts:
    messages = group(db.conn.execute(_SELECT_MESSAGE, (message_id, session_id)))
    if not messages:
        raise _no_message(session_id, message_id)
    return messages[0]


def list_messages(db: Db, session_id: str, limit: int | None) -> list[MessageWithParts]:
    if limit is None:
        rows = db.conn.execute(_SELECT_MESSAGES, (session_id,))
    else:
        rows = db.conn.execute(_SELECT_LAST_MESSAGES, (session_id, limit))
    messages = group(rows)
    if not messages:
        exists = db.conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchall()
        if not exists:
            raise db.no_session(session_id)
    return messages


def delete_message(db: Db, session_id: str, message_id: str) -> None:
    cursor = db.conn.execute(
        "DELETE FROM messages WHERE id = ? AND session_id = ?", (message_id, session_id)
    )
    if cursor.rowcount == 0:
        raise _no_message(session_id, message_id)


def delete_parts(db: Db, message_id: str, part_ids: Sequence[str] | None) -> None:
    if part_ids is None:
        db.conn.execute("DELETE FROM parts WHERE message_id = ?", (message_id,))
        return
    with db.transaction() if len(part_ids) > IDS_PER_STATEMENT else nullcontext():
        for chunk in chunks(part_ids, IDS_PER_STATEMENT):
            db.conn.execute(
                f"DELETE FROM parts WHERE message_id = ? AND id IN ({marks(len(chunk))})",
                [message_id, *chunk],
            )


def _no_message(session_id: str, message_id: str) -> NotFoundError:
    return NotFoundError(
        f"message {message_id!r} not found in session {session_id!r}; list its "
        "messages with list_messages()"
    )
