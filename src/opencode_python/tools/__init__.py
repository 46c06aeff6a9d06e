"""Tools: the interface, the registry and the executor."""

from .executor import ToolExecutionManager, ToolOutcome
from .framework import Tool, ToolAttachment, ToolContext, ToolMetadata, ToolRegistry, ToolResult

__all__ = [
    "Tool",
    "ToolAttachment",
    "ToolContext",
    "ToolExecutionManager",
    "ToolMetadata",
    "ToolOutcome",
    "ToolRegistry",
    "ToolResult",
]
