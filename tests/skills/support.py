"""Builders for skill trees on disk: real files, real git."""

from __future__ import annotations

import subprocess
from pathlib import Path


def write_skill(
    root: Path,
    name: str,
    description: str = "",
    *,
    body: str = "Do the thing.",
    directory: str | None = None,
    extra: str = "",
) -> Path:
    """Write ``root/<directory or name>/SKILL.md`` and return its path."""
    path = root / (directory or name) / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    description = description or f"Use for {name} tasks."
    path.write_text(
        f"---\nname: {name}\ndescription: {description}\n{extra}---\n\n{body}\n",
        encoding="utf-8",
    )
    return path


def git_repo(path: Path) -> Path:
    """A fresh git repository at ``path`` (created), returned resolved."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    return path.resolve()
