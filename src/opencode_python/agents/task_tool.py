"""The ``task`` tool: the model hands a piece of work to a subagent.

Its description lists the subagents the calling agent may start (permission key
``task``, the agent's name as subject, so ``{"task": {"reviewer": "deny"}}`` hides
one). The subagent runs in a child session and its final answer is the tool's result
(as JSON when the subagent has an output type);
the result's ``task_id`` lets the model continue that child later. Several task calls
in one step run at the same time, as all tool calls of a step do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic_core import to_jsonable_python

from ..core.errors import OpenCodeError, ToolError
from ..tools.framework import Tool, ToolContext, ToolResult, with_enum
from .agent import Agent
from .orchestrator import AgentOrchestrator
from .registry import AgentRegistry
from .task import AgentTask

_INTRO = (
    "Start a subagent to handle a complex, multi-step task on its own. It works in a "
    "fresh session with its own tools, and its final answer comes back as this tool's "
    "result (the user does not see it: tell the user what matters). Give it a complete, "
    "self-contained prompt, and say what it should return. To run several independent "
    "tasks at once, call this tool several times in one message. To continue an earlier "
    "subagent, pass the task_id its result gave."
)


class TaskTool(Tool):
    """Delegates to the subagents of an ``AgentRegistry`` through an orchestrator."""

    id = "task"

    def __init__(self, orchestrator: AgentOrchestrator, agents: AgentRegistry) -> None:
        self._orchestrator = orchestrator
        self._agents = agents

    # Like SkillTool: the text depends on the registry, so a property serves it.
    @property
    def description(self) -> str:  # type: ignore[override]
        return _describe(self._agents.list("subagent", include_hidden=True))

    def description_for(self, allows: Callable[[str, str], bool]) -> str:
        return _describe(self._allowed(allows))

    def parameters_for(self, allows: Callable[[str, str], bool]) -> dict[str, Any]:
        return with_enum(
            self.parameters(), "subagent_type", [a.name for a in self._allowed(allows)]
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "description": {
                    "type": "string",
                    "description": "A short (3-5 words) description of the task.",
                },
                "prompt": {
                    "type": "string",
                    "description": "The task for the subagent, with everything it needs.",
                },
                "subagent_type": {
                    "type": "string",
                    "description": "The name of the subagent to use, from the list above.",
                },
                "task_id": {
                    "type": "string",
                    "description": "Only to continue an earlier subagent: its task_id.",
                },
                "command": {
                    "type": "string",
                    "description": "The command that triggered this task, if any.",
                },
            },
            "required": ["description", "prompt", "subagent_type"],
            "additionalProperties": False,
        }

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [str(args["subagent_type"])]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        name = str(args["subagent_type"])
        agent = self._subagent(name)
        spec = AgentTask(
            agent_name=agent.name,
            prompt=str(args["prompt"]),
            description=str(args["description"]),
            session_id=args.get("task_id") or None,
        )
        try:
            delegator = await self._orchestrator.delegator_for_run(ctx.session_id)
            await self._orchestrator.check_resume(spec, ctx.session_id)
        except OpenCodeError as exc:
            raise ToolError(str(exc)) from None
        await ctx.update_metadata(spec.description, {"task_id": spec.task_id, "agent": agent.name})

        async def started(session_id: str) -> None:  # a UI can open the child at once
            await ctx.update_metadata(None, {"session_id": session_id})

        result = await self._orchestrator.run_task(spec, delegator, on_session=started)
        await ctx.update_metadata(None, {"session_id": result.session_id, "cost": result.cost})
        if result.error is not None:
            where = f" (task_id: {result.session_id})" if result.session_id else ""
            raise ToolError(f"The {agent.name} subagent did not finish{where}: {result.error}")
        metadata = {
            "task_id": spec.task_id,
            "session_id": result.session_id,
            "agent": agent.name,
            "cost": result.cost,
            "tokens": result.tokens_used.total,
        }
        answer = result.response
        if "output_mode" in result.metadata:  # the subagent has an output type
            metadata["output"] = to_jsonable_python(result.output)
            answer = json.dumps(metadata["output"], ensure_ascii=False)
        return ToolResult(
            title=spec.description,
            output=(
                f"task_id: {result.session_id} (pass it as task_id to continue this "
                f"subagent's session)\n\n<task_result>\n{answer}\n</task_result>"
            ),
            metadata=metadata,
        )

    def _allowed(self, allows: Callable[[str, str], bool]) -> list[Agent]:
        return [
            a for a in self._agents.list("subagent", include_hidden=True) if allows("task", a.name)
        ]

    def _subagent(self, name: str) -> Agent:
        agents = {a.name: a for a in self._agents.list("subagent", include_hidden=True)}
        agent = agents.get(name)
        if agent is None:
            known = ", ".join(sorted(agents)) or "none"
            raise ToolError(f"Unknown subagent {name!r}. Available subagents: {known}.")
        return agent


def _describe(agents: list[Agent]) -> str:
    if not agents:
        return f"{_INTRO}\n\nNo subagents are available now."
    lines = "\n".join(f"- {a.name}: {a.description or 'no description'}" for a in agents)
    return f"{_INTRO}\n\nAvailable subagents:\n{lines}"
