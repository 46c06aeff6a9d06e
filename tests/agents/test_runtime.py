"""Agents run in real stored sessions: rules, prompts, instructions, skills, compaction."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opencode_python import Agent, ConfigError, OpenCodeAsyncClient, Session
from opencode_python.core.models import Message, TokenUsage, ToolPart
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import scripted_config
from ..tools_for_tests import AddTool, SleepTool


def make_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "AGENTS.md").write_text("Always answer in British English.\n")
    skill = root / ".opencode" / "skill" / "release-notes"
    skill.mkdir(parents=True, exist_ok=True)
    (skill / "SKILL.md").write_text(
        "---\nname: release-notes\ndescription: Write release notes from git history.\n---\n"
        "Run git log and group the changes.\n"
    )
    agents = root / ".opencode" / "agent"
    agents.mkdir(parents=True, exist_ok=True)
    (agents / "reviewer.md").write_text(
        "---\ndescription: Reviews code.\nmode: subagent\ntemperature: 0.1\n---\n"
        "You are a meticulous code reviewer. Point out bugs first.\n"
    )
    return root


def client_for(server: ScriptedLLMServer, tmp_path: Path, **settings: Any) -> OpenCodeAsyncClient:
    make_project(tmp_path)
    config = scripted_config(server, "openai", tmp_path, builtin_tools=True)
    for key, value in settings.items():
        setattr(config, key, value)
    return OpenCodeAsyncClient(config)


CALCULATOR = Agent(
    name="calculator",
    description="Does arithmetic.",
    mode="primary",
    permission=[{"permission": "bash", "pattern": "*", "action": "deny"}],
    prompt="You are a careful calculator. Use the add tool.",
    temperature=0.2,
)


async def test_an_agent_with_bash_denied_never_sees_or_runs_bash(tmp_path: Path) -> None:
    bash = ScriptedToolCall("bash", {"command": "touch pwned"})
    add = ScriptedToolCall("add", {"a": 2, "b": 2})
    turns = [Turn(tool_calls=[bash, add]), Turn(text="2 + 2 = 4")]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(AddTool())
            await client.register_agent(CALCULATOR)
            session = await client.create_session(title="sums")
            result = await client.execute_agent("calculator", session.id, "What is 2 + 2?")
            stored = await client.get_session(session.id)
            messages = await client.get_messages(session.id)
        first = server.requests[0]
        sent_back = dict(server.requests[1].tool_results)
    assert "bash" not in first.tool_names
    assert "add" in first.tool_names
    assert "read" in first.tool_names
    assert "not available to agent 'calculator'" in sent_back[bash.call_id]
    assert sent_back[add.call_id] == "4"
    assert not (tmp_path / "project" / "pwned").exists()
    assert first.body["temperature"] == 0.2
    # the system prompt: agent prompt, environment, instruction file, skills list
    system = first.system_text
    assert system.startswith("You are a careful calculator.")
    assert "Is directory a git repo: yes" in system
    assert "Always answer in British English." in system
    assert "release-notes" in system
    assert "Write release notes" in system
    # the result matches what the session stored
    assert result.agent_name == "calculator"
    assert result.tools_used == ["bash", "add"]
    assert result.tokens_used == stored.usage
    assert result.cost == pytest.approx(stored.cost)
    assistant = [m for m in messages if m.info.role == "assistant"]
    assert {m.info.agent for m in assistant} == {"calculator"}
    tool_parts = [p for m in assistant for p in m.parts if isinstance(p, ToolPart)]
    assert [p.tool for p in tool_parts] == result.tools_used


async def test_a_markdown_agent_runs_with_its_prompt(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="Line 3 divides by zero.")]) as server:
        async with client_for(server, tmp_path) as client:
            agent = await client.get_agent("reviewer")
            subagents = [a.name for a in await client.list_agents("subagent")]
            session = await client.create_session()
            result = await client.execute_agent("reviewer", session.id, "Review app.py")
        system = server.requests[0].system_text
    assert agent.mode == "subagent"
    assert not agent.native
    assert "reviewer" in subagents
    assert "explore" in subagents
    assert system.startswith("You are a meticulous code reviewer.")
    assert result.response == "Line 3 divides by zero."
    assert server.requests[0].body["temperature"] == 0.1


async def test_denied_skills_are_not_listed_for_that_agent(tmp_path: Path) -> None:
    secretive = Agent(name="secretive", permission={"skill": {"release-*": "deny"}})
    with ScriptedLLMServer([Turn(text="ok")]) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_agent(secretive)
            session = await client.create_session()
            await client.execute_agent("secretive", session.id, "hi")
        request = server.requests[0]
    skill_tool = next(t for t in request.body["tools"] if t["function"]["name"] == "skill")
    assert "release-notes" not in request.system_text
    assert "release-notes" not in skill_tool["function"]["description"]


async def test_a_long_session_is_compacted_and_the_next_request_carries_the_summary(
    tmp_path: Path,
) -> None:
    big = TokenUsage(input=900, output=50)
    turns = [
        Turn(text="First answer about apples.", usage=TokenUsage(input=100, output=10)),
        Turn(text="Second answer about pears.", usage=TokenUsage(input=300, output=10)),
        Turn(tool_calls=[ScriptedToolCall("add", {"a": 1, "b": 2})], usage=big),
        Turn(
            text="Goal: compare fruit. Progress: apples and pears discussed.",
            when="Write the summary of the conversation",
        ),
        Turn(text="Third answer, after compaction."),
    ]
    with ScriptedLLMServer(turns) as server:
        config_models = {"gpt-4.1-mini": {"context_window": 1000, "max_output": 100}}
        async with client_for(server, tmp_path) as client:
            client.register_provider(
                "openai",
                api_key="test-key",
                base_url=server.openai_base_url,
                models=config_models,
            )
            await client.register_tool(AddTool())
            compacted: list[Session] = []
            client.on_session_compacted(compacted.append)
            session = await client.create_session()
            await client.prompt(session.id, "Tell me about apples.")
            await client.prompt(session.id, "Tell me about pears.")
            result = await client.prompt(session.id, "Add 1 and 2, please.")
            stored = await client.get_session(session.id)
        summary_request = server.requests[3]
        after = server.requests[4]
    assert "Write the summary of the conversation" in summary_request.last_user_text
    assert result.response == "Third answer, after compaction."
    assert len(compacted) == 1
    texts = [str(m.get("content")) for m in after.messages]
    joined = "\n".join(texts)
    assert "Goal: compare fruit." in joined
    assert "First answer about apples." not in joined  # old turns replaced by the summary
    assert "Add 1 and 2, please." in joined  # the current turn stays verbatim
    assert stored.usage.total >= 900  # the compaction call was counted too


async def test_title_agent_names_a_new_session_and_its_cost_counts(tmp_path: Path) -> None:
    turns = [
        Turn(
            text="Fixing the login bug",
            usage=TokenUsage(input=20, output=4),
            # the title agent's own prompt (the test's tmp path says "title" too)
            when=lambda r: r.system_text.startswith("You write the title of a conversation"),
        ),
        Turn(text="I fixed it.", usage=TokenUsage(input=50, output=5)),
    ]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path, generate_titles=True) as client:
            session = await client.create_session()
            result = await client.prompt(session.id, "Please fix the login bug")
            stored = await client.get_session(session.id)
    assert stored.title == "Fixing the login bug"
    assert result.response == "I fixed it."
    assert stored.usage == result.tokens_used + TokenUsage(input=20, output=4)
    assert stored.cost > result.cost


async def test_lifecycle_hooks_fire_and_a_failing_hook_breaks_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def broken(session: Session) -> None:
        raise RuntimeError("hook exploded")

    async def on_message(message: Message) -> None:
        seen.append(f"message {message.role}")

    with ScriptedLLMServer([Turn(text="hello")]) as server:
        async with client_for(server, tmp_path) as client:
            client.on_session_created(broken)
            client.on_session_created(lambda s: seen.append(f"created {s.title}"))
            client.on_message_added(on_message)
            client.on_session_updated(lambda s: seen.append("updated"))
            client.on_session_archived(lambda s: seen.append(f"archived {s.time.archived > 0}"))
            with caplog.at_level(logging.ERROR):
                session = await client.create_session(title="hooks")
            await client.prompt(session.id, "hi")
            await client.archive_session(session.id)
    assert "hook exploded" in caplog.text
    assert seen[0] == "created hooks"
    assert "message user" in seen
    assert "message assistant" in seen
    assert "updated" in seen
    assert seen[-1] == "archived True"


async def test_running_agents_are_listed_with_their_state(tmp_path: Path) -> None:
    call = ScriptedToolCall("sleep", {"seconds": 0.5})
    with ScriptedLLMServer([Turn(tool_calls=[call]), Turn(text="rested")]) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_tool(SleepTool())
            session = await client.create_session()
            run = asyncio.create_task(client.prompt(session.id, "sleep"))
            await asyncio.sleep(0.3)
            running = client.list_running_agents()
            await run
            after = client.list_running_agents()
    assert [(r.agent_name, r.state, r.session_id) for r in running] == [
        ("build", "executing", session.id)
    ]
    assert after == []


async def test_registered_agents_survive_a_restart_and_builtins_cannot_be_removed(
    tmp_path: Path,
) -> None:
    with ScriptedLLMServer([]) as server:
        async with client_for(server, tmp_path) as client:
            await client.register_agent(CALCULATOR)
        async with client_for(server, tmp_path) as again:
            assert (await again.get_agent("calculator")).prompt == CALCULATOR.prompt
            with pytest.raises(ConfigError, match="cannot be removed"):
                await again.remove_agent("build")
            await again.remove_agent("calculator")
            names = [a.name for a in await again.list_agents()]
    assert "calculator" not in names
    assert {"build", "plan", "general", "explore"} <= set(names)
    assert "title" not in names  # hidden agents are not listed
