"""``RunState``: what a run has done so far, as plain data that only the steps change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...core.models import MessageWithParts, Part, TokenUsage, ToolPart
from ...tools.doom_loop import canonical_call
from ..output import NOTHING


@dataclass(slots=True)
class RunState:
    """The history the model sees, the step under way, and the run's totals.

    ``current`` is the assistant message of the step in progress (None between
    steps); ``attempt`` counts the retries of that step. ``calls`` are every finished
    tool call of the session, as the doom-loop check compares them.
    """

    session_id: str
    history: list[MessageWithParts]
    user_message_id: str = ""
    step: int = 0
    attempt: int = 0
    current: MessageWithParts | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: float = 0.0
    response: str = ""
    error: str | None = None
    parts: list[Part] = field(default_factory=list)
    tools_used: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    output: Any = NOTHING
    output_retries: int = 0
    output_failure: tuple[str, str] | None = None

    @classmethod
    def start(cls, history: Sequence[MessageWithParts], user: MessageWithParts) -> RunState:
        """A run about to answer ``user``, after ``history``."""
        return cls(
            user.info.session_id,
            [*history, user],
            user.info.id,
            calls=finished_calls(history),
        )

    def end_step(self) -> None:
        """The step's message joins the history; the next step starts fresh."""
        if self.current is not None:
            self.history.append(self.current)
            self.current = None
        self.attempt = 0


def finished_calls(history: Sequence[MessageWithParts]) -> list[tuple[str, str]]:
    """Every tool call in ``history`` that ended, as the doom-loop check compares them."""
    return [
        canonical_call(p.tool, p.state.input)
        for m in history
        for p in m.parts
        if isinstance(p, ToolPart) and p.state.status in ("completed", "error")
    ]
