"""Vector index and hybrid search over memories in a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opencode_python.core.models import MemoryEntry, MemoryFilter
from opencode_python.memory import VectorIndex, hybrid_search, reciprocal_rank_fusion
from opencode_python.storage import SQLiteStore

PROJECT = "prj_a"
EMBEDDER = "test-embedder"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "opencode.db") as opened:
        yield opened


def memory(content: str, vector: list[float] | None = None, **fields: Any) -> MemoryEntry:
    fields.setdefault("project_id", PROJECT)
    fields.setdefault("scope", "project")
    embedder = EMBEDDER if vector is not None else None
    return MemoryEntry(content=content, embedding=vector, embedder=embedder, **fields)


FILTER = MemoryFilter(project_id=PROJECT, session_id="ses_1", agent="build")


async def test_vector_search_orders_by_cosine(store: SQLiteStore) -> None:
    near = memory("near", [1.0, 0.1, 0.0])
    middle = memory("middle", [1.0, 1.0, 0.0])
    far = memory("far", [-1.0, 0.0, 0.0])
    await store.save_memories([far, near, middle])
    index = VectorIndex(store, EMBEDDER)

    results = await index.search([10.0, 0.0, 0.0], FILTER, 3)
    assert [i for i, _ in results] == [near.id, middle.id, far.id]
    assert results[0][1] == pytest.approx(1 / np.sqrt(1.01), rel=1e-6)
    assert results[2][1] == pytest.approx(-1.0)
    assert [i for i, _ in await index.search([1.0, 0.0, 0.0], FILTER, 1)] == [near.id]
    assert await index.search([0.0, 0.0, 0.0], FILTER, 3) == []
    assert await index.search([1.0, 0.0], FILTER, 3) == []  # no 2-dim vectors stored


async def test_vector_search_applies_the_same_filter_as_the_store(store: SQLiteStore) -> None:
    v = [1.0, 0.0]
    entries = [
        memory("a", v, scope="session", session_id="ses_1"),
        memory("b", v, scope="session", session_id="ses_2"),
        memory("c", v, scope="agent", agent="build"),
        memory("d", v, scope="agent", agent="plan"),
        memory("e", v, metadata={"kind": "fact"}, created=5_000),
        memory("f", v, metadata={"kind": "todo"}, created=9_000),
        memory("g", v, project_id="prj_b"),
        memory("h", v, scope="user", project_id="prj_b"),
    ]
    await store.save_memories(entries)
    index = VectorIndex(store, EMBEDDER)
    filters = [
        FILTER,
        MemoryFilter(project_id=PROJECT),
        MemoryFilter(project_id=PROJECT, agent="plan", user=False),
        MemoryFilter(project_id=PROJECT, session_id="ses_unknown", agent="nobody"),
        MemoryFilter(project_id=PROJECT, metadata={"kind": "fact"}),
        MemoryFilter(project_id=PROJECT, since_ms=6_000, until_ms=10_000, user=False),
        MemoryFilter(project_id="prj_b", session_id="ses_1"),
    ]
    for filt in filters:
        by_vector = {i for i, _ in await index.search(v, filt, 100)}
        by_store = {m.id for m in await store.list_memories(filt)}
        assert by_vector == by_store, filt


async def test_index_reloads_after_writes_from_any_process(
    store: SQLiteStore, tmp_path: Path
) -> None:
    first = memory("first", [1.0, 0.0])
    await store.save_memory(first)
    index = VectorIndex(store, EMBEDDER)
    assert [i for i, _ in await index.search([0.0, 1.0], FILTER, 1)] == [first.id]

    second = memory("second", [0.0, 1.0])
    await store.save_memory(second)
    assert [i for i, _ in await index.search([0.0, 1.0], FILTER, 1)] == [second.id]

    async with SQLiteStore(tmp_path / "opencode.db") as other:  # another writer
        await other.delete_memory(second.id)
    assert [i for i, _ in await index.search([0.0, 1.0], FILTER, 1)] == [first.id]

    moved = first.model_copy(update={"embedding": [-1.0, 0.0]})
    await store.save_memory(moved)
    assert (await index.search([1.0, 0.0], FILTER, 1))[0][1] == pytest.approx(-1.0)


def test_fusion_puts_an_item_found_by_both_lists_first() -> None:
    keyword = [("k1", 9.0), ("both", 5.0), ("k2", 1.0)]
    vector = [("v1", 0.9), ("v2", 0.8), ("both", 0.7)]
    fused = reciprocal_rank_fusion([keyword, vector], k_rrf=60)
    assert fused[0] == ("both", pytest.approx(1 / 62 + 1 / 63))
    assert [i for i, _ in fused[1:3]] == ["k1", "v1"]  # equal scores keep first-seen order
    assert len(fused) == 5


async def test_hybrid_search_ranks_agreement_first(store: SQLiteStore) -> None:
    both = memory("the deploy key rotates monthly", [0.9, 0.1, 0.0])
    words_only = memory("deploy notes", [0.0, 0.0, 1.0])
    meaning_only = memory("credentials change every thirty days", [1.0, 0.0, 0.0])
    await store.save_memories([words_only, meaning_only, both])
    index = VectorIndex(store, EMBEDDER)

    results = await hybrid_search(
        "deploy key", [1.0, 0.0, 0.0], FILTER, 3, store=store, index=index
    )
    assert results[0][0] == both.id
    assert {i for i, _ in results} == {both.id, words_only.id, meaning_only.id}
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)

    limited = await hybrid_search(
        "deploy key", [1.0, 0.0, 0.0], FILTER, 1, store=store, index=index
    )
    assert [i for i, _ in limited] == [both.id]


async def test_hybrid_search_without_a_vector_is_keyword_only(store: SQLiteStore) -> None:
    target = memory("deploy key rotation", [1.0, 0.0])
    unrelated = memory("lunch plans", [1.0, 0.0])
    await store.save_memories([target, unrelated])
    index = VectorIndex(store, EMBEDDER)
    results = await hybrid_search("deploy", None, FILTER, 5, store=store, index=index)
    assert results == [(target.id, pytest.approx(1 / 61))]
    assert await hybrid_search("deploy", None, FILTER, 0, store=store, index=index) == []


async def test_on_a_tie_the_meaning_wins_over_a_common_word(store: SQLiteStore) -> None:
    # "user" is the only query word either memory holds; the meaning points at home.
    home = memory("The user lives in Oslo and cycles to work", [1.0, 0.0])
    number = memory("The user's favourite number", [0.0, 1.0])
    await store.save_memories([home, number])
    index = VectorIndex(store, EMBEDDER)
    keyword = await store.keyword_search("Where is home for the user?", FILTER, 4)
    assert keyword[0][0] == number.id  # words alone pick the shorter memory

    results = await hybrid_search(
        "Where is home for the user?", [0.9, 0.1], FILTER, 2, store=store, index=index
    )
    assert results[0][1] == pytest.approx(results[1][1])
    assert [i for i, _ in results] == [home.id, number.id]
