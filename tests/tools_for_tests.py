"""Small real tools the loop tests run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from opencode_python import Tool, ToolContext, ToolResult


class AddTool(Tool):
    id = "add"
    description = "Add two integers."

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        }

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return ToolResult(title=f"{args['a']} + {args['b']}", output=str(args["a"] + args["b"]))


class FailingTool(Tool):
    id = "fail"
    description = "Always raises."

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise RuntimeError("boom: the disk is on fire")


class SleepTool(Tool):
    """Sleeps, recording when each call started and ended (monotonic seconds)."""

    id = "sleep"
    description = "Sleep for some seconds."

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self.cancelled = 0

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"seconds": {"type": "number"}},
            "required": ["seconds"],
        }

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        start = time.monotonic()
        try:
            await asyncio.sleep(args["seconds"])
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.spans.append((start, time.monotonic()))
        return ToolResult(title="slept", output=f"slept {args['seconds']}")
