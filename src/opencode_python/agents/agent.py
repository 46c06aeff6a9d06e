"""What an agent is: a name, a prompt, a model and the rules for what it may do."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.models import PermissionRule

AgentMode = Literal["primary", "subagent", "all"]


class Agent(BaseModel):
    """A named agent. ``model`` is ``provider/model``; None means the client's default."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    mode: AgentMode = "all"
    permission: list[PermissionRule] = Field(default_factory=list)
    prompt: str | None = None
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    steps: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    hidden: bool = False
    color: str | None = None
    native: bool = False
