"""Structured output in a run: an answer checked against the output type, sent back
with what was wrong to be fixed (``output_retries`` times), or the run ended with it.

In ``native`` and ``prompted`` modes the answer is the step's text. In ``tool`` mode
it is the arguments of a call to the final-answer tool; the calls beside an accepted
one never run, and a rejected one is a tool error the model reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...core.models import (
    TokenUsage,
    ToolPart,
)
from ...tools.executor import ToolOutcome
from ...tools.framework import ToolResult
from ..output import FINAL_TOOL, FIX_TEXT, OutputInvalid, OutputPlan
from .deps import RunDeps
from .model_step import compact_or, finish_step
from .outcome import CallModel, CheckAnswer, Compact, Done, PendingCall, RunTools, StepLimit
from .recorder import RunRecorder
from .state import RunState
from .tool_step import apply_outcome, run_calls

ACCEPTED = "The final answer was accepted."
NOT_RUN = f"Not run: the {FINAL_TOOL} call in the same step ended the run."
FIX_TOOL = f"Call {FINAL_TOOL} again with the corrected answer."
USE_TOOL = f"Give your final answer by calling the {FINAL_TOOL} tool."


async def check_answer(
    answer: CheckAnswer, state: RunState, deps: RunDeps, recorder: RunRecorder
) -> CallModel | Done | StepLimit | Compact:
    """A step that answered in text: the value if it validates, else another try."""
    plan = deps.output
    assert plan is not None
    text, usage = answer.text, answer.usage
    try:
        state.output = plan.spec.parse(text)
    except OutputInvalid as invalid:
        await finish_step(state, recorder)
        hint = USE_TOOL if plan.mode == "tool" else FIX_TEXT
        return await retry_or_fail(
            state, deps, recorder, raw=text, errors=str(invalid), usage=usage, ask=hint
        )
    await finish_step(state, recorder)
    return compact_or(deps, usage, Done())


def has_final(step: RunTools, deps: RunDeps) -> bool:
    """Whether the step's calls include the final-answer tool of a ``tool`` mode run."""
    plan = deps.output
    return (
        plan is not None
        and plan.mode == "tool"
        and any(p.call.name == FINAL_TOOL for p in step.calls)
    )


async def answer_step(
    step: RunTools, state: RunState, deps: RunDeps, recorder: RunRecorder
) -> CallModel | Done | StepLimit | Compact:
    """A step that called the final-answer tool: the run ends with a valid answer;
    otherwise the other calls run and the model is asked again."""
    plan = deps.output
    current = state.current
    assert plan is not None
    assert current is not None
    finals = [p for p in step.calls if p.call.name == FINAL_TOOL]
    others = [p for p in step.calls if p.call.name != FINAL_TOOL]
    rejected = await take_final(finals, others, state, plan, recorder)
    if rejected is not None:
        await run_calls(others, state, deps, recorder, last=state.step >= deps.max_steps)
    usage = current.info.usage
    await finish_step(state, recorder)
    if rejected is None:
        return compact_or(deps, usage, Done())
    raw, errors = rejected
    return await retry_or_fail(state, deps, recorder, raw=raw, errors=errors, usage=usage)


async def take_final(
    finals: Sequence[PendingCall],
    others: Sequence[PendingCall],
    state: RunState,
    plan: OutputPlan,
    recorder: RunRecorder,
) -> tuple[str, str] | None:
    """Settle the step's final-answer calls. The first valid one becomes the run's
    output, and every other call of the step is refused: None then. Otherwise each
    final call fails with what was wrong, and the last one's raw arguments and errors
    are returned."""
    rejected: tuple[str, str] | None = None
    accepted = False
    for pending in finals:
        part = pending.part
        if accepted:
            await _end(part, recorder, _not_run())
            continue
        try:
            if not isinstance(pending.args, dict):
                raise OutputInvalid(str(pending.args))
            state.output = plan.spec.validate(pending.args)
        except OutputInvalid as invalid:
            rejected = (pending.call.arguments, str(invalid))
            error = f"{invalid}\n\n{FIX_TOOL}"
            await _end(
                part, recorder, ToolOutcome("refused", error=error, reason="invalid_arguments")
            )
            continue
        accepted = True
        result = ToolResult(output=ACCEPTED, title=plan.spec.name)
        await _end(part, recorder, ToolOutcome("completed", result=result))
    if not accepted:
        return rejected
    for pending in others:
        await _end(pending.part, recorder, _not_run())
    return None


async def retry_or_fail(
    state: RunState,
    deps: RunDeps,
    recorder: RunRecorder,
    *,
    raw: str,
    errors: str,
    usage: TokenUsage,
    ask: str | None = None,
) -> CallModel | Done | StepLimit | Compact:
    """Another model call to fix a rejected answer (told ``errors`` and ``ask`` in a
    message of its own, unless a tool result already told it), or, with the retries
    spent, the end of the run with the last answer kept for ``OutputValidationError``."""
    plan = deps.output
    assert plan is not None
    state.output_retries += 1
    if state.output_retries > plan.retries:
        state.output_failure = (raw, errors)
        tries = "retry" if plan.retries == 1 else "retries"
        return Done(
            error=f"the answer did not validate as {plan.spec.name} after "
            f"{plan.retries} {tries}: {errors}"
        )
    if ask is not None:
        await _tell(state, deps, recorder, f"{errors}\n\n{ask}")
    return compact_or(deps, usage, CallModel())


async def _tell(state: RunState, deps: RunDeps, recorder: RunRecorder, text: str) -> None:
    """A synthetic user turn: what the engine, not the user, says to the model."""
    turn = deps.user_turn(text, synthetic=True, parent_id=state.user_message_id)
    state.history.append(turn)
    await recorder.message_started(turn)
    await recorder.flush(wait=False)


def _not_run() -> ToolOutcome:
    return ToolOutcome("refused", error=NOT_RUN, reason="final_answer")


async def _end(part: ToolPart, recorder: RunRecorder, outcome: ToolOutcome) -> None:
    apply_outcome(part, outcome)
    await recorder.tool_finished(part)
