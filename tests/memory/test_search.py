"""Vector index and hybrid search over memories in a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opencode_python.core.models import MemoryEntry, MemoryFilter
from opencode_python.memory import VectorIndex, hybrid_search, reciprocal_rank_fusion
from opencode_python.memory.search import DEFAULT_FUSION, Fusion, fuse_scores
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
    assert results == await store.keyword_search("deploy", FILTER, 5)
    assert [i for i, _ in results] == [target.id]
    assert await hybrid_search("deploy", None, FILTER, 0, store=store, index=index) == []


async def test_a_word_in_every_memory_carries_no_match(store: SQLiteStore) -> None:
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
    assert [i for i, _ in results] == [home.id, number.id]
    cosine_home = 0.9 / np.hypot(0.9, 0.1)
    assert results[0][1] == pytest.approx((1 - DEFAULT_FUSION.keyword_weight) * cosine_home)


def _near(cosine: float) -> list[float]:
    """A unit vector at ``cosine`` from [1, 0, 0]."""
    return [cosine, float(np.sqrt(1 - cosine**2)), 0.0]


async def test_a_strong_keyword_hit_survives_fusion(store: SQLiteStore) -> None:
    # Twenty memories closer in meaning that all share the query's common word "export",
    # and one farther that holds the rare identifier the query asks about (the bundled
    # embedder puts it closer, at 0.61 against 0.37: this is the harder case). Fusing
    # ranks would bury the hit under the memories both lists found.
    similar = [memory(f"the billing export run {n} finished", _near(0.5)) for n in range(20)]
    hit = memory("XK-4471 crashed the nightly export", _near(0.3))
    await store.save_memories([*similar, hit])
    index = VectorIndex(store, EMBEDDER)
    query = "What is XK-4471 in the export?"

    results = await hybrid_search(query, [1.0, 0.0, 0.0], FILTER, 5, store=store, index=index)
    assert results[0][0] == hit.id  # reciprocal rank fusion put it fifth


def test_fused_scores_are_the_weighted_sum_of_normalised_scores() -> None:
    fusion = Fusion(keyword_weight=0.5, bm25_floor=2.0)
    cosines = {"a": 0.8, "b": 0.2, "c": 0.4}
    fused = dict(fuse_scores(cosines, [("b", 10.0), ("c", 5.0)], fusion))
    assert fused == {"a": pytest.approx(0.4), "b": pytest.approx(0.6), "c": pytest.approx(0.45)}
    # weak hits stay weak: the top score is below the floor
    weak = dict(fuse_scores(cosines, [("b", 0.5)], fusion))
    assert weak["b"] == pytest.approx(0.5 * 0.2 + 0.5 * 0.25)


async def test_similarities_cover_any_ids_of_the_project(store: SQLiteStore) -> None:
    a, b = memory("a", [1.0, 0.0]), memory("b", [0.0, 1.0])
    await store.save_memories([a, b])
    index = VectorIndex(store, EMBEDDER)
    found = await index.similarities([1.0, 1.0], PROJECT, [a.id, b.id, "mem_missing"])
    assert found == {a.id: pytest.approx(2**-0.5), b.id: pytest.approx(2**-0.5)}


class _LoadCounter:
    """Counts full loads of the vector rows from the real store."""

    def __init__(self, store: SQLiteStore) -> None:
        self.loads = 0
        self._load = store.memory_vectors

        async def counted(*args: Any) -> Any:
            self.loads += 1
            return await self._load(*args)

        store.memory_vectors = counted  # type: ignore[method-assign]


async def test_a_write_then_a_search_adds_rows_without_reloading(store: SQLiteStore) -> None:
    from opencode_python.memory import MemoryManager

    class Fixed:
        name, dimensions = EMBEDDER, 2

        async def embed(self, texts: list[str]) -> Any:
            return np.asarray([[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts], "f4")

    manager = MemoryManager(store, project_id=PROJECT, embedder=Fixed())
    counter = _LoadCounter(store)
    await manager.store_memories(["a dog", "a bird"], scope="project")
    assert [m.content for m in await manager.search_memory(None, "cat", limit=1)]
    assert counter.loads == 1

    [cat] = await manager.store_memories(["a cat"], scope="project")
    found = await manager.search_memory(None, "cat", limit=3)
    assert found[0].id == cat
    await manager.update(cat, content="a bird again")  # its row is replaced in place
    again = await manager.search_memory(None, "cat", limit=3)
    assert [m.relevance_score for m in again] == [pytest.approx(0.0)] * 3
    assert counter.loads == 1

    # a write by anyone else (here: the store directly) makes the next search reload
    await store.save_memory(memory("a cat too", [1.0, 0.0]))
    assert (await manager.search_memory(None, "cat", limit=1))[0].content == "a cat too"
    assert counter.loads == 2


async def test_a_word_in_thousands_of_memories_is_not_a_keyword_match(store: SQLiteStore) -> None:
    # A speaker's name in every turn of a long chat: searching by it would rank every
    # row; it is dropped from the query, and the word that says which turn is kept.
    turns = [memory(f"Maria: hello there, number {n}") for n in range(1_199)]
    dinner = memory("Maria: we had dinner at eight")
    await store.save_memories([*turns, dinner])
    assert [i for i, _ in await store.keyword_search("Maria dinner", FILTER, 40)] == [dinner.id]
    # when every word is that common, the rarest one still searches
    assert len(await store.keyword_search("Maria hello", FILTER, 40)) == 40
    assert await store.has_memories(FILTER)
    assert not await store.has_memories(MemoryFilter(project_id="prj_other"))
