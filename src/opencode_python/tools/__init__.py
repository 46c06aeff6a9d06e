"""Tools: the interface, the registry and the executor."""

from .decorator import FunctionTool, tool
from .executor import CallScope, ToolExecutionManager, ToolOutcome
from .framework import (
    Question,
    Tool,
    ToolAttachment,
    ToolContext,
    ToolMetadata,
    ToolRegistry,
    ToolResult,
)

__all__ = [
    "CallScope",
    "FunctionTool",
    "Question",
    "Tool",
    "ToolAttachment",
    "ToolContext",
    "ToolExecutionManager",
    "ToolMetadata",
    "ToolOutcome",
    "ToolRegistry",
    "ToolResult",
    "tool",
]
