"""Model providers: the neutral contract, the OpenAI and Anthropic adapters, the model
catalog (limits, prices, cost), retry policy, the real-request guard and the registry."""

from .anthropic_provider import AnthropicProvider
from .base import (
    ChatMessage,
    ChatRequest,
    ContentBlock,
    Finish,
    ImageBlock,
    Provider,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallStart,
    ToolResultBlock,
    ToolSchema,
)
from .catalog import ModelCatalog, ModelInfo, cost_of
from .config import ModelOverride, ProviderConfig, ProviderKind
from .guard import block_real_requests, real_requests_blocked
from .openai_provider import OpenAIProvider
from .registry import ProviderRegistry
from .retry import RetryPolicy

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
    "OpenAIProvider",
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
    "ToolCallStart",
    "ToolResultBlock",
    "ToolSchema",
    "block_real_requests",
    "cost_of",
    "real_requests_blocked",
]
