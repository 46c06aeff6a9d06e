"""The edit strategies, one by one: each has a case that no stricter strategy matches."""

from __future__ import annotations

import pytest

from opencode_python.tools.builtin.edit_matching import (
    STRATEGIES,
    EditMatchError,
    block_anchor,
    escape_normalized,
    exact,
    indentation_flexible,
    line_trimmed,
    replace,
    trimmed_boundary,
    unescape,
    whitespace_normalized,
)

NAMES = [name for name, _ in STRATEGIES]


def only_from(name: str, content: str, old: str) -> None:
    """No strategy before ``name`` matches, and ``name`` does."""
    position = NAMES.index(name)
    for earlier, finder in STRATEGIES[:position]:
        assert finder(content, old, "X") == [], f"{earlier} should not match"
    assert STRATEGIES[position][1](content, old, "X"), f"{name} should match"


def test_the_order_is_strictest_first() -> None:
    assert NAMES == [
        "exact",
        "trimmed_boundary",
        "indentation_flexible",
        "line_trimmed",
        "whitespace_normalized",
        "escape_normalized",
        "block_anchor",
    ]


def test_exact() -> None:
    content = "a = 1\nb = 2\n"
    assert [(s.start, s.end) for s in exact(content, "b = 2", "b = 3")] == [(6, 11)]
    result = replace(content, "b = 2", "b = 3")
    assert (result.content, result.strategy, result.count) == ("a = 1\nb = 3\n", "exact", 1)


def test_trimmed_boundary_drops_stray_blank_lines_from_both_strings() -> None:
    content = "x = 0\nfoo = 1\nbar = 2\n"
    old = "\n\nfoo = 1\nbar = 2\n\n\n"
    only_from("trimmed_boundary", content, old)
    result = replace(content, old, "\n\nfoo = 10\nbar = 20\n\n\n")
    assert result.strategy == "trimmed_boundary"
    assert result.content == "x = 0\nfoo = 10\nbar = 20\n"
    assert trimmed_boundary(content, "foo = 1", "y") == []  # nothing to trim: not its case


def test_indentation_flexible_reindents_the_replacement() -> None:
    content = "class A:\n    def f(self):\n        return 1\n"
    old = "def f(self):\n    return 1\n"
    new = "def f(self):\n    return 2\n"
    only_from("indentation_flexible", content, old)
    result = replace(content, old, new)
    assert result.strategy == "indentation_flexible"
    assert result.content == "class A:\n    def f(self):\n        return 2\n"


def test_indentation_flexible_works_with_tabs() -> None:
    content = "\tif x:\n\t\ty()\n"
    spans = indentation_flexible(content, "if x:\n\ty()", "if x:\n\tz()")
    assert len(spans) == 1
    assert spans[0].replacement == "\tif x:\n\t\tz()"


def test_line_trimmed_when_relative_indentation_differs() -> None:
    content = "def f():\n    if x:\n        y()\n    return 1\n"
    old = "if x:\ny()"  # flattened: the relative indentation is lost
    only_from("line_trimmed", content, old)
    result = replace(content, old, "if x:\n    z()")
    assert result.strategy == "line_trimmed"
    assert result.content == "def f():\n    if x:\n        z()\n    return 1\n"


def test_line_trimmed_tolerates_trailing_spaces() -> None:
    content = "a = 1   \nb = 2\t\n"
    old = "a = 1\nb = 2"
    assert exact(content, old, "") == []
    assert line_trimmed(content, old, "a = 3\nb = 4") != []
    assert replace(content, old, "a = 3\nb = 4").content == "a = 3\nb = 4\n"


def test_whitespace_normalized_collapses_runs_of_whitespace() -> None:
    content = "total = price  *   quantity\n"
    old = "total = price * quantity"
    only_from("whitespace_normalized", content, old)
    result = replace(content, old, "total = price * quantity * 2")
    assert result.strategy == "whitespace_normalized"
    assert result.content == "total = price * quantity * 2\n"


def test_whitespace_normalized_spans_lines() -> None:
    content = "call(a,\n     b)\n"
    spans = whitespace_normalized(content, "call(a, b)", "call(a, c)")
    assert [(s.start, s.end) for s in spans] == [(0, len("call(a,\n     b)"))]


def test_escape_normalized_unescapes_old_and_new() -> None:
    content = 'print("one")\nprint("two")\n'
    old = 'print(\\"one\\")\\nprint(\\"two\\")'
    only_from("escape_normalized", content, old)
    result = replace(content, old, 'print(\\"one\\")\\nprint(\\"three\\")')
    assert result.strategy == "escape_normalized"
    assert result.content == 'print("one")\nprint("three")\n'


def test_unescape() -> None:
    assert unescape("a\\nb\\tc\\\\d\\'e") == "a\nb\tc\\d'e"
    assert escape_normalized("abc", "abc", "x") == []  # no escapes: not its case


def test_block_anchor_tolerates_a_misremembered_middle() -> None:
    content = (
        "def total(items):\n"
        "    subtotal = sum(item.price for item in items)\n"
        "    tax = subtotal * 0.2\n"
        "    return subtotal + tax\n"
    )
    old = (
        "def total(items):\n"
        "    subtotal = sum(i.price for i in items)\n"
        "    tax = subtotal * 0.2\n"
        "    return subtotal + tax\n"
    )
    only_from("block_anchor", content, old)
    result = replace(content, old, "def total(items):\n    return 0\n")
    assert result.strategy == "block_anchor"
    assert result.content == "def total(items):\n    return 0\n"


def test_block_anchor_refuses_a_dissimilar_middle() -> None:
    content = "start\nalpha beta gamma\nend\n"
    assert block_anchor(content, "start\ncompletely different\nend", "x") == []
    assert block_anchor(content, "start\nend", "x") == []  # under three lines


def test_ambiguous_match_is_refused_with_the_count() -> None:
    content = "x = 1\ny = 2\nx = 1\n"
    with pytest.raises(EditMatchError, match=r"Found 2 matches.*replaceAll"):
        replace(content, "x = 1", "x = 3")


def test_ambiguous_tolerant_match_is_refused_too() -> None:
    content = "    a  =  1\n    a = 1\n"
    with pytest.raises(EditMatchError, match="Found 2 matches"):
        replace(content, "a =   1", "a = 2")


def test_replace_all_replaces_every_match() -> None:
    result = replace("x = 1\ny = x\nz = x\n", "x", "w", replace_all=True)
    assert (result.content, result.count) == ("w = 1\ny = w\nz = w\n", 3)


def test_no_match_identical_and_empty_are_refused() -> None:
    with pytest.raises(EditMatchError, match="Could not find oldString"):
        replace("a = 1\n", "b = 2", "b = 3")
    with pytest.raises(EditMatchError, match="identical"):
        replace("a = 1\n", "a = 1", "a = 1")
    with pytest.raises(EditMatchError, match="empty"):
        replace("a = 1\n", "", "b")


def test_an_edit_that_changes_nothing_is_refused() -> None:
    # matched with whitespace collapsed, and newString is exactly what is there
    with pytest.raises(EditMatchError, match="would not change"):
        replace("a  = 1\n", "a = 1", "a  = 1")


def test_a_block_match_keeps_the_newline_after_it() -> None:
    content = "    one\n    two\nthree\n"
    result = replace(content, "one\ntwo\n", "uno\ndos\n")
    assert result.content == "    uno\n    dos\nthree\n"
    at_end = replace("    one\n    two", "one\ntwo\n", "uno\ndos\n")
    assert at_end.content == "    uno\n    dos"
