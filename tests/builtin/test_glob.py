"""The glob tool on real trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.glob_tool import GlobTool, split_absolute

from .file_tool_support import Asks, make_ctx


def touch(root: Path, name: str, mtime: float = 1_000_000) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    os.utime(path, (mtime, mtime))
    return path


async def glob(root: Path, **args: object) -> str:
    return (await GlobTool().execute(dict(args), make_ctx(root))).output


async def test_newest_first_and_junk_skipped(tmp_path: Path) -> None:
    old = touch(tmp_path, "src/old.py", 1_000)
    new = touch(tmp_path, "src/deep/new.py", 3_000)
    mid = touch(tmp_path, "top.py", 2_000)
    touch(tmp_path, "node_modules/pkg/x.py")
    touch(tmp_path, ".venv/lib/y.py")
    touch(tmp_path, "notes.txt")
    assert await glob(tmp_path, pattern="**/*.py") == f"{new}\n{mid}\n{old}"
    assert await glob(tmp_path, pattern="*.py") == f"{new}\n{mid}\n{old}"  # any depth
    assert await glob(tmp_path, pattern="src/*.py") == str(old)
    assert await glob(tmp_path, pattern="*.py", path="src") == f"{new}\n{old}"
    assert await glob(tmp_path, pattern="*.{txt,md}") == str(tmp_path / "notes.txt")
    assert await glob(tmp_path, pattern="*.rs") == "No files found"


async def test_absolute_patterns_search_from_their_fixed_part(tmp_path: Path) -> None:
    file = touch(tmp_path, "src/a.py")
    assert await glob(tmp_path, pattern=f"{tmp_path}/src/**/*.py") == str(file)
    assert split_absolute("/a/b/**/*.py") == ("/a/b", "**/*.py")
    assert split_absolute("/a/b/c.py") == ("/a/b", "c.py")
    assert split_absolute("src/*.py") == (None, "src/*.py")


async def test_cap_at_100(tmp_path: Path) -> None:
    for n in range(120):
        touch(tmp_path, f"f{n:03}.txt", 1_000 + n)
    result = await GlobTool().execute({"pattern": "*.txt"}, make_ctx(tmp_path))
    lines = result.output.splitlines()
    assert lines[0] == str(tmp_path / "f119.txt")
    assert lines[99] == str(tmp_path / "f020.txt")
    assert lines[-1] == (
        "(Showing the 100 most recently modified of 120 files. "
        "Use a more specific path or pattern.)"
    )
    assert result.metadata == {"count": 120, "truncated": True}


async def test_refusals_and_external(tmp_path: Path) -> None:
    project = tmp_path / "project"
    touch(project, "a.txt")
    touch(tmp_path, "other/b.txt")
    with pytest.raises(ToolError, match="is a file"):
        await glob(project, pattern="*", path="a.txt")
    with pytest.raises(ToolError, match="Directory not found"):
        await glob(project, pattern="*", path="missing")
    asks = Asks()
    result = await GlobTool().execute({"pattern": "*.txt", "path": ".."}, make_ctx(project, asks))
    assert [c[:2] for c in asks.calls] == [("external_directory", [str(tmp_path / "*")])]
    assert str(tmp_path / "other/b.txt") in result.output
    assert GlobTool().permission_patterns({"pattern": "**/*"}, make_ctx(project)) == ["."]
