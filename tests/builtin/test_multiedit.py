"""The multiedit tool: edits in order, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.multiedit import MultiEditTool

from .file_tool_support import make_ctx


async def test_edits_apply_in_order(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("a = 1\nb = 2\n")
    result = await MultiEditTool().execute(
        {
            "filePath": "a.py",
            "edits": [
                {"oldString": "a = 1", "newString": "a = 10"},
                {"oldString": "a = 10\nb = 2", "newString": "a = 10\nb = 20"},  # sees edit 1
                {"oldString": "0", "newString": "00", "replaceAll": True},
            ],
        },
        make_ctx(tmp_path),
    )
    assert target.read_text() == "a = 100\nb = 200\n"
    assert result.output == "Applied 3 edit(s) to a.py."
    assert (result.metadata["additions"], result.metadata["deletions"]) == (2, 2)


async def test_a_failing_edit_leaves_the_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("a = 1\nb = 2\n")
    with pytest.raises(ToolError, match=r"Edit 2 of 3 failed: Could not find.*a\.py is unchanged"):
        await MultiEditTool().execute(
            {
                "filePath": "a.py",
                "edits": [
                    {"oldString": "a = 1", "newString": "a = 10"},
                    {"oldString": "c = 3", "newString": "c = 30"},
                    {"oldString": "b = 2", "newString": "b = 20"},
                ],
            },
            make_ctx(tmp_path),
        )
    assert target.read_text() == "a = 1\nb = 2\n"


async def test_first_edit_with_empty_oldString_creates_the_file(tmp_path: Path) -> None:
    result = await MultiEditTool().execute(
        {
            "filePath": "new.txt",
            "edits": [
                {"oldString": "", "newString": "hello world\n"},
                {"oldString": "world", "newString": "there"},
            ],
        },
        make_ctx(tmp_path),
    )
    assert (tmp_path / "new.txt").read_text() == "hello there\n"
    assert result.output == "Created new.txt and applied 1 more edit(s)."


async def test_missing_file_without_creation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"File not found: gone\.txt"):
        await MultiEditTool().execute(
            {"filePath": "gone.txt", "edits": [{"oldString": "a", "newString": "b"}]},
            make_ctx(tmp_path),
        )


def test_schema_is_flat_for_providers() -> None:
    schema = MultiEditTool().parameters()
    assert "$defs" not in schema
    assert "$ref" not in str(schema)
    edit = schema["properties"]["edits"]["items"]
    assert edit["required"] == ["oldString", "newString"]
    assert schema["required"] == ["filePath", "edits"]
