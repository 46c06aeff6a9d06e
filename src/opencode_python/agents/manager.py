"""``AgentManager``: which agents are running, and in what state.

Each run of an agent is tracked from ``initialized`` through ``ready`` and
``executing`` to ``finished`` or ``error``; every change is published as an
``agent.state`` event, so a UI can show what is running.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Literal

from ..core import events as ev
from ..core.events import EventBus
from ..core.ids import new_id

AgentState = Literal["initialized", "ready", "executing", "error", "finished"]


@dataclass(slots=True)
class AgentRun:
    """One agent working in one session."""

    run_id: str
    agent_name: str
    session_id: str
    state: AgentState = "initialized"
    started: float = field(default_factory=time.time)
    error: str | None = None


class AgentManager:
    """Tracks agent runs; finished runs are dropped from the running list."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._runs: dict[str, AgentRun] = {}

    async def start(self, agent_name: str, session_id: str) -> AgentRun:
        run = AgentRun(new_id("task"), agent_name, session_id)
        self._runs[run.run_id] = run
        await self._publish(run)
        return run

    async def set_state(self, run: AgentRun, state: AgentState, error: str | None = None) -> None:
        run.state = state
        run.error = error
        if state in ("finished", "error"):
            self._runs.pop(run.run_id, None)
        await self._publish(run)

    def running(self) -> list[AgentRun]:
        """Snapshots of the runs not yet finished, oldest first."""
        return [replace(r) for r in sorted(self._runs.values(), key=lambda r: r.started)]

    async def _publish(self, run: AgentRun) -> None:
        await self.bus.publish(
            ev.AGENT_STATE,
            {
                "run_id": run.run_id,
                "agent": run.agent_name,
                "state": run.state,
                "error": run.error,
            },
            session_id=run.session_id,
        )
