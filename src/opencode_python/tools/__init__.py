"""Tools: the interface, the registry and the executor."""

from .decorator import FunctionTool, tool
from .executor import CallScope, ToolExecutionManager, ToolOutcome
from .framework import (
    PermissionCheck,
    Question,
    Tool,
    ToolAttachment,
    ToolContext,
    ToolMetadata,
    ToolRegistry,
    ToolResult,
)
from .tracker import ToolExecutionTracker

__all__ = [
    "CallScope",
    "FunctionTool",
    "PermissionCheck",
    "Question",
    "Tool",
    "ToolAttachment",
    "ToolContext",
    "ToolExecutionManager",
    "ToolExecutionTracker",
    "ToolMetadata",
    "ToolOutcome",
    "ToolRegistry",
    "ToolResult",
    "tool",
]
