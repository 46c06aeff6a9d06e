"""Agents and the loop that runs them."""

from .agent import Agent, AgentMode
from .loop import AISession
from .result import AgentResult

__all__ = ["AISession", "Agent", "AgentMode", "AgentResult"]
