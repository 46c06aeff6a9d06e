"""Permission rules: wildcard patterns, rule sets, shell command splitting, tool filtering.

Pure logic; who answers an ``ask`` is decided by the caller.
"""

from typing import TYPE_CHECKING, Any

from ..core.models import PermissionAction, PermissionRule
from .bash_commands import command_prefix, split_commands
from .filter import ToolPermissionFilter
from .gate import Approver, PermissionGate, PermissionReply, PermissionRequest
from .rules import (
    EDIT_TOOLS,
    Ruleset,
    evaluate,
    from_config,
    merge,
    permission_key,
)
from .urls import normalize_url
from .wildcard import wildcard_match

if TYPE_CHECKING:
    from .rules import DEFAULT_RULES


def __getattr__(name: str) -> Any:
    """``DEFAULT_RULES`` is built on first use (see ``rules.default_rules``)."""
    if name == "DEFAULT_RULES":
        from .rules import default_rules

        return default_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_RULES",
    "EDIT_TOOLS",
    "Approver",
    "PermissionAction",
    "PermissionGate",
    "PermissionReply",
    "PermissionRequest",
    "PermissionRule",
    "Ruleset",
    "ToolPermissionFilter",
    "command_prefix",
    "evaluate",
    "from_config",
    "merge",
    "normalize_url",
    "permission_key",
    "split_commands",
    "wildcard_match",
]
