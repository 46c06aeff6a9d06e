"""Session export and import: lossless round trips, conflicts, bad input."""

from __future__ import annotations

import asyncio
import copy
import json
from contextlib import suppress
from typing import Any

import pytest

from opencode_python.core.errors import NotFoundError, StorageError
from opencode_python.core.models import (
    Message,
    MessageError,
    PermissionRule,
    Session,
    TextPart,
    TokenUsage,
)
from opencode_python.storage import SQLiteStore

from .conftest import every_part


async def build_tree(store: SQLiteStore) -> Session:
    """A root session with two messages of every part type, a child and a grandchild."""
    root = await store.create_session(
        Session(
            title="root",
            slug="root-abc",
            project_id="p",
            directory="/work",
            version="1.0",
            permission=[PermissionRule(permission="edit", pattern="*.md", action="deny")],
            usage=TokenUsage(input=10, output=5),
            cost=0.015,
        )
    )
    child = await store.create_session(Session(title="child", parent_id=root.id))
    grandchild = await store.create_session(Session(title="grandchild", parent_id=child.id))
    for session in (root, child, grandchild):
        user = Message(session_id=session.id, role="user")
        await store.save_message(user)
        await store.save_part(TextPart(session_id=session.id, message_id=user.id, text="hi"))
        reply = Message(
            session_id=session.id,
            role="assistant",
            parent_id=user.id,
            agent="build",
            provider_id="openai",
            model_id="gpt-x",
            finish="error",
            usage=TokenUsage(input=1, output=2, reasoning=3),
            cost=1e-6,
            error=MessageError(name="ProviderError", message="boom", retryable=True),
        )
        await store.save_message(reply)
        await store.save_parts(every_part(session.id, reply.id))
    return root


async def test_export_shape(store: SQLiteStore) -> None:
    root = await build_tree(store)
    exported = await store.export_session(root.id)
    assert exported["format"] == "opencode-python.session"
    assert exported["version"] == 1
    assert exported["session"]["id"] == root.id
    assert [m["info"]["role"] for m in exported["messages"]] == ["user", "assistant"]
    assert len(exported["messages"][1]["parts"]) == len(every_part("s", "m"))
    (child,) = exported["children"]
    (grandchild,) = child["children"]
    assert grandchild["session"]["title"] == "grandchild"
    assert json.loads(json.dumps(exported)) == exported  # plain JSON data


async def test_export_delete_import_is_lossless(store: SQLiteStore) -> None:
    root = await build_tree(store)
    before = await store.export_session(root.id)
    messages_before = await store.list_messages(root.id)

    await store.delete_session(root.id)
    imported = await store.import_session(json.loads(json.dumps(before)))

    assert imported == root
    assert await store.export_session(root.id) == before
    assert await store.list_messages(root.id) == messages_before


async def test_import_into_another_store(store: SQLiteStore, tmp_path: Any) -> None:
    root = await build_tree(store)
    exported = await store.export_session(root.id)
    async with SQLiteStore(tmp_path / "other.db") as other:
        await other.import_session(exported)
        assert await other.export_session(root.id) == exported


async def test_import_of_an_existing_session_needs_overwrite(store: SQLiteStore) -> None:
    root = await build_tree(store)
    exported = await store.export_session(root.id)
    with pytest.raises(StorageError, match=rf"{root.id}.*overwrite=True"):
        await store.import_session(exported)

    # Diverge the stored copy, then overwrite it with the export.
    extra = Message(session_id=root.id, role="user")
    await store.save_message(extra)
    changed = copy.deepcopy(exported)
    changed["session"]["title"] = "restored"
    await store.import_session(changed, overwrite=True)

    assert (await store.get_session(root.id)).title == "restored"
    with pytest.raises(NotFoundError):
        await store.get_message(root.id, extra.id)
    assert await store.export_session(root.id) == changed


async def test_failed_import_leaves_nothing_behind(store: SQLiteStore) -> None:
    root = await build_tree(store)
    exported = await store.export_session(root.id)
    await store.delete_session(root.id)
    # A message id already used by another session makes the import fail halfway.
    other = await store.create_session(Session())
    taken = Message(id=exported["messages"][0]["info"]["id"], session_id=other.id, role="user")
    await store.save_message(taken)

    with pytest.raises(StorageError, match="already belongs to another session"):
        await store.import_session(exported)
    assert [s.id for s in await store.list_sessions()] == [other.id]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="something-else"), "not an opencode-python session export"),
        (lambda d: d.update(version=99), "version 99 is not supported"),
        (lambda d: d.pop("session"), "invalid session export"),
        (lambda d: d["session"].update(cost="lots"), "invalid session export"),
        (lambda d: d["messages"][0]["info"].update(session_id="ses_x"), "listed under"),
        (lambda d: d["messages"][0]["parts"][0].update(message_id="msg_x"), "listed under"),
        (lambda d: d["children"][0]["session"].update(parent_id=None), "listed under"),
    ],
)
async def test_bad_exports_are_refused(store: SQLiteStore, mutate: Any, message: str) -> None:
    root = await build_tree(store)
    exported = await store.export_session(root.id)
    await store.delete_session(root.id)
    mutate(exported)
    with pytest.raises(StorageError, match=message):
        await store.import_session(exported)
    assert await store.list_sessions() == []


async def test_export_of_a_missing_session(store: SQLiteStore) -> None:
    with pytest.raises(NotFoundError, match="ses_missing"):
        await store.export_session("ses_missing")


async def test_a_cancelled_import_is_all_or_nothing(store: SQLiteStore) -> None:
    root = await build_tree(store)
    exported = await store.export_session(root.id)
    await store.delete_session(root.id)
    for yields in range(0, 40, 3):  # cancel at different points of the transaction
        task = asyncio.create_task(store.import_session(exported))
        for _ in range(yields):
            await asyncio.sleep(0)
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        sessions = await store.list_sessions()
        assert len(sessions) in (0, 3)
        if sessions:
            await store.delete_session(root.id)
    await store.import_session(exported)
    assert await store.export_session(root.id) == exported
