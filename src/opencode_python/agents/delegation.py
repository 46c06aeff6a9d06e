"""Limits on delegation, and the shared state of one root run's tree of subagents.

Every run that is not itself a subagent is the root of a ``DelegationTree``: the
subagents it starts, and theirs, share one budget of agents, wall time and cost. When
a budget runs out the tree stops every running subagent and refuses new ones, so the
root gets a clear message and can still answer with what it has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from ..core.models import PermissionRule


class DelegationLimits(BaseModel):
    """How far delegation may go from one root run.

    ``max_depth`` is how many levels of subagents may nest (a root's subagent is level
    1); ``max_agents`` caps the subagents a root run starts in all, ``max_wall_time``
    its seconds from the root run's start, ``max_cost`` the dollars the root and its
    subagents spend together. None means no limit.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_depth: int = Field(default=3, ge=0)
    max_agents: int | None = Field(default=None, ge=0)
    max_wall_time: float | None = Field(default=None, gt=0)
    max_cost: float | None = Field(default=None, ge=0)


@dataclass(eq=False)
class DelegationTree:
    """The budget one root run and all its subagents share."""

    limits: DelegationLimits
    started: float = field(default_factory=time.monotonic)
    agents_started: int = 0
    cost: float = 0.0
    stopped: str | None = None
    _running: dict[str, Callable[[], None]] = field(default_factory=dict)
    _timer: asyncio.TimerHandle | None = None

    def admit(self, depth: int) -> str | None:
        """Take a place for a subagent at ``depth``; or say why it may not start now.

        Checking and counting happen together, so subagents admitted at the same time
        cannot overrun the agent budget.
        """
        limits = self.limits
        if self.stopped is not None:
            return self.stopped
        if depth > limits.max_depth:
            return (
                f"delegation is limited to {limits.max_depth} level(s) of subagents, and this "
                "one would nest deeper. Do the work yourself instead of delegating it."
            )
        if limits.max_agents is not None and self.agents_started >= limits.max_agents:
            return (
                f"this run may start at most {limits.max_agents} subagent(s) in all (its "
                "agent budget), and all are used. Finish the task with what you have."
            )
        if self._time_left() == 0.0:
            return self._time_up_message()
        self.agents_started += 1
        return None

    def start(self, task_id: str, abort: Callable[[], None]) -> None:
        """Track an admitted subagent that starts now; ``abort`` stops it if a budget
        runs out."""
        self._running[task_id] = abort
        left = self._time_left()
        if left is not None and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                left, self.stop, self._time_up_message()
            )

    def finish(self, task_id: str) -> None:
        self._running.pop(task_id, None)
        if not self._running and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def add_cost(self, cost: float) -> None:
        """Count what a step of any run in the tree cost; over budget, stop the subagents."""
        self.cost += cost
        limit = self.limits.max_cost
        if limit is not None and self.cost >= limit and self.stopped is None:
            self.stop(
                f"the cost budget of this run (${limit:g}) is used up (${self.cost:.4f} "
                "spent), so its subagents were stopped. Finish the task with what you have."
            )

    def stop(self, reason: str) -> None:
        """Stop every running subagent and refuse new ones, for ``reason``."""
        if self.stopped is None:
            self.stopped = reason
        for abort in list(self._running.values()):
            abort()

    def _time_left(self) -> float | None:
        limit = self.limits.max_wall_time
        if limit is None:
            return None
        return max(0.0, limit - (time.monotonic() - self.started))

    def _time_up_message(self) -> str:
        return (
            f"the wall-time budget of this run ({self.limits.max_wall_time:g} s) is used "
            "up, so its subagents were stopped. Finish the task with what you have."
        )


@dataclass(frozen=True, slots=True)
class DelegationNode:
    """Where one run sits in its tree: its depth, and the rules of every run above it.

    ``ceilings`` are the delegating runs' rule sets, root first. A call is checked
    against the run's own rules and against each ceiling, and the strictest answer wins
    (deny over ask over allow): a subagent can never do what its parent could not do
    without asking, and what its parent must ask about, it asks about too.
    """

    tree: DelegationTree
    depth: int = 0
    ceilings: tuple[tuple[PermissionRule, ...], ...] = ()

    def child(self, rules: Sequence[PermissionRule]) -> DelegationNode:
        """The node of a subagent of a run under ``rules``: one level deeper, with those
        rules as one more ceiling, all but the blanket deny.

        ``"*": "deny"`` is how an agent narrows its own tools to an allowlist: it says
        what that agent uses, not what must never happen. Inherited, it would leave the
        subagents of a supervisor that may only delegate no tools at all.
        """
        ceiling = tuple(rule for rule in rules if not _blanket(rule))
        return DelegationNode(self.tree, self.depth + 1, (*self.ceilings, ceiling))


def _blanket(rule: PermissionRule) -> bool:
    return rule.permission == "*" and rule.pattern == "*" and rule.action == "deny"
