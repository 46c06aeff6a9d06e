"""The batch tool, dispatching through a small real dispatcher over a ToolRegistry.

The dispatcher stands where the executor will: it looks the tool up, runs it, and turns
failures into ``ToolError`` with the message the model would read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.batch import MAX_CALLS, BatchTool
from opencode_python.tools.framework import Tool, ToolContext, ToolRegistry, ToolResult
from tests.tools_for_tests import AddTool, FailingTool


class MeetTool(Tool):
    """Returns only once ``parties`` calls are running at the same time."""

    id = "meet"
    description = "Meet the others."

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        await self.barrier.wait()
        return ToolResult(output=f"{args['who']} met the others")


class HangTool(Tool):
    """Waits until cancelled, and counts the cancellations."""

    id = "hang"
    description = "Never finishes."

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.started = 0
        self.all_started = asyncio.Event()
        self.cancelled = 0

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        self.started += 1
        if self.started == self.expected:
            self.all_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return ToolResult()


async def batch_context(*tools: Tool) -> ToolContext:
    registry = ToolRegistry()
    for tool in (BatchTool(), *tools):
        await registry.register(tool)
    ctx = ToolContext(session_id="s", message_id="m", agent="build")

    async def dispatch(tool_id: str, args: dict[str, Any]) -> ToolResult:
        tool = registry.get(tool_id)
        if tool is None:
            raise ToolError(f"Tool {tool_id!r} is not available.")
        try:
            return await tool.execute(args, ctx)
        except ToolError:
            raise
        except Exception as error:
            raise ToolError(f"{type(error).__name__}: {error}") from error

    ctx._on_call_tool = dispatch
    return ctx


async def test_results_and_errors_come_back_in_order() -> None:
    ctx = await batch_context(AddTool(), FailingTool())
    calls = [
        {"tool": "add", "parameters": {"a": 1, "b": 2}},
        {"tool": "fail"},
        {"tool": "nope", "parameters": {}},
        {"tool": "add", "parameters": {"a": 20, "b": 22}},
    ]
    result = await BatchTool().execute({"tool_calls": calls}, ctx)
    assert result.output == (
        "2 of 4 calls succeeded.\n\n"
        "## 1. add: ok\n3\n\n"
        "## 2. fail: error\nRuntimeError: boom: the disk is on fire\n\n"
        "## 3. nope: error\nTool 'nope' is not available.\n\n"
        "## 4. add: ok\n42"
    )
    assert result.title == "Batch: 2 of 4 calls succeeded."
    assert result.metadata == {
        "total": 4,
        "succeeded": 2,
        "calls": [
            {"tool": "add", "ok": True, "title": "1 + 2"},
            {"tool": "fail", "ok": False, "error": "RuntimeError: boom: the disk is on fire"},
            {"tool": "nope", "ok": False, "error": "Tool 'nope' is not available."},
            {"tool": "add", "ok": True, "title": "20 + 22"},
        ],
    }


async def test_calls_run_concurrently() -> None:
    ctx = await batch_context(MeetTool(parties=3))
    calls = [{"tool": "meet", "parameters": {"who": who}} for who in ("ann", "bob", "cy")]
    result = await asyncio.wait_for(BatchTool().execute({"tool_calls": calls}, ctx), 5)
    assert result.metadata["succeeded"] == 3
    assert "## 3. meet: ok\ncy met the others" in result.output


async def test_batch_cannot_call_batch() -> None:
    ctx = await batch_context(AddTool())
    inner = {"tool_calls": [{"tool": "add", "parameters": {"a": 1, "b": 1}}]}
    result = await BatchTool().execute(
        {"tool_calls": [{"tool": "batch", "parameters": inner}]}, ctx
    )
    assert result.output == (
        "0 of 1 calls succeeded.\n\n## 1. batch: error\n'batch' cannot be called inside a batch."
    )


async def test_calls_beyond_the_limit_are_not_run() -> None:
    ctx = await batch_context(AddTool())
    calls = [{"tool": "add", "parameters": {"a": n, "b": 0}} for n in range(MAX_CALLS + 2)]
    result = await BatchTool().execute({"tool_calls": calls}, ctx)
    assert result.metadata["succeeded"] == MAX_CALLS
    assert result.output.startswith(f"{MAX_CALLS} of {MAX_CALLS + 2} calls succeeded.")
    assert result.output.endswith(
        f"## 12. add: error\nNot run: a batch runs at most {MAX_CALLS} calls."
    )


async def test_outside_a_run_every_call_fails_clearly() -> None:
    ctx = ToolContext(session_id="s", message_id="m", agent="build")
    result = await BatchTool().execute({"tool_calls": [{"tool": "add"}]}, ctx)
    assert "## 1. add: error\ntools cannot call other tools outside a run" in result.output


async def test_cancelling_the_batch_cancels_its_calls() -> None:
    hang = HangTool(expected=2)
    ctx = await batch_context(hang)
    task = asyncio.create_task(
        BatchTool().execute({"tool_calls": [{"tool": "hang"}, {"tool": "hang"}]}, ctx)
    )
    await asyncio.wait_for(hang.all_started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hang.cancelled == 2


def test_schema_needs_at_least_one_call() -> None:
    schema = BatchTool().parameters()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"tool_calls": [{"tool": "read", "parameters": {"path": "x"}}]})
    assert not validator.is_valid({"tool_calls": []})
    assert not validator.is_valid({"tool_calls": [{"parameters": {}}]})
