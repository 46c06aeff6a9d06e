"""Fixtures for config tests: a real git worktree with a nested project dir, and the
user's config dir (under the suite's temporary ``XDG_CONFIG_HOME``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opencode_python.config import user_config_dir
from opencode_python.storage import resolve_project


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep git from finding repositories above tmp_path or the user's git config."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git worktree at ``tmp_path/repo`` (tmp_path itself is outside it)."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)
    return root


@pytest.fixture
def project(repo: Path) -> Path:
    """``repo/packages/app``: a project two levels below the worktree root."""
    path = repo / "packages" / "app"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def worktree(project: Path) -> Path:
    """The worktree as the SDK finds it: git's toplevel for the project dir."""
    return Path(resolve_project(project).worktree)


@pytest.fixture
def user_dir() -> Path:
    """The user's config dir, created (the suite points XDG_CONFIG_HOME at a temp dir)."""
    path = user_config_dir()
    path.mkdir(parents=True)
    return path
