"""Sessions: one row each, the model's JSON beside the columns queries filter on."""

from __future__ import annotations

import sqlite3
from typing import Any

from ...core.errors import StorageError
from ...core.models import Session, now_ms
from ..contract import UsageCharge
from .db import Db

INSERT_SESSION = (
    "INSERT INTO sessions (id, project_id, parent_id, time_created, time_updated, data) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
# Everything but the usage totals, which only charges change: a rename that read the
# session before a step was charged must not take the step's usage back.
_UPDATE_SESSION = (
    "UPDATE sessions SET project_id = ?, parent_id = ?, time_created = ?, time_updated = ?, "
    "data = json_set(?, '$.usage', json(json_extract(data, '$.usage')), "
    "'$.cost', json_extract(data, '$.cost')) WHERE id = ? RETURNING data"
)
# Adds usage and cost to a session in one atomic statement; never moves time back.
_ADD_USAGE = (
    "UPDATE sessions SET time_updated = max(time_updated, :now), data = json_set(data, "
    "'$.usage.input', json_extract(data, '$.usage.input') + :input, "
    "'$.usage.output', json_extract(data, '$.usage.output') + :output, "
    "'$.usage.reasoning', json_extract(data, '$.usage.reasoning') + :reasoning, "
    "'$.usage.cache.read', json_extract(data, '$.usage.cache.read') + :cache_read, "
    "'$.usage.cache.write', json_extract(data, '$.usage.cache.write') + :cache_write, "
    "'$.cost', json_extract(data, '$.cost') + :cost, "
    "'$.time.updated', max(time_updated, :now)) WHERE id = :id RETURNING data"
)
# A session and all its descendants. UNION (not UNION ALL) ends even on a parent cycle.
TREE = (
    "WITH RECURSIVE tree(id) AS (SELECT ? UNION "
    "SELECT s.id FROM sessions AS s JOIN tree ON s.parent_id = tree.id) "
)
# Starts with DELETE, not WITH: Python's sqlite3 only reports rowcount for statements
# it recognises as DML by their first word.
DELETE_TREE = f"DELETE FROM sessions WHERE id IN ({TREE}SELECT id FROM tree)"


def session_row(session: Session) -> tuple[Any, ...]:
    return (
        session.id,
        session.project_id,
        session.parent_id,
        session.time.created,
        session.time.updated,
        session.model_dump_json(),
    )


def create(db: Db, session: Session) -> Session:
    try:
        db.conn.execute(INSERT_SESSION, session_row(session))
    except sqlite3.IntegrityError as exc:
        raise StorageError(
            f"session {session.id!r} already exists in {db.path}; change it with update_session()"
        ) from exc
    return session


def get(db: Db, session_id: str) -> Session:
    row = db.conn.execute("SELECT data FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise db.no_session(session_id)
    return Session.model_validate_json(row[0])


def list_(
    db: Db, project_id: str | None, parent_id: str | None, roots_only: bool, limit: int | None
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
    return [Session.model_validate_json(data) for (data,) in db.conn.execute(sql, params)]


def update(db: Db, session: Session) -> Session:
    """Store ``session``'s fields, keeping the stored usage and cost; the result."""
    row = session_row(session)
    rows = db.conn.execute(_UPDATE_SESSION, (*row[1:], session.id)).fetchall()
    if not rows:
        raise db.no_session(session.id)
    return Session.model_validate_json(rows[0][0])


def charge(db: Db, charge: UsageCharge) -> Session:
    """Add ``charge`` to its session's totals; the session after the charge."""
    usage = charge.usage
    params = {
        "id": charge.session_id,
        "now": now_ms(),
        "input": usage.input,
        "output": usage.output,
        "reasoning": usage.reasoning,
        "cache_read": usage.cache.read,
        "cache_write": usage.cache.write,
        "cost": charge.cost,
    }
    # fetchall: a RETURNING statement commits only once it has run to its end.
    rows = db.conn.execute(_ADD_USAGE, params).fetchall()
    if not rows:
        raise db.no_session(charge.session_id)
    return Session.model_validate_json(rows[0][0])


def delete(db: Db, session_id: str) -> None:
    # One statement: atomic on its own. Messages, parts and executions go by ON DELETE
    # CASCADE.
    if db.conn.execute(DELETE_TREE, (session_id,)).rowcount == 0:
        raise db.no_session(session_id)
