"""What a caller gets back from a run."""

from __future__ import annotations

from typing import Any, Generic

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeVar

from ..core.models import Part, TokenUsage

OutputT = TypeVar("OutputT", default=Any)
"""The run's output type; ``AgentResult`` alone is ``AgentResult[Any]``."""


class AgentResult(BaseModel, Generic[OutputT]):
    """The outcome of one prompt: the final answer, what it cost, what went wrong.

    ``response`` is the answer's text. ``output`` is the validated value of the run's
    ``output_type`` (``AgentResult[Invoice]``), or the text when the run has none; it is
    None when the run failed. ``error`` is None on success; on failure it says what
    happened, and the session still holds everything that was stored before it.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    session_id: str
    agent_name: str
    model: str = ""
    response: str = ""
    output: OutputT = Field(default=None)  # type: ignore[assignment]  # None: the run failed
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
