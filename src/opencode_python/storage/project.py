"""Which project a directory belongs to, so sessions can be grouped by project.

In a git repository the project id is the repository's root commit: it is the same in
every clone and worktree and survives moving the directory. Elsewhere it is a hash of
the directory path.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..core.errors import ConfigError

_GIT_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """``id`` groups sessions; ``worktree`` is the repository root (or the directory)."""

    id: str
    directory: str
    vcs: Literal["git"] | None
    worktree: str


def _git(directory: Path, *args: str) -> str | None:
    """Run git in ``directory``; its stdout, or None if git is missing or fails."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip()


def _path_id(path: Path) -> str:
    return "dir_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]


def _root_commit(worktree: Path) -> str | None:
    """The oldest root commit (earliest commit time, then lowest hash), if any."""
    out = _git(worktree, "rev-list", "--max-parents=0", "--timestamp", "HEAD")
    if not out:
        return None
    roots = []
    for line in out.splitlines():
        stamp, _, commit = line.strip().partition(" ")
        if stamp.isdigit() and commit:
            roots.append((int(stamp), commit))
    return min(roots)[1] if roots else None


def resolve_project(directory: str | Path) -> ProjectInfo:
    """The project of ``directory``: its git repository, or the directory itself.

    Runs git once (synchronously); call it once per client, not per request.
    """
    path = Path(directory).expanduser().resolve()
    if not path.is_dir():
        raise ConfigError(f"project directory {path} does not exist or is not a directory")
    toplevel = _git(path, "rev-parse", "--show-toplevel")
    if not toplevel:
        return ProjectInfo(id=_path_id(path), directory=str(path), vcs=None, worktree=str(path))
    worktree = Path(toplevel).resolve()
    project_id = _root_commit(worktree) or _path_id(worktree)
    return ProjectInfo(id=project_id, directory=str(path), vcs="git", worktree=str(worktree))
