import pytest

from opencode_python.core.errors import ConfigError
from opencode_python.permissions import (
    DEFAULT_RULES,
    EDIT_TOOLS,
    PermissionRule,
    evaluate,
    from_config,
    merge,
    permission_key,
)


def rule(permission: str, pattern: str, action: str) -> PermissionRule:
    return PermissionRule.model_validate(
        {"permission": permission, "pattern": pattern, "action": action}
    )


# --- shorthand -----------------------------------------------------------------------


def test_single_action_covers_everything() -> None:
    assert from_config("deny") == [rule("*", "*", "deny")]


def test_key_to_action_and_key_to_patterns_keep_order() -> None:
    rules = from_config(
        {"edit": "deny", "bash": {"*": "ask", "git *": "allow", "git push *": "deny"}}
    )
    assert rules == [
        rule("edit", "*", "deny"),
        rule("bash", "*", "ask"),
        rule("bash", "git *", "allow"),
        rule("bash", "git push *", "deny"),
    ]


def test_list_of_rules_and_dicts() -> None:
    existing = rule("read", "*.md", "allow")
    rules = from_config([existing, {"permission": "bash", "action": "deny"}])
    assert rules == [existing, rule("bash", "*", "deny")]


def test_empty_config_has_no_rules() -> None:
    assert from_config({}) == []
    assert from_config([]) == []


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("maybe", ["permission", "'maybe'", "'allow', 'ask', 'deny'"]),
        ({"bash": "yes"}, ["permission.bash", "'yes'", "'allow', 'ask', 'deny'"]),
        ({"bash": {"git *": "ok"}}, ["permission.bash.git *", "'ok'", "'allow'"]),
        ({"bash": 3}, ["permission.bash", "3", "'allow', 'ask', 'deny'"]),
        ({"bash": {"git *": None}}, ["permission.bash.git *", "None"]),
        ({"bash": {1: "allow"}}, ["permission.bash", "patterns must be strings"]),
        ({1: "allow"}, ["keys must be strings"]),
        ([{"permission": "bash", "action": "nope"}], ["permission[0]", "action"]),
        ([{"action": "allow"}], ["permission[0]", "permission"]),
        ([{"permission": "x", "action": "allow", "extra": 1}], ["permission[0]", "extra"]),
        ([rule("a", "*", "allow"), "deny"], ["permission[1]"]),
        (3, ["permission must be", "int"]),
    ],
)
def test_invalid_shapes_name_the_key_and_allowed_values(value: object, names: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        from_config(value)
    for name in names:
        assert name in str(caught.value)


# --- evaluation ----------------------------------------------------------------------


def test_last_match_wins_within_a_ruleset() -> None:
    rules = from_config({"bash": {"*": "ask", "git *": "allow", "git push *": "deny"}})
    assert evaluate("bash", "ls", rules).action == "ask"
    assert evaluate("bash", "git status", rules).action == "allow"
    assert evaluate("bash", "git push origin", rules).action == "deny"


def test_last_match_wins_across_concatenated_rulesets() -> None:
    defaults = from_config({"bash": {"*": "allow"}})
    agent = from_config({"bash": {"rm *": "deny"}})
    approvals = [rule("bash", "rm build/*", "allow")]
    assert evaluate("bash", "rm -rf /", defaults, agent, approvals).action == "deny"
    assert evaluate("bash", "rm build/x", defaults, agent, approvals).action == "allow"
    assert evaluate("bash", "ls", defaults, agent, approvals).action == "allow"
    # merge is concatenation, so evaluating the merged set is the same.
    merged = merge(defaults, agent, approvals)
    assert merged == [*defaults, *agent, *approvals]
    assert evaluate("bash", "rm -rf /", merged) == evaluate("bash", "rm -rf /", defaults, agent)


def test_permission_is_a_wildcard_too() -> None:
    rules = [rule("*", "*", "allow"), rule("mcp_*", "*", "deny")]
    assert evaluate("mcp_github", "x", rules).action == "deny"
    assert evaluate("read", "x", rules).action == "allow"


def test_both_permission_and_pattern_must_match() -> None:
    rules = [rule("read", "*.env", "deny")]
    assert evaluate("edit", "a.env", rules).action == "ask"


def test_no_match_asks() -> None:
    decided = evaluate("webfetch", "https://example.com", [rule("read", "*", "allow")])
    assert decided == rule("webfetch", "*", "ask")
    assert evaluate("read", "x").action == "ask"


def test_the_returned_rule_is_the_matching_one() -> None:
    deny = rule("bash", "rm *", "deny")
    assert evaluate("bash", "rm x", [rule("*", "*", "allow"), deny]) is deny


# --- defaults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "subject", "action"),
    [
        ("read", "/repo/.env", "ask"),
        ("read", ".env", "ask"),
        ("read", "/repo/.env.local", "ask"),
        ("read", "/repo/config/prod.env", "ask"),
        ("read", "/repo/.env.example", "allow"),
        ("read", "/repo/src/main.py", "allow"),
        ("read", "/repo/.environment", "allow"),
        ("doom_loop", "read", "ask"),
        ("external_directory", "/tmp/x", "ask"),
        ("bash", "rm -rf /", "allow"),
        ("edit", "/repo/a.py", "allow"),
        ("webfetch", "https://example.com", "allow"),
    ],
)
def test_defaults(permission: str, subject: str, action: str) -> None:
    assert evaluate(permission, subject, DEFAULT_RULES).action == action


def test_later_rulesets_override_defaults() -> None:
    agent = from_config({"read": {"*.env": "allow"}, "bash": "deny"})
    assert evaluate("read", "/r/.env", DEFAULT_RULES, agent).action == "allow"
    assert evaluate("bash", "ls", DEFAULT_RULES, agent).action == "deny"


def test_defaults_cannot_be_mutated_in_place() -> None:
    assert isinstance(DEFAULT_RULES, tuple)


# --- permission keys -----------------------------------------------------------------


def test_edit_tools_share_the_edit_key() -> None:
    assert {"write", "edit", "multiedit", "apply_patch"} == EDIT_TOOLS
    for tool_id in EDIT_TOOLS:
        assert permission_key(tool_id) == "edit"
    assert permission_key("bash") == "bash"
    assert permission_key("read") == "read"


def test_edit_rule_governs_every_edit_tool() -> None:
    rules = from_config({"*": "allow", "edit": "deny"})
    for tool_id in EDIT_TOOLS:
        assert evaluate(permission_key(tool_id), "a.py", rules).action == "deny"
