"""A writer killed with SIGKILL: the next store closes what it left as interrupted, and
the session's usage is exactly what its committed messages say."""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest

from opencode_python.core.models import (
    Message,
    Session,
    StepStartPart,
    TextPart,
    TokenUsage,
    ToolPart,
)
from opencode_python.core.unfinished import is_open_message, is_open_part
from opencode_python.storage import SQLiteStore
from opencode_python.storage.sqlite.lease import owners_dir
from opencode_python.storage.sqlite.schema import MIGRATIONS

# Runs steps the way the loop records them: a batch when the step starts, one when its
# tool starts (so a crash shows it running), one at the end with the message's usage
# and the session's charge. Says "in tool <step>" while a tool runs and "step <step>"
# after each step; with "hang-in-tool N" it stops inside step N's tool for good.
WRITER = """
import asyncio, sys
from opencode_python.core.models import (
    Message, MessageTime, PartTime, StepFinishPart, StepStartPart, TextPart, TokenUsage,
    ToolExecution, ToolPart, ToolState, now_ms,
)
from opencode_python.storage import SQLiteStore, UsageCharge, WriteBatch

async def main(path, session_id, hang_at):
    store = SQLiteStore(path)
    step = 0
    while True:
        message = Message(session_id=session_id, role="assistant")
        ids = {"session_id": session_id, "message_id": message.id}
        text = TextPart(**ids, text="thinking")
        await store.write(WriteBatch(messages=[message], parts=[StepStartPart(**ids), text]))
        text.time.end = now_ms()
        tool = ToolPart(**ids, call_id=f"call_{step}", tool="bash",
                        state=ToolState(status="running", time=PartTime()))
        record = ToolExecution(id="tex_" + tool.id[4:], session_id=session_id,
                               message_id=message.id, call_id=tool.call_id, tool="bash")
        await store.write(WriteBatch(parts=[text, tool], executions=[record]))
        print("in tool", step, flush=True)
        if step == hang_at:
            await asyncio.sleep(3600)
        tool.state.status = "completed"
        tool.state.output = "ok"
        tool.state.time.end = now_ms()
        record.status = "completed"
        usage = TokenUsage(input=10 + step, output=step % 7)
        message.usage, message.cost = usage, 0.001 * (step + 1)
        message.finish, message.time.completed = "stop", now_ms()
        await store.write(WriteBatch(
            messages=[message],
            parts=[tool, StepFinishPart(**ids, reason="stop", usage=usage, cost=message.cost)],
            executions=[record],
            charges=[UsageCharge(session_id, usage, message.cost)],
        ))
        print("step", step, flush=True)
        step += 1

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def start_writer(db_path: Path, session_id: str, hang_at: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(db_path),
        session_id,
        str(hang_at),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(process: asyncio.subprocess.Process, line: str) -> None:
    assert process.stdout is not None
    while True:
        got = await asyncio.wait_for(process.stdout.readline(), 60)
        if not got:
            _, stderr = await process.communicate()
            raise AssertionError(f"the writer ended early:\n{stderr.decode()}")
        if got.decode().strip() == line:
            return


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL


async def assert_recovered(store: SQLiteStore, session_id: str) -> None:
    """Nothing left open, and the session's usage is the sum of its messages'."""
    messages = await store.list_messages(session_id)
    assert not [m for m in messages if is_open_message(m.info)]
    assert not [p for m in messages for p in m.parts if is_open_part(p)]
    executions = await store.list_tool_executions(session_id, limit=None)
    assert all(e.status != "running" for e in executions)
    session = await store.get_session(session_id)
    total = sum((m.info.usage for m in messages), TokenUsage())
    assert session.usage == total
    # approx: SQLite keeps the JSON sum as text with 15 significant digits.
    assert session.cost == pytest.approx(sum(m.info.cost for m in messages))


async def test_a_writer_killed_inside_a_tool(db_path: Path) -> None:
    async with SQLiteStore(db_path) as store:
        session = await store.create_session(Session())
    writer = await start_writer(db_path, session.id, hang_at=2)
    await read_until(writer, "in tool 2")
    await kill(writer)

    async with SQLiteStore(db_path) as store:
        recovery = await store.recover_interrupted()
        (message,) = recovery.messages
        assert message.finish == "interrupted"
        assert message.time.completed is not None
        assert sorted(type(p).__name__ for p in recovery.parts) == ["ToolPart"]
        (tool,) = recovery.parts
        assert isinstance(tool, ToolPart)
        assert tool.state.status == "error"
        assert tool.state.error is not None
        assert "may still have run" in tool.state.error
        (record,) = recovery.executions
        assert (record.status, record.call_id) == ("interrupted", "call_2")
        await assert_recovered(store, session.id)
        assert len(await store.list_messages(session.id)) == 3
        # The dead writer's lock file was swept on open; only this store's is left.
        assert len(list(owners_dir(db_path).iterdir())) == 1


async def test_writers_killed_at_random_moments(db_path: Path) -> None:
    rng = random.Random(11)
    async with SQLiteStore(db_path) as store:
        for _ in range(3):
            session = await store.create_session(Session())
            writer = await start_writer(db_path, session.id, hang_at=-1)
            await read_until(writer, f"step {rng.randrange(3)}")
            await asyncio.sleep(rng.uniform(0, 0.02))  # anywhere in a later step
            await kill(writer)
            await store.recover_interrupted()
            await assert_recovered(store, session.id)


def legacy_database(db_path: Path, session: Session, messages: list[Message]) -> None:
    """A file at the schema before owners were recorded, written as that version did."""
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        for step in MIGRATIONS[:3]:
            for statement in step:
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 3")
        conn.execute(
            "INSERT INTO sessions VALUES (?, '', NULL, 0, 0, ?)",
            (session.id, session.model_dump_json()),
        )
        for message in messages:
            conn.execute(
                "INSERT INTO messages VALUES (?, ?, 0, ?)",
                (message.id, session.id, message.model_dump_json()),
            )


async def test_unfinished_messages_of_an_older_database(db_path: Path) -> None:
    session = Session()
    by_loop = Message(session_id=session.id, role="assistant")
    by_hand = Message(session_id=session.id, role="assistant")
    legacy_database(db_path, session, [by_loop, by_hand])
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        for part in (
            StepStartPart(session_id=session.id, message_id=by_loop.id),
            TextPart(session_id=session.id, message_id=by_loop.id, text="half"),
        ):
            conn.execute(
                "INSERT INTO parts VALUES (?, ?, ?, ?)",
                (part.id, part.message_id, part.session_id, part.model_dump_json()),
            )

    async with SQLiteStore(db_path) as store:
        recovery = await store.recover_interrupted()
        assert [m.id for m in recovery.messages] == [by_loop.id]
        assert len(recovery.parts) == 1
        assert (await store.get_message(session.id, by_hand.id)).info == by_hand
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
