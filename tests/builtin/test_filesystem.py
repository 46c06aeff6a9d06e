"""Shared pieces of the file tools: glob semantics, walking, schemas, diffs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode_python.tools.builtin.filesystem import (
    compile_glob,
    diff_counts,
    expand_braces,
    unified_diff,
    walk_files,
)


def test_expand_braces() -> None:
    assert expand_braces("*.{ts,tsx}") == ["*.ts", "*.tsx"]
    assert expand_braces("{a,b}/{c,d{e,f}}") == ["a/c", "a/de", "a/df", "b/c", "b/de", "b/df"]
    assert expand_braces("plain") == ["plain"]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.py", "a.py", True),
        ("*.py", "deep/down/a.py", True),  # no slash: the name at any depth
        ("*.py", "a.pyc", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),  # * stays in one segment
        ("src/*.py", "lib/src/a.py", False),  # a slash anchors at the root
        ("src/**/*.py", "src/a.py", True),  # ** matches zero directories too
        ("src/**/*.py", "src/x/y/a.py", True),
        ("**/test_*.py", "tests/test_a.py", True),
        ("src/**", "src/x/y", True),
        ("a?.txt", "ab.txt", True),
        ("a?.txt", "a/.txt", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "b.txt", False),
        ("*.{ts,tsx}", "ui/app.tsx", True),
        ("./src/*.py", "src/a.py", True),
        ("docs/generated/", "docs/generated", True),
        ("a+b(c).txt", "a+b(c).txt", True),  # regex characters are literal
    ],
)
def test_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_glob(pattern).fullmatch(path)) is matches


def test_walk_skips_junk_and_symlinks(tmp_path: Path) -> None:
    for name in ["src/a.py", "node_modules/x/y.js", ".git/HEAD", "deep/build/out.o", ".env"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    os.symlink(tmp_path / "src", tmp_path / "link")
    os.symlink(tmp_path / "src/a.py", tmp_path / "link.py")
    assert [relative for relative, _ in walk_files(tmp_path)] == [".env", "src/a.py"]


def test_diff_and_counts() -> None:
    diff = unified_diff("a\nb\nc\n", "a\nB\nc\nd\n", "f.txt")
    assert diff.splitlines()[:2] == ["--- f.txt", "+++ f.txt"]
    assert diff_counts(diff) == (2, 1)
    assert diff_counts(unified_diff("--x\n", "++y\n", "f")) == (1, 1)
