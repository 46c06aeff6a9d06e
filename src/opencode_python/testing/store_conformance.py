"""The conformance suite: what every ``Store`` implementation must do, as pytest tests.

Subclass ``StoreConformance`` in a test module (its name must start with ``Test``) and
provide a ``store_factory`` fixture: a function that returns a new, unopened store
over the data this test uses. Every call is a new writer on the same data, as another
process would be; the suite opens and closes the stores it makes.

    import pytest
    from opencode_python.testing.store_conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store_factory(self, tmp_path):
            return lambda: MyStore(tmp_path / "data")

To test recovery after a crash, also override ``dead_writer``: an async function that
writes a ``WriteBatch`` the way a process that then dies (without ``close()``) would
leave it. The SQLite suite (``tests/storage/test_conformance.py``) runs a subprocess
that writes and exits with ``os._exit``. Without it, that test is skipped.

Needs pytest and pytest-asyncio (the ``dev`` extra); nothing else in
``opencode_python.testing`` imports this module.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any

import pytest
import pytest_asyncio

from ..core.errors import NotFoundError, StorageError
from ..core.models import (
    Approval,
    CacheUsage,
    CompactionPart,
    FilePart,
    MemoryEntry,
    MemoryFilter,
    Message,
    MessageError,
    MessageTime,
    Part,
    PartTime,
    PermissionRule,
    ReasoningPart,
    Session,
    StepFinishPart,
    StepStartPart,
    SubtaskPart,
    TextPart,
    TokenUsage,
    ToolExecution,
    ToolPart,
    ToolState,
    now_ms,
)
from ..core.unfinished import is_open_message, is_open_part
from ..storage.contract import Store, UsageCharge, WriteBatch

StoreFactory = Callable[[], Store]
OpenStore = Callable[[], Awaitable[Store]]
DeadWriter = Callable[[WriteBatch], Awaitable[None]]


def every_part(session_id: str, message_id: str) -> list[Part]:
    """One part of each type, with non-default values wherever a field allows."""
    ids = {"session_id": session_id, "message_id": message_id}
    usage = TokenUsage(input=120, output=45, reasoning=7, cache=CacheUsage(read=30, write=2))
    return [
        StepStartPart(**ids),
        ReasoningPart(**ids, text="thinking…", metadata={"signature": "abc", "n": [1, 2]}),
        TextPart(**ids, text="héllo\nworld", synthetic=True, time=PartTime(start=1, end=2)),
        ToolPart(
            **ids,
            call_id="call_1",
            tool="read",
            state=ToolState(
                status="completed",
                input={"path": "a.py", "limit": 10},
                raw_input='{"path": "a.py", "limit": 10}',
                output="line 1\nline 2",
                title="a.py",
                metadata={"truncated": False, "lines": 2},
                time=PartTime(start=3, end=4),
            ),
        ),
        ToolPart(
            **ids,
            call_id="call_2",
            tool="bash",
            state=ToolState(status="error", input={"command": "false"}, error="exit 1"),
        ),
        FilePart(**ids, mime="image/png", url="data:image/png;base64,AAAA", filename="x.png"),
        SubtaskPart(
            **ids, agent="explore", prompt="find it", description="search", child_session_id="c"
        ),
        CompactionPart(**ids, auto=True),
        StepFinishPart(**ids, reason="tool_calls", usage=usage, cost=0.1 + 0.2),
    ]


def unfinished_step(session_id: str) -> WriteBatch:
    """What a step leaves while its tool runs: an open message, a step-start, text
    still streaming, a running tool call and its running execution record."""
    message = Message(session_id=session_id, role="assistant", agent="build")
    ids = {"session_id": session_id, "message_id": message.id}
    parts: list[Part] = [
        StepStartPart(**ids),
        TextPart(**ids, text="Building"),
        ToolPart(
            **ids,
            call_id="call_1",
            tool="bash",
            state=ToolState(status="running", input={"command": "make"}, time=PartTime()),
        ),
    ]
    execution = ToolExecution(
        session_id=session_id,
        message_id=message.id,
        call_id="call_1",
        tool="bash",
        arguments={"command": "make"},
    )
    return WriteBatch(messages=[message], parts=parts, executions=[execution])


def finished_step(session_id: str, usage: TokenUsage, cost: float) -> WriteBatch:
    """A finished step: the message with its usage, and the charge of that usage."""
    message = Message(
        session_id=session_id,
        role="assistant",
        finish="stop",
        usage=usage,
        cost=cost,
        time=MessageTime(completed=now_ms()),
    )
    ids = {"session_id": session_id, "message_id": message.id}
    return WriteBatch(
        messages=[message],
        parts=[
            StepStartPart(**ids),
            TextPart(**ids, text="done", time=PartTime(end=now_ms())),
            StepFinishPart(**ids, reason="stop", usage=usage, cost=cost),
        ],
        charges=[UsageCharge(session_id, usage, cost)],
    )


async def unfinished_records(store: Store, session_id: str) -> list[str]:
    """The ids of every open message, part and running execution of a session."""
    found = []
    for message in await store.list_messages(session_id):
        if is_open_message(message.info):
            found.append(message.info.id)
        found += [part.id for part in message.parts if is_open_part(part)]
    executions = await store.list_tool_executions(session_id, limit=None)
    return found + [e.id for e in executions if e.status == "running"]


@pytest.mark.asyncio
class StoreConformance:
    """The tests; subclass and provide ``store_factory`` (see the module docstring)."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        raise NotImplementedError("override the store_factory fixture (see the module docstring)")

    @pytest.fixture
    def dead_writer(self) -> DeadWriter:
        pytest.skip("override the dead_writer fixture to test recovery after a crash")

    @pytest_asyncio.fixture
    async def open_store(self, store_factory: StoreFactory) -> AsyncIterator[OpenStore]:
        """Opens a new writer on the test's data; all are closed after the test."""
        opened: list[Store] = []

        async def open_() -> Store:
            store = store_factory()
            await store.open()
            opened.append(store)
            return store

        yield open_
        for store in opened:
            await store.close()

    @pytest_asyncio.fixture
    async def store(self, open_store: OpenStore) -> Store:
        return await open_store()

    # sessions ----------------------------------------------------------------------

    async def test_session_round_trip(self, store: Store) -> None:
        session = Session(
            title="first",
            project_id="p1",
            permission=[PermissionRule(permission="bash", pattern="git *", action="allow")],
            usage=TokenUsage(input=3, output=4),
            cost=0.25,
        )
        assert await store.create_session(session) == session
        assert await store.get_session(session.id) == session
        with pytest.raises(StorageError, match="already exists"):
            await store.create_session(session)
        session.title = "renamed"
        assert await store.update_session(session) == session
        assert await store.get_session(session.id) == session

    async def test_an_update_never_takes_back_usage_charged_since_the_read(
        self, store: Store
    ) -> None:
        session = await store.create_session(Session(title="before"))
        read = await store.get_session(session.id)
        await store.write(WriteBatch(charges=[UsageCharge(session.id, TokenUsage(input=7), 0.5)]))
        read.title = "after"
        read.usage = TokenUsage(input=999)  # stale, or made up: usage moves only by charges
        stored = await store.update_session(read)
        assert (stored.title, stored.usage, stored.cost) == ("after", TokenUsage(input=7), 0.5)
        assert await store.get_session(session.id) == stored

    async def test_missing_things_are_not_found_by_id(self, store: Store) -> None:
        session = await store.create_session(Session())
        with pytest.raises(NotFoundError, match="ses_missing"):
            await store.get_session("ses_missing")
        with pytest.raises(NotFoundError, match="ses_missing"):
            await store.list_messages("ses_missing")
        with pytest.raises(NotFoundError, match="ses_gone"):
            await store.update_session(Session(id="ses_gone"))
        with pytest.raises(NotFoundError, match="ses_gone"):
            await store.delete_session("ses_gone")
        with pytest.raises(NotFoundError, match="msg_missing"):
            await store.get_message(session.id, "msg_missing")
        with pytest.raises(NotFoundError, match="msg_missing"):
            await store.delete_message(session.id, "msg_missing")
        with pytest.raises(NotFoundError, match="ses_missing"):
            await store.save_message(Message(session_id="ses_missing", role="user"))
        with pytest.raises(NotFoundError, match="msg_missing"):
            await store.save_part(TextPart(session_id=session.id, message_id="msg_missing"))

    async def test_list_sessions_latest_update_first_with_filters(self, store: Store) -> None:
        old = await store.create_session(Session(project_id="a"))
        new = await store.create_session(Session(project_id="a"))
        other = await store.create_session(Session(project_id="b"))
        child = await store.create_session(Session(project_id="a", parent_id=old.id))
        for offset, session in enumerate([old, new, other, child]):
            session.time.updated = 1_000 + offset
            await store.update_session(session)
        assert [s.id for s in await store.list_sessions()] == [child.id, other.id, new.id, old.id]
        assert [s.id for s in await store.list_sessions(project_id="a")] == [
            child.id,
            new.id,
            old.id,
        ]
        assert [s.id for s in await store.list_sessions(parent_id=old.id)] == [child.id]
        roots = await store.list_sessions(roots_only=True, limit=2)
        assert [s.id for s in roots] == [other.id, new.id]

    async def test_usage_adds_up_under_concurrent_charges(self, store: Store) -> None:
        session = await store.create_session(Session())
        usage = TokenUsage(input=1, output=2, reasoning=3, cache=CacheUsage(read=4, write=5))
        await asyncio.gather(*(store.add_session_usage(session.id, usage, 0.5) for _ in range(20)))
        stored = await store.get_session(session.id)
        assert stored.usage == TokenUsage(
            input=20, output=40, reasoning=60, cache=CacheUsage(read=80, write=100)
        )
        assert stored.cost == pytest.approx(10.0)
        with pytest.raises(NotFoundError, match="ses_missing"):
            await store.add_session_usage("ses_missing", usage, 0.0)

    async def test_delete_session_takes_its_tree_and_everything_in_it(self, store: Store) -> None:
        root = await store.create_session(Session())
        child = await store.create_session(Session(parent_id=root.id))
        grandchild = await store.create_session(Session(parent_id=child.id))
        kept = await store.create_session(Session())
        for session in (root, child, grandchild, kept):
            await store.write(unfinished_step(session.id))
        await store.delete_session(root.id)
        assert [s.id for s in await store.list_sessions()] == [kept.id]
        for gone in (root, child, grandchild):
            assert await store.list_tool_executions(gone.id) == []
            with pytest.raises(NotFoundError):
                await store.list_messages(gone.id)
        assert len(await store.list_messages(kept.id)) == 1

    # messages and parts ------------------------------------------------------------

    async def test_messages_and_parts_come_back_in_creation_order(self, store: Store) -> None:
        session = await store.create_session(Session())
        made = []
        for _ in range(5):
            message = Message(session_id=session.id, role="user")
            await store.save_message(message)
            await store.save_parts(
                [
                    TextPart(session_id=session.id, message_id=message.id, text=str(i))
                    for i in range(3)
                ]
            )
            made.append(message)
        listed = await store.list_messages(session.id)
        assert [m.info for m in listed] == made
        assert all(
            [p.text for p in m.parts if isinstance(p, TextPart)] == ["0", "1", "2"] for m in listed
        )
        latest = await store.list_messages(session.id, limit=2)
        assert [m.info.id for m in latest] == [m.id for m in made[-2:]]
        assert (await store.get_message(session.id, made[1].id)).info == made[1]

    async def test_every_part_type_round_trips(self, store: Store) -> None:
        session = await store.create_session(Session())
        message = Message(session_id=session.id, role="assistant")
        await store.save_message(message)
        parts = every_part(session.id, message.id)
        await store.save_parts(parts)
        stored = await store.get_message(session.id, message.id)
        assert stored.parts == parts
        assert [type(p) for p in stored.parts] == [type(p) for p in parts]

    async def test_upserts_keep_parts_and_replace_in_place(self, store: Store) -> None:
        session = await store.create_session(Session())
        message = Message(session_id=session.id, role="assistant")
        await store.save_message(message)
        part = TextPart(session_id=session.id, message_id=message.id, text="a")
        await store.save_parts([part, TextPart(session_id=session.id, message_id=message.id)])
        finished = message.model_copy(
            update={"finish": "error", "error": MessageError(name="X", message="boom")}
        )
        await store.save_message(finished)
        part.text = "changed"
        await store.save_part(part)
        stored = await store.get_message(session.id, message.id)
        assert stored.info == finished
        assert len(stored.parts) == 2
        assert stored.parts[0] == part

    async def test_deleting_parts_and_messages(self, store: Store) -> None:
        session = await store.create_session(Session())
        message = Message(session_id=session.id, role="user")
        await store.save_message(message)
        parts = [TextPart(session_id=session.id, message_id=message.id) for _ in range(3)]
        await store.save_parts(parts)
        await store.delete_parts(message.id, [])
        await store.delete_parts(message.id, [parts[1].id])
        assert (await store.get_message(session.id, message.id)).parts == [parts[0], parts[2]]
        await store.delete_parts(message.id)
        assert (await store.get_message(session.id, message.id)).parts == []
        await store.delete_message(session.id, message.id)
        assert await store.list_messages(session.id) == []

    # write batches -----------------------------------------------------------------

    async def test_a_batch_commits_rows_and_charges_together(self, store: Store) -> None:
        session = await store.create_session(Session())
        first = TokenUsage(input=10, output=5)
        second = TokenUsage(input=1, output=2, cache=CacheUsage(read=3))
        batch = finished_step(session.id, first, 0.25)
        batch.charges.append(UsageCharge(session.id, second, 0.5))
        charged = await store.write(batch)
        assert set(charged) == {session.id}
        assert charged[session.id].usage == first + second
        assert charged[session.id].cost == pytest.approx(0.75)
        assert await store.get_session(session.id) == charged[session.id]
        (stored,) = await store.list_messages(session.id)
        assert stored.info == batch.messages[0]
        assert stored.parts == batch.parts
        assert await store.write(WriteBatch()) == {}

    async def test_a_batch_with_a_bad_part_writes_nothing(self, store: Store) -> None:
        session = await store.create_session(Session())
        batch = finished_step(session.id, TokenUsage(input=7), 1.0)
        batch.parts.append(TextPart(session_id=session.id, message_id="msg_missing"))
        with pytest.raises(NotFoundError, match="msg_missing"):
            await store.write(batch)
        assert await store.list_messages(session.id) == []
        assert (await store.get_session(session.id)).usage == TokenUsage()

    async def test_a_batch_for_a_missing_session_writes_nothing(self, store: Store) -> None:
        session = await store.create_session(Session())
        batch = unfinished_step(session.id)
        batch.charges.append(UsageCharge("ses_missing", TokenUsage(input=1), 0.0))
        with pytest.raises(NotFoundError, match="ses_missing"):
            await store.write(batch)
        assert await store.list_messages(session.id) == []
        assert await store.list_tool_executions(session.id) == []

    async def test_a_batch_whose_caller_is_cancelled_still_commits(self, store: Store) -> None:
        session = await store.create_session(Session())
        batch = finished_step(session.id, TokenUsage(output=9), 0.5)
        task = asyncio.create_task(store.write(batch))
        await asyncio.sleep(0)  # the call has begun
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        for _ in range(500):  # it commits in the background: wait up to 5 s
            if await store.list_messages(session.id):
                break
            await asyncio.sleep(0.01)
        (stored,) = await store.list_messages(session.id)
        assert stored.parts == batch.parts
        assert (await store.get_session(session.id)).usage == TokenUsage(output=9)

    async def test_a_batch_removes_parts_first(self, store: Store) -> None:
        session = await store.create_session(Session())
        batch = unfinished_step(session.id)
        await store.write(batch)
        retried = TextPart(session_id=session.id, message_id=batch.messages[0].id, text="again")
        await store.write(
            WriteBatch(removed_parts=[p.id for p in batch.parts[1:]], parts=[retried])
        )
        stored = await store.get_message(session.id, batch.messages[0].id)
        assert stored.parts == [batch.parts[0], retried]

    # key-value, approvals, tool log ------------------------------------------------

    async def test_key_value_state(self, store: Store) -> None:
        assert await store.get_state("ns", "missing") is None
        await store.set_state("ns", "k", [1, "two", {"three": 3.5}, None])
        assert await store.get_state("ns", "k") == [1, "two", {"three": 3.5}, None]
        await store.set_state("ns", "k", "replaced")
        await store.set_state("other", "k", True)
        assert await store.get_state("ns", "k") == "replaced"
        await store.delete_state("ns", "k")
        await store.delete_state("ns", "k")
        assert await store.get_state("ns", "k") is None
        assert await store.get_state("other", "k") is True

    async def test_approvals(self, store: Store) -> None:
        first = Approval(
            project_id="p", agent="build", permission="bash", pattern="git *", created=1
        )
        second = Approval(project_id="p", agent="plan", permission="edit", pattern="*", created=2)
        elsewhere = Approval(project_id="q", agent="build", permission="bash", pattern="*")
        for approval in (first, first, second, elsewhere):
            await store.add_approval(approval)
        assert await store.list_approvals("p") == [first, second]
        assert await store.list_approvals("p", agent="plan") == [second]
        assert await store.delete_approval("p", "build", "bash", "git *") is True
        assert await store.delete_approval("p", "build", "bash", "git *") is False
        assert await store.list_approvals("p") == [second]

    async def test_tool_log(self, store: Store) -> None:
        session = await store.create_session(Session())
        records = [
            ToolExecution(
                session_id=session.id,
                message_id="msg_1",
                call_id=f"call_{i}",
                tool="bash" if i % 2 else "read",
                status="refused" if i == 0 else "running",
                reason="denied" if i == 0 else None,
            )
            for i in range(5)
        ]
        for record in records:
            await store.save_tool_execution(record)
        records[1].status = "completed"
        records[1].output = "ok"
        await store.save_tool_execution(records[1])
        assert await store.list_tool_executions(session.id) == records
        assert await store.list_tool_executions(session.id, limit=2) == records[-2:]
        assert await store.list_tool_executions(session.id, tool="bash") == records[1::2]
        with pytest.raises(NotFoundError, match="ses_missing"):
            await store.save_tool_execution(
                ToolExecution(session_id="ses_missing", message_id="m", call_id="c", tool="t")
            )

    # export / import ---------------------------------------------------------------

    async def test_export_delete_import_is_lossless(
        self, store: Store, open_store: OpenStore
    ) -> None:
        root = await store.create_session(Session(title="root", usage=TokenUsage(input=2)))
        child = await store.create_session(Session(title="child", parent_id=root.id))
        for session in (root, child):
            message = Message(session_id=session.id, role="assistant", finish="stop")
            await store.save_message(message)
            await store.save_parts(every_part(session.id, message.id))
        exported = await store.export_session(root.id)
        assert json.loads(json.dumps(exported)) == exported
        assert exported["children"][0]["session"]["id"] == child.id
        with pytest.raises(StorageError, match="overwrite=True"):
            await store.import_session(exported)
        before = await store.list_messages(root.id)
        await store.delete_session(root.id)
        assert await store.import_session(exported) == root
        assert await store.export_session(root.id) == exported
        assert await store.list_messages(root.id) == before
        await store.import_session(exported, overwrite=True)
        other = await open_store()
        await other.import_session(exported, overwrite=True)
        assert await other.export_session(root.id) == exported

    async def test_bad_exports_are_refused(self, store: Store) -> None:
        with pytest.raises(StorageError, match="not an opencode-python session export"):
            await store.import_session({"format": "something-else"})
        with pytest.raises(NotFoundError, match="ses_missing"):
            await store.export_session("ses_missing")

    # memory index ------------------------------------------------------------------

    async def test_memory_index_basics(self, store: Store) -> None:
        def entry(content: str, **fields: Any) -> MemoryEntry:
            return MemoryEntry(**{"project_id": "p", "scope": "project", **fields}, content=content)

        deploy = entry("the deploy script lives in ops", embedding=[1.0, 0.0], embedder="e")
        tabs = entry("the user prefers tabs", embedding=[0.0, 1.0], embedder="e")
        elsewhere = entry("deploy elsewhere", project_id="q")
        version = await store.memory_version()
        for memory in (deploy, tabs, elsewhere):
            await store.save_memory(memory)
        assert await store.memory_version() != version
        assert await store.get_memory(deploy.id) == deploy
        got = await store.get_memories([elsewhere.id, "mem_missing", deploy.id])
        assert got == [elsewhere, deploy]
        seen = MemoryFilter(project_id="p")
        assert {m.id for m in await store.list_memories(seen)} == {deploy.id, tabs.id}
        assert [i for i, _ in await store.keyword_search("deploy", seen, 5)] == [deploy.id]
        vectors = await store.memory_vectors("p", "e", 2)
        assert sorted(vectors.ids) == sorted([deploy.id, tabs.id])
        assert len(vectors.vectors) == 2 * 2 * 4
        version = await store.memory_version()
        await store.touch_memories([tabs.id])
        assert await store.memory_version() == version
        assert (await store.get_memory(tabs.id)).use_count == 1
        assert await store.prune_memories("project", max_count=1, project_id="p") == 1
        assert [m.id for m in await store.list_memories(seen)] == [tabs.id]
        assert await store.delete_memory(tabs.id) is True
        assert await store.delete_memory(tabs.id) is False
        with pytest.raises(NotFoundError, match=tabs.id):
            await store.get_memory(tabs.id)

    # recovery ----------------------------------------------------------------------

    async def test_a_closed_writers_records_are_closed_as_interrupted(
        self, open_store: OpenStore
    ) -> None:
        writer = await open_store()
        session = await writer.create_session(Session())
        await writer.write(finished_step(session.id, TokenUsage(input=3), 0.1))
        batch = unfinished_step(session.id)
        await writer.write(batch)
        await writer.close()

        reader = await open_store()
        before = await reader.get_session(session.id)
        recovery = await reader.recover_interrupted()
        assert [m.id for m in recovery.messages] == [batch.messages[0].id]
        assert {p.id for p in recovery.parts} == {p.id for p in batch.parts[1:]}
        assert [e.id for e in recovery.executions] == [batch.executions[0].id]
        assert await unfinished_records(reader, session.id) == []

        stored = await reader.get_message(session.id, batch.messages[0].id)
        assert stored.info == recovery.messages[0]
        assert stored.info.finish == "interrupted"
        assert stored.info.error is not None
        assert stored.info.error.name == "InterruptedError"
        assert stored.parts == [batch.parts[0], *recovery.parts]
        tool = stored.parts[-1]
        assert isinstance(tool, ToolPart)
        assert tool.state.status == "error"
        assert "interrupted" in tool.state.metadata
        assert recovery.executions[0].status == "interrupted"
        assert await reader.list_tool_executions(session.id) == recovery.executions
        assert await reader.get_session(session.id) == before  # usage untouched
        assert not await reader.recover_interrupted()

    async def test_a_dead_processes_records_are_closed_as_interrupted(
        self, store: Store, dead_writer: DeadWriter
    ) -> None:
        session = await store.create_session(Session())
        batch = unfinished_step(session.id)
        await dead_writer(batch)
        assert await unfinished_records(store, session.id) != []
        recovery = await store.recover_interrupted()
        assert [m.id for m in recovery.messages] == [batch.messages[0].id]
        assert await unfinished_records(store, session.id) == []

    async def test_a_live_writers_records_are_left_alone(self, open_store: OpenStore) -> None:
        writer = await open_store()
        session = await writer.create_session(Session())
        await writer.write(unfinished_step(session.id))
        other = await open_store()
        assert not await other.recover_interrupted()
        assert not await other.recover_interrupted(session_id=session.id, include_own=True)
        assert len(await unfinished_records(writer, session.id)) == 4

    async def test_own_records_are_closed_only_with_include_own(self, store: Store) -> None:
        session = await store.create_session(Session())
        await store.write(unfinished_step(session.id))
        assert not await store.recover_interrupted()
        assert len(await unfinished_records(store, session.id)) == 4
        recovery = await store.recover_interrupted(session_id=session.id, include_own=True)
        assert len(recovery.messages) == 1
        assert await unfinished_records(store, session.id) == []

    async def test_recovery_of_one_session_leaves_the_others(self, store: Store) -> None:
        one = await store.create_session(Session())
        two = await store.create_session(Session())
        for session in (one, two):
            await store.write(unfinished_step(session.id))
        recovery = await store.recover_interrupted(session_id=one.id, include_own=True)
        assert {m.session_id for m in recovery.messages} == {one.id}
        assert await unfinished_records(store, one.id) == []
        assert len(await unfinished_records(store, two.id)) == 4

    async def test_finishing_a_message_makes_it_no_longer_recoverable(self, store: Store) -> None:
        session = await store.create_session(Session())
        batch = unfinished_step(session.id)
        await store.write(batch)
        message = batch.messages[0]
        message.finish = "stop"
        message.time.completed = now_ms()
        await store.save_message(message)
        recovery = await store.recover_interrupted(session_id=session.id, include_own=True)
        assert recovery.messages == []
