"""The ``invalid`` tool: where the runtime routes a call whose arguments were malformed.

Models are not offered it; it turns a bad call into an ordinary tool result that tells
the model what was wrong, so the run goes on.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..framework import Tool, ToolContext, ToolResult


class InvalidParams(BaseModel):
    """The arguments of an ``invalid`` call: the tool that was called and what was wrong."""

    tool: str
    error: str


class InvalidTool(Tool):
    """Reports an invalid call back to the model."""

    id = "invalid"
    description = "Do not use."

    def parameters(self) -> dict[str, Any]:
        return InvalidParams.model_json_schema()

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = InvalidParams.model_validate(args)
        return ToolResult(
            title="Invalid Tool",
            output=f"The arguments provided to the tool are invalid: {params.error}",
            metadata={"tool": params.tool},
        )
