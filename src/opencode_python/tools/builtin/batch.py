"""The ``batch`` tool: run several independent tool calls at once.

Each call goes through ``ctx.call_tool``, so it is validated, permission-checked and
limited exactly as if the model had made it directly; one failing call does not stop
the others.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from pydantic import BaseModel, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult

MAX_CALLS: Final = 10
_NOT_BATCHABLE: Final = frozenset({"batch"})

DESCRIPTION = f"""\
Run several independent tool calls at the same time and get all their results.

- `tool_calls` is a list of {{"tool": <tool id>, "parameters": <its arguments>}}; at \
most {MAX_CALLS} calls run, any more are refused.
- Use it for calls that do not depend on each other (reading several files, several \
searches); calls run concurrently, in no fixed order.
- Results come back in the order of the list; one failing call does not stop the \
others.
- batch cannot call batch.
"""


class BatchCall(BaseModel):
    """One call inside a ``batch``."""

    tool: str = Field(min_length=1, description="The id of the tool to call.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="The arguments for that tool."
    )


class BatchParams(BaseModel):
    """The arguments of a ``batch`` call."""

    tool_calls: list[BatchCall] = Field(min_length=1, description="The calls to run.")


class BatchTool(Tool):
    """Runs up to ``MAX_CALLS`` calls concurrently through ``ctx.call_tool``."""

    id = "batch"
    description = DESCRIPTION

    def parameters(self) -> dict[str, Any]:
        return BatchParams.model_json_schema()

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        calls = BatchParams.model_validate(args).tool_calls
        outcomes = await asyncio.gather(
            *(_run(call, index, ctx) for index, call in enumerate(calls)),
            return_exceptions=True,
        )
        sections: list[str] = []
        reports: list[dict[str, Any]] = []
        for number, (call, outcome) in enumerate(zip(calls, outcomes, strict=True), 1):
            if isinstance(outcome, ToolResult):
                sections.append(f"## {number}. {call.tool}: ok\n{outcome.output}")
                reports.append({"tool": call.tool, "ok": True, "title": outcome.title})
            elif isinstance(outcome, Exception):
                error = _error_text(outcome)
                sections.append(f"## {number}. {call.tool}: error\n{error}")
                reports.append({"tool": call.tool, "ok": False, "error": error})
            else:  # a cancelled call: the run is being stopped, so stop too
                raise outcome
        succeeded = sum(report["ok"] for report in reports)
        summary = f"{succeeded} of {len(calls)} calls succeeded."
        return ToolResult(
            title=f"Batch: {summary}",
            output="\n\n".join([summary, *sections]),
            metadata={"total": len(calls), "succeeded": succeeded, "calls": reports},
        )


async def _run(call: BatchCall, index: int, ctx: ToolContext) -> ToolResult:
    if index >= MAX_CALLS:
        raise ToolError(f"Not run: a batch runs at most {MAX_CALLS} calls.")
    if call.tool in _NOT_BATCHABLE:
        raise ToolError(f"{call.tool!r} cannot be called inside a batch.")
    return await ctx.call_tool(call.tool, call.parameters)


def _error_text(error: Exception) -> str:
    """What the model reads: a tool error's own message, else the exception's type too."""
    if isinstance(error, ToolError):
        return str(error)
    return f"{type(error).__name__}: {error}"
