"""Permission rule sets: parsing ``opencode.json`` shorthand, merging and evaluating.

Rule sets are concatenated (defaults, agent, session, approvals) and the last rule that
matches both the permission key and the subject wins, so later sets override earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Final, cast, get_args

from pydantic import ValidationError

from ..core.errors import ConfigError
from ..core.models import PermissionAction, PermissionRule
from .urls import normalize_url_pattern
from .wildcard import wildcard_match

Ruleset = list[PermissionRule]

_ACTIONS: Final[tuple[str, ...]] = get_args(PermissionAction)
_ALLOWED: Final = ", ".join(repr(action) for action in _ACTIONS)

EDIT_TOOLS: Final = frozenset({"write", "edit", "multiedit", "apply_patch"})
"""Tools that change files; one ``edit`` rule governs them all."""


# Legacy ``tools`` names that are checked under the ``edit`` permission.
_LEGACY_EDIT_TOOLS: Final = frozenset({"patch"})


def permission_key(tool_id: str) -> str:
    """The permission a tool is checked under: ``edit`` for the editing tools, else its id."""
    return "edit" if tool_id in EDIT_TOOLS else tool_id


def from_config(value: object) -> Ruleset:
    """Rules from the ``permission`` value of ``opencode.json`` (or the same shape in code).

    Accepted shapes: an action (``"allow"``: every permission, every subject); a mapping of
    permission key to an action or to a mapping of pattern to action (kept in order, so
    later patterns override earlier ones); or a list of rules or rule dicts.
    """
    if isinstance(value, str):
        return [PermissionRule(permission="*", pattern="*", action=_action(value, "permission"))]
    if isinstance(value, Mapping):
        return [rule for key, entry in value.items() for rule in _key_rules(key, entry)]
    if isinstance(value, list | tuple):
        return [_list_rule(index, item) for index, item in enumerate(value)]
    raise ConfigError(
        f"permission must be an action ({_ALLOWED}), a mapping of permission to action or "
        f"to {{pattern: action}}, or a list of rules; got {type(value).__name__}"
    )


def from_tools(tools: object, where: str) -> Ruleset:
    """OpenCode's legacy ``tools: {"bash": false}`` (top level or per agent) as rules:
    true allows the tool, false denies it; the editing tools and ``patch`` are checked
    as ``edit``. Keys are patterns (``"mcp_*": false``)."""
    if tools is None:
        return []
    if not isinstance(tools, Mapping) or not all(
        isinstance(key, str) and isinstance(value, bool) for key, value in tools.items()
    ):
        raise ConfigError(f"{where}: must map tool names to true or false; got {tools!r}")
    return [
        PermissionRule(
            permission="edit" if tool in _LEGACY_EDIT_TOOLS else permission_key(tool),
            pattern="*",
            action="allow" if enabled else "deny",
        )
        for tool, enabled in tools.items()
    ]


def merge(*rulesets: Iterable[PermissionRule]) -> Ruleset:
    """Concatenate rule sets in order; with last-match-wins, later sets take precedence."""
    return [rule for ruleset in rulesets for rule in ruleset]


def evaluate(permission: str, subject: str, *rulesets: Sequence[PermissionRule]) -> PermissionRule:
    """The last rule across ``rulesets`` matching ``permission`` and ``subject``.

    With no match the answer is a synthesized ``ask`` rule: what nobody decided, a person
    should.
    """
    for ruleset in reversed(rulesets):
        for rule in reversed(ruleset):
            if wildcard_match(rule.permission, permission) and wildcard_match(
                rule.pattern, subject
            ):
                return rule
    return PermissionRule(permission=permission, pattern="*", action="ask")


def allowed_outright(permission: str, *rulesets: Sequence[PermissionRule]) -> bool:
    """Whether the rules allow ``permission`` on any subject at all: the last catch-all
    rule for it (pattern ``*``) allows, and every rule after it allows too. Only then
    may a call the tool could not fully understand go ahead without asking."""
    rules = [
        rule
        for ruleset in rulesets
        for rule in ruleset
        if wildcard_match(rule.permission, permission)
    ]
    catch_all = max((i for i, rule in enumerate(rules) if rule.pattern == "*"), default=None)
    if catch_all is None:
        return False
    return all(rule.action == "allow" for rule in rules[catch_all:])


def _key_rules(key: object, entry: object) -> Ruleset:
    if not isinstance(key, str):
        raise ConfigError(f"permission keys must be strings; got {key!r}")
    where = f"permission.{key}"
    if isinstance(entry, str):
        return [PermissionRule(permission=key, pattern="*", action=_action(entry, where))]
    if isinstance(entry, Mapping):
        rules: Ruleset = []
        for pattern, action in entry.items():
            if not isinstance(pattern, str):
                raise ConfigError(f"{where}: patterns must be strings; got {pattern!r}")
            rules.append(
                PermissionRule(
                    permission=key,
                    pattern=_pattern(key, pattern),
                    action=_action(action, f"{where}.{pattern}"),
                )
            )
        return rules
    raise ConfigError(
        f"{where} must be an action ({_ALLOWED}) or a mapping of pattern to action; got {entry!r}"
    )


def _pattern(permission: str, pattern: str) -> str:
    """``webfetch`` patterns in the normal form URLs are checked in (see ``urls``)."""
    return normalize_url_pattern(pattern) if permission == "webfetch" else pattern


def _list_rule(index: int, item: object) -> PermissionRule:
    if isinstance(item, PermissionRule):
        rule = item
    else:
        try:
            rule = PermissionRule.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'rule'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ConfigError(
                f"permission[{index}] is not a rule ({problems}); expected "
                f"{{'permission': str, 'pattern': str, 'action': one of {_ALLOWED}}}"
            ) from None
    pattern = _pattern(rule.permission, rule.pattern)
    return rule if pattern == rule.pattern else rule.model_copy(update={"pattern": pattern})


def _action(value: object, where: str) -> PermissionAction:
    if isinstance(value, str) and value in _ACTIONS:
        return cast(PermissionAction, value)
    raise ConfigError(f"{where}: {value!r} is not an action; use one of {_ALLOWED}")


@cache
def default_rules() -> tuple[PermissionRule, ...]:
    """OpenCode's defaults: allow, except doom loops, paths outside the project and env
    files. A tuple, so no caller can change another's defaults; combine it with
    :func:`merge`. Also ``DEFAULT_RULES``, built on first use: building the first rule
    builds pydantic's schema, tens of milliseconds that importing should not cost."""
    return tuple(
        from_config(
            {
                "*": "allow",
                "doom_loop": "ask",
                "external_directory": "ask",
                # Secrets: env files need a person's yes, their committed templates do not.
                "read": {"*.env": "ask", "*.env.*": "ask", "*.env.example": "allow"},
            }
        )
    )


if TYPE_CHECKING:
    DEFAULT_RULES: tuple[PermissionRule, ...]


def __getattr__(name: str) -> Any:
    if name == "DEFAULT_RULES":
        return default_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
