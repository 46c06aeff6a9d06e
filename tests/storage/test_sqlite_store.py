"""SQLiteStore on real files: what is particular to SQLite (the file, the schema,
cascades counted in rows, reopening, errors naming the file). The store contract itself
is checked by the conformance suite (test_conformance.py), which SQLite runs too."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from opencode_python.core.errors import NotFoundError, StorageError
from opencode_python.core.models import (
    Message,
    MessageError,
    PermissionRule,
    Session,
    TextPart,
    TokenUsage,
    ToolPart,
)
from opencode_python.storage import SQLiteStore
from opencode_python.storage.sqlite.schema import MIGRATIONS

from .conftest import every_part


def raw(db_path: Path) -> closing[sqlite3.Connection]:
    """A plain connection to look at the file behind the store's back."""
    return closing(sqlite3.connect(db_path, isolation_level=None))


def count(db_path: Path, table: str) -> int:
    with raw(db_path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def make_message(store: SQLiteStore, session: Session, parts: int = 0) -> Message:
    message = Message(session_id=session.id, role="assistant")
    await store.save_message(message)
    await store.save_parts(
        [TextPart(session_id=session.id, message_id=message.id, text=str(i)) for i in range(parts)]
    )
    return message


async def test_file_is_wal_with_current_schema(store: SQLiteStore, db_path: Path) -> None:
    await store.create_session(Session())
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_session_crud(store: SQLiteStore) -> None:
    session = Session(
        title="first",
        project_id="p1",
        permission=[PermissionRule(permission="bash", pattern="git *", action="allow")],
        usage=TokenUsage(input=3, output=4),
        cost=0.25,
    )
    assert await store.create_session(session) == session
    assert await store.get_session(session.id) == session

    session.title = "renamed"
    session.time.updated += 10
    await store.update_session(session)
    assert (await store.get_session(session.id)).title == "renamed"

    await store.delete_session(session.id)
    with pytest.raises(NotFoundError, match=session.id):
        await store.get_session(session.id)


async def test_saving_a_message_again_keeps_its_parts(store: SQLiteStore, db_path: Path) -> None:
    session = await store.create_session(Session())
    message = await make_message(store, session, parts=2)
    finished = message.model_copy(
        update={"finish": "error", "error": MessageError(name="X", message="boom")}
    )
    await store.save_message(finished)
    stored = await store.get_message(session.id, message.id)
    assert stored.info == finished
    assert len(stored.parts) == 2
    assert count(db_path, "messages") == 1


async def test_saving_a_part_again_updates_it(store: SQLiteStore, db_path: Path) -> None:
    session = await store.create_session(Session())
    message = await make_message(store, session)
    tool = next(p for p in every_part(session.id, message.id) if isinstance(p, ToolPart))
    await store.save_part(tool)
    tool.state.status = "running"
    await store.save_part(tool)
    assert (await store.get_message(session.id, message.id)).parts == [tool]
    assert count(db_path, "parts") == 1


async def test_many_parts_in_one_call(store: SQLiteStore) -> None:
    session = await store.create_session(Session())
    message = await make_message(store, session, parts=450)  # more than one statement's worth
    stored = await store.get_message(session.id, message.id)
    assert [p.text for p in stored.parts if isinstance(p, TextPart)] == [str(i) for i in range(450)]


async def test_delete_parts(store: SQLiteStore) -> None:
    session = await store.create_session(Session())
    message = await make_message(store, session, parts=3)
    parts = (await store.get_message(session.id, message.id)).parts
    await store.delete_parts(message.id, [])
    await store.delete_parts(message.id, [parts[1].id])
    assert (await store.get_message(session.id, message.id)).parts == [parts[0], parts[2]]
    await store.delete_parts(message.id)
    assert (await store.get_message(session.id, message.id)).parts == []


async def test_delete_message_removes_its_parts(store: SQLiteStore, db_path: Path) -> None:
    session = await store.create_session(Session())
    doomed = await make_message(store, session, parts=2)
    kept = await make_message(store, session, parts=1)
    await store.delete_message(session.id, doomed.id)
    assert [m.info.id for m in await store.list_messages(session.id)] == [kept.id]
    assert count(db_path, "parts") == 1
    with pytest.raises(NotFoundError, match=doomed.id):
        await store.delete_message(session.id, doomed.id)


async def test_delete_session_removes_children_messages_and_parts(
    store: SQLiteStore, db_path: Path
) -> None:
    root = await store.create_session(Session())
    child = await store.create_session(Session(parent_id=root.id))
    grandchild = await store.create_session(Session(parent_id=child.id))
    unrelated = await store.create_session(Session())
    for session in (root, child, grandchild, unrelated):
        await make_message(store, session, parts=2)

    await store.delete_session(root.id)

    assert [s.id for s in await store.list_sessions()] == [unrelated.id]
    assert count(db_path, "messages") == 1
    assert count(db_path, "parts") == 2
    with pytest.raises(NotFoundError):
        await store.delete_session(root.id)


async def test_missing_things_raise_not_found_naming_them(store: SQLiteStore) -> None:
    session = await store.create_session(Session())
    with pytest.raises(NotFoundError, match=r"ses_missing.*list_sessions\(\)"):
        await store.get_session("ses_missing")
    with pytest.raises(NotFoundError, match="ses_missing"):
        await store.list_messages("ses_missing")
    assert await store.list_messages(session.id) == []
    with pytest.raises(NotFoundError, match="msg_missing"):
        await store.get_message(session.id, "msg_missing")
    with pytest.raises(NotFoundError, match="ses_gone"):
        await store.update_session(Session(id="ses_gone"))
    with pytest.raises(NotFoundError, match="ses_missing"):
        await store.save_message(Message(session_id="ses_missing", role="user"))
    with pytest.raises(NotFoundError, match="msg_missing"):
        await store.save_part(TextPart(session_id=session.id, message_id="msg_missing"))


async def test_data_survives_reopening(db_path: Path) -> None:
    async with SQLiteStore(db_path) as first:
        session = await first.create_session(Session(title="kept"))
        message = await make_message(first, session, parts=2)
        await first.set_state("ns", "k", {"a": 1})
    async with SQLiteStore(db_path) as second:
        assert await second.get_session(session.id) == session
        assert (await second.list_messages(session.id))[0].info == message
        assert await second.get_state("ns", "k") == {"a": 1}


async def test_close_is_idempotent_and_open_reopens(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    session = await store.create_session(Session())  # opens on first use
    await store.close()
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.get_session(session.id)
    await store.open()
    assert (await store.get_session(session.id)).id == session.id
    await store.close()


async def test_a_file_that_is_not_sqlite_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "opencode.db"
    garbage = b"this is not a database, just some bytes\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StorageError, match="not a valid SQLite database") as info:
        await SQLiteStore(path).open()
    assert str(path) in str(info.value)
    assert path.read_bytes() == garbage


async def test_a_directory_at_the_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open database"):
        await SQLiteStore(tmp_path).open()


async def test_a_newer_schema_is_refused(db_path: Path) -> None:
    async with SQLiteStore(db_path):
        pass
    with raw(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StorageError, match="newer"):
        await SQLiteStore(db_path).open()
