"""The store thread's lifecycle: exit without close(), cancelled callers, close()."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing, suppress
from pathlib import Path

import pytest

from opencode_python.core.errors import StorageError
from opencode_python.core.models import Message, Session, TextPart
from opencode_python.storage import SQLiteStore, WriteBatch
from opencode_python.storage.sqlite.db import Db
from opencode_python.storage.sqlite.lease import owners_dir

EXIT_TIMEOUT_S = 60

# Opens a store, writes, never closes it and returns. "local": the store is garbage
# collected when main() returns; "global": it is still alive when the process exits.
NEVER_CLOSED = """
import asyncio, sys
from opencode_python.core.models import Session
from opencode_python.storage import SQLiteStore

KEPT = []

async def main(path, where):
    store = SQLiteStore(path)
    if where == "global":
        KEPT.append(store)
    await store.create_session(Session(id="ses_kept", title="kept"))
    await store.set_state("ns", "k", [1, 2])

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.parametrize("where", ["local", "global"])
async def test_a_store_never_closed_lets_the_process_exit_with_its_writes(
    db_path: Path, where: str
) -> None:
    command = [sys.executable, "-W", "always::ResourceWarning", "-c", NEVER_CLOSED]
    done = await asyncio.to_thread(
        subprocess.run,
        [*command, str(db_path), where],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning: unclosed SQLiteStore" in done.stderr
    assert str(db_path) in done.stderr
    assert list(owners_dir(db_path).iterdir()) == []  # its lease was released

    async with SQLiteStore(db_path) as store:
        assert (await store.get_session("ses_kept")).title == "kept"
        assert await store.get_state("ns", "k") == [1, 2]


def test_without_the_warning_filter_a_forgotten_store_is_silent(db_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NEVER_CLOSED, str(db_path), "local"],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_S,
    )
    assert (done.returncode, done.stderr) == (0, "")


# A forgotten store in a reference cycle is freed by the garbage collector, which may run
# anywhere: here inside the lock every executor's submit() takes, as when another
# store's call allocates. Its finalizer must not need that lock.
COLLECTED_INSIDE_SUBMIT = """
import asyncio, gc, sys
from concurrent.futures import thread
from opencode_python.storage import SQLiteStore

async def main(path):
    store = SQLiteStore(path)
    await store.set_state("ns", "k", 1)
    store.cycle = store
    del store
    with thread._global_shutdown_lock:
        gc.collect()
    print("collected", flush=True)

asyncio.run(main(sys.argv[1]))
"""


async def test_a_forgotten_store_is_collected_anywhere(db_path: Path) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", COLLECTED_INSIDE_SUBMIT, str(db_path)],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_S,
    )
    assert (done.returncode, done.stdout) == (0, "collected\n"), done.stderr
    assert list(owners_dir(db_path).iterdir()) == []
    async with SQLiteStore(db_path) as store:
        assert await store.get_state("ns", "k") == 1


def write_lock_is_free(db_path: Path) -> bool:
    """Whether another connection can take the write lock at once."""
    with closing(sqlite3.connect(db_path, isolation_level=None, timeout=0)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        conn.execute("ROLLBACK")
        return True


async def test_a_cancelled_caller_leaves_no_open_transaction(
    store: SQLiteStore, db_path: Path
) -> None:
    session = await store.create_session(Session())
    for yields in range(6):  # cancel before the hop, while queued, while running, after
        message = Message(session_id=session.id, role="user")
        parts = [
            TextPart(session_id=session.id, message_id=message.id, text=str(i)) for i in range(600)
        ]
        task = asyncio.create_task(store.write(WriteBatch(messages=[message], parts=parts)))
        for _ in range(yields):
            await asyncio.sleep(0)
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await store.get_state("ns", "barrier")  # queued behind the write: it has ended
        assert write_lock_is_free(db_path)
        stored = [m for m in await store.list_messages(session.id) if m.info.id == message.id]
        assert [len(m.parts) for m in stored] in ([], [600])


class Gate:
    """An operation that holds the store thread inside a transaction until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def op(self, db: Db) -> None:
        with db.transaction() as conn:
            conn.execute("INSERT INTO kv_state VALUES ('ns', 'first', '1')")
            self.started.set()
            self.release.wait(EXIT_TIMEOUT_S)
            conn.execute("INSERT INTO kv_state VALUES ('ns', 'second', '2')")


async def test_an_operation_runs_whole_though_its_caller_was_cancelled(
    store: SQLiteStore,
) -> None:
    gate = Gate()
    running = asyncio.create_task(store._call(gate.op))
    await asyncio.to_thread(gate.started.wait, EXIT_TIMEOUT_S)
    queued = asyncio.create_task(store.set_state("ns", "queued", 3))
    await asyncio.sleep(0)  # submitted, waiting behind the gate
    running.cancel()
    queued.cancel()
    for task in (running, queued):
        with pytest.raises(asyncio.CancelledError):
            await task
    gate.release.set()
    assert await store.get_state("ns", "first") == 1
    assert await store.get_state("ns", "second") == 2  # the running one finished
    # Submitted work always runs: a run aborted after handing over its rows keeps them.
    assert await store.get_state("ns", "queued") == 3


async def test_close_waits_for_running_work_and_refuses_new(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    await store.open()
    gate = Gate()
    running = asyncio.create_task(store._call(gate.op))
    await asyncio.to_thread(gate.started.wait, EXIT_TIMEOUT_S)
    closing_ = asyncio.create_task(store.close())
    await asyncio.sleep(0.05)
    assert not closing_.done()
    with pytest.raises(StorageError, match="closed"):
        await store.get_state("ns", "first")
    gate.release.set()
    await closing_
    await running
    async with SQLiteStore(db_path) as again:
        assert await again.get_state("ns", "second") == 2
