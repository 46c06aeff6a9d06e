"""SessionStorage, the user-facing API, exactly as applications call it."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python.core.errors import NotFoundError, StorageError
from opencode_python.core.models import TextPart
from opencode_python.storage import SessionStorage, SQLiteStore, resolve_project


@pytest.fixture(autouse=True)
def no_git_above(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


async def test_documented_usage(tmp_path: Path) -> None:
    base_dir = tmp_path / "data"
    storage = SessionStorage(base_dir=base_dir, project_dir=tmp_path)
    assert not base_dir.exists()  # the constructor does no I/O

    session = await storage.create_session(title="My session", version="1.0")
    assert session.id.startswith("ses_")
    assert session.title == "My session"
    assert session.version == "1.0"
    assert session.slug.startswith("my-session-")
    project = resolve_project(tmp_path)
    assert (session.project_id, session.directory) == (project.id, project.directory)
    assert (base_dir / "opencode.db").is_file()

    message_id = await storage.add_message(session_id=session.id, role="user", content="hello")
    reply_id = await storage.add_message(session.id, "assistant", "hi there")

    messages = await storage.get_messages(session.id)
    assert [m.info.id for m in messages] == [message_id, reply_id]
    assert [m.info.role for m in messages] == ["user", "assistant"]
    assert [m.text for m in messages] == ["hello", "hi there"]
    assert isinstance(messages[0].parts[0], TextPart)
    assert [m.info.id for m in await storage.get_messages(session.id, limit=1)] == [reply_id]
    assert await storage.get_session(session.id) == (await storage.list_sessions())[0]
    await storage.close()


async def test_default_title_and_project_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with SessionStorage(base_dir=tmp_path / "data") as storage:
        session = await storage.create_session()
        child = await storage.create_session(parent_id=session.id)
    assert session.title.startswith("New session - ")
    assert session.slug.startswith("session-")
    assert child.title.startswith("Child session - ")
    assert child.parent_id == session.id
    async with SessionStorage(base_dir=tmp_path / "data") as storage:
        assert await storage.list_sessions(parent_id=session.id) == [child]
        assert await storage.list_sessions(roots_only=True) == [session]
    assert session.directory == resolve_project(tmp_path).directory


async def test_adding_messages_and_renaming_count_as_updates(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "db.sqlite") as store:
        storage = SessionStorage(store=store, project_dir=tmp_path)
        session = await storage.create_session(title="t")
        session.time.updated = 1_000  # as if last touched long ago
        await store.update_session(session)

        await storage.add_message(session.id, "user", "hello")
        after_message = await storage.get_session(session.id)
        assert after_message.time.updated > 1_000

        await store.update_session(after_message.model_copy(update={"time": session.time}))
        renamed = await storage.rename_session(session.id, "Better title")
        assert renamed.title == "Better title"
        assert renamed.time.updated > 1_000
        assert await storage.get_session(session.id) == renamed


async def test_list_sessions_most_recently_updated_first(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "db.sqlite") as store:
        storage = SessionStorage(store=store, project_dir=tmp_path)
        first = await storage.create_session(title="first")
        second = await storage.create_session(title="second")
        for session, updated in ((first, 2_000), (second, 1_000)):
            session.time.updated = updated
            await store.update_session(session)
        assert [s.id for s in await storage.list_sessions()] == [first.id, second.id]
        assert [s.id for s in await storage.list_sessions(limit=1)] == [first.id]
        project_id = resolve_project(tmp_path).id
        assert len(await storage.list_sessions(project_id=project_id)) == 2
        assert await storage.list_sessions(project_id="elsewhere") == []


async def test_bad_input_gets_clear_errors(tmp_path: Path) -> None:
    async with SessionStorage(base_dir=tmp_path, project_dir=tmp_path) as storage:
        session = await storage.create_session(title="t")
        with pytest.raises(ValueError, match="role must be 'user' or 'assistant'"):
            await storage.add_message(session.id, "bot", "hi")  # type: ignore[arg-type]
        with pytest.raises(NotFoundError, match="ses_missing"):
            await storage.add_message("ses_missing", "user", "hi")
        with pytest.raises(NotFoundError, match="ses_missing"):
            await storage.create_session(parent_id="ses_missing")
        with pytest.raises(ValueError, match="must not be empty"):
            await storage.rename_session(session.id, "  ")
    with pytest.raises(ValueError, match="not both"):
        SessionStorage(base_dir=tmp_path, store=SQLiteStore(tmp_path / "x.db"))


async def test_delete_export_and_import(tmp_path: Path) -> None:
    async with SessionStorage(base_dir=tmp_path, project_dir=tmp_path) as storage:
        session = await storage.create_session(title="to move")
        await storage.add_message(session.id, "user", "hello")
        stored = await storage.get_session(session.id)
        exported = await storage.export_session(session.id)
        await storage.delete_session(session.id)
        with pytest.raises(NotFoundError):
            await storage.get_session(session.id)
        assert await storage.import_session(exported) == stored
        assert await storage.export_session(session.id) == exported
        with pytest.raises(StorageError, match="overwrite=True"):
            await storage.import_session(exported)
        await storage.import_session(exported, overwrite=True)


async def test_closes_its_own_store_but_not_a_borrowed_one(tmp_path: Path) -> None:
    async with SessionStorage(base_dir=tmp_path / "own", project_dir=tmp_path) as own:
        session = await own.create_session(title="t")
    with pytest.raises(StorageError, match="closed"):
        await own.get_session(session.id)

    async with SQLiteStore(tmp_path / "shared.db") as store:
        async with SessionStorage(store=store, project_dir=tmp_path) as borrowed:
            shared = await borrowed.create_session(title="t")
        assert (await store.get_session(shared.id)).id == shared.id


async def test_added_messages_are_finished(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "db.sqlite") as store:
        storage = SessionStorage(store=store, project_dir=tmp_path)
        session = await storage.create_session(title="t")
        await storage.add_message(session.id, "user", "hello")
        await storage.add_message(session.id, "assistant", "hi")
        user, reply = await storage.get_messages(session.id)
        assert user.info.time.completed is not None
        assert (user.info.finish, reply.info.finish) == (None, "stop")
        assert reply.info.time.completed is not None
        assert all(isinstance(p, TextPart) and p.time.end is not None for p in reply.parts)
        assert not await store.recover_interrupted(include_own=True)
