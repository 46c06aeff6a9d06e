"""Export and import of session trees, in the format of ``storage.export``."""

from __future__ import annotations

import sqlite3
from typing import Any

from ...core.errors import StorageError
from ...core.models import Session
from ..export import build_export, parse_export
from .db import Db, marks
from .messages import INSERT_MESSAGE, INSERT_PART, MESSAGES_WITH_PARTS, group, message_row, part_row
from .sessions import DELETE_TREE, INSERT_SESSION, TREE, session_row

_SELECT_TREE_SESSIONS = TREE + "SELECT s.data FROM sessions AS s JOIN tree USING (id) ORDER BY s.id"
_SELECT_TREE_MESSAGES = TREE + MESSAGES_WITH_PARTS.format(
    messages="(SELECT id, data FROM messages WHERE session_id IN tree)"
)


def export(db: Db, session_id: str) -> dict[str, Any]:
    with db.transaction(write=False) as conn:
        session_rows = conn.execute(_SELECT_TREE_SESSIONS, (session_id,)).fetchall()
        if not session_rows:
            raise db.no_session(session_id)
        message_rows = conn.execute(_SELECT_TREE_MESSAGES, (session_id,)).fetchall()
    sessions = [Session.model_validate_json(data) for (data,) in session_rows]
    return build_export(session_id, sessions, group(message_rows))


def import_(db: Db, data: dict[str, Any], overwrite: bool) -> Session:
    tree = parse_export(data)
    root = tree[0][0]
    ids = [session.id for session, _ in tree]
    with db.transaction() as conn:
        existing = [
            row[0]
            for row in conn.execute(f"SELECT id FROM sessions WHERE id IN ({marks(len(ids))})", ids)
        ]
        if existing and not overwrite:
            raise StorageError(
                f"session {existing[0]!r} already exists in {db.path}; pass "
                "overwrite=True to replace it, or delete it first"
            )
        for session_id in existing:
            conn.execute(DELETE_TREE, (session_id,))
        try:
            conn.executemany(INSERT_SESSION, [session_row(s) for s, _ in tree])
            conn.executemany(
                INSERT_MESSAGE,
                [message_row(m.info, db.lease.token) for _, ms in tree for m in ms],
            )
            conn.executemany(
                INSERT_PART, [part_row(p) for _, ms in tree for m in ms for p in m.parts]
            )
        except sqlite3.IntegrityError as exc:
            raise StorageError(
                f"cannot import session {root.id!r}: {exc}; an id in the export is "
                "duplicated or already belongs to another session in this store"
            ) from exc
    return root
