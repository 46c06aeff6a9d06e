"""Where configuration lives: this SDK's own folder, OpenCode's, and the project's.

OpenCode users keep their global ``opencode.json``, ``agent/``, ``command/``,
``skill/`` and ``AGENTS.md`` in ``~/.config/opencode`` (and ``~/.opencode``); a
project keeps them in ``.opencode/`` folders, at its own level or above it up to the
worktree root (a package inside a monorepo). Every reader of config walks the same list
of folders, from ``config_dirs``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "opencode-python"
#: The per-directory folder OpenCode keeps a project's config in.
CONFIG_DIR_NAME = ".opencode"


def user_config_dir() -> Path:
    """This SDK's per-user config directory (``~/.config/opencode-python`` on Linux).

    platformdirs honours ``XDG_CONFIG_HOME`` and the macOS and Windows conventions. The
    directory is only read from, so it is not created here.
    """
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def opencode_config_dir() -> Path:
    """OpenCode's own per-user config directory: ``$XDG_CONFIG_HOME/opencode``, else
    ``~/.config/opencode``, on every OS (OpenCode follows XDG on macOS too)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "opencode"


def global_config_dirs(user_dir: Path | None = None) -> list[Path]:
    """The per-user config folders, lowest precedence first: OpenCode's
    (``~/.config/opencode``), then ``~/.opencode``, then this SDK's (``user_dir``,
    default ``user_config_dir()``), so a setting made for this SDK wins."""
    dirs = [opencode_config_dir(), Path.home() / CONFIG_DIR_NAME, user_dir or user_config_dir()]
    return list(dict.fromkeys(dirs))


def project_config_dirs(project_dir: Path, worktree: Path | None) -> list[Path]:
    """The ``.opencode`` folders from the worktree root down to ``project_dir``, lowest
    precedence first (the one nearest the project wins). Missing ones are listed too."""
    return [d / CONFIG_DIR_NAME for d in reversed(directories_up(project_dir, worktree))]


def config_dirs(
    project_dir: Path, worktree: Path | None, *, user_dir: Path | None = None
) -> list[Path]:
    """Every folder agents, modes, commands and skills are read from, lowest precedence
    first: ``global_config_dirs``, then ``project_config_dirs``."""
    return [*global_config_dirs(user_dir), *project_config_dirs(project_dir, worktree)]


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
