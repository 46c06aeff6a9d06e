"""Runs one tool call: parse and validate arguments, run with timeout, catch failures.

Every failure becomes an ``error`` outcome with a message written for the model, so a
bad call never crashes the loop: the model reads what was wrong and tries again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..core.errors import AbortedError, PermissionDeniedError, ToolArgumentsError
from .framework import ToolContext, ToolRegistry, ToolResult

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ToolOutcome:
    """The result of one call: ``result`` when completed, ``error`` text when not."""

    status: Literal["completed", "error"]
    input: dict[str, Any] = field(default_factory=dict)
    result: ToolResult | None = None
    error: str | None = None


class ToolExecutionManager:
    """Executes calls against the registry it is given."""

    def __init__(self, registry: ToolRegistry, *, timeout: float | None = None) -> None:
        self.registry = registry
        self.timeout = timeout
        self._validators: dict[tuple[str, int], Draft202012Validator] = {}

    def parse_arguments(self, tool_id: str, raw: str | dict[str, Any]) -> dict[str, Any]:
        """The arguments as a dict, checked against the tool's schema.

        Raises ``ToolArgumentsError`` with a message the model can act on.
        """
        if isinstance(raw, dict):
            args = raw
        else:
            text = raw.strip() or "{}"
            try:
                args = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ToolArgumentsError(
                    f"The arguments for tool {tool_id!r} are not valid JSON ({exc.msg} at "
                    f"position {exc.pos}). Call the tool again with a JSON object that "
                    "matches its schema."
                ) from None
        if not isinstance(args, dict):
            raise ToolArgumentsError(
                f"The arguments for tool {tool_id!r} must be a JSON object, got "
                f"{type(args).__name__}. Call the tool again with an object."
            )
        validator = self._validator(tool_id)
        if validator is not None:
            errors = sorted(validator.iter_errors(args), key=lambda e: list(e.path))
            if errors:
                problems = "; ".join(_describe(e.path, e.message) for e in errors[:5])
                raise ToolArgumentsError(
                    f"The arguments for tool {tool_id!r} do not match its schema: {problems}. "
                    "Fix the arguments and call the tool again."
                )
        return args

    def _validator(self, tool_id: str) -> Draft202012Validator | None:
        schema = self.registry.get_metadata(tool_id).parameters
        key = (tool_id, id(schema))
        validator = self._validators.get(key)
        if validator is None:
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                log.warning("tool %s has an invalid JSON schema (%s); not validating", tool_id, exc)
                return None
            validator = Draft202012Validator(schema)
            self._validators[key] = validator
        return validator

    def unknown_tool_message(self, tool_id: str) -> str:
        known = ", ".join(sorted(m.id for m in self.registry.list())) or "none"
        return f"Unknown tool {tool_id!r}. Available tools: {known}."

    async def execute(
        self, tool_id: str, raw_arguments: str | dict[str, Any], ctx: ToolContext
    ) -> ToolOutcome:
        """Parse, validate and run one call. Cancellation propagates to the caller."""
        if tool_id not in self.registry:
            return ToolOutcome("error", error=self.unknown_tool_message(tool_id))
        try:
            args = self.parse_arguments(tool_id, raw_arguments)
        except ToolArgumentsError as exc:
            return ToolOutcome("error", error=str(exc))
        return await self.run(tool_id, args, ctx)

    async def run(self, tool_id: str, args: dict[str, Any], ctx: ToolContext) -> ToolOutcome:
        """Run a call whose arguments were already parsed and validated."""
        tool = self.registry.get(tool_id)
        if tool is None:
            return ToolOutcome("error", args, error=self.unknown_tool_message(tool_id))
        try:
            if self.timeout is None:
                result = await tool.execute(args, ctx)
            else:
                result = await asyncio.wait_for(tool.execute(args, ctx), self.timeout)
        except TimeoutError:
            return ToolOutcome(
                "error", args, error=f"Tool {tool_id!r} timed out after {self.timeout:g} s."
            )
        except AbortedError:
            return ToolOutcome("error", args, error="Tool execution was aborted.")
        except PermissionDeniedError as exc:
            return ToolOutcome("error", args, error=str(exc))
        except Exception as exc:
            return ToolOutcome("error", args, error=f"{type(exc).__name__}: {exc}")
        if not isinstance(result, ToolResult):
            return ToolOutcome(
                "error",
                args,
                error=f"Tool {tool_id!r} returned {type(result).__name__}, not a ToolResult.",
            )
        return ToolOutcome("completed", args, result=result)


def _describe(path: Any, message: str) -> str:
    where = "/".join(str(p) for p in path)
    return f"{where}: {message}" if where else message
