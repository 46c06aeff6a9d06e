"""The list tool on real trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.list_dir import ListTool

from .file_tool_support import Asks, make_ctx


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")


async def test_tree_with_directories_first_and_junk_left_out(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "README.md",
        "src/pkg/mod.py",
        "src/main.py",
        "node_modules/lib/index.js",
        ".git/HEAD",
        "__pycache__/x.pyc",
    )
    (tmp_path / "empty").mkdir()
    result = await ListTool().execute({}, make_ctx(tmp_path))
    assert result.output == (
        f"{tmp_path}/\n  empty/\n  src/\n    pkg/\n      mod.py\n    main.py\n  README.md"
    )
    assert result.title == "."
    assert result.metadata == {"count": 6, "truncated": False}


async def test_ignore_globs(tmp_path: Path) -> None:
    touch(tmp_path, "a.log", "logs/b.log", "keep.txt", "docs/gen/x.html", "docs/index.md")
    output = (
        await ListTool().execute({"ignore": ["*.log", "docs/gen/"]}, make_ctx(tmp_path))
    ).output
    assert output == f"{tmp_path}/\n  docs/\n    index.md\n  logs/\n  keep.txt"


async def test_cap_keeps_the_top_levels(tmp_path: Path) -> None:
    touch(tmp_path, *(f"deep/f{n:03}.txt" for n in range(150)), "top.txt")
    result = await ListTool().execute({"path": str(tmp_path)}, make_ctx(tmp_path))
    assert result.metadata == {"count": 100, "truncated": True}
    assert "  top.txt" in result.output
    assert result.output.endswith(
        "(Showing the first 100 entries, nearest first; there are more. "
        "List a subdirectory to see deeper, or use glob to find files by name.)"
    )


async def test_refusals_and_external(tmp_path: Path) -> None:
    project = tmp_path / "project"
    touch(project, "file.txt")
    touch(tmp_path, "outside/x.txt")
    with pytest.raises(ToolError, match="is a file, not a directory"):
        await ListTool().execute({"path": "file.txt"}, make_ctx(project))
    with pytest.raises(ToolError, match="Directory not found: nope"):
        await ListTool().execute({"path": "nope"}, make_ctx(project))
    asks = Asks()
    result = await ListTool().execute({"path": "../outside"}, make_ctx(project, asks))
    assert [c[:2] for c in asks.calls] == [("external_directory", [str(tmp_path / "outside/*")])]
    assert result.output.endswith("x.txt")
    assert ListTool().permission_patterns({"path": "sub"}, make_ctx(project)) == ["sub"]
