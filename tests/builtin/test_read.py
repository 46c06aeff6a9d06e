"""The read tool on real files."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from opencode_python.core.errors import PermissionDeniedError, ToolError
from opencode_python.permissions import DEFAULT_RULES, evaluate
from opencode_python.tools.builtin.read import ReadTool

from .file_tool_support import Asks, make_ctx

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def read(root: Path, **args: object) -> str:
    return (await ReadTool().execute(dict(args), make_ctx(root))).output


async def test_lines_are_numbered(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("first\nsecond\n")
    result = await ReadTool().execute({"filePath": "a.py"}, make_ctx(tmp_path))
    assert result.output == (
        "<file>\n00001| first\n00002| second\n\n(End of file - total 2 lines)\n</file>"
    )
    assert result.title == "a.py"


async def test_offset_and_limit(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    # offset is the first line shown, 1-indexed, as in OpenCode; 0 reads as 1
    output = await read(tmp_path, filePath="n.txt", offset=4, limit=2)
    assert output == (
        "<file>\n00004| line 4\n00005| line 5\n\n"
        "(File has more lines. Use offset=6 to read beyond line 5.)\n</file>"
    )
    assert "00010| line 10\n\n(End of file - total 10 lines)" in await read(
        tmp_path, filePath="n.txt", offset=9
    )
    assert await read(tmp_path, filePath="n.txt", offset=0, limit=1) == await read(
        tmp_path, filePath="n.txt", offset=1, limit=1
    )
    assert "00010| line 10" in await read(tmp_path, filePath="n.txt", offset=10)
    with pytest.raises(ToolError, match=r"offset=11 is past the end of n\.txt, which has 10 lines"):
        await read(tmp_path, filePath="n.txt", offset=11)


async def test_default_limit_is_2000_lines(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x\n" * 2500)
    output = await read(tmp_path, filePath="big.txt")
    assert "02000| x\n\n(File has more lines. Use offset=2001 to read beyond line 2000.)" in output
    assert "02001|" not in output


async def test_long_lines_are_cut_and_output_is_capped(tmp_path: Path) -> None:
    (tmp_path / "wide.txt").write_text("a" * 3000 + "\nshort\n")
    output = await read(tmp_path, filePath="wide.txt")
    assert "00001| " + "a" * 2000 + "... (line truncated to 2000 chars)\n00002| short" in output
    (tmp_path / "heavy.txt").write_text(("b" * 1000 + "\n") * 100)
    output = await read(tmp_path, filePath="heavy.txt")
    assert "(Output capped at 50 KB. Use offset=51 to read beyond line 50.)" in output


async def test_crlf_and_a_byte_order_mark_do_not_show(tmp_path: Path) -> None:
    (tmp_path / "win.txt").write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\n")
    assert "<file>\n00001| one\n00002| two\n\n" in await read(tmp_path, filePath="win.txt")


async def test_empty_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    assert "(The file is empty.)" in await read(tmp_path, filePath="empty.txt")


async def test_binary_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "archive.zip").write_bytes(b"PK")
    (tmp_path / "data").write_bytes(b"abc\0def")
    (tmp_path / "noise").write_bytes(bytes(range(1, 9)) * 100)
    with pytest.raises(ToolError, match=r"binary file \(\.zip files are binary\)"):
        await read(tmp_path, filePath="archive.zip")
    with pytest.raises(ToolError, match="NUL bytes"):
        await read(tmp_path, filePath="data")
    with pytest.raises(ToolError, match="not text"):
        await read(tmp_path, filePath="noise")


async def test_images_come_back_as_attachments(tmp_path: Path) -> None:
    (tmp_path / "dot.png").write_bytes(PNG)
    result = await ReadTool().execute({"filePath": "dot.png"}, make_ctx(tmp_path))
    assert (
        result.output == f"Image dot.png (image/png, {len(PNG)} bytes) is attached to this result."
    )
    [attachment] = result.attachments or []
    assert attachment.mime == "image/png"
    assert attachment.filename == "dot.png"
    assert attachment.url == "data:image/png;base64," + base64.b64encode(PNG).decode()


async def test_a_directory_is_listed(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "b.txt").write_text("")
    (tmp_path / "a.txt").write_text("")
    output = await read(tmp_path, filePath=".")
    assert output == ". is a directory:\na.txt\nb.txt\npkg/\n(3 entries)"
    paged = await read(tmp_path, filePath=".", offset=2, limit=1)
    assert paged == ". is a directory:\nb.txt\n(Showing 1 of 3 entries. Use offset=3 for more.)"


async def test_missing_file_suggests_similar_names(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/settings.py").write_text("")
    (tmp_path / "src/unrelated.md").write_text("")
    with pytest.raises(ToolError) as info:
        await read(tmp_path, filePath="src/setting.py")
    assert str(info.value) == (
        "File not found: src/setting.py\n\nDid you mean one of these?\nsrc/settings.py"
    )
    with pytest.raises(ToolError, match="does not exist either"):
        await read(tmp_path, filePath="nowhere/x.py")


async def test_reading_via_dotdot_asks_for_the_outside_directory(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "notes.txt").write_text("secret")
    asks = Asks()
    output = (
        await ReadTool().execute({"filePath": "../notes.txt"}, make_ctx(project, asks))
    ).output
    assert "secret" in output
    [(permission, patterns, metadata)] = asks.calls
    assert (permission, patterns) == ("external_directory", [str(tmp_path / "*")])
    assert metadata["path"] == str(tmp_path / "notes.txt")


async def test_reading_via_a_symlink_out_of_the_project_asks(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (project / "shortcut").symlink_to(outside)
    asks = Asks(deny=True)
    with pytest.raises(PermissionDeniedError):
        await ReadTool().execute({"filePath": "shortcut/secret.txt"}, make_ctx(project, asks))
    assert [c[:2] for c in asks.calls] == [("external_directory", [str(outside / "*")])]
    asks = Asks()
    await ReadTool().execute({"filePath": "shortcut"}, make_ctx(project, asks))
    assert [c[:2] for c in asks.calls] == [("external_directory", [str(outside / "*")])]


async def test_inside_the_project_nothing_is_asked(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    asks = Asks()
    await ReadTool().execute({"filePath": str(tmp_path / "a.txt")}, make_ctx(tmp_path, asks))
    assert asks.calls == []


def test_permission_pattern_matches_env_rules(tmp_path: Path) -> None:
    [pattern] = ReadTool().permission_patterns({"filePath": ".env"}, make_ctx(tmp_path))
    assert pattern == ".env"
    assert evaluate("read", pattern, DEFAULT_RULES).action == "ask"
