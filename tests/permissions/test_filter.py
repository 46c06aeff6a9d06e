from opencode_python.permissions import (
    DEFAULT_RULES,
    PermissionRule,
    ToolPermissionFilter,
    from_config,
)


def test_tool_denied_for_every_subject_is_hidden() -> None:
    tools = ToolPermissionFilter(DEFAULT_RULES, from_config({"bash": "deny"}))
    assert not tools.is_visible("bash")
    assert tools.is_visible("read")


def test_tool_denied_for_some_subjects_stays_visible() -> None:
    tools = ToolPermissionFilter(DEFAULT_RULES, from_config({"bash": {"rm *": "deny"}}))
    assert tools.is_visible("bash")


def test_a_later_rule_for_the_key_brings_the_tool_back() -> None:
    rules = from_config({"bash": {"*": "deny", "git *": "allow"}})
    assert ToolPermissionFilter(rules).is_visible("bash")
    rules = from_config({"bash": {"git *": "allow", "*": "deny"}})
    assert not ToolPermissionFilter(rules).is_visible("bash")


def test_edit_deny_hides_every_edit_tool() -> None:
    tools = ToolPermissionFilter(DEFAULT_RULES, from_config({"edit": "deny"}))
    ids = ["read", "write", "edit", "multiedit", "apply_patch", "bash"]
    assert tools.visible(ids) == ["read", "bash"]


def test_wildcard_permission_hides_by_key() -> None:
    tools = ToolPermissionFilter(from_config({"*": "allow", "mcp_*": "deny"}))
    assert tools.visible(["mcp_github", "read", "mcp_slack"]) == ["read"]


def test_no_rules_means_visible() -> None:
    assert ToolPermissionFilter().visible(["a", "b"]) == ["a", "b"]


def test_check_and_denied() -> None:
    tools = ToolPermissionFilter(
        DEFAULT_RULES, from_config({"bash": {"*": "ask", "git *": "allow", "rm *": "deny"}})
    )
    checked = tools.check("bash", ["git status", "rm -rf /", "ls"])
    assert [(subject, rule.action) for subject, rule in checked] == [
        ("git status", "allow"),
        ("rm -rf /", "deny"),
        ("ls", "ask"),
    ]
    assert tools.denied("bash", ["git status", "rm -rf /"]) == [
        ("rm -rf /", PermissionRule(permission="bash", pattern="rm *", action="deny"))
    ]
    assert tools.denied("bash", ["git log"]) == []


def test_check_uses_the_permission_key() -> None:
    tools = ToolPermissionFilter(DEFAULT_RULES, from_config({"edit": {"*.lock": "deny"}}))
    assert tools.denied("write", ["uv.lock", "a.py"])[0][0] == "uv.lock"
