"""Agents: the model, the built-ins, the registry, the loop and the runtime."""

from .agent import Agent, AgentDefinition, AgentMode
from .builtin import BUILTIN_AGENTS, DEFAULT_AGENT, builtin_agents
from .delegation import DelegationLimits
from .loop import AISession
from .manager import AgentManager, AgentRun, AgentState
from .markdown import agent_dirs, load_markdown_agents
from .orchestrator import AgentOrchestrator
from .registry import AgentRegistry
from .result import AgentResult
from .runtime import AgentRuntime
from .task import AgentTask, TaskStatus
from .task_tool import TaskTool

__all__ = [
    "BUILTIN_AGENTS",
    "DEFAULT_AGENT",
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
    "TaskStatus",
    "TaskTool",
    "agent_dirs",
    "builtin_agents",
    "load_markdown_agents",
]
