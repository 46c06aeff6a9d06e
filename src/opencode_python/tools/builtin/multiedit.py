"""The ``multiedit`` tool: several edits of one file, all applied or none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult
from .edit import edit_text
from .edit_matching import EditMatchError
from .filesystem import change_result, locked, read_text_file, tool_schema, write_text_file
from .paths import check_external, display_path
from .safe_open import checked_path

DESCRIPTION = """\
Make several edits to one file in one call. Prefer it to repeated edit calls on the \
same file.

- Each edit works like the edit tool (old_string, new_string, replace_all), and they are \
applied in order, each to the result of the ones before: make sure an earlier edit does \
not change the text a later one looks for.
- All or nothing: if any edit fails, none is applied and the file is unchanged; the error \
says which edit failed and why.
- To create a new file, give the first edit an empty old_string and the content as \
new_string; later edits then change that content.
"""


class OneEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_string: str = Field(description="The exact text to replace.")
    new_string: str = Field(description="The text to put in its place (must differ).")
    replace_all: bool = Field(
        default=False, description="Replace every match instead of requiring exactly one."
    )


class MultiEditParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_path: str = Field(
        description="The file to change: an absolute path, or relative to the working directory."
    )
    edits: list[OneEdit] = Field(min_length=1, description="The edits, applied in this order.")


class MultiEditTool(Tool):
    """Several ``edit``s of one file, checked together before anything is written."""

    id = "multiedit"
    description = DESCRIPTION

    def parameters(self) -> dict[str, Any]:
        return tool_schema(MultiEditParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, checked_path(ctx, args["file_path"]))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = MultiEditParams.model_validate(args)
        path = checked_path(ctx, params.file_path)
        await check_external(ctx, path)
        return await asyncio.to_thread(self._edit, ctx, path, params.edits)

    def _edit(self, ctx: ToolContext, path: Path, edits: list[OneEdit]) -> ToolResult:
        shown = display_path(ctx, path)
        total = len(edits)
        with locked(path):
            creating = edits[0].old_string == "" and not path.exists()
            before = "" if creating else read_text_file(ctx, path)
            content = edits[0].new_string if creating else before
            for number, edit in enumerate(edits[1:] if creating else edits, 2 if creating else 1):
                try:
                    content = edit_text(
                        content, edit.old_string, edit.new_string, edit.replace_all
                    ).content
                except EditMatchError as exc:
                    raise ToolError(
                        f"Edit {number} of {total} failed: {exc} No edit was applied; "
                        f"{shown} is unchanged."
                    ) from None
            write_text_file(path, content)
        if not creating:
            output = f"Applied {total} edit(s) to {shown}."
        elif total == 1:
            output = f"Created {shown}."
        else:
            output = f"Created {shown} and applied {total - 1} more edit(s)."
        return change_result(ctx, path, before, content, output)
