"""``Agent`` as users build it, and ``AgentRegistry``: layers, changes, persistence, config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from opencode_python.agents.agent import Agent
from opencode_python.agents.builtin import BUILTIN_AGENTS
from opencode_python.agents.registry import AgentRegistry
from opencode_python.core.errors import ConfigError, NotFoundError, StorageError
from opencode_python.core.models import PermissionRule
from opencode_python.permissions import DEFAULT_RULES, evaluate
from opencode_python.storage import SQLiteStore

REVIEWER = Agent(
    name="reviewer",
    description="Reviews code for bugs and style.",
    mode="subagent",
    permission=[{"permission": "edit", "pattern": "*", "action": "deny"}],
    temperature=0.1,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "opencode.db") as opened:
        yield opened


# --- Agent ---------------------------------------------------------------------------


def test_agent_as_users_write_it() -> None:
    assert REVIEWER.permission == [PermissionRule(permission="edit", pattern="*", action="deny")]
    assert REVIEWER.temperature == 0.1
    assert REVIEWER.native is False
    assert REVIEWER.prompt is None  # the client's default prompt applies


def test_agent_takes_permission_shorthand() -> None:
    agent = Agent(name="safe", permission={"bash": "deny", "edit": {"*.md": "allow"}})
    assert [(r.permission, r.pattern, r.action) for r in agent.permission] == [
        ("bash", "*", "deny"),
        ("edit", "*.md", "allow"),
    ]
    assert Agent(name="yes", permission="allow").permission == [
        PermissionRule(permission="*", pattern="*", action="allow")
    ]
    rule = PermissionRule(permission="read", action="ask")
    assert Agent(name="rules", permission=[rule]).permission == [rule]


def test_agent_rejects_what_cannot_work() -> None:
    with pytest.raises(ConfigError, match=r"permission\.bash: 'maybe' is not an action"):
        Agent(name="x", permission={"bash": "maybe"})
    with pytest.raises(ValidationError, match="must be named 'provider/model'"):
        Agent(name="x", model="gpt-4.1")
    with pytest.raises(ValidationError, match="must be named 'provider/model'"):
        Agent(name="x", model="openai/")
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Agent(name="x", steps=0)
    with pytest.raises(ValidationError, match="Input should be 'primary', 'subagent' or 'all'"):
        Agent(name="x", mode="main")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Agent(name="x", tempreature=0.2)  # type: ignore[call-arg]


# --- registry: reading -----------------------------------------------------------------


def test_a_new_registry_holds_the_builtins() -> None:
    registry = AgentRegistry()
    assert registry.get("build") is BUILTIN_AGENTS["build"]
    assert [a.name for a in registry.list()] == ["build", "explore", "general", "plan"]
    assert [a.name for a in registry.list(include_hidden=True)] == [
        "build",
        "compaction",
        "explore",
        "general",
        "plan",
        "summary",
        "title",
    ]


def test_get_unknown_names_the_known_agents() -> None:
    with pytest.raises(NotFoundError, match=r"no agent named 'nope'; known agents: build, "):
        AgentRegistry().get("nope")


async def test_list_by_mode_counts_all_as_both() -> None:
    registry = AgentRegistry()
    await registry.register(REVIEWER)
    await registry.register(Agent(name="helper", mode="all"))
    await registry.register(Agent(name="secret", mode="all", hidden=True))
    assert [a.name for a in registry.list("primary")] == ["build", "helper", "plan"]
    assert [a.name for a in registry.list("subagent")] == [
        "explore",
        "general",
        "helper",
        "reviewer",
    ]
    assert "secret" in [a.name for a in registry.list("subagent", include_hidden=True)]
    assert "title" in [a.name for a in registry.list("primary", include_hidden=True)]


# --- registry: changes -------------------------------------------------------------------


async def test_register_replaces_and_update_changes_fields() -> None:
    registry = AgentRegistry()
    await registry.register(REVIEWER)
    await registry.register(REVIEWER.model_copy(update={"description": "Second opinion."}))
    assert registry.get("reviewer").description == "Second opinion."

    updated = await registry.update("reviewer", model="anthropic/claude-sonnet-4-5", steps=5)
    assert (updated.model, updated.steps, updated.temperature) == (
        "anthropic/claude-sonnet-4-5",
        5,
        0.1,
    )
    assert registry.get("reviewer") == updated

    updated = await registry.update("reviewer", permission={"bash": "deny"})
    assert [(r.permission, r.action) for r in updated.permission] == [("bash", "deny")]


async def test_update_refuses_bad_changes() -> None:
    registry = AgentRegistry()
    await registry.register(REVIEWER)
    with pytest.raises(ConfigError, match=r"agent 'reviewer': temperature: Input should be"):
        await registry.update("reviewer", temperature="hot")
    with pytest.raises(ConfigError, match="cannot be renamed"):
        await registry.update("reviewer", name="critic")
    with pytest.raises(NotFoundError):
        await registry.update("critic", temperature=0.3)
    assert registry.get("reviewer") == REVIEWER


async def test_an_override_hides_the_builtin_until_removed() -> None:
    registry = AgentRegistry()
    mine = await registry.register(
        Agent(name="build", mode="primary", model="openai/gpt-4.1", native=True)
    )
    assert registry.get("build") == mine
    assert mine.native is False  # registered agents are the user's, whatever they claim

    await registry.remove("build")
    assert registry.get("build") is BUILTIN_AGENTS["build"]


async def test_update_of_a_builtin_registers_an_override() -> None:
    registry = AgentRegistry()
    changed = await registry.update("plan", temperature=0.2)
    assert changed.temperature == 0.2
    assert changed.prompt == BUILTIN_AGENTS["plan"].prompt
    assert changed.permission == BUILTIN_AGENTS["plan"].permission
    assert BUILTIN_AGENTS["plan"].temperature is None  # the built-in itself is untouched
    await registry.remove("plan")
    assert registry.get("plan") is BUILTIN_AGENTS["plan"]


async def test_builtins_cannot_be_removed() -> None:
    registry = AgentRegistry()
    with pytest.raises(
        ConfigError,
        match=(
            "built-in agent 'build' cannot be removed; "
            "register an agent of the same name to override it"
        ),
    ):
        await registry.remove("build")
    with pytest.raises(NotFoundError, match="no agent named 'ghost'"):
        await registry.remove("ghost")


# --- registry: persistence -----------------------------------------------------------------


async def test_registered_agents_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "opencode.db"
    async with SQLiteStore(path) as store:
        registry = AgentRegistry(store)
        await registry.register(REVIEWER)
        await registry.register(Agent(name="build", mode="primary", model="openai/gpt-4.1"))
        await registry.register(Agent(name="scratch"))
        await registry.update("reviewer", options={"reasoningEffort": "high"})
        await registry.remove("scratch")

    async with SQLiteStore(path) as store:
        registry = AgentRegistry(store)
        assert registry.get("build") is BUILTIN_AGENTS["build"]  # nothing read yet
        loaded = await registry.load()
        assert sorted(a.name for a in loaded) == ["build", "reviewer"]
        assert registry.get("reviewer") == REVIEWER.model_copy(
            update={"options": {"reasoningEffort": "high"}}
        )
        assert registry.get("build").model == "openai/gpt-4.1"
        with pytest.raises(NotFoundError):
            registry.get("scratch")
        assert await store.get_state("agents", "scratch") is None

        await registry.remove("build")
    async with SQLiteStore(path) as store:
        registry = AgentRegistry(store)
        await registry.load()
        assert registry.get("build") is BUILTIN_AGENTS["build"]


async def test_agents_are_stored_as_their_json(store: SQLiteStore) -> None:
    await AgentRegistry(store).register(REVIEWER)
    assert await store.get_state("agents", "reviewer") == REVIEWER.model_dump(mode="json")


async def test_a_broken_stored_agent_is_reported(store: SQLiteStore) -> None:
    await AgentRegistry(store).register(REVIEWER)
    await store.set_state("agents", "reviewer", {"name": "reviewer", "mode": "boss"})
    with pytest.raises(StorageError, match=r"stored agent 'reviewer' is not a valid agent"):
        await AgentRegistry(store).load()


async def test_load_without_a_store_loads_nothing() -> None:
    registry = AgentRegistry()
    await registry.register(REVIEWER)
    assert await registry.load() == []
    assert registry.get("reviewer") == REVIEWER


# --- registry: opencode.json definitions ----------------------------------------------------


async def test_a_definition_merges_over_a_builtin() -> None:
    registry = AgentRegistry()
    await registry.load_definitions(
        {"build": {"model": "anthropic/claude-sonnet-4-5", "permission": {"bash": "ask"}}},
        "opencode.json",
    )
    build = registry.get("build")
    assert build.model == "anthropic/claude-sonnet-4-5"
    assert (build.mode, build.native, build.description) == (
        "primary",
        True,
        BUILTIN_AGENTS["build"].description,
    )
    assert evaluate("bash", "ls", DEFAULT_RULES, build.permission).action == "ask"

    await registry.load_definitions({"plan": {"permission": {"edit": "allow"}}}, "opencode.json")
    plan = registry.get("plan")
    assert plan.prompt == BUILTIN_AGENTS["plan"].prompt
    # the config's rules come after the built-in's, so they win
    assert evaluate("edit", "src/x.py", DEFAULT_RULES, plan.permission).action == "allow"


async def test_a_definition_in_opencodes_keys() -> None:
    registry = AgentRegistry()
    await registry.load_definitions(
        {
            "docs": {
                "description": "Writes documentation.",
                "mode": "subagent",
                "model": "openai/gpt-4.1",
                "prompt": "You write clear docs.",
                "temperature": 0.3,
                "top_p": 0.9,
                "maxSteps": 8,
                "tools": {"bash": False, "write": True, "patch": False},
                "permission": {"webfetch": "deny"},
                "color": "#38A3EE",
                "options": {"thinking": {"type": "enabled"}, "modelsDiscovery": True},
                "reasoningEffort": "high",
                "variant": "fast",
                "tags": ["docs"],
                "icon": "book",
            }
        },
        "opencode.json",
    )
    docs = registry.get("docs")
    assert (docs.mode, docs.model, docs.temperature, docs.top_p, docs.steps) == (
        "subagent",
        "openai/gpt-4.1",
        0.3,
        0.9,
        8,
    )
    assert docs.native is False
    assert docs.color == "#38A3EE"
    # legacy tools first, then permission; write and patch are edit tools
    assert [(r.permission, r.action) for r in docs.permission] == [
        ("bash", "deny"),
        ("edit", "allow"),
        ("edit", "deny"),
        ("webfetch", "deny"),
    ]
    # request parameters go to the provider under the API's names; the rest is kept as
    # metadata and never sent (a strict server answers 400 to fields it does not know)
    assert docs.options == {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}
    assert docs.metadata == {
        "modelsDiscovery": True,
        "variant": "fast",
        "tags": ["docs"],
        "icon": "book",
    }


async def test_later_definitions_merge_over_earlier_ones() -> None:
    registry = AgentRegistry()
    await registry.load_definitions(
        {"docs": {"prompt": "Write docs.", "options": {"thinking": {"type": "enabled"}}}},
        "~/.config/opencode/opencode.json",
    )
    await registry.load_definitions(
        {"docs": {"temperature": 0.5, "options": {"thinking": {"budgetTokens": 1000}}}},
        "opencode.json",
    )
    docs = registry.get("docs")
    assert (docs.prompt, docs.temperature) == ("Write docs.", 0.5)
    assert docs.options == {"thinking": {"type": "enabled", "budgetTokens": 1000}}


async def test_disable_hides_an_agent() -> None:
    registry = AgentRegistry()
    await registry.load_definitions(
        {"general": {"disable": True}, "docs": {"prompt": "Docs.", "disable": True}},
        "opencode.json",
    )
    names = [a.name for a in registry.list(include_hidden=True)]
    assert "general" not in names
    assert "docs" not in names
    with pytest.raises(NotFoundError):
        registry.get("general")
    await registry.load_definitions({"general": {"disable": False}}, "opencode.json")
    assert registry.get("general").prompt == BUILTIN_AGENTS["general"].prompt


async def test_registered_agents_win_over_definitions() -> None:
    registry = AgentRegistry()
    await registry.load_definitions({"reviewer": {"temperature": 0.9}}, "opencode.json")
    await registry.register(REVIEWER)
    assert registry.get("reviewer") == REVIEWER
    await registry.remove("reviewer")
    assert registry.get("reviewer").temperature == 0.9
    with pytest.raises(ConfigError, match=r"'reviewer' comes from opencode.json"):
        await registry.remove("reviewer")


async def test_configured_agents_are_not_stored(store: SQLiteStore) -> None:
    registry = AgentRegistry(store)
    await registry.load_definitions({"docs": {"prompt": "Docs."}}, "opencode.json")
    assert await store.get_state("agents", "docs") is None
    assert await AgentRegistry(store).load() == []


@pytest.mark.parametrize(
    ("definitions", "message"),
    [
        (
            {"docs": {"temperature": "hot"}},
            "opencode.json: agent.docs.temperature: Input should be a valid number",
        ),
        (
            {"docs": {"model": "gpt-4.1"}},
            "opencode.json: agent.docs.model: model 'gpt-4.1' must be named 'provider/model'",
        ),
        (
            {"docs": {"mode": "boss"}},
            "opencode.json: agent.docs.mode: Input should be 'primary', 'subagent' or 'all'",
        ),
        (
            {"docs": {"steps": 0}},
            "opencode.json: agent.docs.steps: Input should be greater than or equal to 1",
        ),
        (
            {"docs": {"permission": {"bash": "sometimes"}}},
            "opencode.json: agent.docs.permission.bash: 'sometimes' is not an action",
        ),
        (
            {"docs": {"tools": {"bash": "no"}}},
            "opencode.json: agent.docs.tools: must map tool names to true or false",
        ),
        (
            {"docs": {"disable": "yes"}},
            "opencode.json: agent.docs.disable: must be true or false",
        ),
        (
            {"docs": {"name": "writer"}},
            "opencode.json: agent.docs.name: 'writer' differs from the agent's name 'docs'",
        ),
        ({"docs": "Writes docs"}, "opencode.json: agent.docs: must be a mapping of settings"),
    ],
)
async def test_invalid_definitions_name_the_source_and_field(
    definitions: dict[str, object], message: str
) -> None:
    registry = AgentRegistry()
    with pytest.raises(ConfigError) as caught:
        await registry.load_definitions({"fine": {"prompt": "ok"}, **definitions}, "opencode.json")
    assert str(caught.value).startswith(message)
    with pytest.raises(NotFoundError):  # nothing was applied
        registry.get("fine")
