"""What a step says comes next. The driver matches on these; nothing else steers a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.errors import ProviderError, ToolArgumentsError
from ...core.models import TokenUsage, ToolPart
from ...providers.base import ToolCall


@dataclass(frozen=True, slots=True)
class PendingCall:
    """A tool call the model made, with the part that stores it and its arguments,
    decoded once (or why they could not be)."""

    call: ToolCall
    part: ToolPart
    args: dict[str, Any] | ToolArgumentsError


@dataclass(frozen=True, slots=True)
class CallModel:
    """Ask the model for the next step."""


@dataclass(frozen=True, slots=True)
class RunTools:
    """Run the tool calls the model just made (in the step's message)."""

    calls: tuple[PendingCall, ...]


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """The model answered in text in a run with an output type: validate ``text``
    (the step's usage is ``usage``), then end the run or ask again."""

    text: str
    usage: TokenUsage


@dataclass(frozen=True, slots=True)
class Retry:
    """The model call failed in a way worth retrying: wait ``delay`` seconds, then ask
    again (attempt ``attempt`` of the step)."""

    error: ProviderError
    attempt: int
    delay: float


@dataclass(frozen=True, slots=True)
class Compact:
    """The step filled the usable context: prune or summarise the history, then go on
    with ``then``."""

    then: CallModel | Done | StepLimit


@dataclass(frozen=True, slots=True)
class Done:
    """The run is over: the model answered, or (with ``error``) it failed for good."""

    error: str | None = None


@dataclass(frozen=True, slots=True)
class StepLimit:
    """The last step allowed was used and the model still wanted to call tools."""


@dataclass(frozen=True, slots=True)
class Aborted:
    """The run was asked to stop (``abort()``, or the client closing)."""


NextStep = CallModel | RunTools | CheckAnswer | Retry | Compact | Done | StepLimit | Aborted
