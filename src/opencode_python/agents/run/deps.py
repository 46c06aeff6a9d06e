"""``RunDeps``: everything a run uses and never changes, fixed when the run is prepared."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ...context.compaction import Compacted
from ...core.models import (
    Message,
    MessageWithParts,
    PermissionRule,
    Session,
    TextPart,
    TokenUsage,
)
from ...providers.base import Provider, ToolSchema
from ...providers.retry import RetryPolicy
from ...tools.executor import ToolExecutionManager
from ..agent import Agent
from ..delegation import DelegationNode
from ..output import OutputPlan


class Compaction(Protocol):
    """Shrinks a history that filled the context: prunes old tool output and, if that
    is not enough, summarises it. Stores nothing; the run records what it returns."""

    async def __call__(self, history: Sequence[MessageWithParts]) -> Compacted: ...


@dataclass(frozen=True, slots=True)
class RunDeps:
    """The session, agent, model, tools and limits of one run.

    ``tools`` is the agent's view (only what its rules allow, as it is described to
    it); ``rules`` are evaluated for every call. ``abort`` is the run's stop signal,
    which long tools watch through ``ToolContext.abort``. ``refresh_tools``, when set,
    is asked before each model call and returns the agent's new view when the tools
    changed (an MCP server's list did), else None; the run then goes on with new deps.
    ``output`` is how the run gets its structured answer, when it has an output type.
    """

    session: Session
    agent: Agent
    provider: Provider
    model_id: str
    executor: ToolExecutionManager
    delegation: DelegationNode
    tools: tuple[ToolSchema, ...] = ()
    system: tuple[str, ...] = ()
    rules: tuple[PermissionRule, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_steps: int = 50
    max_output_tokens: int | None = None
    cost_of: Callable[[TokenUsage], float] = lambda usage: 0.0
    usable_context: int | None = None
    compact: Compaction | None = None
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    refresh_tools: Callable[[], Awaitable[tuple[ToolSchema, ...] | None]] | None = None
    output: OutputPlan | None = None
    offered: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "offered", frozenset(t.name for t in self.tools))

    @property
    def model(self) -> str:
        return f"{self.provider.id}/{self.model_id}"

    def user_turn(
        self, text: str, *, synthetic: bool = False, parent_id: str | None = None
    ) -> MessageWithParts:
        """A finished user message of this run holding ``text``; ``synthetic`` when the
        engine, not the user, says it (a correction the model must act on)."""
        message = Message(
            session_id=self.session.id,
            role="user",
            parent_id=parent_id,
            agent=self.agent.name,
            provider_id=self.provider.id,
            model_id=self.model_id,
        )
        part = TextPart(
            session_id=message.session_id, message_id=message.id, text=text, synthetic=synthetic
        )
        part.time.end = part.time.start
        return MessageWithParts(info=message, parts=[part])
