"""The edit tool on real files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from opencode_python.core.errors import PermissionDeniedError, ToolError
from opencode_python.tools.builtin.edit import EditTool

from .file_tool_support import Asks, make_ctx


async def test_edit_replaces_and_reports_a_diff(tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    target.write_text("def main():\n    print('hi')\n")
    result = await EditTool().execute(
        {"filePath": "app.py", "oldString": "print('hi')", "newString": "print('bye')"},
        make_ctx(tmp_path),
    )
    assert target.read_text() == "def main():\n    print('bye')\n"
    assert result.title == "app.py"
    assert result.output == "Edit applied successfully."
    assert "-    print('hi')\n+    print('bye')" in result.metadata["diff"]
    assert (result.metadata["additions"], result.metadata["deletions"]) == (1, 1)
    assert result.metadata["match"] == "exact"


async def test_tolerant_match_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("class A:\n    def f(self):\n        return 1\n")
    result = await EditTool().execute(
        {
            "filePath": str(target),
            "oldString": "def f(self):\n    return 1",
            "newString": "def f(self):\n    return 2",
        },
        make_ctx(tmp_path),
    )
    assert target.read_text() == "class A:\n    def f(self):\n        return 2\n"
    assert "ignoring indentation" in result.output


async def test_ambiguous_edit_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("x\nx\n")
    with pytest.raises(ToolError, match="Found 2 matches"):
        await EditTool().execute(
            {"filePath": "a.txt", "oldString": "x", "newString": "y"}, make_ctx(tmp_path)
        )
    assert target.read_text() == "x\nx\n"
    result = await EditTool().execute(
        {"filePath": "a.txt", "oldString": "x", "newString": "y", "replaceAll": True},
        make_ctx(tmp_path),
    )
    assert target.read_text() == "y\ny\n"
    assert "replaced 2 matches" in result.output


async def test_empty_oldString_creates_a_missing_file(tmp_path: Path) -> None:
    result = await EditTool().execute(
        {"filePath": "new/dir/file.txt", "oldString": "", "newString": "hello\n"},
        make_ctx(tmp_path),
    )
    assert (tmp_path / "new/dir/file.txt").read_text() == "hello\n"
    assert result.output == "Created new/dir/file.txt."


async def test_empty_oldString_on_an_existing_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("keep")
    with pytest.raises(ToolError, match="already exists"):
        await EditTool().execute(
            {"filePath": "a.txt", "oldString": "", "newString": "new"}, make_ctx(tmp_path)
        )
    assert (tmp_path / "a.txt").read_text() == "keep"


async def test_refusals(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("a: 1\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    tool, ctx = EditTool(), make_ctx(tmp_path)
    with pytest.raises(ToolError, match=r"(?s)not found: config\.yml.*config\.yaml"):
        await tool.execute({"filePath": "config.yml", "oldString": "a", "newString": "b"}, ctx)
    with pytest.raises(ToolError, match="is a directory"):
        await tool.execute({"filePath": "dir", "oldString": "a", "newString": "b"}, ctx)
    with pytest.raises(ToolError, match="binary"):
        await tool.execute({"filePath": "blob.bin", "oldString": "a", "newString": "b"}, ctx)
    with pytest.raises(ToolError, match="identical"):
        await tool.execute({"filePath": "config.yaml", "oldString": "a", "newString": "a"}, ctx)
    with pytest.raises(ToolError, match="Could not find oldString"):
        await tool.execute({"filePath": "config.yaml", "oldString": "b", "newString": "c"}, ctx)


async def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    target = tmp_path / "win.txt"
    target.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    await EditTool().execute(
        {"filePath": "win.txt", "oldString": "one\ntwo\n", "newString": "uno\ndos\n"},
        make_ctx(tmp_path),
    )
    assert target.read_bytes() == b"uno\r\ndos\r\nthree\r\n"
    target.write_bytes(b"  one\r\n  two")  # indented, and no newline at the end
    await EditTool().execute(
        {"filePath": "win.txt", "oldString": "one\ntwo\n", "newString": "uno\ndos\n"},
        make_ctx(tmp_path),
    )
    assert target.read_bytes() == b"  uno\r\n  dos"


async def test_undecodable_bytes_survive_an_edit(tmp_path: Path) -> None:
    target = tmp_path / "latin.txt"
    target.write_bytes(b"caf\xe9\nname = 1\n")
    await EditTool().execute(
        {"filePath": "latin.txt", "oldString": "name = 1", "newString": "name = 2"},
        make_ctx(tmp_path),
    )
    assert target.read_bytes() == b"caf\xe9\nname = 2\n"


async def test_concurrent_edits_of_one_file_all_land(tmp_path: Path) -> None:
    target = tmp_path / "many.txt"
    target.write_text("".join(f"line {n}\n" for n in range(20)))
    tool, ctx = EditTool(), make_ctx(tmp_path)
    await asyncio.gather(
        *(
            tool.execute(
                {"filePath": "many.txt", "oldString": f"line {n}\n", "newString": f"L{n}\n"},
                ctx,
            )
            for n in range(20)
        )
    )
    assert target.read_text() == "".join(f"L{n}\n" for n in range(20))


def test_permission_pattern_is_the_project_relative_path(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    assert EditTool().permission_patterns({"filePath": "src/a.py"}, ctx) == ["src/a.py"]
    outside = str(tmp_path.parent / "x.py")
    assert EditTool().permission_patterns({"filePath": outside}, ctx) == [outside]


async def test_editing_outside_the_project_asks_and_a_refusal_stops_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    outside = tmp_path / "other" / "a.txt"
    outside.parent.mkdir()
    outside.write_text("x")
    asks = Asks(deny=True)
    with pytest.raises(PermissionDeniedError):
        await EditTool().execute(
            {"filePath": "../other/a.txt", "oldString": "x", "newString": "y"},
            make_ctx(project, asks),
        )
    assert asks.calls[0][:2] == ("external_directory", [str(tmp_path / "other" / "*")])
    assert outside.read_text() == "x"
