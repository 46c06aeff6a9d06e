"""Small JSON values by namespace and key."""

from __future__ import annotations

import json
from typing import Any

from .db import Db


def get(db: Db, namespace: str, key: str) -> Any | None:
    rows = db.conn.execute(
        "SELECT value FROM kv_state WHERE namespace = ? AND key = ?", (namespace, key)
    ).fetchall()
    return json.loads(rows[0][0]) if rows else None


def set_(db: Db, namespace: str, key: str, encoded: str) -> None:
    """Store ``encoded``, a value already turned into JSON (by the caller, so a value
    that cannot be encoded fails before it reaches the thread)."""
    db.conn.execute(
        "INSERT INTO kv_state (namespace, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
        (namespace, key, encoded),
    )


def delete(db: Db, namespace: str, key: str) -> None:
    db.conn.execute("DELETE FROM kv_state WHERE namespace = ? AND key = ?", (namespace, key))
