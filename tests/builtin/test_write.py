"""The write tool on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.write import WriteTool

from .file_tool_support import Asks, make_ctx


async def test_write_creates_parents_and_says_so(tmp_path: Path) -> None:
    result = await WriteTool().execute(
        {"filePath": "a/b/c.txt", "content": "one\ntwo\n"}, make_ctx(tmp_path)
    )
    assert (tmp_path / "a/b/c.txt").read_text() == "one\ntwo\n"
    assert result.output == "Created a/b/c.txt (2 lines)."
    assert result.title == "a/b/c.txt"
    assert result.metadata["created"] is True
    assert result.metadata["additions"] == 2


async def test_overwrite_reports_a_diff(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("old\nsame\n")
    result = await WriteTool().execute(
        {"filePath": "f.txt", "content": "new\nsame\n"}, make_ctx(tmp_path)
    )
    assert (tmp_path / "f.txt").read_text() == "new\nsame\n"
    assert result.output == "Overwrote f.txt (2 lines)."
    assert result.metadata["created"] is False
    assert "-old\n+new\n same" in result.metadata["diff"]


async def test_unchanged_content_is_noted(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("same")
    result = await WriteTool().execute({"filePath": "f.txt", "content": "same"}, make_ctx(tmp_path))
    assert "nothing changed" in result.output


async def test_content_is_written_byte_for_byte(tmp_path: Path) -> None:
    await WriteTool().execute({"filePath": "w.txt", "content": "a\r\nb"}, make_ctx(tmp_path))
    assert (tmp_path / "w.txt").read_bytes() == b"a\r\nb"


async def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(ToolError, match="is a directory"):
        await WriteTool().execute({"filePath": "d", "content": "x"}, make_ctx(tmp_path))


async def test_writing_through_a_symlink_out_of_the_project_asks(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "link").symlink_to(outside)
    asks = Asks()
    await WriteTool().execute({"filePath": "link/x.txt", "content": "x"}, make_ctx(project, asks))
    assert [(p, pats) for p, pats, _ in asks.calls] == [
        ("external_directory", [str(outside / "*")])
    ]
    assert (outside / "x.txt").read_text() == "x"
    assert WriteTool().permission_patterns({"filePath": "link/x.txt"}, make_ctx(project)) == [
        str(outside / "x.txt")
    ]
