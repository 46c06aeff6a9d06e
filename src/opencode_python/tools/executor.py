"""Runs tool calls: validate, check permission and loops, run, truncate, record.

Every failure becomes an ``error`` outcome with a message written for the model, so a
bad call never crashes the loop: the model reads what was wrong and tries again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..core.errors import AbortedError, PermissionDeniedError, ToolArgumentsError, ToolError
from ..core.models import PermissionRule
from ..permissions.gate import PermissionGate, PermissionRequest
from ..permissions.rules import permission_key
from .doom_loop import DoomLoopDetector, canonical_call
from .framework import Tool, ToolContext, ToolRegistry, ToolResult
from .tracker import ToolExecutionTracker
from .truncation import truncate_output

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ToolOutcome:
    """The result of one call: ``result`` when completed, ``error`` text when not."""

    status: Literal["completed", "error"]
    input: dict[str, Any] = field(default_factory=dict)
    result: ToolResult | None = None
    error: str | None = None


@dataclass(slots=True)
class CallScope:
    """Who is calling and under which rules: what the executor needs beyond the call."""

    rules: Sequence[PermissionRule] = ()
    project_id: str = ""
    offered: frozenset[str] | None = None
    previous_calls: Sequence[tuple[str, str]] = ()


StartHook = Callable[[dict[str, Any]], Awaitable[None]]


class ToolExecutionManager:
    """Executes calls against the registry it is given.

    ``execute_call`` is the full pipeline the agent loop uses: validate arguments →
    permission → doom-loop check → run with timeout and abort → truncate → record.
    """

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        timeout: float | None = None,
        permissions: PermissionGate | None = None,
        tracker: ToolExecutionTracker | None = None,
        output_dir: Path | None = None,
        doom_loop: DoomLoopDetector | None = None,
    ) -> None:
        self.registry = registry
        self.timeout = timeout
        self.permissions = permissions or PermissionGate(auto_confirm=True)
        self.tracker = tracker or ToolExecutionTracker()
        self.output_dir = output_dir
        self.doom_loop = doom_loop or DoomLoopDetector()
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

    async def execute_call(
        self,
        tool_id: str,
        raw_arguments: str | dict[str, Any],
        ctx: ToolContext,
        scope: CallScope,
        *,
        on_start: StartHook | None = None,
    ) -> ToolOutcome:
        """Run one model call through every check. Never raises but for cancellation.

        ``on_start(args)`` runs once the call passed its checks, just before the tool.
        """
        tool = self.registry.get(tool_id)
        if tool is None or (scope.offered is not None and tool_id not in scope.offered):
            return ToolOutcome("error", error=self._refusal(tool_id, ctx.agent, scope))
        try:
            args = self.parse_arguments(tool_id, raw_arguments)
        except ToolArgumentsError as exc:
            return ToolOutcome("error", error=str(exc))
        self._wire(ctx, scope)
        try:
            patterns = tool.permission_patterns(args, ctx)
            await ctx.ask(permission_key(tool_id), patterns, {"input": args})
            await self._check_doom_loop(tool_id, args, ctx, scope)
        except PermissionDeniedError as exc:
            return ToolOutcome("error", args, error=str(exc))
        except Exception as exc:  # a tool's permission_patterns failed on odd input
            return ToolOutcome("error", args, error=f"{type(exc).__name__}: {exc}")
        if on_start is not None:
            await on_start(args)
        record = await self.tracker.started(tool_id, args, ctx)
        try:
            outcome = await self.run(tool_id, args, ctx)
        except asyncio.CancelledError:
            await self.tracker.finished(record, status="error", error="aborted")
            raise
        result = outcome.result
        if result is not None:
            result.output = self._truncate(tool, result.output, ctx)
        await self.tracker.finished(
            record,
            status=outcome.status,
            title=result.title if result else None,
            output=result.output if result else None,
            error=outcome.error,
        )
        return outcome

    def _wire(self, ctx: ToolContext, scope: CallScope) -> None:
        """Give the context its ``ask`` and ``call_tool``, bound to this call's scope."""

        async def ask(permission: str, patterns: list[str], metadata: dict[str, Any]) -> None:
            request = PermissionRequest(
                permission=permission,
                patterns=patterns,
                agent=ctx.agent,
                session_id=ctx.session_id,
                tool=ctx.tool or None,
                call_id=ctx.call_id,
                metadata=metadata,
            )
            await self.permissions.check(request, scope.rules, project_id=scope.project_id)

        async def call_tool(tool_id: str, args: dict[str, Any]) -> ToolResult:
            nested = replace(ctx, call_id=f"{ctx.call_id}:{tool_id}", tool=tool_id)
            inner = replace(scope, previous_calls=())
            outcome = await self.execute_call(tool_id, args, nested, inner)
            if outcome.result is None:
                raise ToolError(outcome.error or f"tool {tool_id!r} failed")
            return outcome.result

        ctx._on_ask = ask
        ctx._on_call_tool = call_tool

    async def _check_doom_loop(
        self, tool_id: str, args: dict[str, Any], ctx: ToolContext, scope: CallScope
    ) -> None:
        loop = self.doom_loop.check([*scope.previous_calls, canonical_call(tool_id, args)])
        if loop is None:
            return
        try:
            await ctx.ask("doom_loop", [tool_id], {"input": args, "loop": loop.message})
        except PermissionDeniedError as exc:
            raise PermissionDeniedError(
                f"{loop.message}. This looks like a loop, so the call was not run ({exc}) "
                "Change approach instead of repeating the same calls."
            ) from None

    def _refusal(self, tool_id: str, agent: str, scope: CallScope) -> str:
        names = scope.offered if scope.offered is not None else {m.id for m in self.registry.list()}
        offered = ", ".join(sorted(names)) or "none"
        return (
            f"Tool {tool_id!r} is not available to agent {agent!r} here. "
            f"Available tools: {offered}."
        )

    def _truncate(self, tool: Tool, output: str, ctx: ToolContext) -> str:
        if self.output_dir is None:
            return output
        cut = truncate_output(
            output,
            direction=tool.truncate_direction,
            save_dir=self.output_dir,
            name_hint=f"{tool.id or 'tool'}_{ctx.call_id}",
        )
        return cut.text


def _describe(path: Any, message: str) -> str:
    where = "/".join(str(p) for p in path)
    return f"{where}: {message}" if where else message
