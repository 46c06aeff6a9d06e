"""``always`` approvals: one row per project, agent, permission and pattern."""

from __future__ import annotations

from typing import Any

from ...core.models import Approval
from .db import Db


def add(db: Db, approval: Approval) -> None:
    db.conn.execute(
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


def list_(db: Db, project_id: str, agent: str | None) -> list[Approval]:
    sql = (
        "SELECT project_id, agent, permission, pattern, created FROM approvals WHERE project_id = ?"
    )
    params: list[Any] = [project_id]
    if agent is not None:
        sql += " AND agent = ?"
        params.append(agent)
    rows = db.conn.execute(sql + " ORDER BY created, permission, pattern", params)
    return [
        Approval(project_id=r[0], agent=r[1], permission=r[2], pattern=r[3], created=r[4])
        for r in rows
    ]


def delete(db: Db, project_id: str, agent: str, permission: str, pattern: str) -> bool:
    cursor = db.conn.execute(
        "DELETE FROM approvals WHERE project_id = ? AND agent = ? AND permission = ? "
        "AND pattern = ?",
        (project_id, agent, permission, pattern),
    )
    return bool(cursor.rowcount)
