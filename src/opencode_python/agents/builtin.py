"""OpenCode's built-in agents and their permission sets.

An agent's rules are evaluated after ``DEFAULT_RULES`` and the config's rules, so each
agent lists only what differs: ``build`` nothing, ``plan`` no edits outside its plan
files, ``explore`` a read-only allow list, the hidden helpers no tools at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from ..core.models import PermissionRule
from ..permissions.rules import default_rules, from_config
from . import prompts
from .agent import Agent
from .read_only import read_only_bash

DEFAULT_AGENT: Final = "build"
"""The agent a run uses when none is named."""

PLAN_FILES: Final = ".opencode/plans/*.md"
"""Where ``plan`` may write: one folder, so plans never land among the sources."""


def _default_exceptions() -> list[PermissionRule]:
    """The defaults' specific rules (doom loops, outside paths, env files), to restore
    after an agent's blanket ``"*": "deny"`` and allows."""
    return [rule for rule in default_rules() if rule.permission != "*"]


def _agents(agents: Iterable[Agent]) -> dict[str, Agent]:
    return {agent.name: agent for agent in agents}


def permission_layers(agent: Agent) -> tuple[list[PermissionRule], list[PermissionRule]]:
    """``agent``'s rules as (those its built-in ships with, those set for it since): the
    gate puts the config's rules between the two (``PermissionGate.rules_for``), so a
    config's ``bash: {"rm *": deny}`` holds for ``plan`` too. An agent that is not a
    built-in's (merged) copy has only rules of its own."""
    builtin = builtin_agents_by_name().get(agent.name)
    if builtin is None or not agent.native:
        return [], list(agent.permission)
    shipped = builtin.permission
    if agent.permission[: len(shipped)] != shipped:
        return [], list(agent.permission)
    return list(shipped), agent.permission[len(shipped) :]


@cache
def builtin_agents_by_name() -> dict[str, Agent]:
    """The built-in agents by name (``BUILTIN_AGENTS``), built on first use so that
    importing the package builds no model. Treat them as read-only: derive changes
    with ``model_copy`` or register an agent of the same name in an ``AgentRegistry``."""
    return _agents(
        [
            Agent(
                name="build",
                description="The default agent. Executes tools based on configured permissions.",
                mode="primary",
                native=True,
            ),
            Agent(
                name="plan",
                description=(
                    "Plan mode. Investigates and writes a plan under .opencode/plans/ without "
                    "changing the project; read-only shell commands run, others ask."
                ),
                mode="primary",
                prompt=prompts.PLAN,
                permission={
                    "edit": {"*": "deny", PLAN_FILES: "allow"},
                    "bash": read_only_bash("ask"),
                    # general may edit; delegating to it would get round the rule above
                    "task": {"general": "deny"},
                },
                native=True,
            ),
            Agent(
                name="general",
                description=(
                    "General-purpose agent for researching complex questions and executing "
                    "multi-step tasks. Use it to run several units of work in parallel."
                ),
                mode="subagent",
                prompt=prompts.GENERAL,
                permission={"todowrite": "deny", "todoread": "deny"},
                native=True,
            ),
            Agent(
                name="explore",
                description=(
                    "Fast read-only agent for exploring codebases: finds files by pattern "
                    '(e.g. "src/**/*.tsx"), searches code for keywords (e.g. "API endpoints") '
                    'and answers questions about the code (e.g. "how do API endpoints work?"). '
                    'Say how thorough to be: "quick", "medium" or "very thorough".'
                ),
                mode="subagent",
                prompt=prompts.EXPLORE,
                permission=[
                    *from_config(
                        {
                            "*": "deny",
                            "read": "allow",
                            "grep": "allow",
                            "glob": "allow",
                            "list": "allow",
                            "webfetch": "allow",
                            "websearch": "allow",
                            "bash": read_only_bash("ask"),
                        }
                    ),
                    *_default_exceptions(),
                ],
                native=True,
            ),
            Agent(
                name="title",
                description="Writes a short title for a session.",
                mode="primary",
                prompt=prompts.TITLE,
                temperature=0.5,
                permission={"*": "deny"},
                hidden=True,
                native=True,
            ),
            Agent(
                name="summary",
                description="Summarises what a session did and which files it changed.",
                mode="primary",
                prompt=prompts.SUMMARY,
                permission={"*": "deny"},
                hidden=True,
                native=True,
            ),
            Agent(
                name="compaction",
                description="Condenses a long conversation into a summary the work continues from.",
                mode="primary",
                prompt=prompts.COMPACTION,
                permission={"*": "deny"},
                hidden=True,
                native=True,
            ),
        ]
    )


if TYPE_CHECKING:
    BUILTIN_AGENTS: dict[str, Agent]


def __getattr__(name: str) -> Any:
    if name == "BUILTIN_AGENTS":
        return builtin_agents_by_name()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def builtin_agents() -> list[Agent]:
    """The built-in agents, ``build`` first."""
    return list(builtin_agents_by_name().values())
