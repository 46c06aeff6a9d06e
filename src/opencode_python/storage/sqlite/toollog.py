"""The tool execution log: one JSON row per call, refused ones included."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ...core.errors import NotFoundError
from ...core.models import ToolExecution
from .db import Db, missing_ids

_UPSERT_EXECUTION = (
    "INSERT INTO tool_executions (id, session_id, tool, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET data = excluded.data"
)


def _execution_row(execution: ToolExecution) -> tuple[Any, ...]:
    return (execution.id, execution.session_id, execution.tool, execution.model_dump_json())


def upsert(db: Db, executions: Sequence[ToolExecution]) -> None:
    """Insert or replace records; NotFoundError naming a missing session."""
    try:
        db.conn.executemany(_UPSERT_EXECUTION, [_execution_row(e) for e in executions])
    except sqlite3.IntegrityError as exc:
        missing = missing_ids(db, "sessions", [e.session_id for e in executions])
        record = next(e for e in executions if e.session_id in missing)
        raise NotFoundError(
            f"cannot save tool execution {record.id!r}: its session {record.session_id!r} "
            f"does not exist in {db.path}; create the session first"
        ) from exc


def list_(db: Db, session_id: str, tool: str | None, limit: int | None) -> list[ToolExecution]:
    sql = "SELECT data FROM tool_executions WHERE session_id = ?"
    params: list[Any] = [session_id]
    if tool is not None:
        sql += " AND tool = ?"
        params.append(tool)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = db.conn.execute(sql, params).fetchall()
    return [ToolExecution.model_validate_json(row[0]) for row in reversed(rows)]
