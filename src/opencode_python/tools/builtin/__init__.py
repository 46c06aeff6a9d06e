"""The built-in tools, with OpenCode's names, arguments and behaviour."""

from __future__ import annotations

from collections.abc import Iterable

from ...core.errors import ConfigError
from ..framework import Tool
from .apply_patch import ApplyPatchTool
from .bash import BashTool
from .batch import BatchTool
from .edit import EditTool
from .glob_tool import GlobTool
from .grep import GrepTool
from .list_dir import ListTool
from .multiedit import MultiEditTool
from .question import QuestionTool
from .read import ReadTool
from .todo import TodoReadTool, TodoWriteTool
from .webfetch import WebFetchTool
from .websearch import SearchHit, WebSearchBackend, WebSearchTool
from .write import WriteTool

DEFAULT_TOOL_CLASSES: tuple[type[Tool], ...] = (
    BashTool,
    ReadTool,
    WriteTool,
    EditTool,
    MultiEditTool,
    ApplyPatchTool,
    GlobTool,
    GrepTool,
    ListTool,
    TodoWriteTool,
    TodoReadTool,
    WebFetchTool,
    QuestionTool,
    BatchTool,
)
DEFAULT_TOOL_IDS: tuple[str, ...] = tuple(cls.id for cls in DEFAULT_TOOL_CLASSES)


def default_tools(only: Iterable[str] | None = None) -> list[Tool]:
    """Fresh instances of the default built-ins (all, or those named in ``only``)."""
    wanted = None if only is None else set(only)
    if wanted is not None:
        unknown = wanted - set(DEFAULT_TOOL_IDS)
        if unknown:
            raise ConfigError(
                f"unknown built-in tool(s) {sorted(unknown)}; "
                f"the built-ins are {', '.join(DEFAULT_TOOL_IDS)}"
            )
    return [cls() for cls in DEFAULT_TOOL_CLASSES if wanted is None or cls.id in wanted]


__all__ = [
    "DEFAULT_TOOL_IDS",
    "ApplyPatchTool",
    "BashTool",
    "BatchTool",
    "EditTool",
    "GlobTool",
    "GrepTool",
    "ListTool",
    "MultiEditTool",
    "QuestionTool",
    "ReadTool",
    "SearchHit",
    "TodoReadTool",
    "TodoWriteTool",
    "WebFetchTool",
    "WebSearchBackend",
    "WebSearchTool",
    "WriteTool",
    "default_tools",
]
