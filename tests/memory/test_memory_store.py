"""Memories in a real SQLite file: rows, full-text index, filters, vectors, pruning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from opencode_python.core.errors import NotFoundError
from opencode_python.core.models import MemoryEntry, MemoryFilter, now_ms
from opencode_python.storage import SQLiteStore

PROJECT = "prj_a"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "opencode.db") as opened:
        yield opened


def memory(content: str, **fields: Any) -> MemoryEntry:
    fields.setdefault("project_id", PROJECT)
    fields.setdefault("scope", "project")
    return MemoryEntry(content=content, **fields)


def everything(project_id: str = PROJECT) -> MemoryFilter:
    return MemoryFilter(project_id=project_id, session_id="ses_1", agent="build")


async def test_save_get_update_delete(store: SQLiteStore) -> None:
    entry = memory(
        "The user prefers tabs",
        session_id="ses_1",
        agent="build",
        metadata={"kind": "preference", "n": 2},
        occurred_at=1_700_000_000_000,
        context="Do you prefer tabs or spaces?",
        embedding=[0.5, -0.25, 1.0],
        embedder="test",
    )
    await store.save_memory(entry)
    assert await store.get_memory(entry.id) == entry

    changed = entry.model_copy(update={"content": "The user prefers spaces", "use_count": 3})
    await store.save_memory(changed)
    assert await store.get_memory(entry.id) == changed

    assert await store.delete_memory(entry.id) is True
    assert await store.delete_memory(entry.id) is False
    with pytest.raises(NotFoundError, match=entry.id):
        await store.get_memory(entry.id)


async def test_full_text_index_follows_updates_and_deletes(store: SQLiteStore) -> None:
    entry = memory("the deploy script lives in ops/deploy.sh")
    await store.save_memory(entry)
    assert [i for i, _ in await store.keyword_search("deploy", everything(), 5)] == [entry.id]

    await store.save_memory(entry.model_copy(update={"content": "releases go through CI"}))
    assert await store.keyword_search("deploy", everything(), 5) == []
    assert [i for i, _ in await store.keyword_search("release", everything(), 5)] == [entry.id]

    await store.delete_memory(entry.id)
    assert await store.keyword_search("releases", everything(), 5) == []


async def test_keyword_search_ranks_the_exact_term_first(store: SQLiteStore) -> None:
    target = memory("PostgreSQL is the production database")
    others = [
        memory("the staging database is small"),
        memory("production deploys happen on Tuesdays"),
        memory("unrelated note about lunch"),
    ]
    await store.save_memories([*others, target])
    results = await store.keyword_search("postgresql production database", everything(), 10)
    assert results[0][0] == target.id
    assert {i for i, _ in results} == {target.id, others[0].id, others[1].id}
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        'say "hello',
        "hello AND NOT world",
        "hel*",
        "hello OR",
        "NEAR(hello world)",
        "content: hello",
        "(hello) ^ - + {}",
        "-- '; DROP TABLE memories; --",
        "***",
        "",
    ],
)
async def test_keyword_search_treats_syntax_as_words(store: SQLiteStore, query: str) -> None:
    entry = memory("hello and world")
    await store.save_memory(entry)
    results = await store.keyword_search(query, everything(), 5)
    assert [i for i, _ in results] in ([], [entry.id])
    assert await store.get_memory(entry.id) == entry


async def test_keyword_search_drops_stopwords_unless_nothing_is_left(store: SQLiteStore) -> None:
    topical = memory("the cache uses redis")
    await store.save_memories([topical, memory("the end of the day")])
    assert [i for i, _ in await store.keyword_search("what is the cache", everything(), 5)] == [
        topical.id
    ]
    assert len(await store.keyword_search("the", everything(), 5)) == 2


async def test_filter_scopes(store: SQLiteStore) -> None:
    mine = memory("session note", scope="session", session_id="ses_1", agent="build")
    other_session = memory("session note", scope="session", session_id="ses_2", agent="build")
    my_agent = memory("agent note", scope="agent", agent="build", session_id="ses_2")
    other_agent = memory("agent note", scope="agent", agent="plan")
    project = memory("project note")
    other_project = memory("project note", project_id="prj_b")
    other_project_agent = memory("agent note", scope="agent", agent="build", project_id="prj_b")
    user = memory("user note", scope="user", project_id="prj_b")
    await store.save_memories([mine, other_session, my_agent, other_agent, project, other_project])
    await store.save_memories([other_project_agent, user])

    async def seen(filt: MemoryFilter) -> set[str]:
        listed = {m.id for m in await store.list_memories(filt)}
        found = {i for i, _ in await store.keyword_search("note", filt, 100)}
        assert listed == found
        return listed

    assert await seen(everything()) == {mine.id, my_agent.id, project.id, user.id}
    assert await seen(MemoryFilter(project_id=PROJECT)) == {project.id, user.id}
    assert await seen(MemoryFilter(project_id=PROJECT, user=False)) == {project.id}
    assert await seen(MemoryFilter(project_id=PROJECT, agent="plan", user=False)) == {
        project.id,
        other_agent.id,
    }
    assert await seen(everything("prj_b")) == {other_project.id, other_project_agent.id, user.id}


async def test_keyword_search_finds_visible_matches_below_invisible_better_ones(
    store: SQLiteStore,
) -> None:
    """Another project's many strong matches must not hide this project's weak one."""
    strong = [memory("kiwi kiwi kiwi", project_id="prj_b") for _ in range(30)]
    weak = memory("a kiwi among many other words about fruit and a long afternoon")
    await store.save_memories([*strong, weak])
    assert [i for i, _ in await store.keyword_search("kiwi", everything(), 3)] == [weak.id]
    found = await store.keyword_search("kiwi", everything("prj_b"), 5)
    assert {i for i, _ in found} <= {m.id for m in strong}
    assert len(found) == 5


async def test_metadata_and_time_filters(store: SQLiteStore) -> None:
    start = now_ms()
    old = memory("note", created=start - 10_000, metadata={"kind": "fact", "pinned": True})
    new = memory("note", created=start, metadata={"kind": "fact", "pinned": False})
    other = memory("note", created=start, metadata={"kind": "todo", "a.b": 1})
    await store.save_memories([old, new, other])

    async def seen(**fields: Any) -> set[str]:
        filt = MemoryFilter(project_id=PROJECT, **fields)
        listed = {m.id for m in await store.list_memories(filt)}
        assert listed == {i for i, _ in await store.keyword_search("note", filt, 100)}
        return listed

    assert await seen(metadata={"kind": "fact"}) == {old.id, new.id}
    assert await seen(metadata={"kind": "fact", "pinned": True}) == {old.id}
    assert await seen(metadata={"a.b": 1}) == {other.id}
    assert await seen(metadata={"missing": "x"}) == set()
    assert await seen(since_ms=start - 1) == {new.id, other.id}
    assert await seen(until_ms=start) == {old.id}
    with pytest.raises(ValueError, match="double quote"):
        MemoryFilter(project_id=PROJECT, metadata={'a"b': 1})


async def test_list_memories_newest_first_with_limit(store: SQLiteStore) -> None:
    entries = [memory(f"note {i}", created=1000 + i) for i in range(5)]
    await store.save_memories(entries)
    listed = await store.list_memories(MemoryFilter(project_id=PROJECT), limit=2)
    assert [m.id for m in listed] == [entries[4].id, entries[3].id]


async def test_memory_vectors_round_trip(store: SQLiteStore) -> None:
    a = memory("a", embedding=[1.0, 0.5, -2.0], embedder="e1")
    b = memory("b", embedding=[0.0, 0.25, 3.0], embedder="e1", scope="user", project_id="prj_b")
    other_embedder = memory("c", embedding=[1.0, 1.0, 1.0], embedder="e2")
    other_dims = memory("d", embedding=[1.0, 1.0], embedder="e1")
    other_project = memory("e", embedding=[1.0, 1.0, 1.0], embedder="e1", project_id="prj_b")
    no_vector = memory("f")
    await store.save_memories([a, b, other_embedder, other_dims, other_project, no_vector])

    rows = await store.memory_vectors(PROJECT, "e1", 3)
    assert rows.ids == [a.id, b.id]
    assert rows.scopes == ["project", "user"]
    assert rows.dims == 3
    assert len(rows.vectors) == 2 * 3 * 4
    assert (await store.get_memory(b.id)).embedding == [0.0, 0.25, 3.0]


async def test_version_changes_on_writes_but_not_on_use(store: SQLiteStore) -> None:
    start = await store.memory_version()
    entry = memory("x")
    await store.save_memory(entry)
    saved = await store.memory_version()
    assert saved != start
    await store.touch_memories([entry.id])
    assert await store.memory_version() == saved
    await store.delete_memory(entry.id)
    assert await store.memory_version() != saved


async def test_touch_memories(store: SQLiteStore) -> None:
    entry = memory("x")
    await store.save_memory(entry)
    before = now_ms()
    await store.touch_memories([entry.id])
    await store.touch_memories([entry.id, "mem_missing"])
    await store.touch_memories([])
    touched = await store.get_memory(entry.id)
    assert touched.use_count == 2
    assert touched.last_used is not None
    assert touched.last_used >= before


async def test_prune_by_age_and_count(store: SQLiteStore) -> None:
    now = now_ms()
    stale = memory("stale", scope="session", session_id="s", created=now - 100_000)
    used = memory("old but used", scope="session", session_id="s", created=now - 100_000)
    recent = [
        memory(f"recent {i}", scope="session", session_id="s", created=now - i) for i in range(3)
    ]
    project = memory("project", created=now - 100_000)
    elsewhere = memory("elsewhere", scope="session", project_id="prj_b", created=now - 100_000)
    await store.save_memories([stale, used, *recent, project, elsewhere])
    await store.touch_memories([used.id])

    assert await store.prune_memories("session", max_age_ms=50_000, project_id=PROJECT) == 1
    with pytest.raises(NotFoundError):
        await store.get_memory(stale.id)

    # keeps the most recently used: `used` (just touched) and the newest of `recent`
    assert await store.prune_memories("session", max_count=2, project_id=PROJECT) == 2
    kept = {
        m.id for m in await store.list_memories(MemoryFilter(project_id=PROJECT, session_id="s"))
    }
    assert kept == {used.id, recent[0].id, project.id}
    assert (await store.get_memory(elsewhere.id)).content == "elsewhere"

    assert await store.prune_memories("session", max_count=0) == 3


async def test_memories_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "opencode.db"
    entry = memory("remember the milk", embedding=[1.0, 2.0], embedder="e")
    async with SQLiteStore(path) as first:
        await first.save_memory(entry)
    async with SQLiteStore(path) as second:
        assert await second.get_memory(entry.id) == entry
        assert [i for i, _ in await second.keyword_search("milk", everything(), 5)] == [entry.id]
