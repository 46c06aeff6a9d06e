"""opencode-python: an agent SDK with OpenCode's engine semantics."""

from .agents import Agent, AgentOrchestrator, AgentResult, AgentTask, DelegationLimits
from .core.errors import (
    ConfigError,
    NotFoundError,
    OpenCodeError,
    PermissionDeniedError,
    ProviderError,
    StorageError,
    ToolError,
)
from .core.events import Event, EventBus
from .core.models import Message, MessageWithParts, Session, TokenUsage
from .core.version import VERSION
from .permissions import PermissionReply, PermissionRequest
from .providers import ProviderConfig, ProviderRegistry
from .sdk import Notification, OpenCodeAsyncClient, OpenCodeSyncClient, SDKConfig
from .tools import Tool, ToolContext, ToolRegistry, ToolResult, tool

__version__ = VERSION

__all__ = [
    "Agent",
    "AgentOrchestrator",
    "AgentResult",
    "AgentTask",
    "ConfigError",
    "DelegationLimits",
    "Event",
    "EventBus",
    "Message",
    "MessageWithParts",
    "NotFoundError",
    "Notification",
    "OpenCodeAsyncClient",
    "OpenCodeError",
    "OpenCodeSyncClient",
    "PermissionDeniedError",
    "PermissionReply",
    "PermissionRequest",
    "ProviderConfig",
    "ProviderError",
    "ProviderRegistry",
    "SDKConfig",
    "Session",
    "StorageError",
    "TokenUsage",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "__version__",
    "tool",
]
