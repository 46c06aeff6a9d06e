"""A typical OpenCode user's setup, loaded unchanged by a client: their global folder,
a monorepo's root ``.opencode``, real-world agent and skill files, legacy keys."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from opencode_python import OpenCodeAsyncClient
from opencode_python.core.errors import ConfigError
from opencode_python.testing import ScriptedLLMServer, Turn

from ..conftest import scripted_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's home, with OpenCode's global folder in it."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    global_dir = home / ".config" / "opencode"
    write(global_dir / "opencode.json", json.dumps({"tools": {"bash": False}}))
    write(
        global_dir / "agent" / "backend.md",
        "---\nname: Backend Architect\ndescription: Designs backends\nmode: subagent\n"
        "color: '#3366ff'\n---\nYou design backend systems.",
    )
    write(global_dir / "agent" / "broken.md", "---\ntemperature: hot\n---\nBody")
    write(
        home / ".claude" / "skills" / "claude-api" / "SKILL.md",
        f"---\nname: claude-api\ndescription: {'Use the Claude API. ' * 80}\n---\nSteps.",
    )
    return home


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A git repository whose project lives two levels down, with agents at the root."""
    root = tmp_path / "monorepo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    write(
        root / ".opencode" / "agent" / "reviewer.md",
        "---\ndescription: Reviews changes\nmode: primary\n---\nReview the diff.",
    )
    write(root / ".opencode" / "mode" / "docs.md", "---\ndescription: Docs mode\n---\nDocs.")
    write(root / "STYLE.md", "Always write British English.")
    project = root / "services" / "api"
    write(project / "opencode.json", json.dumps({"instructions": ["STYLE.md"]}))
    return project


def client_for(server: ScriptedLLMServer, tmp_path: Path, project: Path) -> OpenCodeAsyncClient:
    config = scripted_config(server, "openai", tmp_path, builtin_tools=True)
    config.project_dir = project
    return OpenCodeAsyncClient(config)


async def test_the_users_folders_and_files_load_and_a_bad_file_only_warns(
    home: Path, monorepo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with ScriptedLLMServer([Turn(text="Reviewed.")]) as server:
        with caplog.at_level(logging.WARNING):
            async with client_for(server, tmp_path, monorepo) as client:
                agents = {a.name: a for a in await client.list_agents()}
                assert agents["Backend Architect"].mode == "subagent"
                assert agents["reviewer"].prompt == "Review the diff."
                assert agents["docs"].mode == "primary"
                assert "broken" not in agents
                assert [str(e).split(":")[0] for e in client.agents.errors] == [
                    str(home / ".config" / "opencode" / "agent" / "broken.md")
                ]
                assert client.skills.get_skill_by_name("claude-api") is not None
                session = await client.create_session()
                result = await client.prompt(session.id, "review", agent="reviewer")
        request = server.requests[0]
    assert result.response == "Reviewed."
    assert "bash" not in request.tool_names  # the global "tools": {"bash": false}
    assert "read" in request.tool_names
    assert "Always write British English." in request.system_text  # found from the project up
    assert "skipping agent file" in caplog.text


async def test_default_agent_runs_prompts_without_an_agent(monorepo: Path, tmp_path: Path) -> None:
    write(monorepo / ".opencode" / "opencode.json", json.dumps({"default_agent": "reviewer"}))
    with ScriptedLLMServer([Turn(text="ok")]) as server:
        async with client_for(server, tmp_path, monorepo) as client:
            assert client.default_agent() == "reviewer"
            session = await client.create_session()
            result = await client.prompt(session.id, "go")
        assert "Review the diff." in server.requests[0].system_text
    assert result.agent_name == "reviewer"


@pytest.mark.parametrize(
    ("name", "problem"), [("nobody", "is not an agent"), ("explore", "is a subagent")]
)
async def test_a_default_agent_that_cannot_be_one_is_a_clear_error(
    tmp_path: Path, name: str, problem: str
) -> None:
    project = tmp_path / "project"
    write(project / "opencode.json", json.dumps({"default_agent": name}))
    with ScriptedLLMServer([]) as server:
        async with client_for(server, tmp_path, project) as client:
            session = await client.create_session()
            with pytest.raises(ConfigError, match=f"default_agent {name!r} {problem}"):
                await client.prompt(session.id, "go")
            assert not server.requests


async def test_run_command_fills_the_template_and_a_subtask_runs_in_a_child_session(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    write(project / "notes.md", "Ship on Friday.")
    write(
        project / ".opencode" / "command" / "plan.md",
        "---\nagent: plan\n---\nPlan $ARGUMENTS. Notes: @notes.md",
    )
    write(
        project / "opencode.json",
        json.dumps(
            {"command": {"scan": {"template": "Scan $1", "agent": "explore", "subtask": True}}}
        ),
    )
    with ScriptedLLMServer([Turn(text="Planned."), Turn(text="Scanned.")]) as server:
        async with client_for(server, tmp_path, project) as client:
            assert set(client.commands) == {"plan", "scan"}
            session = await client.create_session()
            planned = await client.run_command(session.id, "plan", "the release")
            scanned = await client.run_command(session.id, "scan", "src")
            children = [s for s in await client.list_sessions() if s.parent_id == session.id]
        first, second = (r.last_user_text for r in server.requests)
    assert planned.response == "Planned."
    assert planned.agent_name == "plan"
    assert first.startswith("Plan the release. Notes: @notes.md")
    assert "Ship on Friday." in first  # the file is attached
    assert "Scan src" in second
    assert scanned.response == "Scanned."
    assert len(children) == 1  # the subtask ran in a child session


async def test_only_request_parameters_go_on_the_wire(tmp_path: Path) -> None:
    """A strict OpenAI-compatible server answers 400 to fields it does not know."""
    project = tmp_path / "project"
    write(
        project / ".opencode" / "agent" / "fast.md",
        "---\nmode: primary\nvariant: quick\ntags: [a, b]\nicon: bolt\ncategory: speed\n"
        "reasoningEffort: low\noptions:\n  textVerbosity: low\n  custom: 1\n---\nBe fast.",
    )
    with ScriptedLLMServer([Turn(text="ok")]) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.project_dir = project
        write(
            project / "opencode.json",
            json.dumps(
                {
                    "provider": {
                        "strict": {
                            "npm": "@ai-sdk/openai-compatible",
                            "options": {
                                "baseURL": server.openai_base_url,
                                "apiKey": "k",
                                "modelsDiscovery": True,
                                "seed": 7,
                            },
                            "models": {"m": {}},
                        }
                    }
                }
            ),
        )
        config.model = "strict/m"
        config.providers = {}
        async with OpenCodeAsyncClient(config) as client:
            agent = client.agents.get("fast")
            assert agent.metadata == {
                "variant": "quick",
                "tags": ["a", "b"],
                "icon": "bolt",
                "category": "speed",
                "custom": 1,
            }
            strict = client.providers.config("strict")
            assert strict is not None
            assert strict.metadata == {"modelsDiscovery": True}
            session = await client.create_session()
            await client.prompt(session.id, "go", agent="fast")
        body = server.requests[0].body
    assert body["reasoning_effort"] == "low"
    assert body["verbosity"] == "low"
    assert body["seed"] == 7
    for key in ("variant", "tags", "icon", "category", "custom", "modelsDiscovery"):
        assert key not in json.dumps(body)


def test_the_request_parameters_are_the_official_clients() -> None:
    from anthropic.types.message_create_params import MessageCreateParamsBase
    from openai.types.chat.completion_create_params import CompletionCreateParamsBase

    from opencode_python.providers.wire_options import REQUEST_OPTIONS

    from_request = {"model", "messages", "tools", "stream_options", "system", "stream"}
    legacy = {"functions", "function_call"}  # replaced by tools; never from options
    known = set(CompletionCreateParamsBase.__annotations__) | set(
        MessageCreateParamsBase.__annotations__
    )
    assert known - from_request - legacy <= REQUEST_OPTIONS


async def test_the_users_config_rules_hold_for_the_built_in_read_only_agents(
    tmp_path: Path,
) -> None:
    """OpenCode's order: a built-in's own rules, then the config's. A config that
    denies `rm *` and asks for `find *` is obeyed by plan, whose allow list would
    otherwise let `find` run and ask for `rm`."""
    from opencode_python import PermissionRequest
    from opencode_python.core.models import ToolPart
    from opencode_python.testing import ScriptedToolCall

    project = tmp_path / "project"
    write(project / "a.txt", "x")
    write(
        project / "opencode.json",
        json.dumps({"permission": {"bash": {"rm *": "deny", "find *": "ask"}}}),
    )
    rm = ScriptedToolCall("bash", {"command": "rm -rf a.txt"})
    find = ScriptedToolCall("bash", {"command": "find . -name a.txt"})
    asked: list[str] = []

    def approver(request: PermissionRequest) -> str:
        asked.extend(request.patterns)
        return "reject"

    turns = [Turn(tool_calls=[rm]), Turn(tool_calls=[find]), Turn(text="done")]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path, project) as client:
            client.on_permission(approver)
            session = await client.create_session()
            await client.prompt(session.id, "clean up", agent="plan")
            messages = await client.get_messages(session.id)
    parts = [p for m in messages for p in m.parts if isinstance(p, ToolPart)]
    assert [p.state.status for p in parts] == ["error", "error"]
    assert (project / "a.txt").exists()
    assert asked == ["find . -name a.txt"]  # rm was denied outright, find was asked


async def test_a_hidden_subagent_can_still_be_delegated_to(tmp_path: Path) -> None:
    from opencode_python.testing import ScriptedToolCall

    project = tmp_path / "project"
    write(
        project / ".opencode" / "agent" / "checker.md",
        "---\ndescription: Checks things\nmode: subagent\nhidden: true\n---\nCheck.",
    )
    task = ScriptedToolCall(
        "task", {"description": "check", "prompt": "Check it.", "subagent_type": "checker"}
    )
    turns = [Turn(tool_calls=[task]), Turn(text="checked"), Turn(text="all good")]
    with ScriptedLLMServer(turns) as server:
        async with client_for(server, tmp_path, project) as client:
            assert "checker" not in [a.name for a in await client.list_agents()]
            session = await client.create_session()
            result = await client.prompt(session.id, "check it")
        results = dict(server.requests[-1].tool_results)
    assert result.response == "all good"
    assert "checked" in results[task.call_id]


async def test_enabled_and_disabled_providers_choose_the_files_providers(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    providers = {name: {"options": {"baseURL": "http://127.0.0.1:9/v1"}} for name in "abc"}
    write(
        project / "opencode.json",
        json.dumps(
            {"provider": providers, "enabled_providers": ["a", "b"], "disabled_providers": ["b"]}
        ),
    )
    with ScriptedLLMServer([]) as server:
        async with client_for(server, tmp_path, project) as client:
            registered = {p for p in "abc" if client.providers.config(p) is not None}
    assert registered == {"a"}
