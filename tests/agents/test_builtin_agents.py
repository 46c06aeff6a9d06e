"""The built-in agents: their permission sets, evaluated as the engine evaluates them."""

from __future__ import annotations

import pytest

from opencode_python.agents.builtin import BUILTIN_AGENTS, DEFAULT_AGENT, builtin_agents
from opencode_python.agents.read_only import READ_ONLY_COMMANDS
from opencode_python.permissions import (
    DEFAULT_RULES,
    ToolPermissionFilter,
    evaluate,
    permission_key,
    split_commands,
)

TOOLS = [
    "read",
    "write",
    "edit",
    "multiedit",
    "apply_patch",
    "bash",
    "grep",
    "glob",
    "list",
    "webfetch",
    "websearch",
    "todowrite",
    "todoread",
    "task",
    "skill",
]


def action(agent: str, tool: str, subject: str) -> str:
    """What the engine decides for ``tool`` on ``subject``: defaults, then the agent."""
    rules = BUILTIN_AGENTS[agent].permission
    return evaluate(permission_key(tool), subject, DEFAULT_RULES, rules).action


def bash_actions(agent: str, line: str) -> list[str]:
    """The decision for each command of a shell line, as the bash tool asks them."""
    return [action(agent, "bash", command) for command in split_commands(line)]


def visible(agent: str) -> list[str]:
    return ToolPermissionFilter(DEFAULT_RULES, BUILTIN_AGENTS[agent].permission).visible(TOOLS)


def test_the_builtins_are_opencodes() -> None:
    assert [agent.name for agent in builtin_agents()] == [
        "build",
        "plan",
        "general",
        "explore",
        "title",
        "summary",
        "compaction",
    ]
    assert DEFAULT_AGENT == "build"
    assert all(agent.native for agent in builtin_agents())
    modes = {agent.name: (agent.mode, agent.hidden) for agent in builtin_agents()}
    assert modes == {
        "build": ("primary", False),
        "plan": ("primary", False),
        "general": ("subagent", False),
        "explore": ("subagent", False),
        "title": ("primary", True),
        "summary": ("primary", True),
        "compaction": ("primary", True),
    }
    assert all(agent.description for agent in builtin_agents())


def test_build_leaves_the_defaults_in_charge() -> None:
    assert BUILTIN_AGENTS["build"].permission == []
    assert action("build", "write", "src/app.py") == "allow"
    assert action("build", "bash", "rm -rf build") == "allow"
    assert action("build", "read", ".env") == "ask"  # the defaults still guard secrets
    assert visible("build") == TOOLS


def test_plan_edits_only_its_plan_files() -> None:
    for tool in ("write", "edit", "multiedit", "apply_patch"):
        assert action("plan", tool, "src/x.py") == "deny"
        assert action("plan", tool, ".opencode/plans/refactor.md") == "allow"
    assert action("plan", "write", ".opencode/plans/notes.txt") == "deny"
    assert action("plan", "write", "docs/refactor.plan.md") == "deny"
    # the editing tools stay offered, so the plan file can be written
    assert "write" in visible("plan")


def test_plan_runs_read_only_commands_and_asks_for_the_rest() -> None:
    assert bash_actions("plan", "git status --short") == ["allow"]
    assert bash_actions("plan", "git diff HEAD~1 | head -50") == ["allow", "allow"]
    assert bash_actions("plan", "ls") == ["allow"]
    assert bash_actions("plan", "pwd") == ["allow"]
    assert bash_actions("plan", "rm -rf src") == ["ask"]
    assert bash_actions("plan", "git status && git commit -am wip") == ["allow", "ask"]
    # a redirection is an edit of its target, checked as one (not part of the command)
    assert action("plan", "edit", "copy.md") == "deny"
    assert bash_actions("plan", "find . -name '*.pyc' -delete") == ["ask"]
    assert bash_actions("plan", "git diff --output=patch.diff") == ["ask"]


def test_plan_fetches_but_does_not_delegate_to_general() -> None:
    assert action("plan", "webfetch", "https://docs.python.org/3/") == "allow"
    assert action("plan", "task", "general") == "deny"
    assert action("plan", "task", "explore") == "allow"


def test_general_works_without_todos() -> None:
    assert action("general", "todowrite", "*") == "deny"
    assert action("general", "todoread", "*") == "deny"
    assert action("general", "write", "src/x.py") == "allow"
    assert "todowrite" not in visible("general")
    assert "write" in visible("general")


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_explore_runs_each_read_only_command(command: str) -> None:
    bare = command.removesuffix(" *").replace(" * ", " x ").replace("*", "x")
    assert bash_actions("explore", bare) == ["allow"]


def test_explore_is_read_only() -> None:
    assert action("explore", "write", "src/x.py") == "deny"
    assert action("explore", "edit", "notes.md") == "deny"
    assert bash_actions("explore", "rm -rf src") == ["ask"]
    assert bash_actions("explore", "git status") == ["allow"]
    assert bash_actions("explore", "git log --oneline -5") == ["allow"]
    assert bash_actions("explore", "rg TODO src && rm x") == ["allow", "ask"]
    assert "ask" in bash_actions("explore", "find . -exec rm {} +")
    assert bash_actions("explore", "rg --pre ./run.sh foo") == ["ask"]
    assert action("explore", "todowrite", "*") == "deny"
    assert action("explore", "todoread", "*") == "deny"
    assert action("explore", "task", "general") == "deny"
    assert visible("explore") == ["read", "bash", "grep", "glob", "list", "webfetch", "websearch"]


def test_explore_keeps_the_defaults_guards() -> None:
    assert action("explore", "read", "src/app.py") == "allow"
    assert action("explore", "read", "config/.env") == "ask"
    assert action("explore", "read", ".env.example") == "allow"
    assert action("explore", "external_directory", "/etc/*") == "ask"
    assert action("explore", "doom_loop", "read") == "ask"


@pytest.mark.parametrize("name", ["title", "summary", "compaction"])
def test_hidden_helpers_may_do_nothing(name: str) -> None:
    for tool in TOOLS:
        assert action(name, tool, "*") == "deny"
    assert action(name, "bash", "ls") == "deny"
    assert visible(name) == []


def test_helper_prompts_say_what_to_write() -> None:
    title = BUILTIN_AGENTS["title"]
    assert title.prompt is not None
    assert "50 characters" in title.prompt
    assert "no quotes" in title.prompt
    compaction = BUILTIN_AGENTS["compaction"].prompt
    assert compaction is not None
    headings = [line for line in compaction.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Goal",
        "## Constraints",
        "## Progress",
        "## Decisions",
        "## Next steps",
        "## Relevant files",
    ]
    summary = BUILTIN_AGENTS["summary"].prompt
    assert summary is not None
    assert "files" in summary
    plan = BUILTIN_AGENTS["plan"].prompt
    assert plan is not None
    assert ".opencode/plans/" in plan
    # build runs on the client's default system prompt, as OpenCode's build does
    assert BUILTIN_AGENTS["build"].prompt is None
