"""``run_steps``: the driver. A ``match`` over what each step says comes next."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ...core import events as ev
from ...core.unfinished import ABORTED
from .deps import RunDeps
from .model_step import model_step
from .outcome import (
    Aborted,
    CallModel,
    CheckAnswer,
    Compact,
    Done,
    NextStep,
    Retry,
    RunTools,
    StepLimit,
)
from .output_step import answer_step, check_answer, has_final
from .recorder import RunRecorder
from .state import RunState
from .tool_step import tool_step


async def run_steps(state: RunState, deps: RunDeps, recorder: RunRecorder) -> None:
    """Run steps until one ends the run; ``state.error`` says how it ended.

    Cancellation propagates (the caller closes what the step left open).
    """
    step: NextStep = CallModel()
    while True:
        match step:
            case CallModel():
                if deps.refresh_tools is not None and (tools := await deps.refresh_tools()):
                    deps = replace(deps, tools=tools)
                step = await model_step(state, deps, recorder)
            case RunTools():
                take = answer_step if has_final(step, deps) else tool_step
                step = await take(step, state, deps, recorder)
            case CheckAnswer():
                step = await check_answer(step, state, deps, recorder)
            case Retry():
                await _wait_to_retry(step, deps, recorder)
                step = CallModel()
            case Compact(then=then):
                await _compact(state, deps, recorder)
                step = then
            case Done(error=error):
                state.error = error
                return
            case StepLimit():
                state.error = (
                    f"the step limit ({deps.max_steps}) was reached while the model still "
                    "wanted to call tools; raise max_steps or the agent's steps to let it go on"
                )
                return
            case Aborted():
                state.error = ABORTED
                return


async def _wait_to_retry(retry: Retry, deps: RunDeps, recorder: RunRecorder) -> None:
    error = retry.error
    await recorder.publish(
        ev.PROVIDER_RETRY,
        {
            "attempt": retry.attempt,
            "max_retries": deps.retry.max_retries,
            "delay": retry.delay,
            "error": str(error),
            "error_type": type(error).__name__,
            "status_code": error.status_code,
            "model": deps.model,
        },
    )
    await recorder.status("retry", attempt=retry.attempt, delay=retry.delay, error=str(error))
    await asyncio.sleep(retry.delay)
    await recorder.status("busy")


async def _compact(state: RunState, deps: RunDeps, recorder: RunRecorder) -> None:
    """Shrink the history, store what changed and charge the summary, together."""
    assert deps.compact is not None
    compacted = await deps.compact(state.history)
    state.history = compacted.history
    for part in compacted.pruned:
        await recorder.part_updated(part)
    for message in compacted.added:
        await recorder.message_started(message)
    if compacted.summary is not None:
        recorder.charge(compacted.usage, compacted.cost, state=state, message=compacted.summary)
    await recorder.flush()
    if compacted.summary is not None:
        await recorder.publish(
            ev.SESSION_COMPACTED,
            {
                "session": deps.session,
                "summary": compacted.summary_text,
                "keep_from": compacted.keep_from,
            },
        )
