"""The ``glob`` tool: files by name pattern, most recently modified first."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult
from .filesystem import compile_glob, modified_time, not_found, tool_schema, walk_files
from .paths import check_external, display_path
from .safe_open import checked_path

LIMIT = 100

DESCRIPTION = f"""\
Find files by name with a glob pattern, in any size of codebase.

- Patterns: `*` matches within one path segment, `**` across directories, `?` one \
character, `[abc]` a set, `{{a,b}}` alternatives. A pattern without a slash matches file \
names at any depth ("*.py"); one with a slash is relative to the search directory \
("src/**/*.ts", "tests/test_*.py").
- path is the directory to search; it defaults to the working directory.
- Returns absolute paths, most recently modified first, at most {LIMIT}.
- Dependency, cache and build directories (node_modules, .git, .venv, dist, build, ...) \
are not searched.
- To search file contents, use grep.
"""


class GlobParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(description="The glob pattern, such as '**/*.py' or 'src/*.{ts,tsx}'.")
    path: str | None = Field(
        default=None,
        description="The directory to search (absolute, or relative to the working "
        "directory). Defaults to the working directory.",
    )


def split_absolute(pattern: str) -> tuple[str | None, str]:
    """An absolute pattern as (directory, relative pattern): ``/a/b/**/*.py`` →
    (``/a/b``, ``**/*.py``). Relative patterns come back unchanged, with no directory."""
    if not pattern.startswith(("/", "~")):
        return None, pattern
    parts = pattern.split("/")
    fixed = 0
    while fixed < len(parts) - 1 and not any(c in parts[fixed] for c in "*?[{"):
        fixed += 1
    return "/".join(parts[:fixed]) or "/", "/".join(parts[fixed:])


def find(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` that ``pattern`` matches, newest first (then by path)."""
    regex = compile_glob(pattern)
    found = [path for relative, path in walk_files(root) if regex.fullmatch(relative)]
    return sorted(found, key=lambda path: (-modified_time(path), str(path)))


class GlobTool(Tool):
    """Glob over the tree (skipping junk directories), as OpenCode's ``glob``."""

    id = "glob"
    description = DESCRIPTION

    def parameters(self) -> dict[str, Any]:
        return tool_schema(GlobParams)

    def _root_and_pattern(self, args: dict[str, Any], ctx: ToolContext) -> tuple[Path, str]:
        directory, pattern = split_absolute(args["pattern"])
        return checked_path(ctx, directory or args.get("path") or "."), pattern

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, self._root_and_pattern(args, ctx)[0])]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        GlobParams.model_validate(args)
        root, pattern = self._root_and_pattern(args, ctx)
        await check_external(ctx, root, kind="directory")
        if not root.is_dir():
            if root.exists():
                raise ToolError(f"{display_path(ctx, root)} is a file; path must be a directory.")
            raise not_found(ctx, root, "Directory")
        found = await asyncio.to_thread(find, root, pattern)
        shown = found[:LIMIT]
        if not shown:
            output = "No files found"
        else:
            output = "\n".join(os.fspath(path) for path in shown)
            if len(found) > LIMIT:
                output += (
                    f"\n\n(Showing the {LIMIT} most recently modified of {len(found)} files. "
                    "Use a more specific path or pattern.)"
                )
        return ToolResult(
            title=display_path(ctx, root),
            output=output,
            metadata={"count": len(found), "truncated": len(found) > LIMIT},
        )
