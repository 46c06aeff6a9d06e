"""Closing, as interrupted, what writers that are gone left unfinished.

Candidates are the messages with an ``owner`` (unfinished assistant messages, found
by a partial index); the owner's lease says whether its writer lives. The closing
itself is ``core.unfinished``'s, the same words the loop uses when it aborts.
"""

from __future__ import annotations

from ...core.models import Message, Part, ToolExecution, now_ms, parse_part
from ...core.unfinished import close_execution, close_message, close_part
from ..contract import Recovery
from . import messages, toollog
from .db import IDS_PER_STATEMENT, Db, chunks, marks

# '' is the owner of unfinished messages written before owners were recorded (see
# schema.py): their writer is long gone.
_LEGACY_OWNER = ""


def recover(db: Db, session_id: str | None, include_own: bool) -> Recovery:
    at_ms = now_ms()
    sql = "SELECT owner, data FROM messages WHERE owner IS NOT NULL"
    params: tuple[str, ...] = ()
    if session_id is not None:
        sql += " AND session_id = ?"
        params = (session_id,)
    recovery = Recovery()
    with db.transaction() as conn:
        # Whose records stay open: live owners, and this store unless include_own.
        alive: dict[str, bool] = {_LEGACY_OWNER: False, db.lease.token: not include_own}
        for owner, data in conn.execute(sql + " ORDER BY id", params).fetchall():
            if owner not in alive:
                alive[owner] = db.lease.alive(owner)
            if not alive[owner]:
                message = Message.model_validate_json(data)
                close_message(message, "interrupted", at_ms)
                recovery.messages.append(message)
        if not recovery.messages:
            return recovery
        messages.upsert_messages(db, recovery.messages)
        message_ids = [m.id for m in recovery.messages]
        recovery.parts = _close_parts(db, message_ids, at_ms)
        if recovery.parts:
            messages.upsert_parts(db, recovery.parts)
        recovery.executions = _close_executions(db, recovery.messages, at_ms)
        if recovery.executions:
            toollog.upsert(db, recovery.executions)
    return recovery


def _close_parts(db: Db, message_ids: list[str], at_ms: int) -> list[Part]:
    closed: list[Part] = []
    for chunk in chunks(message_ids, IDS_PER_STATEMENT):
        sql = f"SELECT data FROM parts WHERE message_id IN ({marks(len(chunk))}) ORDER BY id"
        for (data,) in db.conn.execute(sql, chunk).fetchall():
            part = parse_part(data)
            if close_part(part, "interrupted", at_ms):
                closed.append(part)
    return closed


def _close_executions(db: Db, dead: list[Message], at_ms: int) -> list[ToolExecution]:
    message_ids = {m.id for m in dead}
    closed: list[ToolExecution] = []
    for session_id in sorted({m.session_id for m in dead}):
        rows = db.conn.execute(
            "SELECT data FROM tool_executions WHERE session_id = ? "
            "AND json_extract(data, '$.status') = 'running' ORDER BY id",
            (session_id,),
        ).fetchall()
        for (data,) in rows:
            record = ToolExecution.model_validate_json(data)
            if record.message_id in message_ids and close_execution(record, "interrupted", at_ms):
                closed.append(record)
    return closed
