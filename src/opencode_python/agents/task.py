"""``AgentTask``: one piece of work handed to a subagent, and where it stands."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.ids import new_id
from ..core.models import now_ms
from .result import AgentResult

TaskStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
FINISHED: frozenset[TaskStatus] = frozenset({"completed", "failed", "cancelled"})


class AgentTask(BaseModel):
    """Work for ``agent_name``: ``prompt`` is what it is told, ``description`` a short
    label for people and UIs.

    ``tool_ids`` limits the tools it is offered and ``skill_names`` the skills it may
    load (None: what its rules allow); ``options`` are per-run agent options (model,
    temperature, ...). ``parent_id`` is the session that delegated the work and
    ``session_id`` the child session it runs in: set it to resume an earlier child.
    ``output_type`` makes the child answer with a validated value of that type
    (``result.output``, docs/output.md). ``status`` and ``result`` are filled in as
    the task runs.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    task_id: str = Field(default_factory=lambda: new_id("task"))
    agent_name: str
    prompt: str
    description: str = ""
    tool_ids: list[str] | None = None
    skill_names: list[str] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    output_type: Any = Field(default=None, exclude=True)
    parent_id: str | None = None
    session_id: str | None = None
    from_agent: str | None = None
    status: TaskStatus = "pending"
    result: AgentResult | None = None
    error: str | None = None
    created: int = Field(default_factory=now_ms)
    finished: int | None = None

    @property
    def done(self) -> bool:
        return self.status in FINISHED
