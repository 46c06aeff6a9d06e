"""Several processes share one database file: every write lands, none fails on a lock."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from opencode_python.core.models import Message, Session, TextPart
from opencode_python.storage import SQLiteStore

SESSIONS_PER_WRITER = 40
PARTS_PER_MESSAGE = 3

# Each writer opens the (possibly brand-new) file, says it is ready, waits for "go" so
# that all writers start together, then writes sessions, messages, parts and state.
WRITER = """
import asyncio, sys
from opencode_python.core.models import Message, Session, TextPart
from opencode_python.storage import SQLiteStore

async def main(path, tag, count, parts):
    async with SQLiteStore(path) as store:
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(count):
            session = await store.create_session(Session(title=f"{tag}-{i}"))
            message = Message(session_id=session.id, role="user")
            await store.save_message(message)
            await store.save_parts(
                [TextPart(session_id=session.id, message_id=message.id, text=str(j))
                 for j in range(parts)]
            )
            await store.set_state("writers", f"{tag}-{i}", i)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


async def write_here(store: SQLiteStore, tag: str) -> None:
    for i in range(SESSIONS_PER_WRITER):
        session = await store.create_session(Session(title=f"{tag}-{i}"))
        message = Message(session_id=session.id, role="user")
        await store.save_message(message)
        for j in range(PARTS_PER_MESSAGE):
            await store.save_part(
                TextPart(session_id=session.id, message_id=message.id, text=str(j))
            )
        await store.set_state("writers", f"{tag}-{i}", i)


async def test_processes_write_the_same_file_at_once(db_path: Path) -> None:
    tags = ["child-a", "child-b"]
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            str(db_path),
            tag,
            str(SESSIONS_PER_WRITER),
            str(PARTS_PER_MESSAGE),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in tags
    ]
    for writer in writers:
        assert writer.stdout is not None
        if await writer.stdout.readline() != b"ready\n":
            _, stderr = await writer.communicate()
            raise AssertionError(f"a writer failed to open the store:\n{stderr.decode()}")

    async with SQLiteStore(db_path) as store:
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write(b"go\n")
            await writer.stdin.drain()
        await write_here(store, "parent")
        results = [await writer.communicate() for writer in writers]
        for writer, (_, stderr) in zip(writers, results, strict=True):
            assert writer.returncode == 0, stderr.decode()
            assert b"locked" not in stderr

        sessions = await store.list_sessions()
        assert sorted(s.title for s in sessions) == sorted(
            f"{tag}-{i}" for tag in [*tags, "parent"] for i in range(SESSIONS_PER_WRITER)
        )
        for session in sessions:
            (message,) = await store.list_messages(session.id)
            assert [p.text for p in message.parts if isinstance(p, TextPart)] == ["0", "1", "2"]
        for tag in [*tags, "parent"]:
            assert await store.get_state("writers", f"{tag}-7") == 7
