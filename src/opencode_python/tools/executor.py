"""Runs tool calls: validate, check permission and loops, run, truncate.

Every failure becomes an outcome with a message written for the model, so a bad call
never crashes the loop: the model reads what was wrong and tries again. The executor
records nothing itself; the run's recorder stores each outcome, refusals included.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..core.errors import AbortedError, PermissionDeniedError, ToolArgumentsError
from ..core.models import PermissionRule, RefusalReason
from ..permissions.gate import PermissionGate, PermissionRequest
from .doom_loop import DoomLoopDetector, canonical_call
from .framework import (
    PermissionCheck,
    QuestionCallback,
    Tool,
    ToolContext,
    ToolRegistry,
    ToolResult,
)
from .truncation import truncate_output

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

log = logging.getLogger(__name__)


OutcomeStatus = Literal["completed", "error", "refused"]


@dataclass(slots=True)
class ToolOutcome:
    """The result of one call: ``result`` when completed, ``error`` text when not.

    ``refused`` means the call never ran (or, for a permission a running tool asked
    for, was stopped by it); ``reason`` says why, for the audit log.
    """

    status: OutcomeStatus
    input: dict[str, Any] = field(default_factory=dict)
    result: ToolResult | None = None
    error: str | None = None
    reason: RefusalReason | None = None


@dataclass(slots=True, frozen=True)
class Approved:
    """A call that passed every check and may run now."""

    tool: Tool
    args: dict[str, Any]


@dataclass(slots=True)
class CallScope:
    """Who is calling and under which rules: what the executor needs beyond the call."""

    rules: Sequence[PermissionRule] = ()
    project_id: str = ""
    offered: frozenset[str] | None = None
    previous_calls: Sequence[tuple[str, str]] = ()
    ceilings: Sequence[Sequence[PermissionRule]] = ()
    """The delegating runs' rules, for a subagent: the strictest answer wins."""


class ToolExecutionManager:
    """Executes calls against the registry it is given. It stores nothing and calls
    nothing back: every method returns what happened, and the caller records it.

    ``check`` validates arguments, asks permission and catches doom loops; ``run``
    runs an approved call with timeout and abort and truncates its output;
    ``execute_call`` is both, for calls that need no start record (nested calls).
    """

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        timeout: float | None = None,
        permissions: PermissionGate | None = None,
        output_dir: Path | None = None,
        doom_loop: DoomLoopDetector | None = None,
        ask_user: QuestionCallback | None = None,
    ) -> None:
        self.registry = registry
        self.timeout = timeout
        self.permissions = permissions or PermissionGate(auto_confirm=True)
        self.output_dir = output_dir
        self.doom_loop = doom_loop or DoomLoopDetector()
        self.ask_user = ask_user
        """Answers the ``question`` tool (and ``ToolContext.ask_user``) for the app."""
        self._validators: dict[tuple[str, int], Draft202012Validator] = {}
        self._upgraded: set[str] = set()  # tools whose old argument names were logged

    def parse_arguments(self, tool_id: str, raw: str | dict[str, Any]) -> dict[str, Any]:
        """The arguments as a dict, checked against the tool's schema.

        Raises ``ToolArgumentsError`` with a message the model can act on.
        """
        args = raw if isinstance(raw, dict) else decode_arguments(tool_id, raw)
        tool = self.registry.get(tool_id)
        if tool is not None:
            upgraded = tool.upgrade_arguments(args)
            if upgraded is not args and tool_id not in self._upgraded:
                self._upgraded.add(tool_id)
                old = ", ".join(sorted(set(args) - set(upgraded))) or "nested names"
                log.warning(
                    "a call of tool %s used old argument names (%s); they are accepted "
                    "until 0.3.0, OpenCode's names are used from now on (see CHANGELOG.md)",
                    tool_id,
                    old,
                )
            args = upgraded
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
        from jsonschema import Draft202012Validator  # loaded with the first call
        from jsonschema.exceptions import SchemaError

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

    async def check(
        self,
        tool_id: str,
        raw_arguments: str | dict[str, Any] | ToolArgumentsError,
        ctx: ToolContext,
        scope: CallScope,
    ) -> Approved | ToolOutcome:
        """Every check a model's call must pass before it runs, in order: the tool exists
        and is offered, the arguments parse and match the schema, the rules allow it
        (asking the approver on ``ask``), and it is not a doom loop. Returns the approved
        call, or a ``refused`` outcome whose error the model reads."""
        tool = self.registry.get(tool_id)
        if tool is None:
            return _refused("unknown_tool", self._refusal(tool_id, ctx.agent, scope))
        if scope.offered is not None and tool_id not in scope.offered:
            return _refused("not_offered", self._refusal(tool_id, ctx.agent, scope))
        try:
            if isinstance(raw_arguments, ToolArgumentsError):
                raise raw_arguments
            args = self.parse_arguments(tool_id, raw_arguments)
        except ToolArgumentsError as exc:
            return _refused("invalid_arguments", str(exc))
        self._wire(ctx, scope)
        try:
            checks = tool.permission_checks(args, ctx)
        except Exception as exc:  # a tool's permission checks failed on odd input
            return _refused("invalid_arguments", f"{type(exc).__name__}: {exc}", args)
        try:
            for permission in checks:
                await ctx.ask(permission, metadata={"input": args})
        except PermissionDeniedError as exc:
            return _refused(exc.reason, str(exc), args)
        try:
            await self._check_doom_loop(tool_id, args, ctx, scope)
        except PermissionDeniedError as exc:
            return _refused("doom_loop", str(exc), args)
        return Approved(tool, args)

    async def run(self, call: Approved, ctx: ToolContext) -> ToolOutcome:
        """Run an approved call with the timeout, and cut long output (saved whole).
        Never raises but for cancellation."""
        tool, args = call.tool, call.args
        name = tool.id or ctx.tool
        try:
            if self.timeout is None:
                result = await tool.execute(args, ctx)
            else:
                result = await asyncio.wait_for(tool.execute(args, ctx), self.timeout)
        except TimeoutError:
            return ToolOutcome(
                "error", args, error=f"Tool {name!r} timed out after {self.timeout:g} s."
            )
        except AbortedError:
            return ToolOutcome("error", args, error="Tool execution was aborted.")
        except PermissionDeniedError as exc:  # a permission the running tool asked for
            return ToolOutcome("refused", args, error=str(exc), reason=exc.reason)
        except Exception as exc:
            return ToolOutcome("error", args, error=f"{type(exc).__name__}: {exc}")
        if not isinstance(result, ToolResult):
            return ToolOutcome(
                "error",
                args,
                error=f"Tool {name!r} returned {type(result).__name__}, not a ToolResult.",
            )
        result.output = self._truncate(tool, result.output, ctx)
        return ToolOutcome("completed", args, result=result)

    async def execute_call(
        self,
        tool_id: str,
        raw_arguments: str | dict[str, Any],
        ctx: ToolContext,
        scope: CallScope,
    ) -> ToolOutcome:
        """``check`` then ``run``: one call through every step. Never raises but for
        cancellation."""
        checked = await self.check(tool_id, raw_arguments, ctx, scope)
        if isinstance(checked, ToolOutcome):
            return checked
        return await self.run(checked, ctx)

    def _wire(self, ctx: ToolContext, scope: CallScope) -> None:
        """Give the context its ``ask``, bound to this call's rules, and the app's
        question handler."""

        async def ask(check: PermissionCheck, metadata: dict[str, Any]) -> None:
            request = PermissionRequest(
                permission=check.permission,
                patterns=list(check.patterns),
                agent=ctx.agent,
                session_id=ctx.session_id,
                tool=ctx.tool or None,
                call_id=ctx.call_id,
                metadata=metadata,
                always_patterns=list(check.always or []),
                unsure=list(check.unsure),
                message_id=ctx.message_id or None,
            )
            await self.permissions.check(
                request, scope.rules, project_id=scope.project_id, ceilings=scope.ceilings
            )

        ctx._on_ask = ask
        if ctx._on_question is None:
            ctx._on_question = self.ask_user

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
        if not tool_id.strip():
            return f"The tool call had no tool name. Call one of these tools by name: {offered}."
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


def decode_arguments(tool_id: str, raw: str) -> dict[str, Any]:
    """The JSON object a model wrote as a call's arguments (empty text is ``{}``).

    Raises ``ToolArgumentsError`` with a message the model can act on.
    """
    try:
        args = json.loads(raw.strip() or "{}")
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
    return args


def _refused(reason: RefusalReason, error: str, args: dict[str, Any] | None = None) -> ToolOutcome:
    return ToolOutcome("refused", args or {}, error=error, reason=reason)


def _describe(path: Any, message: str) -> str:
    where = "/".join(str(p) for p in path)
    return f"{where}: {message}" if where else message
