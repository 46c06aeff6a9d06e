"""Agents: the model, the built-ins, the registry, the loop and the runtime."""

from typing import TYPE_CHECKING, Any

from .agent import Agent, AgentDefinition, AgentMode
from .builtin import DEFAULT_AGENT, builtin_agents
from .delegation import DelegationLimits
from .manager import AgentManager, AgentRun, AgentState
from .markdown import agent_dirs, load_markdown_agents
from .orchestrator import AgentOrchestrator
from .output import FINAL_TOOL, OutputSpec
from .registry import AgentRegistry
from .result import AgentResult
from .run.handle import AISession
from .runtime import AgentRuntime
from .task import AgentTask, TaskStatus
from .task_tool import TaskTool

if TYPE_CHECKING:
    from .builtin import BUILTIN_AGENTS


def __getattr__(name: str) -> Any:
    """``BUILTIN_AGENTS`` is built on first use (see ``builtin.builtin_agents_by_name``)."""
    if name == "BUILTIN_AGENTS":
        from .builtin import builtin_agents_by_name

        return builtin_agents_by_name()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILTIN_AGENTS",
    "DEFAULT_AGENT",
    "FINAL_TOOL",
    "AISession",
    "Agent",
    "AgentDefinition",
    "AgentManager",
    "AgentMode",
    "AgentOrchestrator",
    "AgentRegistry",
    "AgentResult",
    "AgentRun",
    "AgentRuntime",
    "AgentState",
    "AgentTask",
    "DelegationLimits",
    "OutputSpec",
    "TaskStatus",
    "TaskTool",
    "agent_dirs",
    "builtin_agents",
    "load_markdown_agents",
]
