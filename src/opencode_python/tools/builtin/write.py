"""The ``write`` tool: a whole file's content, created or replaced."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult
from .filesystem import change_result, locked, tool_schema, write_text_file
from .paths import check_external, display_path
from .safe_open import checked_path, read_file

DESCRIPTION = """\
Write a file: create it, or replace all of its content.

- Missing parent directories are created.
- It replaces the whole file. To change part of an existing file, use edit (or \
multiedit): it sends only the change and cannot drop the rest by accident.
- Read an existing file before overwriting it.
- Do not create documentation or README files unless asked to.
"""


class WriteParams(BaseModel):
    # by name: the snake_case spelling of before 0.2, for code that calls execute()
    model_config = ConfigDict(extra="forbid", validate_by_name=True)

    file_path: str = Field(
        alias="filePath",
        description="The file to write: an absolute path, or relative to the working directory.",
    )
    content: str = Field(description="The complete content of the file.")


class WriteTool(Tool):
    """Create or overwrite a file; the result says which, with a diff in the metadata."""

    id = "write"
    description = DESCRIPTION
    renamed_arguments: ClassVar[Mapping[str, str]] = {"file_path": "filePath"}

    def parameters(self) -> dict[str, Any]:
        return tool_schema(WriteParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, checked_path(ctx, args["filePath"]))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = WriteParams.model_validate(args)
        path = checked_path(ctx, params.file_path)
        await check_external(ctx, path)
        return await asyncio.to_thread(self._write, ctx, path, params.content)

    def _write(self, ctx: ToolContext, path: Path, content: str) -> ToolResult:
        shown = display_path(ctx, path)
        with locked(path):
            if path.is_dir():
                raise ToolError(f"{shown} is a directory; give the path of a file to write.")
            existed = path.exists()
            before = read_file(path).decode("utf-8", "surrogateescape") if existed else ""
            write_text_file(path, content)
        lines = content.count("\n") + (1 if content and not content.endswith("\n") else 0)
        if not existed:
            output = f"Created {shown} ({lines} lines)."
        elif before == content:
            output = f"{shown} already had this content; nothing changed."
        else:
            output = f"Overwrote {shown} ({lines} lines)."
        result = change_result(ctx, path, before, content, output)
        result.metadata["created"] = not existed
        return result
