"""The ``edit`` tool: replace one exact piece of a file (tolerating small slips)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult
from .edit_matching import STRATEGY_NOTES, Replacement, replace
from .filesystem import (
    change_result,
    locked,
    read_text_file,
    tool_schema,
    write_text_file,
)
from .paths import check_external, display_path
from .safe_open import checked_path

DESCRIPTION = """\
Replace text in a file.

- oldString must match the file's text, including indentation and line breaks. Copy it \
from the read tool's output WITHOUT the line-number prefix (`00012| `): everything after \
the "| " is the line itself.
- oldString must match exactly one place. Include enough surrounding lines to make it \
unique, or set replaceAll to true to change every match (to rename a variable, say).
- Small slips in whitespace, indentation or escaping are tolerated; the result says \
when one was, so you can be exact next time.
- To create a new file, give an empty oldString and the whole content as newString.
- Read a file before editing it, and prefer editing existing files to writing new ones.
"""


class EditParams(BaseModel):
    # by name: the snake_case spelling of before 0.2, for code that calls execute()
    model_config = ConfigDict(extra="forbid", validate_by_name=True)

    file_path: str = Field(
        alias="filePath",
        description="The file to change: an absolute path, or relative to the working directory.",
    )
    old_string: str = Field(
        alias="oldString",
        description="The exact text to replace. Empty only to create a file that does not exist.",
    )
    new_string: str = Field(
        alias="newString", description="The text to put in its place (must differ)."
    )
    replace_all: bool = Field(
        alias="replaceAll",
        default=False,
        description="Replace every match instead of requiring exactly one.",
    )


#: The snake_case names edit took before 0.2 (see CHANGELOG.md).
RENAMED_EDIT_ARGUMENTS = {
    "file_path": "filePath",
    "old_string": "oldString",
    "new_string": "newString",
    "replace_all": "replaceAll",
}


def same_line_endings(content: str, text: str) -> str:
    """``text`` with the line endings ``content`` uses (CRLF files stay CRLF)."""
    text = text.replace("\r\n", "\n")
    return text.replace("\n", "\r\n") if "\r\n" in content else text


def edit_text(content: str, old: str, new: str, replace_all: bool) -> Replacement:
    """``replace`` on a file's text, with ``old`` and ``new`` in the file's line endings."""
    return replace(
        content, same_line_endings(content, old), same_line_endings(content, new), replace_all
    )


def describe(replacement: Replacement) -> str:
    """What the model reads after a successful edit."""
    text = "Edit applied successfully."
    if replacement.count > 1:
        text = f"Edit applied successfully: replaced {replacement.count} matches."
    note = STRATEGY_NOTES.get(replacement.strategy)
    if note:
        text += f" oldString was matched {note}."
    return text


class EditTool(Tool):
    """Exact string replacement, as OpenCode's ``edit``."""

    id = "edit"
    description = DESCRIPTION
    renamed_arguments = RENAMED_EDIT_ARGUMENTS

    def parameters(self) -> dict[str, Any]:
        return tool_schema(EditParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, checked_path(ctx, args["filePath"]))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = EditParams.model_validate(args)
        path = checked_path(ctx, params.file_path)
        await check_external(ctx, path)
        return await asyncio.to_thread(self._edit, ctx, path, params)

    def _edit(self, ctx: ToolContext, path: Path, params: EditParams) -> ToolResult:
        if params.old_string == params.new_string:
            raise ToolError("oldString and newString are identical, so there is nothing to change.")
        with locked(path):
            if params.old_string == "":
                if path.exists():
                    kind = "a directory" if path.is_dir() else "a file that already exists"
                    raise ToolError(
                        f"oldString is empty, but {display_path(ctx, path)} is {kind}. Give "
                        "the exact text to replace, or use the write tool to replace a whole file."
                    )
                write_text_file(path, params.new_string)
                return change_result(
                    ctx, path, "", params.new_string, f"Created {display_path(ctx, path)}."
                )
            before = read_text_file(ctx, path)
            replacement = edit_text(
                before, params.old_string, params.new_string, params.replace_all
            )
            write_text_file(path, replacement.content)
        result = change_result(ctx, path, before, replacement.content, describe(replacement))
        result.metadata["match"] = replacement.strategy
        return result
