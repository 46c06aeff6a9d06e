"""Memory as an app uses it: stored facts found by meaning, across sessions, in prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python import OpenCodeAsyncClient
from opencode_python.core.models import TokenUsage
from opencode_python.memory import MemoryManager, default_embedder
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import scripted_config

needs_local_model = pytest.mark.skipif(
    default_embedder() is None, reason="the memory extra (local embedder) is not installed"
)

FACT = "The customer's preferred delivery day is Thursday morning."
DISTRACTORS = [
    "Delivery trucks are washed every day.",
    "The preferred font for invoices is Helvetica.",
    "Customer support closes at noon on public holidays.",
]


@needs_local_model
async def test_a_differently_phrased_question_finds_the_fact_ahead_of_keyword_distractors(
    tmp_path: Path,
) -> None:
    with ScriptedLLMServer([]) as server:
        async with OpenCodeAsyncClient(scripted_config(server, "openai", tmp_path)) as client:
            first = await client.create_session(title="first")
            for text in [*DISTRACTORS, FACT]:
                await client.memory.store_memory(first.id, text, scope="project")
            later = await client.create_session(title="later")
            found = await client.search_memory(later.id, "When does the client want shipments?")
    assert found[0].content == FACT
    assert found[0].relevance_score is not None
    assert found[0].relevance_score >= found[-1].relevance_score


@needs_local_model
async def test_scopes_and_filters_hold(tmp_path: Path) -> None:
    with ScriptedLLMServer([]) as server:
        async with OpenCodeAsyncClient(scripted_config(server, "openai", tmp_path)) as client:
            memory: MemoryManager = client.memory
            one = await client.create_session(title="one")
            two = await client.create_session(title="two")
            await memory.store_memory(one.id, "Session one uses the blue theme.")
            await memory.store_memory(
                one.id, "The API key rotates monthly.", {"topic": "security"}, scope="project"
            )
            await memory.store_memory(
                two.id,
                "The reviewer agent prefers short comments.",
                scope="agent",
                agent="reviewer",
            )
            await memory.store_memory(None, "The user is called Ada.", scope="user")
            from_two = await memory.search_memory(two.id, "blue theme colour", limit=10)
            from_one = await memory.search_memory(one.id, "blue theme colour", limit=10)
            security = await memory.search_memory(two.id, "rotation", filters={"topic": "security"})
            as_reviewer = await memory.search_memory(one.id, "comments", agent="reviewer", limit=10)
            as_build = await memory.search_memory(one.id, "comments", agent="build", limit=10)
            user = await memory.search_memory(two.id, "what is my name")
    assert "Session one uses the blue theme." not in [m.content for m in from_two]
    assert from_one[0].content == "Session one uses the blue theme."
    assert [m.content for m in security] == ["The API key rotates monthly."]
    assert "The reviewer agent prefers short comments." in [m.content for m in as_reviewer]
    assert "The reviewer agent prefers short comments." not in [m.content for m in as_build]
    assert user[0].content == "The user is called Ada."


async def test_conversation_state_round_trips_and_survives_restart(tmp_path: Path) -> None:
    with ScriptedLLMServer([]) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.memory_embedder = "none"
        async with OpenCodeAsyncClient(config) as client:
            session = await client.create_session()
            await client.memory.save_conversation_state(
                session.id, "checkout", {"step": 2, "items": ["tea", "milk"]}
            )
        async with OpenCodeAsyncClient(config) as again:
            state = await again.memory.retrieve_conversation_state(session.id, "checkout")
            missing = await again.memory.retrieve_conversation_state(session.id, "other")
    assert state == {"step": 2, "items": ["tea", "milk"]}
    assert missing is None


async def test_keyword_only_without_an_embedder(tmp_path: Path) -> None:
    with ScriptedLLMServer([]) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.memory_embedder = "none"
        async with OpenCodeAsyncClient(config) as client:
            session = await client.create_session()
            await client.store_memory(session.id, "The staging server is called kepler.")
            found = await client.search_memory(session.id, "staging server name")
    assert [m.content for m in found] == ["The staging server is called kepler."]
    assert found[0].embedding is None


@needs_local_model
async def test_the_relevant_memory_reaches_the_system_prompt_and_tools_store_more(
    tmp_path: Path,
) -> None:
    store_call = ScriptedToolCall(
        "memory_store", {"content": "The team ships on Fridays.", "scope": "project"}
    )
    turns = [
        Turn(tool_calls=[store_call]),
        Turn(text="Noted."),
        Turn(text="You deliver on Thursday mornings, and the team ships on Fridays."),
    ]
    with ScriptedLLMServer(turns) as server:
        config = scripted_config(server, "openai", tmp_path, builtin_tools=True)
        async with OpenCodeAsyncClient(config) as client:
            first = await client.create_session(title="setup")
            await client.memory.store_memory(first.id, FACT, scope="project")
            await client.prompt(first.id, "Remember that the team ships on Fridays.")
            later = await client.create_session(title="question")
            await client.prompt(later.id, "Which day do customers get their parcels?")
            history = await client.get_execution_history(first.id, tool="memory_store")
        system = server.requests[-1].system_text
    assert "<memories>" in system
    assert FACT in system
    assert "The team ships on Fridays." in system
    assert history[0].status == "completed"
    assert "memory_search" in server.requests[0].tool_names


async def test_summarize_memories_stores_a_summary_with_key_points(tmp_path: Path) -> None:
    turns = [
        Turn(text="Sure, I will use PostgreSQL 16 for the orders service."),
        Turn(
            text="Summary: The orders service moves to PostgreSQL.\nKey points:\n"
            "- The orders service uses PostgreSQL 16\n- Migrations run on Sundays",
            usage=TokenUsage(input=40, output=20),
            when="Summarise the conversation above for long-term memory",
        ),
    ]
    with ScriptedLLMServer(turns) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.memory_embedder = "none"
        async with OpenCodeAsyncClient(config) as client:
            session = await client.create_session()
            await client.prompt(session.id, "Move orders to PostgreSQL 16.")
            summary = await client.memory.summarize_memories(session.id)
            assert summary.memory_id is not None
            stored = await client.memory.get(summary.memory_id)
    assert summary.summary == "The orders service moves to PostgreSQL."
    assert summary.key_points == [
        "The orders service uses PostgreSQL 16",
        "Migrations run on Sundays",
    ]
    assert summary.usage.total == 60
    assert summary.cost > 0
    assert stored.metadata["kind"] == "summary"
    assert "Migrations run on Sundays" in stored.content


async def test_an_agent_that_remembers_keeps_facts_with_their_source(tmp_path: Path) -> None:
    from opencode_python import Agent

    turns = [
        Turn(text="Got it: invoices go out on the 1st."),
        Turn(
            text="- Invoices are sent on the 1st of each month\n- The accountant is Grace",
            usage=TokenUsage(input=30, output=12),
            when="worth remembering in later sessions",
        ),
    ]
    with ScriptedLLMServer(turns) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.memory_embedder = "none"
        async with OpenCodeAsyncClient(config) as client:
            await client.register_agent(Agent(name="clerk", remember=True))
            session = await client.create_session()
            result = await client.execute_agent(
                "clerk", session.id, "Send invoices on the 1st; Grace is our accountant."
            )
            later = await client.create_session()
            found = await client.search_memory(later.id, "accountant")
            stored = await client.get_session(session.id)
    assert found[0].content == "The accountant is Grace"
    assert found[0].metadata["source_session"] == session.id
    assert found[0].metadata["source_message"] == result.message_ids[-1]
    assert stored.usage.total == result.tokens_used.total + 42


async def test_retention_keeps_the_newest_memories_of_a_scope(tmp_path: Path) -> None:
    from opencode_python.core.models import MemoryRetention

    with ScriptedLLMServer([]) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.memory_embedder = "none"
        config.memory_retention = {"project": MemoryRetention(max_count=3)}
        async with OpenCodeAsyncClient(config) as client:
            session = await client.create_session()
            for n in range(5):
                await client.memory.store_memory(session.id, f"release note {n}", scope="project")
            await client.memory.store_memory(session.id, "session note kept", scope="session")
            found = await client.search_memory(session.id, "note", limit=10)
    contents = sorted(m.content for m in found)
    assert contents == ["release note 2", "release note 3", "release note 4", "session note kept"]
