"""The store thread: one thread owns one ``sqlite3`` connection and runs whole
operations on it, one at a time.

An operation is a plain function (``op(db, ...)``, often a transaction of several
statements) that runs from start to end on the thread, so a hop costs one thread
switch however many statements it holds, and a caller cancelled while its operation
runs cannot cut it: the operation commits or rolls back as a whole, and the caller
just does not wait for it. An operation once submitted always runs, even if its caller
is cancelled before it starts: a run that hands its rows over and is then aborted must
not lose them, and later operations queue behind it in order.

The thread is a ``ThreadPoolExecutor(max_workers=1)`` worker: not a daemon, and woken
and joined at interpreter exit after the work already queued has run, so a store that
is never closed neither keeps the process alive nor loses a commit. Its ``abandon``
(the store's ``weakref.finalize``) closes the connection and warns, as an unclosed
file does. Every queued operation keeps its store alive, so when the finalizer runs
the thread is idle (or, at exit, stopped) and the connection can be closed right
there: a finalizer runs wherever the garbage collector does, even inside another
store's ``submit()`` holding the executor module's lock, so it must not submit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from ...core.errors import StorageError
from .db import Db
from .lease import Lease
from .schema import connect, locked_error

P = ParamSpec("P")
T = TypeVar("T")


class Worker:
    """The thread and the connection it opens on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opencode-store")
        self._db: Db | None = None  # touched only on the thread, or by abandon() when idle

    async def call(
        self,
        holder: object,
        op: Callable[Concatenate[Db, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``op(db, *args, **kwargs)`` on the thread; its result or its error.

        Once called it runs, whatever happens to the caller (see the module docstring).
        ``holder``, the store, is kept alive until then.
        """
        return await self._submit(
            lambda: self._execute(lambda db: op(db, *args, **kwargs)), keep=holder
        )

    async def close(self) -> None:
        """Run what is queued, then close the connection and end the thread."""
        closed = self._submit(self._close)
        self._executor.shutdown(wait=False)
        await closed

    def _submit(self, job: Callable[[], T], keep: object = None) -> asyncio.Future[T]:
        """Queue ``job``, holding ``keep`` until it has run; the future gets its outcome.

        Cancelling the future does not stop the job: that is what keeps a submitted
        operation whole and never lost. (One asyncio future and a thread-safe callback:
        a third cheaper than ``asyncio.wrap_future``, which chains a second future.)
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def run() -> None:
            nonlocal keep
            try:
                result = job()
            except BaseException as exc:
                deliver: Callable[[], None] = partial(_fail, future, exc)
            else:
                deliver = partial(_succeed, future, result)
            keep = None  # the operation has run: its store may be collected now
            with suppress(RuntimeError):  # the loop is closed: nobody is waiting
                loop.call_soon_threadsafe(deliver)

        self._executor.submit(run)
        return future

    def abandon(self) -> None:
        """Close for a store that was garbage collected or reached exit unclosed, and
        warn if it held the database open (one whose open failed holds nothing).

        No operation is queued (each keeps its store alive), so the thread is idle or
        gone: close here, without the locks ``submit()`` takes.
        """
        was_open = self._db is not None
        self._close()
        self._executor.shutdown(wait=False)
        if was_open:
            warnings.warn(
                f"unclosed SQLiteStore({str(self.path)!r}); close() it or use 'async with'",
                ResourceWarning,
                stacklevel=1,
            )

    # on the thread -----------------------------------------------------------------

    def _execute(self, op: Callable[[Db], T]) -> T:
        db = self._db or self._open()
        try:
            return op(db)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise locked_error(self.path) from exc
            raise StorageError(f"database {self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"database {self.path}: {exc}") from exc

    def _open(self) -> Db:
        conn = connect(self.path)
        try:
            lease = Lease.acquire(self.path)
        except BaseException:
            conn.close()
            raise
        self._db = Db(conn, self.path, lease)
        return self._db

    def _close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.conn.close()
            db.lease.release()


def _succeed(future: asyncio.Future[T], result: T) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)
