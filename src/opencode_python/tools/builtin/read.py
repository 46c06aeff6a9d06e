"""The ``read`` tool: a text file as numbered lines, an image as an attachment."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import stat
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolAttachment, ToolContext, ToolResult
from .filesystem import binary_reason, cut_line, not_found, tool_schema
from .paths import check_external, display_path
from .safe_open import checked_path, open_checked

DEFAULT_LIMIT = 2000
MAX_BYTES = 50 * 1024
"""What one read returns at most; the rest is a further read with ``offset`` away."""

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

DESCRIPTION = f"""\
Read a file from the filesystem.

- filePath is absolute, or relative to the working directory.
- By default it returns up to {DEFAULT_LIMIT} lines from the start of the file. For long \
files, give offset (the line number to start from, 1-indexed) and limit (how many lines \
to return).
- Lines are numbered: `00012| text` is line 12. The prefix is not part of the file: \
leave it out when you copy text into edit.
- Lines longer than 2000 characters are cut.
- Images (png, jpeg, gif, webp) are returned as attachments. Other binary files are refused.
- A directory returns a listing of its entries.
- Several files you may need can be read in one step, with parallel calls.
"""


class ReadParams(BaseModel):
    # by name: the snake_case spelling of before 0.2, for code that calls execute()
    model_config = ConfigDict(extra="forbid", validate_by_name=True)

    file_path: str = Field(
        alias="filePath",
        description="The file or directory to read: an absolute path, or relative to the "
        "working directory.",
    )
    offset: int = Field(
        default=1, ge=0, description="The line number to start reading from (1-indexed)."
    )
    limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        description=f"The maximum number of lines to read (defaults to {DEFAULT_LIMIT}).",
    )

    @property
    def skip(self) -> int:
        """Lines (or directory entries) before the first one shown; offset 0 reads as 1,
        as in OpenCode."""
        return max(self.offset, 1) - 1


def number(line_number: int, text: str) -> str:
    """One output line: ``00012| text``."""
    return f"{line_number:05d}| {text}"


class ReadTool(Tool):
    """Numbered lines of a text file, a directory listing, or an image attachment."""

    id = "read"
    description = DESCRIPTION
    renamed_arguments: ClassVar[Mapping[str, str]] = {"file_path": "filePath"}

    def parameters(self) -> dict[str, Any]:
        return tool_schema(ReadParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, checked_path(ctx, args["filePath"]))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = ReadParams.model_validate(args)
        path = checked_path(ctx, params.file_path)
        await check_external(ctx, path, kind="directory" if path.is_dir() else "file")
        return await asyncio.to_thread(self._read, ctx, path, params)

    def _read(self, ctx: ToolContext, path: Path, params: ReadParams) -> ToolResult:
        shown = display_path(ctx, path)
        irregular = ToolError(f"{shown} is not a regular file (a device, socket or pipe).")
        if path.exists() and not (path.is_dir() or path.is_file()):
            raise irregular  # before opening: opening a socket fails, a device may act
        with ExitStack() as stack:
            try:
                fd = stack.enter_context(open_checked(path))
            except (FileNotFoundError, NotADirectoryError):
                raise not_found(ctx, path) from None
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                return self._list(shown, fd, params)
            if not stat.S_ISREG(mode):
                raise irregular
            with open(fd, "rb", closefd=False) as handle:
                return self._file(shown, path, handle, params)

    def _file(self, shown: str, path: Path, handle: BinaryIO, params: ReadParams) -> ToolResult:
        mime = IMAGE_TYPES.get(path.suffix.lower())
        if mime is not None:
            data = handle.read()
            url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            return ToolResult(
                title=shown,
                output=f"Image {shown} ({mime}, {len(data)} bytes) is attached to this result.",
                metadata={"mime": mime, "size": len(data)},
                attachments=[ToolAttachment(mime=mime, url=url, filename=path.name)],
            )
        reason = binary_reason(path, handle.read(4096))
        if reason is not None:
            raise ToolError(
                f"Cannot read {shown}: it is a binary file ({reason}). The read tool shows "
                "text files and images (png, jpeg, gif, webp)."
            )
        handle.seek(0)
        return self._lines(shown, handle, params)

    def _lines(self, shown: str, binary: BinaryIO, params: ReadParams) -> ToolResult:
        shown_lines: list[str] = []
        size = total = 0
        capped = False
        with io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace") as handle:
            for total, raw in enumerate(handle, 1):
                if total <= params.skip or capped or len(shown_lines) >= params.limit:
                    continue
                line = number(total, cut_line(raw.rstrip("\n")))
                size += len(line.encode()) + 1
                if size > MAX_BYTES:
                    capped = True
                    continue
                shown_lines.append(line)
        if total == 0:
            return ToolResult(
                title=shown, output="<file>\n(The file is empty.)\n</file>", metadata={"lines": 0}
            )
        if params.skip >= total:
            raise ToolError(
                f"offset={params.offset} is past the end of {shown}, which has {total} lines. "
                f"Use an offset of at most {total}."
            )
        last = params.skip + len(shown_lines)
        if capped:
            note = (
                f"(Output capped at {MAX_BYTES // 1024} KB. "
                f"Use offset={last + 1} to read beyond line {last}.)"
            )
        elif last < total:
            note = f"(File has more lines. Use offset={last + 1} to read beyond line {last}.)"
        else:
            note = f"(End of file - total {total} lines)"
        body = "\n".join(shown_lines)
        return ToolResult(
            title=shown,
            output=f"<file>\n{body}\n\n{note}\n</file>",
            metadata={
                "lines": total,
                "truncated": last < total,
                "preview": "\n".join(shown_lines[:20]),
            },
        )

    def _list(self, shown: str, fd: int, params: ReadParams) -> ToolResult:
        with os.scandir(fd) as scan:
            names = sorted(entry.name + "/" if entry.is_dir() else entry.name for entry in scan)
        page = names[params.skip : params.skip + params.limit]
        end = params.skip + len(page)
        if end < len(names):
            note = f"(Showing {len(page)} of {len(names)} entries. Use offset={end + 1} for more.)"
        else:
            note = f"({len(names)} {'entry' if len(names) == 1 else 'entries'})"
        return ToolResult(
            title=shown,
            output=f"{shown} is a directory:\n" + "".join(f"{n}\n" for n in page) + note,
            metadata={"entries": len(names), "truncated": end < len(names)},
        )
