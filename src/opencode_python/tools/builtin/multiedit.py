"""The ``multiedit`` tool: several edits of one file, all applied or none."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult, rename_arguments
from .edit import RENAMED_EDIT_ARGUMENTS, edit_text
from .edit_matching import EditMatchError
from .filesystem import change_result, locked, read_text_file, tool_schema, write_text_file
from .paths import check_external, display_path
from .safe_open import checked_path

DESCRIPTION = """\
Make several edits to one file in one call. Prefer it to repeated edit calls on the \
same file.

- Each edit works like the edit tool (oldString, newString, replaceAll), and they are \
applied in order, each to the result of the ones before: make sure an earlier edit does \
not change the text a later one looks for.
- All or nothing: if any edit fails, none is applied and the file is unchanged; the error \
says which edit failed and why.
- To create a new file, give the first edit an empty oldString and the content as \
newString; later edits then change that content.
"""


class OneEdit(BaseModel):
    # by name: the snake_case spelling of before 0.2, for code that calls execute()
    model_config = ConfigDict(extra="forbid", validate_by_name=True)

    file_path: str | None = Field(
        alias="filePath",
        default=None,
        description="The file, as in OpenCode's edit; when given, the same as the call's.",
    )
    old_string: str = Field(alias="oldString", description="The exact text to replace.")
    new_string: str = Field(
        alias="newString", description="The text to put in its place (must differ)."
    )
    replace_all: bool = Field(
        alias="replaceAll",
        default=False,
        description="Replace every match instead of requiring exactly one.",
    )


class MultiEditParams(BaseModel):
    # by name: the snake_case spelling of before 0.2, for code that calls execute()
    model_config = ConfigDict(extra="forbid", validate_by_name=True)

    file_path: str = Field(
        alias="filePath",
        description="The file to change: an absolute path, or relative to the working directory.",
    )
    edits: list[OneEdit] = Field(min_length=1, description="The edits, applied in this order.")


class MultiEditTool(Tool):
    """Several ``edit``s of one file, checked together before anything is written."""

    id = "multiedit"
    description = DESCRIPTION
    renamed_arguments: ClassVar[Mapping[str, str]] = {"file_path": "filePath"}

    def upgrade_arguments(self, args: dict[str, Any]) -> dict[str, Any]:
        """The edit tool's old names inside ``edits`` too."""
        upgraded = super().upgrade_arguments(args)
        edits = upgraded.get("edits")
        if not isinstance(edits, list):
            return upgraded
        renamed = [
            rename_arguments(e, RENAMED_EDIT_ARGUMENTS) if isinstance(e, dict) else e for e in edits
        ]
        if all(new is old for new, old in zip(renamed, edits, strict=True)):
            return upgraded
        return {**upgraded, "edits": renamed}

    def parameters(self) -> dict[str, Any]:
        return tool_schema(MultiEditParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, checked_path(ctx, args["filePath"]))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = MultiEditParams.model_validate(args)
        path = checked_path(ctx, params.file_path)
        for number, edit in enumerate(params.edits, 1):
            if edit.file_path is not None and checked_path(ctx, edit.file_path) != path:
                raise ToolError(
                    f"Edit {number} names {edit.file_path}, but this call edits "
                    f"{params.file_path}: multiedit changes one file; call it once per file."
                )
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
