"""Agents: the model, the built-ins, the registry, the loop and the runtime."""

from .agent import Agent, AgentDefinition, AgentMode
from .builtin import BUILTIN_AGENTS, DEFAULT_AGENT, builtin_agents
from .loop import AISession
from .manager import AgentManager, AgentRun, AgentState
from .markdown import agent_dirs, load_markdown_agents
from .registry import AgentRegistry
from .result import AgentResult
from .runtime import AgentRuntime

__all__ = [
    "BUILTIN_AGENTS",
    "DEFAULT_AGENT",
    "AISession",
    "Agent",
    "AgentDefinition",
    "AgentManager",
    "AgentMode",
    "AgentRegistry",
    "AgentResult",
    "AgentRun",
    "AgentRuntime",
    "AgentState",
    "agent_dirs",
    "builtin_agents",
    "load_markdown_agents",
]
