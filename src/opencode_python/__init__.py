"""opencode-python: an agent SDK with OpenCode's engine semantics.

The names below load with the first use of each (PEP 562), so ``import
opencode_python``, and any of its sub-packages (``opencode_python.testing``, the CLI
asked for ``--version``), costs only what it uses; ``from opencode_python import
OpenCodeAsyncClient`` loads the engine.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .core.errors import (
    ConfigError,
    NotFoundError,
    OpenCodeError,
    OutputValidationError,
    PermissionDeniedError,
    ProviderError,
    SessionBusyError,
    StorageError,
    ToolError,
)
from .core.version import VERSION

if TYPE_CHECKING:
    from .agents import Agent, AgentOrchestrator, AgentResult, AgentTask, DelegationLimits
    from .core.events import Event, EventBus
    from .core.models import Message, MessageWithParts, Session, TokenUsage
    from .permissions import PermissionReply, PermissionRequest
    from .providers import ProviderConfig, ProviderRegistry
    from .sdk import Notification, OpenCodeAsyncClient, OpenCodeSyncClient, SDKConfig
    from .tools import Tool, ToolContext, ToolRegistry, ToolResult, tool

__version__ = VERSION

_LAZY = {
    ".agents": ("Agent", "AgentOrchestrator", "AgentResult", "AgentTask", "DelegationLimits"),
    ".core.events": ("Event", "EventBus"),
    ".core.models": ("Message", "MessageWithParts", "Session", "TokenUsage"),
    ".permissions": ("PermissionReply", "PermissionRequest"),
    ".providers": ("ProviderConfig", "ProviderRegistry"),
    ".sdk": ("Notification", "OpenCodeAsyncClient", "OpenCodeSyncClient", "SDKConfig"),
    ".tools": ("Tool", "ToolContext", "ToolRegistry", "ToolResult", "tool"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
    "OutputValidationError",
    "PermissionDeniedError",
    "PermissionReply",
    "PermissionRequest",
    "ProviderConfig",
    "ProviderError",
    "ProviderRegistry",
    "SDKConfig",
    "Session",
    "SessionBusyError",
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
