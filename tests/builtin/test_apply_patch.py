"""apply_patch: parsing, locating hunks, and all-or-nothing writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.apply_patch import (
    ApplyPatchTool,
    Hunk,
    PatchError,
    apply_hunks,
    parse_patch,
    seek,
)

from .file_tool_support import Asks, make_ctx


def patch(*lines: str) -> str:
    return "\n".join(["*** Begin Patch", *lines, "*** End Patch"])


async def run(root: Path, text: str, asks: Asks | None = None) -> str:
    result = await ApplyPatchTool().execute({"patchText": text}, make_ctx(root, asks))
    return result.output


async def test_add_update_delete_and_move(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import os\n\ndef main():\n    run(1)\n    done()\n")
    (tmp_path / "old.txt").write_text("a\nb\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    output = await run(
        tmp_path,
        patch(
            "*** Add File: pkg/new.py",
            "+x = 1",
            "+y = 2",
            "*** Update File: app.py",
            "@@ def main():",
            "-    run(1)",
            "+    run(2)",
            "     done()",
            "*** Update File: old.txt",
            "*** Move to: moved/new.txt",
            "@@",
            " a",
            "-b",
            "+c",
            "*** Delete File: gone.txt",
        ),
    )
    assert output == (
        "Success. Updated the following files:\n"
        "A pkg/new.py\nM app.py\nM moved/new.txt (moved from old.txt)\nD gone.txt"
    )
    assert (tmp_path / "pkg/new.py").read_text() == "x = 1\ny = 2\n"
    assert (tmp_path / "app.py").read_text() == "import os\n\ndef main():\n    run(2)\n    done()\n"
    assert not (tmp_path / "old.txt").exists()
    assert (tmp_path / "moved/new.txt").read_text() == "a\nc\n"
    assert not (tmp_path / "gone.txt").exists()


async def test_a_failing_second_hunk_leaves_every_file_untouched(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("alpha\nbeta\n")
    (tmp_path / "two.txt").write_text("first\nsecond\nthird\n")
    (tmp_path / "three.txt").write_text("keep me\n")
    text = patch(
        "*** Update File: one.txt",
        "@@",
        "-alpha",
        "+ALPHA",
        "*** Add File: added.txt",
        "+new",
        "*** Delete File: three.txt",
        "*** Update File: two.txt",
        "@@",
        "-first",
        "+FIRST",
        "@@",
        "-no such line",
        "+whatever",
    )
    with pytest.raises(PatchError) as info:
        await run(tmp_path, text)
    message = str(info.value)
    assert message.startswith("two.txt: hunk 2 (patch line 13) does not apply")
    assert "no such line" in message
    assert message.endswith("The patch was not applied; no file was changed.")
    assert (tmp_path / "one.txt").read_text() == "alpha\nbeta\n"
    assert (tmp_path / "two.txt").read_text() == "first\nsecond\nthird\n"
    assert (tmp_path / "three.txt").read_text() == "keep me\n"
    assert not (tmp_path / "added.txt").exists()


async def test_missing_context_header_names_the_hunk(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    text = patch("*** Update File: a.py", "@@ def g():", "-    pass", "+    return 1")
    with pytest.raises(
        PatchError, match=r"a\.py: hunk 1 \(patch line 3, @@ def g\(\):\) does not apply"
    ):
        await run(tmp_path, text)


async def test_operations_see_earlier_ones(tmp_path: Path) -> None:
    text = patch(
        "*** Add File: a.txt",
        "+one",
        "*** Update File: a.txt",
        "@@",
        "-one",
        "+two",
    )
    await run(tmp_path, text)
    assert (tmp_path / "a.txt").read_text() == "two\n"


async def test_refusals(tmp_path: Path) -> None:
    (tmp_path / "exists.txt").write_text("x\n")
    (tmp_path / "other.txt").write_text("y\n")
    with pytest.raises(PatchError, match=r"Cannot add exists\.txt: it already exists"):
        await run(tmp_path, patch("*** Add File: exists.txt", "+z"))
    with pytest.raises(PatchError, match=r"File not found: missing\.txt"):
        await run(tmp_path, patch("*** Delete File: missing.txt"))
    with pytest.raises(PatchError, match="destination already exists"):
        await run(tmp_path, patch("*** Update File: exists.txt", "*** Move to: other.txt"))
    assert (tmp_path / "exists.txt").read_text() == "x\n"


def test_parse_errors_name_the_line() -> None:
    with pytest.raises(PatchError, match="must start with the line"):
        parse_patch("*** Update File: a\n*** End Patch")
    with pytest.raises(PatchError, match="must end with the line"):
        parse_patch("*** Begin Patch\n*** Delete File: a")
    with pytest.raises(PatchError, match=r"Patch line 3: every line of an added file"):
        parse_patch(patch("*** Add File: a", "oops"))
    with pytest.raises(PatchError, match=r"Patch line 4: unexpected 'oops'"):
        parse_patch(patch("*** Update File: a", "@@", "oops"))
    with pytest.raises(PatchError, match=r"Patch line 2: expected"):
        parse_patch(patch("+stray"))
    with pytest.raises(PatchError, match="changes no files"):
        parse_patch(patch())
    with pytest.raises(PatchError, match="has no hunks"):
        parse_patch(patch("*** Update File: a"))


def test_parsing_is_lenient_where_models_slip() -> None:
    text = "cat <<'EOF'\n" + patch("*** Update File: a.py", " ctx", "-old", "", "+new") + "\nEOF"
    [operation] = parse_patch(text.replace("\n", "\r\n"))
    [hunk] = operation.hunks
    assert hunk.context is None  # the first "@@" may be left out
    assert (hunk.old, hunk.new) == (["ctx", "old", ""], ["ctx", "", "new"])


def test_blank_lines_between_sections_only_separate() -> None:
    text = patch("*** Add File: a", "+x", "", "", "*** Update File: b", "@@", "-y", "+z", "", "")
    add, update = parse_patch(text)
    assert add.content == "x\n"
    assert (update.hunks[0].old, update.hunks[0].new) == (["y"], ["z"])


def test_seek_tolerates_whitespace_and_punctuation() -> None:
    lines = ["a  ", "  b", "say “hi” — now"]
    assert seek(lines, ["a", "  b"], 0, False) == 0
    assert seek(lines, ["b"], 0, False) == 1
    assert seek(lines, ['say "hi" - now'], 0, False) == 2
    assert seek(["x", "y", "x"], ["x"], 0, True) == 2
    assert seek(["x"], ["x", "y"], 0, False) is None


def test_apply_hunks_details() -> None:
    # pure addition after its context line, and at the end without one
    text = "class A:\n    pass\n"
    added = apply_hunks(text, [Hunk(context="class A:", line=1, new=["    x = 1"])], "a.py")
    assert added == "class A:\n    x = 1\n    pass\n"
    appended = apply_hunks(text, [Hunk(context=None, line=1, new=["B = 1"])], "a.py")
    assert appended == "class A:\n    pass\nB = 1\n"
    # end of file anchor, CRLF kept, missing final newline kept
    hunk = Hunk(context=None, line=1, old=["x"], new=["z"], end_of_file=True)
    assert apply_hunks("x\r\ny\r\nx\r\n", [hunk], "f") == "x\r\ny\r\nz\r\n"
    assert apply_hunks("x\ny\nx", [hunk], "f") == "x\ny\nz"
    # a trailing blank line the model added to the old lines is forgiven
    blank = Hunk(context=None, line=1, old=["x", ""], new=["z", ""])
    assert apply_hunks("x", [blank], "f") == "z"


async def test_permission_patterns_and_external_asks(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.txt").write_text("a\n")
    text = patch(
        "*** Update File: a.txt",
        "*** Move to: b.txt",
        "*** Add File: ../elsewhere/c.txt",
        "+c",
    )
    tool, ctx = ApplyPatchTool(), make_ctx(project)
    assert tool.permission_patterns({"patchText": text}, ctx) == [
        "a.txt",
        "b.txt",
        str(tmp_path / "elsewhere" / "c.txt"),
    ]
    asks = Asks()
    await run(project, text, asks)
    assert [c[:2] for c in asks.calls] == [
        ("external_directory", [str(tmp_path / "elsewhere" / "*")])
    ]
    assert (tmp_path / "elsewhere/c.txt").read_text() == "c\n"
    assert (project / "b.txt").read_text() == "a\n"
    with pytest.raises(ToolError, match="must start with"):
        tool.permission_patterns({"patchText": "garbage"}, ctx)


async def test_result_metadata_has_per_file_diffs(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1\n2\n")
    result = await ApplyPatchTool().execute(
        {"patchText": patch("*** Update File: a.txt", "@@", "-2", "+3", "+4")},
        make_ctx(tmp_path),
    )
    assert result.metadata["files"] == [
        {"path": "a.txt", "type": "M", "additions": 2, "deletions": 1}
    ]
    assert "-2\n+3\n+4" in result.metadata["diff"]
    assert result.title == "a.txt"
