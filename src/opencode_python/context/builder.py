"""``ContextBuilder``: everything one agent run sends to the model, assembled in one place.

The runtime uses it for every run, and apps can call it to inspect or change a
context before running it: the system prompt (agent prompt, environment, instruction
files, skills, memories), the tools the agent's rules allow, and the history since
the last compaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..config.instructions import find_instruction_files, load_instructions
from ..core.models import MessageWithParts, PermissionRule, Session
from ..permissions.filter import ToolPermissionFilter
from ..permissions.rules import evaluate
from ..providers.base import ToolSchema
from ..skills.injector import SkillInjector
from ..skills.loader import SkillLoader
from ..storage.contract import Store
from ..storage.project import ProjectInfo
from ..tools.framework import ToolRegistry
from .compaction import select_history
from .system_prompt import DEFAULT_PROMPT, environment_block


class AgentLike(Protocol):
    """What the builder needs of an agent (``opencode_python.agents.Agent`` has it)."""

    name: str
    prompt: str | None


@dataclass(slots=True)
class AgentContext:
    """One run's context. Change it before running to adjust what the model sees."""

    system_prompt: str
    tools: list[ToolSchema]
    messages: list[MessageWithParts]
    session: Session
    agent: AgentLike
    model: str
    memories: list[Any] = field(default_factory=list)
    instruction_files: list[Path] = field(default_factory=list)


class ContextBuilder:
    """Builds ``AgentContext`` objects for one project."""

    def __init__(
        self,
        *,
        store: Store,
        project: ProjectInfo,
        tools: ToolRegistry,
        skills: SkillLoader,
        instructions: Sequence[str] = (),
        user_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.project = project
        self.tools = tools
        self.skills = skills
        self.instructions = list(instructions)
        self.user_dir = user_dir

    async def build_agent_context(
        self,
        session: Session,
        agent: AgentLike,
        *,
        model: str,
        rules: Sequence[PermissionRule] = (),
        memories: Sequence[Any] = (),
        ceilings: Sequence[Sequence[PermissionRule]] = (),
    ) -> AgentContext:
        """The context ``agent`` runs with in ``session``, under ``rules`` (and, for a
        subagent, under the ``ceilings`` of the runs above it: what any of them denies
        is not offered)."""
        directory = Path(session.directory or self.project.directory)
        files = find_instruction_files(
            directory,
            worktree=Path(self.project.worktree) if self.project.worktree else None,
            extra=self.instructions,
            user_dir=self.user_dir,
        )
        filters = [ToolPermissionFilter(r) for r in (rules, *ceilings)]

        def visible(tool_id: str) -> bool:
            return all(f.is_visible(tool_id) for f in filters)

        def allows(permission: str, subject: str) -> bool:
            return all(
                evaluate(permission, subject, r).action != "deny" for r in (rules, *ceilings)
            )

        parts = [
            agent.prompt or DEFAULT_PROMPT,
            environment_block(directory, is_git_repo=self.project.vcs == "git"),
            *(f"Instructions from: {path}\n{text}" for path, text in load_instructions(files)),
        ]
        if visible("skill"):
            section = SkillInjector(self.skills.list_skills()).section(
                lambda name: allows("skill", name)
            )
            if section:
                parts.append(section)
        if memories:
            parts.append(_memory_section(memories))
        history = select_history(await self.store.list_messages(session.id))
        return AgentContext(
            system_prompt="\n\n".join(p for p in parts if p),
            tools=[self._for_agent(t, allows) for t in self.tools.schemas(visible)],
            messages=history,
            session=session,
            agent=agent,
            model=model,
            memories=list(memories),
            instruction_files=files,
        )

    def _for_agent(self, schema: ToolSchema, allows: Callable[[str, str], bool]) -> ToolSchema:
        """A tool as this agent sees it: the skill tool lists only the skills it may
        load, the task tool only the subagents it may start."""
        tool = self.tools.get(schema.name)
        if tool is None:
            return schema
        parameters = tool.parameters_for(allows)
        return ToolSchema(
            schema.name,
            tool.description_for(allows),
            schema.parameters if parameters is None else parameters,
        )


MEMORY_BUDGET_CHARS = 4000  # about 1,000 tokens of remembered facts per run


def _memory_section(memories: Sequence[Any]) -> str:
    """The most relevant memories first, as many as fit the budget."""
    lines: list[str] = []
    used = 0
    for memory in memories:
        line = f"- {getattr(memory, 'content', memory)}"
        if used + len(line) > MEMORY_BUDGET_CHARS:
            break
        lines.append(line)
        used += len(line)
    body = "\n".join(lines)
    return f"<memories>\nFacts remembered from earlier work:\n{body}\n</memories>"
