"""Agents from Markdown files: names from paths, frontmatter fields, body prompts, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python.agents.builtin import BUILTIN_AGENTS
from opencode_python.agents.markdown import agent_dirs, load_markdown_agents
from opencode_python.agents.registry import AgentRegistry
from opencode_python.core.errors import ConfigError, NotFoundError
from opencode_python.permissions import DEFAULT_RULES, evaluate

REVIEW = """\
---
description: Reviews code for quality and best practices
mode: subagent
model: anthropic/claude-sonnet-4-5
temperature: 0.1
permission:
  edit: deny
  bash:
    "*": ask
    "git diff *": allow
---
You are in code review mode. Focus on:

- correctness
- security
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_becomes_an_agent(tmp_path: Path) -> None:
    folder = tmp_path / ".opencode" / "agent"
    write(folder / "review.md", REVIEW)
    [review] = load_markdown_agents([folder])
    assert review.name == "review"
    assert review.description == "Reviews code for quality and best practices"
    assert (review.mode, review.model, review.temperature) == (
        "subagent",
        "anthropic/claude-sonnet-4-5",
        0.1,
    )
    assert review.prompt == "You are in code review mode. Focus on:\n\n- correctness\n- security"
    assert review.native is False
    assert evaluate("edit", "src/x.py", DEFAULT_RULES, review.permission).action == "deny"
    assert evaluate("bash", "git diff HEAD", DEFAULT_RULES, review.permission).action == "allow"
    assert evaluate("bash", "make", DEFAULT_RULES, review.permission).action == "ask"


def test_names_come_from_paths_inside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "agents"
    write(folder / "review.md", "Review code.")
    write(folder / "team" / "lead.md", "---\nmode: primary\n---\nLead the team.")
    write(folder / "team" / "qa" / "tester.md", "Test things.")
    write(folder / "notes.txt", "not an agent")
    agents = {agent.name: agent for agent in load_markdown_agents([folder])}
    assert sorted(agents) == ["review", "team/lead", "team/qa/tester"]
    assert agents["review"].prompt == "Review code."  # no frontmatter: all prompt
    assert agents["team/lead"].mode == "primary"


def test_missing_folders_are_skipped(tmp_path: Path) -> None:
    assert load_markdown_agents([tmp_path / "nowhere"]) == []


def test_agent_dirs_put_the_project_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCode's own folders first, then this SDK's, then every .opencode from the
    worktree root down to the project (a package in a monorepo sees the root's)."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    repo, user = tmp_path / "repo", tmp_path / "config"
    project = repo / "packages" / "app"
    project.mkdir(parents=True)
    folders = [
        home / ".config" / "opencode",
        home / ".opencode",
        user,
        repo / ".opencode",
        repo / "packages" / ".opencode",
        project / ".opencode",
    ]
    assert agent_dirs(project, user, worktree=repo) == [
        folder / sub for folder in folders for sub in ("agent", "agents")
    ]
    assert agent_dirs(project, user)[-2:] == [
        project / ".opencode" / "agent",
        project / ".opencode" / "agents",
    ]


def test_a_frontmatter_name_names_the_agent(tmp_path: Path) -> None:
    """As in OpenCode: agent files from public repositories set `name: Backend Architect`."""
    folder = tmp_path / ".opencode" / "agent"
    write(
        folder / "backend.md",
        "---\nname: Backend Architect\ndescription: Designs APIs\n---\nYou design.",
    )
    [agent] = load_markdown_agents([folder])
    assert (agent.name, agent.description, agent.prompt) == (
        "Backend Architect",
        "Designs APIs",
        "You design.",
    )


async def test_a_bad_agent_file_is_skipped_and_the_others_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / ".opencode" / "agent"
    write(folder / "good.md", "---\ndescription: Good\n---\nFine.")
    bad = write(folder / "bad.md", "---\ntemperature: hot\n---\nBody")
    registry = AgentRegistry()
    with caplog.at_level("WARNING", logger="opencode_python.agents"):
        await registry.load_markdown([folder])
    assert registry.get("good").description == "Good"
    with pytest.raises(NotFoundError):
        registry.get("bad")
    assert [str(e) for e in registry.errors] == [
        f"{bad}: temperature: Input should be a valid number, unable to parse string as a number"
    ]
    assert f"skipping agent file: {bad}: temperature" in caplog.text


async def test_mode_files_are_primary_agents(tmp_path: Path) -> None:
    """OpenCode's legacy .opencode/mode/*.md: top level only, each one primary."""
    modes = tmp_path / ".opencode" / "mode"
    write(modes / "docs.md", "---\ndescription: Writes docs\nmode: subagent\n---\nWrite docs.")
    write(modes / "nested" / "skip.md", "Not read.")
    registry = AgentRegistry()
    await registry.load_markdown([], modes=[modes])
    docs = registry.get("docs")
    assert (docs.mode, docs.prompt) == ("primary", "Write docs.")
    with pytest.raises(NotFoundError):
        registry.get("nested/skip")


def test_a_project_file_merges_over_the_users(tmp_path: Path) -> None:
    project, user = tmp_path / "project", tmp_path / "config"
    write(user / "agent" / "review.md", REVIEW)
    write(project / ".opencode" / "agents" / "review.md", "---\ntemperature: 0.4\n---\n")
    write(project / ".opencode" / "agents" / "old.md", "---\ndisable: true\n---\nOld.")
    [review] = load_markdown_agents(agent_dirs(project, user))
    assert review.temperature == 0.4
    assert review.prompt is not None
    assert review.prompt.startswith("You are in code review mode")  # an empty body keeps it


async def test_the_registry_merges_files_over_builtins(tmp_path: Path) -> None:
    folder = tmp_path / ".opencode" / "agent"
    write(folder / "review.md", REVIEW)
    write(folder / "build.md", "---\nmodel: openai/gpt-4.1\n---\n")
    write(folder / "general.md", "---\ndisable: true\n---\n")
    registry = AgentRegistry()
    await registry.load_markdown([folder])
    assert registry.get("review").mode == "subagent"
    build = registry.get("build")
    assert build.model == "openai/gpt-4.1"
    assert build.description == BUILTIN_AGENTS["build"].description
    with pytest.raises(NotFoundError):
        registry.get("general")
    with pytest.raises(ConfigError, match=r"'review' comes from .*review\.md"):
        await registry.remove("review")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntemperature: hot\n---\nBody", "temperature: Input should be a valid number"),
        ("---\nmodel: sonnet\n---\nBody", "model: model 'sonnet' must be named 'provider/model'"),
        ("---\nmode: boss\n---\n", "mode: Input should be 'primary', 'subagent' or 'all'"),
        ("---\ntools: Read, Grep\n---\n", "tools: must map tool names to true or false"),
        ("---\npermission:\n  edit: never\n---\n", "permission.edit: 'never' is not an action"),
        ("---\n- a\n- b\n---\n", "the frontmatter must be a mapping of settings"),
        ("---\ndescription: [unclosed\n---\n", "the frontmatter is not valid YAML"),
        ("---\ndescription: no end\n", "the frontmatter opened by '---' on line 1 is never closed"),
    ],
)
def test_errors_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    folder = tmp_path / ".opencode" / "agent"
    path = write(folder / "review.md", text)
    with pytest.raises(ConfigError) as caught:
        load_markdown_agents([folder])
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_file_that_is_not_text_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "bin.md").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match=r"bin\.md: cannot be read as UTF-8 text"):
        load_markdown_agents([folder])


def test_a_relative_folder_gives_relative_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / ".opencode" / "agent" / "review.md", "---\ntemperature: hot\n---\n")
    with pytest.raises(ConfigError) as caught:
        load_markdown_agents([Path(".opencode/agent")])
    assert str(caught.value).startswith(
        ".opencode/agent/review.md: temperature: Input should be a valid number"
    )


def test_an_unquoted_hex_color_is_kept(tmp_path: Path) -> None:
    """`color: #3498DB` is a YAML comment; agent files in the wild write it so."""
    folder = tmp_path / "agent"
    write(folder / "a.md", "---\ndescription: A\ncolor: #3498DB\n---\nBody.")
    [agent] = load_markdown_agents([folder])
    assert agent.color == "#3498DB"
