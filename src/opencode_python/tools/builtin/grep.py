"""The ``grep`` tool: lines matching a regex, with ripgrep when installed.

ripgrep is much faster on big trees; the pure-Python search gives the same answer
wherever ripgrep is missing. Both search every file (hidden ones too, ``.gitignore`` is
not consulted) except in the junk directories, skip binary files and symlinks, and
produce the same matches, which one formatter sorts and caps.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult
from .filesystem import (
    JUNK_DIRS,
    compile_glob,
    cut_line,
    modified_time,
    not_found,
    tool_schema,
    walk_files,
)
from .paths import check_external, display_path
from .safe_open import checked_path, child_cwd, open_checked, read_file

LIMIT = 100

DESCRIPTION = f"""\
Search file contents with a regular expression.

- pattern is a regex ("log.*Error", "def \\w+_handler", "TODO|FIXME"); escape regex \
characters to search for them literally ("foo\\(").
- path is the directory (or file) to search; it defaults to the working directory.
- include keeps only files whose names match a glob ("*.py", "*.{{ts,tsx}}", "src/**/*.go").
- Returns the matching lines grouped by file, with line numbers, most recently modified \
files first, at most {LIMIT} matches.
- Dependency, cache and build directories (node_modules, .git, .venv, dist, build, ...) \
and binary files are not searched.
- To find files by name, use glob.
"""


class GrepParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(description="The regular expression to search for.")
    path: str | None = Field(
        default=None,
        description="The directory or file to search (absolute, or relative to the working "
        "directory). Defaults to the working directory.",
    )
    include: str | None = Field(
        default=None, description="Only search files matching this glob, like '*.py'."
    )


@dataclass(frozen=True, slots=True)
class Match:
    path: Path
    line: int
    text: str


def search_python(root: Path, pattern: str, include: str | None) -> list[Match]:
    """Every matching line under ``root`` (a directory or one file), in pure Python."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"Invalid regex {pattern!r}: {exc}") from None
    if root.is_file():
        files = [root]
    else:
        selected = compile_glob(include) if include else None
        files = [
            path
            for relative, path in walk_files(root)
            if selected is None or selected.fullmatch(relative)
        ]
    matches: list[Match] = []
    for path in files:
        try:
            data = read_file(path)
        except OSError:
            continue
        if b"\0" in data:
            continue  # binary, as ripgrep decides
        lines = data.decode("utf-8", "replace").split("\n")
        if lines[-1] == "":
            lines.pop()  # the end of the last line, not a line
        for number, line in enumerate(lines, 1):
            if regex.search(line):
                matches.append(Match(path, number, line.removesuffix("\r")))
    return matches


def _text(field: dict[str, Any]) -> str:
    """A ripgrep JSON string field: ``{"text": ...}``, or ``{"bytes": base64}`` for non-UTF-8."""
    if "text" in field:
        return str(field["text"])
    return base64.b64decode(field["bytes"]).decode("utf-8", "replace")


async def search_ripgrep(rg: str, root: Path, pattern: str, include: str | None) -> list[Match]:
    """Every matching line under the directory ``root``, from ``rg --json``."""
    command = [rg, "--json", "--no-config", "--hidden", "--no-ignore"]
    for name in sorted(JUNK_DIRS):
        command += ["--glob", f"!{name}/"]
    if include:
        command += ["--glob", include]
    command += ["--regexp", pattern]
    with open_checked(root, os.O_DIRECTORY) as fd:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=child_cwd(fd, root),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    try:
        stdout, stderr = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    matches: list[Match] = []
    for raw in stdout.splitlines():
        event = json.loads(raw)
        if event["type"] != "match":
            continue
        data = event["data"]
        text = _text(data["lines"]).removesuffix("\n").removesuffix("\r")
        matches.append(Match(root / _text(data["path"]), data["line_number"], text))
    if process.returncode == 2 and not matches:
        # 2 also means "some file was unreadable" or "no file passed the filters": only
        # a bad regex or glob is the caller's mistake (the Python search skips the rest)
        message = stderr.decode("utf-8", "replace").strip()
        if "regex parse error" in message:
            raise ToolError(f"Invalid regex {pattern!r}: {message}")
        if "error parsing glob" in message:
            raise ToolError(f"Invalid include glob {include!r}: {message}")
    return matches


def format_matches(matches: list[Match]) -> tuple[str, bool]:
    """The output the model reads, and whether it was cut at ``LIMIT`` matches.

    Files are ordered by modification time, newest first (the likeliest to matter), then
    by path; lines within a file by number.
    """
    if not matches:
        return "No files found", False
    mtimes = {match.path: modified_time(match.path) for match in matches}
    ordered = sorted(matches, key=lambda m: (-mtimes[m.path], str(m.path), m.line))
    shown = ordered[:LIMIT]
    truncated = len(ordered) > LIMIT
    header = f"Found {len(ordered)} match{'' if len(ordered) == 1 else 'es'}"
    lines = [header + (f" (showing the first {LIMIT})" if truncated else "")]
    current: Path | None = None
    for match in shown:
        if match.path != current:
            if current is not None:
                lines.append("")
            lines.append(f"{match.path}:")
            current = match.path
        lines.append(f"  Line {match.line}: {cut_line(match.text)}")
    if truncated:
        lines += ["", "(Results are truncated. Use a more specific path, pattern or include.)"]
    return "\n".join(lines), truncated


class GrepTool(Tool):
    """Regex search over files, as OpenCode's ``grep``.

    ``use_ripgrep=False`` always searches in Python (the tests compare both).
    """

    id = "grep"
    description = DESCRIPTION

    def __init__(self, *, use_ripgrep: bool = True) -> None:
        self.use_ripgrep = use_ripgrep

    def parameters(self) -> dict[str, Any]:
        return tool_schema(GrepParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [display_path(ctx, checked_path(ctx, args.get("path") or "."))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = GrepParams.model_validate(args)
        root = checked_path(ctx, params.path or ".")
        await check_external(ctx, root, kind="directory" if root.is_dir() else "file")
        if not root.exists():
            raise not_found(ctx, root, "Path")
        rg = shutil.which("rg") if self.use_ripgrep else None
        if rg is not None and root.is_dir():
            matches = await search_ripgrep(rg, root, params.pattern, params.include)
        else:
            matches = await asyncio.to_thread(search_python, root, params.pattern, params.include)
        output, truncated = await asyncio.to_thread(format_matches, matches)
        return ToolResult(
            title=params.pattern,
            output=output,
            metadata={"matches": len(matches), "truncated": truncated},
        )
