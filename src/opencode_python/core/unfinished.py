"""Closing what a run left unfinished, in the same words wherever it happens.

A run stopped by ``abort()`` or ``close()`` finishes its open records as *aborted*; a
record left open by a process that died is closed as *interrupted* by the next process
that opens the store (or runs the session). Both the loop and every store use these
functions, so a message, its parts and its execution records always agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from .models import (
    Message,
    MessageError,
    Part,
    PartTime,
    ReasoningPart,
    TextPart,
    ToolExecution,
    ToolPart,
)

Ending = Literal["aborted", "interrupted"]

ABORTED = "The run was aborted."


def _when(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="seconds")


def interrupted_message(at_ms: int) -> str:
    return (
        "The process running this step stopped before the step finished; it was closed "
        f"as interrupted at {_when(at_ms)}."
    )


def interrupted_tool_error(at_ms: int) -> str:
    """What the model reads for a tool call a dead process left running."""
    return (
        "Interrupted: the process running this tool stopped before it finished (closed "
        f"at {_when(at_ms)}). A command it started may still have run, in part or in "
        "full: check its effects before running it again."
    )


def tool_error(ending: Ending, at_ms: int) -> str:
    return ABORTED if ending == "aborted" else interrupted_tool_error(at_ms)


def is_open_message(message: Message) -> bool:
    """An assistant message whose step never finished."""
    return message.role == "assistant" and message.time.completed is None


def is_open_part(part: Part) -> bool:
    """A part still streaming (text, reasoning) or a tool call not yet ended."""
    if isinstance(part, ToolPart):
        return part.state.status in ("pending", "running")
    if isinstance(part, TextPart | ReasoningPart):
        return part.time.end is None
    return False


def close_message(message: Message, ending: Ending, at_ms: int) -> None:
    """Finish an open message as aborted or interrupted, at ``at_ms``."""
    message.finish = ending
    if ending == "aborted":
        message.error = MessageError(name="AbortedError", message=ABORTED)
    else:
        message.error = MessageError(name="InterruptedError", message=interrupted_message(at_ms))
    message.time.completed = at_ms


def close_part(part: Part, ending: Ending, at_ms: int) -> bool:
    """Finish an open part (text kept, tool call ended with an error); False if it was
    already finished."""
    if not is_open_part(part):
        return False
    if isinstance(part, ToolPart):
        state = part.state
        state.status = "error"
        state.error = tool_error(ending, at_ms)
        if state.time is None:
            state.time = PartTime(start=at_ms)
        state.time.end = at_ms
        state.metadata[ending] = at_ms
    elif isinstance(part, TextPart | ReasoningPart):
        part.time.end = at_ms
    return True


def close_execution(record: ToolExecution, ending: Ending, at_ms: int) -> bool:
    """Finish a running execution record; False if it had already ended."""
    if record.status != "running":
        return False
    record.status = ending
    record.error = tool_error(ending, at_ms)
    record.time.end = at_ms
    return True
