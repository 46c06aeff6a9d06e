"""``write(batch)``: a step's rows and its usage charge, committed together."""

from __future__ import annotations

from ...core.models import Session
from ..contract import WriteBatch
from . import messages, sessions, toollog
from .db import Db


def write_batch(db: Db, batch: WriteBatch) -> dict[str, Session]:
    """One transaction, in the order ``WriteBatch`` documents; any error rolls all of
    it back. The charged sessions after their charges, by id."""
    charged: dict[str, Session] = {}
    with db.transaction():
        if batch.removed_parts:
            messages.remove_parts(db, batch.removed_parts)
        if batch.messages:
            messages.upsert_messages(db, batch.messages)
        if batch.parts:
            messages.upsert_parts(db, batch.parts)
        if batch.executions:
            toollog.upsert(db, batch.executions)
        for charge in batch.charges:
            charged[charge.session_id] = sessions.charge(db, charge)
    return charged
