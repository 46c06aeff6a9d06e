"""The ``list`` tool: a directory as a tree, without the junk."""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult
from .filesystem import JUNK_DIRS, compile_glob, not_found, scan_dir, tool_schema
from .paths import check_external, display_path
from .safe_open import checked_path

LIMIT = 100

DESCRIPTION = f"""\
List a directory as a tree: subdirectories first, then files, indented by depth.

- path defaults to the working directory; give an absolute path or one relative to it.
- Version control data, dependencies, caches and build output ({", ".join(sorted(JUNK_DIRS))}) \
are left out; so is anything matching an ignore glob ("*.log", "docs/generated/").
- At most {LIMIT} entries are shown, nearest first; list a subdirectory to see deeper.
- To find files by name, glob is better; to find text in files, use grep.
"""


class ListParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(
        default=None,
        description="The directory to list (absolute, or relative to the working directory). "
        "Defaults to the working directory.",
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="Glob patterns of entries to leave out, such as '*.log' or 'docs/build/'.",
    )


def collect(root: Path, ignore: list[str]) -> tuple[list[tuple[str, bool]], bool]:
    """Up to ``LIMIT`` entries (relative path, is a directory), breadth first, and whether
    there were more: a cut tree then still shows the top levels."""
    patterns = [compile_glob(pattern) for pattern in ignore]
    entries: list[tuple[str, bool]] = []
    queue: deque[tuple[Path, str]] = deque([(root, "")])
    while queue:
        directory, prefix = queue.popleft()
        for entry in scan_dir(directory):
            relative = prefix + entry.name
            if any(pattern.fullmatch(relative) for pattern in patterns):
                continue
            if len(entries) >= LIMIT:
                return entries, True
            entries.append((relative, entry.is_dir))
            if entry.is_dir:
                queue.append((directory / entry.name, relative + "/"))
    return entries, False


def render(root: Path, entries: list[tuple[str, bool]]) -> str:
    """``root/`` and its entries, two spaces of indent per level, directories first."""
    children: dict[str, list[tuple[str, bool]]] = {}
    for relative, is_dir in entries:
        parent, _, name = relative.rpartition("/")
        children.setdefault(parent, []).append((name, is_dir))
    lines = [f"{root}/"]

    def add(parent: str, depth: int) -> None:
        for name, is_dir in sorted(children.get(parent, []), key=lambda c: (not c[1], c[0])):
            lines.append("  " * depth + (f"{name}/" if is_dir else name))
            if is_dir:
                add(f"{parent}/{name}" if parent else name, depth + 1)

    add("", 1)
    return "\n".join(lines)


class ListTool(Tool):
    """A bounded tree of a directory, as OpenCode's ``list``."""

    id = "list"
    description = DESCRIPTION

    def parameters(self) -> dict[str, Any]:
        return tool_schema(ListParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, checked_path(ctx, args.get("path") or "."))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = ListParams.model_validate(args)
        root = checked_path(ctx, params.path or ".")
        await check_external(ctx, root, kind="directory")
        if not root.is_dir():
            if root.exists():
                raise ToolError(
                    f"{display_path(ctx, root)} is a file, not a directory; use read to see it."
                )
            raise not_found(ctx, root, "Directory")
        entries, truncated = await asyncio.to_thread(collect, root, params.ignore)
        output = render(root, entries)
        if truncated:
            output += (
                f"\n\n(Showing the first {LIMIT} entries, nearest first; there are more. "
                "List a subdirectory to see deeper, or use glob to find files by name.)"
            )
        return ToolResult(
            title=display_path(ctx, root),
            output=output,
            metadata={"count": len(entries), "truncated": truncated},
        )
