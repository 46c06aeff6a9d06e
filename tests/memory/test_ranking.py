"""Ranking with the real local embedder: the cases measured on LoCoMo, small enough to
read (see bench/memory_eval.py for the benchmark)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opencode_python.memory import LocalEmbedder, MemoryManager
from opencode_python.memory.embedders import local_embedder_available
from opencode_python.storage import SQLiteStore

pytestmark = pytest.mark.skipif(
    not local_embedder_available(),
    reason="the memory extra is not installed "
    "(pip install torch==2.13.0 && pip install 'opencode-python[memory]')",
)

FACTS = [
    "The user's favourite colour is teal.",
    "The user owns a golden retriever named Biscuit.",
    "The user works as a nurse in Leeds.",
    "The user is allergic to peanuts.",
    "The user plays the cello on weekends.",
    "The user's sister lives in Toronto.",
]


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[MemoryManager]:
    async with SQLiteStore(tmp_path / "opencode.db") as store:
        yield MemoryManager(store, project_id="prj_a", embedder=LocalEmbedder())


async def test_the_fact_that_answers_ranks_first_among_facts_about_the_user(
    manager: MemoryManager,
) -> None:
    await manager.store_memories(FACTS, scope="project")
    found = await manager.search_memory(None, "What kind of dog does the user have?", limit=3)
    assert found[0].content == "The user owns a golden retriever named Biscuit."
    found = await manager.search_memory(None, "Which instrument does the user play?", limit=3)
    assert found[0].content == "The user plays the cello on weekends."


async def test_a_query_that_names_a_time_prefers_memories_from_then(
    manager: MemoryManager,
) -> None:
    visits = ["We visited the museum with the kids.", "We visited the museum with the kids."]
    october, march = datetime(2023, 10, 14, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)
    ids = await manager.store_memories(visits, scope="project", occurred_at=[march, october])
    found = await manager.search_memory(None, "What did we visit in October 2023?", limit=2)
    assert [m.id for m in found] == [ids[1], ids[0]]
    assert found[0].occurred_at == int(october.timestamp() * 1000)
    found = await manager.search_memory(None, "What did we visit in March 2024?", limit=2)
    assert [m.id for m in found] == [ids[0], ids[1]]


async def test_last_week_is_read_from_today(manager: MemoryManager) -> None:
    now = datetime.now(UTC)
    ids = await manager.store_memories(
        ["I fixed the bike brakes.", "I fixed the bike brakes."],
        scope="project",
        occurred_at=[now - timedelta(days=60), now - timedelta(days=7)],
    )
    found = await manager.search_memory(None, "What did I fix last week?", limit=2)
    assert [m.id for m in found] == [ids[1], ids[0]]


async def test_a_reply_is_found_by_the_question_its_context_holds(
    manager: MemoryManager,
) -> None:
    replies = ["Yes, last Sunday, it was lovely.", "Yes, last Sunday, it was lovely."]
    asked = ["Melanie: Did you go to the pottery class?", "Melanie: Did you see your grandmother?"]
    ids = await manager.store_memories(replies, scope="project", context=asked)
    for question, expected in (
        ("When did Caroline go to the pottery class?", ids[0]),
        ("When did Caroline see her grandmother?", ids[1]),
    ):
        found = await manager.search_memory(None, question, limit=2)
        assert found[0].id == expected
        assert found[0].content == replies[0]  # the context is not in the result's text
