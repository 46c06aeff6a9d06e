"""Model providers: the neutral contract, the OpenAI and Anthropic adapters, the model
catalog (limits, prices, cost), retry policy, the real-request guard and the registry."""

from typing import TYPE_CHECKING, Any

from .base import (
    ChatMessage,
    ChatRequest,
    ContentBlock,
    Finish,
    ImageBlock,
    OutputFormat,
    Provider,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallDelta,
    ToolCallStart,
    ToolResultBlock,
    ToolSchema,
)
from .catalog import ModelCatalog, ModelInfo, cost_of
from .config import ModelOverride, ProviderConfig, ProviderKind
from .guard import block_real_requests, real_requests_blocked
from .profile import ModelProfile, OutputMode
from .registry import ProviderRegistry
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .anthropic_provider import AnthropicProvider
    from .openai_provider import OpenAIProvider


def __getattr__(name: str) -> Any:
    """Import an adapter (and its official client) only when it is asked for."""
    if name == "OpenAIProvider":
        from .openai_provider import OpenAIProvider

        return OpenAIProvider
    if name == "AnthropicProvider":
        from .anthropic_provider import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnthropicProvider",
    "ChatMessage",
    "ChatRequest",
    "ContentBlock",
    "Finish",
    "ImageBlock",
    "ModelCatalog",
    "ModelInfo",
    "ModelOverride",
    "ModelProfile",
    "OpenAIProvider",
    "OutputFormat",
    "OutputMode",
    "Provider",
    "ProviderConfig",
    "ProviderKind",
    "ProviderRegistry",
    "ReasoningBlock",
    "ReasoningDelta",
    "RetryPolicy",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "ToolCall",
    "ToolCallBlock",
    "ToolCallDelta",
    "ToolCallStart",
    "ToolResultBlock",
    "ToolSchema",
    "block_real_requests",
    "cost_of",
    "real_requests_blocked",
]
