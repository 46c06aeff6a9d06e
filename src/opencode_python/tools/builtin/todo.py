"""The ``todowrite`` and ``todoread`` tools: the model's task list for a session.

The list lives in the store's key-value state (namespace ``todos``, key the session
id), so it survives restarts and each session has its own.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, TypeAdapter

from ...core.errors import ToolError
from ...storage.contract import Store
from ..framework import Tool, ToolContext, ToolResult

STATE_NAMESPACE: Final = "todos"

WRITE_DESCRIPTION = """\
Write the task list for this session: pass the whole list; it replaces the old one.

Use it for work with several steps, to plan and to show progress:
- When a task begins, add its steps as `pending`.
- Mark a step `in_progress` when you start it (one at a time) and `completed` as soon \
as it is done; do not batch completions.
- Mark steps that turned out to be unnecessary `cancelled`.
- Keep `content` short and specific; `priority` is high, medium or low.

Skip it for a single trivial step.
"""

READ_DESCRIPTION = """\
Read the task list of this session (written with todowrite), to see what is done and \
what is left.
"""


class TodoItem(BaseModel):
    """One entry of the task list."""

    id: str | None = Field(
        default=None, description="An id for the item (optional; OpenCode's has none)."
    )
    content: str = Field(min_length=1, description="What is to be done.")
    status: Literal["pending", "in_progress", "completed", "cancelled"]
    priority: Literal["high", "medium", "low"]


class TodoWriteParams(BaseModel):
    """The arguments of a ``todowrite`` call."""

    todos: list[TodoItem] = Field(description="The full, updated task list.")


_TODO_LIST: Final = TypeAdapter(list[TodoItem])


def _require_store(ctx: ToolContext) -> Store:
    if ctx.store is None:
        raise ToolError(
            "The task list needs a store, and this run has none: run the tool through a "
            "client (which owns one) or build the ToolContext with store=..."
        )
    return ctx.store


def _result(todos: list[TodoItem]) -> ToolResult:
    open_count = sum(todo.status in ("pending", "in_progress") for todo in todos)
    dumped = [todo.model_dump(exclude_none=True) for todo in todos]
    return ToolResult(
        title=f"{open_count} open todo{'' if open_count == 1 else 's'}",
        output=json.dumps(dumped, indent=2),
        metadata={"todos": dumped, "open": open_count},
    )


async def read_todos(store: Store, session_id: str) -> list[TodoItem]:
    """The stored task list of a session (empty when none was written)."""
    return _TODO_LIST.validate_python(await store.get_state(STATE_NAMESPACE, session_id) or [])


class TodoWriteTool(Tool):
    """Replaces the session's task list."""

    id = "todowrite"
    description = WRITE_DESCRIPTION

    def parameters(self) -> dict[str, Any]:
        return TodoWriteParams.model_json_schema()

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        store = _require_store(ctx)
        todos = TodoWriteParams.model_validate(args).todos
        await store.set_state(
            STATE_NAMESPACE, ctx.session_id, [todo.model_dump(exclude_none=True) for todo in todos]
        )
        return _result(todos)


class TodoReadTool(Tool):
    """Returns the session's task list."""

    id = "todoread"
    description = READ_DESCRIPTION

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return _result(await read_todos(_require_store(ctx), ctx.session_id))
