"""What a caller gets back from a run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..core.models import Part, TokenUsage


class AgentResult(BaseModel):
    """The outcome of one prompt: the final answer, what it cost, what went wrong.

    ``error`` is None on success; on failure it says what happened, and the session
    still holds everything that was stored before the failure.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    session_id: str
    agent_name: str
    model: str = ""
    response: str = ""
    parts: list[Part] = Field(default_factory=list)
    tools_used: list[str] = Field(default_factory=list)
    tokens_used: TokenUsage = Field(default_factory=TokenUsage)
    cost: float = 0.0
    duration: float = 0.0
    steps: int = 0
    error: str | None = None
    message_ids: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None
