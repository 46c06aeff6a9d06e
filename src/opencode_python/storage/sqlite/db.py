"""What every operation on the store thread receives, and the helpers they share."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import NotFoundError
from .lease import Lease

IDS_PER_STATEMENT = 500
"""Values in one ``IN (...)`` list: under the variable limit of every SQLite build."""


@dataclass(frozen=True, slots=True)
class Db:
    """The thread's connection, the file it is on, and this store's lease.

    Operations are plain functions ``op(db, ...)`` run whole on the store thread; a
    single statement commits by itself, several go in ``transaction()``.
    """

    conn: sqlite3.Connection
    path: Path
    lease: Lease

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """Statements that commit together, or, with ``write=False``, read one snapshot.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so a write transaction waits
        for other processes at its start instead of failing halfway through.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # "no transaction is active": SQLite already ended it (some errors do).
            with suppress(sqlite3.OperationalError):
                conn.execute("ROLLBACK")
            raise

    def no_session(self, session_id: str) -> NotFoundError:
        return NotFoundError(
            f"session {session_id!r} not found in {self.path}; "
            "list existing sessions with list_sessions()"
        )


def marks(count: int) -> str:
    """``?, ?, ...``: the placeholders of an ``IN (...)`` list of ``count`` values."""
    return ", ".join("?" * count)


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def missing_ids(db: Db, table: str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` have no row in ``table`` (to name them in an error)."""
    wanted = sorted(set(ids))
    found: set[str] = set()
    for chunk in chunks(wanted, IDS_PER_STATEMENT):
        sql = f"SELECT id FROM {table} WHERE id IN ({marks(len(chunk))})"
        found.update(row[0] for row in db.conn.execute(sql, chunk))
    return set(wanted) - found
