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
            "file_path": "a.py",
            "edits": [
                {"old_string": "a = 1", "new_string": "a = 10"},
                {"old_string": "a = 10\nb = 2", "new_string": "a = 10\nb = 20"},  # sees edit 1
                {"old_string": "0", "new_string": "00", "replace_all": True},
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
                "file_path": "a.py",
                "edits": [
                    {"old_string": "a = 1", "new_string": "a = 10"},
                    {"old_string": "c = 3", "new_string": "c = 30"},
                    {"old_string": "b = 2", "new_string": "b = 20"},
                ],
            },
            make_ctx(tmp_path),
        )
    assert target.read_text() == "a = 1\nb = 2\n"


async def test_first_edit_with_empty_old_string_creates_the_file(tmp_path: Path) -> None:
    result = await MultiEditTool().execute(
        {
            "file_path": "new.txt",
            "edits": [
                {"old_string": "", "new_string": "hello world\n"},
                {"old_string": "world", "new_string": "there"},
            ],
        },
        make_ctx(tmp_path),
    )
    assert (tmp_path / "new.txt").read_text() == "hello there\n"
    assert result.output == "Created new.txt and applied 1 more edit(s)."


async def test_missing_file_without_creation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"File not found: gone\.txt"):
        await MultiEditTool().execute(
            {"file_path": "gone.txt", "edits": [{"old_string": "a", "new_string": "b"}]},
            make_ctx(tmp_path),
        )


def test_schema_is_flat_for_providers() -> None:
    schema = MultiEditTool().parameters()
    assert "$defs" not in schema
    assert "$ref" not in str(schema)
    edit = schema["properties"]["edits"]["items"]
    assert edit["required"] == ["old_string", "new_string"]
    assert schema["required"] == ["file_path", "edits"]
