"""Where the user's own configuration lives: ``opencode.json`` and ``AGENTS.md``."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "opencode-python"


def user_config_dir() -> Path:
    """The per-user config directory (``~/.config/opencode-python`` on Linux).

    platformdirs honours ``XDG_CONFIG_HOME`` and the macOS and Windows conventions. The
    directory is only read from, so it is not created here.
    """
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def directories_up(project_dir: Path, worktree: Path | None) -> list[Path]:
    """``project_dir`` and its parents up to ``worktree``, nearest first.

    Only ``project_dir`` when there is no worktree or the project is outside it, so a
    walk never leaves the repository (nor reads a stranger's files above it).
    """
    start = project_dir.expanduser().resolve()
    if worktree is None:
        return [start]
    stop = worktree.expanduser().resolve()
    if not start.is_relative_to(stop):
        return [start]
    directories = [start]
    while directories[-1] != stop:
        directories.append(directories[-1].parent)
    return directories
