"""Paths as the built-in tools see them: resolved, checked against the project.

A path is resolved against the working directory with ``..`` and symlinks followed,
so a path that escapes the project any way at all is caught as ``external_directory``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from ..framework import ToolContext


def resolve_path(ctx: ToolContext, path: str) -> Path:
    """``path`` (absolute, ``~``, or relative to the working directory), fully resolved."""
    return resolve_from(Path(ctx.working_dir), path)


def resolve_from(directory: Path, path: str) -> Path:
    """``path`` (absolute, ``~``, or relative to ``directory``), fully resolved."""
    candidate = Path(os.path.expanduser(path))
    return (candidate if candidate.is_absolute() else directory / candidate).resolve()


def project_root(ctx: ToolContext) -> Path:
    return Path(ctx.directory).resolve()


def is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def display_path(ctx: ToolContext, path: Path) -> str:
    """The path relative to the project when inside it (the subject rules match), else absolute."""
    root = project_root(ctx)
    return str(path.relative_to(root)) if is_inside(path, root) else str(path)


async def check_external(
    ctx: ToolContext, path: Path, *, kind: Literal["file", "directory"] = "file"
) -> None:
    """Ask ``external_directory`` for a path outside the project (raises if refused)."""
    if is_inside(path, project_root(ctx)):
        return
    directory = path if kind == "directory" else path.parent
    pattern = str(directory / "*")
    await ctx.ask("external_directory", [pattern], {"path": str(path), "directory": str(directory)})
