from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencode_python.permissions import wildcard_match


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("*", "", True),
        ("*", "anything at all", True),
        ("*", "/etc/passwd", True),
        ("src/*", "src/a/b/c.py", True),  # * crosses /
        ("*.py", "src/pkg/mod.py", True),
        ("*.py", "src/pkg/mod.pyc", False),  # anchored at the end
        ("src/*", "lib/src/a.py", False),  # anchored at the start
        ("git status", "git status", True),
        ("git status", "git status --short", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),  # ? is exactly one character
        ("a?c", "abbc", False),
        ("a?c", "a/c", True),
        ("a.b", "a.b", True),
        ("a.b", "axb", False),  # regex metacharacters are literal
        ("a+b", "aab", False),
        ("(x)|[y]", "(x)|[y]", True),
        ("^a$", "^a$", True),
        ("a\\d", "a\\d", True),
        ("a\\d", "a1", False),
        ("ls *", "ls", True),  # " *" also matches the bare command
        ("ls *", "ls -la", True),
        ("ls *", "lsof", False),
        ("ls *", "ls\t-la", False),
        ("git * --force *", "git push --force", True),
        ("*", "line one\nline two", True),  # * crosses newlines too
        ("echo *", "echo a\nrm -rf /", True),
        ("", "", True),
        ("", "x", False),
    ],
)
def test_table(pattern: str, subject: str, matches: bool) -> None:
    assert wildcard_match(pattern, subject) is matches


def test_home_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/ada")
    assert wildcard_match("~/projects/*", "/home/ada/projects/x/y.txt")
    assert wildcard_match("~", "/home/ada")
    assert wildcard_match("$HOME/*", "/home/ada/.ssh/id_rsa")
    assert wildcard_match("$HOME", "/home/ada")
    assert not wildcard_match("~/projects/*", "~/projects/x")
    assert not wildcard_match("~ada/*", "/home/ada/x")  # only ~ and ~/ expand
    assert wildcard_match("a~/*", "a~/b")  # ~ is literal elsewhere


def test_home_is_literal_and_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/a.b?")
    assert wildcard_match("~/x", "/home/a.b?/x")
    assert not wildcard_match("~/x", "/home/axbc/x")
    monkeypatch.setenv("HOME", "/srv/other")
    assert wildcard_match("~/x", "/srv/other/x")


def test_many_stars_on_long_input_terminate() -> None:
    # Plain regex backtracking would take O(n^6) here.
    subject = "a" * 5000
    assert not wildcard_match("*a*a*a*a*a*b", subject)
    assert wildcard_match("*a*a*a*a*a*", subject)


def _reference(pattern: str, subject: str) -> bool:
    """A direct recursive matcher, the spec written out."""

    def glob(pat: str) -> bool:
        @cache
        def match(i: int, j: int) -> bool:
            if i == len(pat):
                return j == len(subject)
            if pat[i] == "*":
                return match(i + 1, j) or (j < len(subject) and match(i, j + 1))
            return j < len(subject) and pat[i] in ("?", subject[j]) and match(i + 1, j + 1)

        return match(0, 0)

    return glob(pattern) or (pattern.endswith(" *") and glob(pattern[:-2]))


_patterns = st.text(alphabet="ab*?/. +(", max_size=10)
_subjects = st.text(alphabet="ab/. +(\n*?", max_size=14)


@given(_patterns, _subjects)
def test_agrees_with_reference(pattern: str, subject: str) -> None:
    assert wildcard_match(pattern, subject) is _reference(pattern, subject)


@given(_subjects)
def test_literal_pattern_matches_only_itself(subject: str) -> None:
    literal = subject.replace("*", "").replace("?", "")
    assert wildcard_match(literal, literal)
    assert not wildcard_match(literal, literal + "x")
