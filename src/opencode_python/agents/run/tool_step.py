"""``tool_step``: the tool calls of one step, run concurrently in a TaskGroup.

Each call goes through the executor's checks; a refused call becomes an error result
the model reads (and a refusal in the audit log). A call that passed is stored as
running before it runs, so a crash shows it; its result is stored when it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...core.errors import ToolError
from ...core.models import Attachment, PartTime, ToolPart, ToolState, now_ms
from ...tools.doom_loop import canonical_call
from ...tools.executor import CallScope, ToolOutcome
from ...tools.framework import ToolContext, ToolResult
from ...tools.tracker import REFUSED_KEY, execution_of
from .deps import RunDeps
from .model_step import compact_or, finish_step
from .outcome import CallModel, NextStep, PendingCall, RunTools, StepLimit
from .recorder import RunRecorder
from .state import RunState

STEP_LIMIT_REFUSAL = "Not run: the step limit was reached, so tools are disabled."


async def tool_step(
    step: RunTools, state: RunState, deps: RunDeps, recorder: RunRecorder
) -> NextStep:
    """Run the step's calls, store the step, and say what comes next."""
    current = state.current
    assert current is not None
    last = state.step >= deps.max_steps
    await run_calls(step.calls, state, deps, recorder, last=last)
    usage = current.info.usage
    await finish_step(state, recorder)
    return compact_or(deps, usage, StepLimit() if last else CallModel())


async def run_calls(
    calls: Sequence[PendingCall],
    state: RunState,
    deps: RunDeps,
    recorder: RunRecorder,
    *,
    last: bool,
) -> None:
    """Run ``calls`` (together when there are several) and count them in ``state``."""
    runner = _Calls(state, deps, recorder, len(calls))
    if len(calls) == 1:  # the common case needs no task of its own
        await runner.run(calls[0], list(state.calls), last)
    elif calls:
        earlier = list(state.calls)
        async with asyncio.TaskGroup() as group:
            for pending in calls:
                group.create_task(runner.run(pending, list(earlier), last))
                earlier.append(canonical_call(pending.call.name, _plain(pending.args)))
    for pending in calls:
        state.calls.append(canonical_call(pending.part.tool, pending.part.state.input))
        state.tools_used.append(pending.part.tool)
    state.calls.extend(runner.nested)  # calls made through batch count as calls too


def apply_outcome(part: ToolPart, outcome: ToolOutcome) -> None:
    """Write how a call ended into its part (the call's one stored form)."""
    state = part.state
    if outcome.input and not state.input:
        state.input = outcome.input
    if state.time is None:
        state.time = PartTime()
    state.time.end = now_ms()
    result = outcome.result
    if outcome.status == "completed" and result is not None:
        state.status = "completed"
        state.output = result.output
        state.title = result.title or state.title
        state.metadata.update(result.metadata)
        state.attachments = [
            Attachment(mime=a.mime, url=a.url, filename=a.filename)
            for a in result.attachments or ()
        ]
        return
    state.status = "error"
    state.error = outcome.error or "the tool failed"
    if outcome.status == "refused":
        state.metadata[REFUSED_KEY] = outcome.reason


class _Calls:
    """Runs the calls of one step and records each as it starts and ends."""

    def __init__(self, state: RunState, deps: RunDeps, recorder: RunRecorder, count: int) -> None:
        self.state = state
        self.deps = deps
        self.recorder = recorder
        self.running = count
        self.nested: list[tuple[str, str]] = []  # calls tools made through ctx.call_tool

    async def run(self, pending: PendingCall, previous: list[tuple[str, str]], last: bool) -> None:
        part = pending.part
        part.state.time = PartTime()
        deps = self.deps
        if last:
            await self._end(
                part, ToolOutcome("refused", error=STEP_LIMIT_REFUSAL, reason="step_limit")
            )
            return
        ctx = self._context(part, previous)
        scope = CallScope(
            rules=deps.rules,
            project_id=deps.session.project_id,
            offered=deps.offered,
            previous_calls=previous,
            ceilings=deps.delegation.ceilings,
        )
        checked = await deps.executor.check(part.tool, pending.args, ctx, scope)
        if isinstance(checked, ToolOutcome):
            await self._end(part, checked)
            return
        part.state.input = checked.args
        part.state.status = "running"
        await self.recorder.tool_started(part)
        outcome = await deps.executor.run(checked, ctx)
        await self._end(part, outcome)

    async def _end(self, part: ToolPart, outcome: ToolOutcome) -> None:
        apply_outcome(part, outcome)
        self.running -= 1
        await self.recorder.tool_finished(part)
        if self.running:  # others still run: keep this result safe now, not at step end
            await self.recorder.flush(wait=False)

    def _context(self, part: ToolPart, previous: list[tuple[str, str]]) -> ToolContext:
        deps, recorder = self.deps, self.recorder
        session = deps.session

        async def on_metadata(title: str | None, metadata: dict[str, Any]) -> None:
            if title is not None:
                part.state.title = title
            part.state.metadata.update(metadata)
            await recorder.progress(part)

        ctx = ToolContext(
            session_id=session.id,
            message_id=part.message_id,
            agent=deps.agent.name,
            abort=deps.abort,
            call_id=part.call_id,
            tool=part.tool,
            directory=session.directory,
            working_dir=session.directory,
            messages=self.state.history,
            store=recorder.store,
            _on_metadata=on_metadata,
        )

        async def call_tool(tool_id: str, args: dict[str, Any]) -> ToolResult:
            """A tool running another tool: every check applies, and the log keeps it."""
            nested = replace(ctx, call_id=f"{ctx.call_id}:{tool_id}", tool=tool_id)
            scope = CallScope(
                rules=deps.rules,
                project_id=session.project_id,
                offered=deps.offered,
                previous_calls=[*previous, *self.nested],  # the doom-loop check sees them
                ceilings=deps.delegation.ceilings,
            )
            self.nested.append(canonical_call(tool_id, args))
            outcome = await deps.executor.execute_call(tool_id, args, nested, scope)
            record = ToolPart(
                session_id=session.id,
                message_id=part.message_id,
                call_id=nested.call_id,
                tool=tool_id,
                state=ToolState(status="running", input=dict(args), time=PartTime()),
            )
            apply_outcome(record, outcome)
            recorder.nested_call(execution_of(record, deps.agent.name))
            if outcome.result is None:
                raise ToolError(outcome.error or f"tool {tool_id!r} failed")
            return outcome.result

        ctx._on_call_tool = call_tool
        return ctx


def _plain(args: object) -> dict[str, Any]:
    """Arguments as the doom-loop check compares them (undecodable ones as their error)."""
    return args if isinstance(args, dict) else {"invalid": str(args)}
