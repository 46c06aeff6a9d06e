"""The ``memory_search`` and ``memory_store`` tools: an agent's own access to memory.

Both go through the client's ``MemoryManager``, so what an agent stores is found later
by meaning from any session of the project (permission keys of the same names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..tools.framework import Tool, ToolContext, ToolResult

if TYPE_CHECKING:
    from .manager import MemoryManager


class _SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    query: str = Field(description="What to look for, in plain words; matched by meaning.")
    limit: int = Field(default=5, ge=1, le=20, description="How many memories to return.")


class _StoreParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    content: str = Field(description="The fact to remember, self-contained and specific.")
    scope: Literal["session", "agent", "project", "user"] = Field(
        default="project",
        description="Who may recall it: this session, this agent, the whole project, or "
        "the user everywhere.",
    )


class MemorySearchTool(Tool):
    id = "memory_search"
    description = (
        "Search long-term memory for facts stored in earlier work (this session, earlier "
        "sessions of the project, or about the user). Use it before asking the user "
        "something they may have told you already."
    )

    def __init__(self, manager: MemoryManager) -> None:
        self.manager = manager

    def parameters(self) -> dict[str, Any]:
        return _SearchParams.model_json_schema()

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = _SearchParams.model_validate(args)
        found = await self.manager.search_memory(
            ctx.session_id, params.query, limit=params.limit, agent=ctx.agent
        )
        if not found:
            return ToolResult(title=params.query, output="No memories match.")
        lines = [f"- {m.content} (id {m.id}, {m.scope})" for m in found]
        return ToolResult(
            title=params.query,
            output="\n".join(lines),
            metadata={"ids": [m.id for m in found]},
        )


class MemoryStoreTool(Tool):
    id = "memory_store"
    description = (
        "Remember a fact for later sessions: a preference, a decision, a name, a "
        "constraint. Store one self-contained fact per call."
    )

    def __init__(self, manager: MemoryManager) -> None:
        self.manager = manager

    def parameters(self) -> dict[str, Any]:
        return _StoreParams.model_json_schema()

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = _StoreParams.model_validate(args)
        memory_id = await self.manager.store_memory(
            ctx.session_id,
            params.content,
            metadata={"source_message": ctx.message_id, "stored_by": ctx.agent},
            scope=params.scope,
            agent=ctx.agent,
        )
        return ToolResult(
            title="remembered", output=f"Stored as {memory_id}.", metadata={"id": memory_id}
        )
