"""The contract between the agent loop and model providers.

A provider turns a neutral ``ChatRequest`` into a stream of ``StreamEvent``s. Adapters
translate to and from a wire format (OpenAI Chat Completions, Anthropic Messages) and
map failures onto the ``ProviderError`` hierarchy in ``opencode_python.core.errors``,
with ``retryable`` and ``retry_after`` set, so the loop can decide to retry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ..core.models import FinishReason, TokenUsage

# --- request -------------------------------------------------------------------------


@dataclass(slots=True)
class TextBlock:
    text: str
    type: Literal["text"] = "text"


@dataclass(slots=True)
class ReasoningBlock:
    """Model reasoning sent back on later turns; ``metadata`` keeps e.g. a signature."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    type: Literal["reasoning"] = "reasoning"


@dataclass(slots=True)
class ImageBlock:
    mime: str
    data_base64: str
    type: Literal["image"] = "image"


@dataclass(slots=True)
class ToolCallBlock:
    call_id: str
    name: str
    arguments: dict[str, Any]
    type: Literal["tool_call"] = "tool_call"


@dataclass(slots=True)
class ToolResultBlock:
    """A tool's answer; ``images`` are pictures the tool returned (e.g. ``read`` on a PNG)."""

    call_id: str
    name: str
    output: str
    is_error: bool = False
    images: list[ImageBlock] = field(default_factory=list)
    type: Literal["tool_result"] = "tool_result"


ContentBlock = TextBlock | ReasoningBlock | ImageBlock | ToolCallBlock | ToolResultBlock


@dataclass(slots=True)
class ChatMessage:
    """One turn of history. Tool results travel in a ``tool`` message after the call."""

    role: Literal["user", "assistant", "tool"]
    content: list[ContentBlock]


@dataclass(slots=True)
class ToolSchema:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class OutputFormat:
    """Ask for the answer as JSON text under ``schema``: the API's native structured
    output (OpenAI ``response_format``, Anthropic ``output_config``, the local model's
    constrained decoding). ``schema`` is always a JSON object schema; ``strict`` says it
    meets OpenAI's strict subset (every property required, no extra properties)."""

    name: str
    schema: dict[str, Any]
    strict: bool = False
    description: str = ""


@dataclass(slots=True)
class ChatRequest:
    """Everything one model call needs. ``model`` is the provider's own model id.

    ``output``, when set, asks for the final answer as JSON under its schema; the model
    may still call ``tools`` first.
    """

    model: str
    messages: list[ChatMessage]
    system: list[str] = field(default_factory=list)
    tools: list[ToolSchema] = field(default_factory=list)
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    output: OutputFormat | None = None


def named_tool_choice(value: object) -> str | None:
    """The tool an OpenAI-form ``tool_choice`` option names, else None.

    Every adapter takes OpenAI's forms: ``{"type": "function", "function": {"name": X}}``
    or the short ``{"name": X}``.
    """
    if isinstance(value, dict) and value.get("type", "function") == "function":
        target = value.get("function", value)
        name = target.get("name") if isinstance(target, dict) else None
        if isinstance(name, str) and name:
            return name
    return None


# --- stream events -------------------------------------------------------------------


@dataclass(slots=True)
class TextDelta:
    text: str
    type: Literal["text-delta"] = "text-delta"


@dataclass(slots=True)
class ReasoningDelta:
    """A piece of reasoning; ``metadata`` (e.g. a signature) is merged into the part."""

    text: str
    metadata: dict[str, Any] | None = None
    type: Literal["reasoning-delta"] = "reasoning-delta"


@dataclass(slots=True)
class ToolCallStart:
    """The model began a tool call; its arguments are still streaming."""

    call_id: str
    name: str
    type: Literal["tool-call-start"] = "tool-call-start"


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a started call's arguments (JSON text), for those who show it growing."""

    call_id: str
    text: str
    type: Literal["tool-call-delta"] = "tool-call-delta"


@dataclass(slots=True)
class ToolCall:
    """A complete tool call. ``arguments`` is the raw JSON text the model produced."""

    call_id: str
    name: str
    arguments: str
    type: Literal["tool-call"] = "tool-call"


@dataclass(slots=True)
class Finish:
    """The model finished. Every well-formed stream ends with exactly one of these."""

    reason: FinishReason
    usage: TokenUsage
    type: Literal["finish"] = "finish"


StreamEvent = TextDelta | ReasoningDelta | ToolCallStart | ToolCallDelta | ToolCall | Finish


@runtime_checkable
class Provider(Protocol):
    """Anything that streams a chat completion. ``id`` is the ``provider`` in ``provider/model``."""

    id: str

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one model call. Raises ``ProviderError`` subclasses on failure.

        Must raise ``BrokenStreamError`` when the wire stream ends without a finish reason.
        """
        ...

    async def aclose(self) -> None:
        """Release connections. Safe to call twice."""
        ...
