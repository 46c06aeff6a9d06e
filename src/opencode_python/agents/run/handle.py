"""``AISession``: the handle of one prepared run, which runs once and can be aborted.

``AgentRuntime.prepare`` builds it from ``RunDeps``; ``run`` stores the user's message
and drives the steps. A run that is cancelled (``abort()``, or the client closing)
finishes every record it left open as aborted and returns a result saying so.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ...core import events as ev
from ...core.events import EventBus
from ...core.ids import new_id
from ...core.models import MessageWithParts, Session, TokenUsage, now_ms
from ...core.unfinished import ABORTED
from ...storage.contract import Store
from ..agent import Agent
from ..delegation import DelegationNode
from ..output import NOTHING
from ..result import AgentResult
from .deps import RunDeps
from .loop import run_steps
from .recorder import RunRecorder
from .state import RunState


class AISession:
    """One run of an agent in a stored session. Not reentrant: ``run`` once."""

    def __init__(self, deps: RunDeps, store: Store, bus: EventBus) -> None:
        self.deps = deps
        self.run_id = new_id("task")
        self.recorder = RunRecorder(store, bus, deps.session.id, deps.agent.name)
        self._task: asyncio.Task[Any] | None = None
        self._state: RunState | None = None

    @property
    def session(self) -> Session:
        return self.deps.session

    @property
    def agent(self) -> Agent:
        return self.deps.agent

    @property
    def model(self) -> str:
        return self.deps.model

    @property
    def delegation(self) -> DelegationNode:
        return self.deps.delegation

    def abort(self) -> None:
        """Stop the run promptly: the stream and running tools are cancelled, and what
        they left open is stored as aborted. Asking twice changes nothing."""
        if self.deps.abort.is_set():
            return
        self.deps.abort.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    @property
    def output_failure(self) -> tuple[str, str] | None:
        """The last raw answer and its errors, when the output retries ran out."""
        return self._state.output_failure if self._state is not None else None

    def charge(self, usage: TokenUsage, cost: float) -> None:
        """Count work done on this run's behalf (a subagent's) in its result and
        session; stored with the run's next write."""
        self.recorder.charge(usage, cost, state=self._state)

    async def run(self, message: str, history: list[MessageWithParts] | None = None) -> AgentResult:
        """Store ``message`` as the user's turn after ``history`` (default: every stored
        message; ``ContextBuilder`` gives the history since the last compaction) and run
        until done."""
        self._task = asyncio.current_task()
        deps, recorder = self.deps, self.recorder
        started = time.monotonic()
        if history is None:
            history = await recorder.store.list_messages(deps.session.id)
        user = deps.user_turn(message)
        state = self._state = RunState.start(history, user)
        await recorder.publish(
            ev.RUN_STARTED, {"agent": deps.agent.name, "model": deps.model, "run_id": self.run_id}
        )
        await recorder.status("busy")
        await recorder.message_started(user)
        try:
            await run_steps(state, deps, recorder)
            await recorder.flush()  # a run aborted before its first step stored nothing yet
        except asyncio.CancelledError:
            await self._close_despite_cancel(state)
            state.error = ABORTED
        except BaseException:
            await self._close_open(state)
            raise
        finally:
            self._task = None
        result = self._result(state, time.monotonic() - started)
        await recorder.status("idle")
        await recorder.publish(ev.RUN_FINISHED, {"result": result, "run_id": self.run_id})
        return result

    async def _close_despite_cancel(self, state: RunState) -> None:
        """Close the open records of a cancelled run, even if it is cancelled again
        meanwhile (a parent and its tree stopping it at once): the records must land."""
        task = asyncio.current_task()
        closing = asyncio.ensure_future(self._close_open(state))
        while True:
            if task is not None:
                while task.cancelling():
                    task.uncancel()
            try:
                await asyncio.shield(closing)
                return
            except asyncio.CancelledError:
                if closing.done():
                    closing.result()
                    return

    async def _close_open(self, state: RunState) -> None:
        """Finish, as aborted, what the step in progress left open, and store it."""
        current = state.current
        if current is not None:
            await self.recorder.close_open(current, "aborted", now_ms())
            state.parts.extend(current.parts)
            state.end_step()
        await self.recorder.flush()

    def _result(self, state: RunState, duration: float) -> AgentResult:
        deps = self.deps
        return AgentResult(
            session_id=deps.session.id,
            agent_name=deps.agent.name,
            model=deps.model,
            response=state.response,
            output=_output_of(state, deps),
            parts=state.parts,
            tools_used=state.tools_used,
            tokens_used=state.usage,
            cost=state.cost,
            duration=duration,
            steps=state.step,
            error=state.error,
            message_ids=state.message_ids,
            metadata={
                "provider": deps.provider.id,
                "model_id": deps.model_id,
                "max_steps": deps.max_steps,
                "tools_offered": sorted(deps.offered),
                **_output_metadata(state, deps),
            },
        )


def _output_of(state: RunState, deps: RunDeps) -> Any:
    """The validated value of a run with an output type, else the text; None when
    the run failed."""
    if deps.output is None:
        return state.response
    return None if state.output is NOTHING else state.output


def _output_metadata(state: RunState, deps: RunDeps) -> dict[str, Any]:
    if deps.output is None:
        return {}
    return {"output_mode": deps.output.mode, "output_retries": state.output_retries}
