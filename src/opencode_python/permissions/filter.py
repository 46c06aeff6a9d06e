"""Which tools the model may see, and how each call's subjects fare against the rules."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.models import PermissionRule
from .rules import evaluate, merge, permission_key
from .wildcard import wildcard_match


class ToolPermissionFilter:
    """One agent's view of the rules: hides tools it may never use and checks calls.

    Hiding a denied tool, rather than letting the model call it and fail, saves a step and
    keeps the model from planning around a tool it cannot have.
    """

    def __init__(self, *rulesets: Iterable[PermissionRule]) -> None:
        self.rules = merge(*rulesets)

    def is_visible(self, tool_id: str) -> bool:
        """False when the last rule for the tool's permission key denies every subject
        (pattern ``*``). A tool denied for some subjects only stays visible."""
        key = permission_key(tool_id)
        for rule in reversed(self.rules):
            if wildcard_match(rule.permission, key):
                return not (rule.pattern == "*" and rule.action == "deny")
        return True

    def visible(self, tool_ids: Iterable[str]) -> list[str]:
        """The visible tools of ``tool_ids``, in their order."""
        return [tool_id for tool_id in tool_ids if self.is_visible(tool_id)]

    def check(self, tool_id: str, subjects: Iterable[str]) -> list[tuple[str, PermissionRule]]:
        """Each subject of a call (paths, commands, URLs) with the rule that decides it."""
        key = permission_key(tool_id)
        return [(subject, evaluate(key, subject, self.rules)) for subject in subjects]

    def denied(self, tool_id: str, subjects: Iterable[str]) -> list[tuple[str, PermissionRule]]:
        """The subjects a rule denies outright, with that rule, for the refusal message."""
        return [pair for pair in self.check(tool_id, subjects) if pair[1].action == "deny"]
