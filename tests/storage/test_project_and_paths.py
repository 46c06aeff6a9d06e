"""Project ids from real git repositories and plain directories; the data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opencode_python.core.errors import ConfigError
from opencode_python.storage import (
    database_path,
    default_data_dir,
    resolve_project,
    resolve_storage_dir,
)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep git from finding repositories above tmp_path or the user's git config."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def make_repo(path: Path, commits: int) -> Path:
    path.mkdir()
    git(path, "init", "-q")
    for i in range(commits):
        git(path, "commit", "-q", "--allow-empty", "-m", f"commit {i}")
    return path


def test_git_project_id_is_the_root_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", commits=3)
    (repo / "src").mkdir()
    root_commit = git(repo, "rev-list", "--max-parents=0", "HEAD")

    project = resolve_project(repo / "src")

    assert project.id == root_commit
    assert project.vcs == "git"
    assert project.worktree == str(repo.resolve())
    assert project.directory == str((repo / "src").resolve())
    assert resolve_project(repo).id == root_commit


def test_clones_share_the_project_id(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", commits=2)
    git(tmp_path, "clone", "-q", str(repo), "clone")
    assert resolve_project(tmp_path / "clone").id == resolve_project(repo).id


def test_repository_without_commits_uses_its_path(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "empty", commits=0)
    project = resolve_project(repo)
    assert project.vcs == "git"
    assert project.id.startswith("dir_")
    assert project.id == resolve_project(repo).id


def test_plain_directory_gets_a_stable_path_hash(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    project = resolve_project(tmp_path / "a")
    assert project.vcs is None
    assert project.id.startswith("dir_")
    assert project.worktree == project.directory == str((tmp_path / "a").resolve())
    assert resolve_project(tmp_path / "a").id == project.id
    assert resolve_project(tmp_path / "b").id != project.id


def test_without_git_installed_the_path_hash_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo", commits=1)
    with_git = resolve_project(repo)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    without_git = resolve_project(repo)
    assert with_git.vcs == "git"
    assert without_git.vcs is None
    assert without_git.id.startswith("dir_")


def test_missing_project_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_project(tmp_path / "nope")


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_DATA_HOME is a Linux convention")
def test_default_data_dir_honours_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "opencode-python"
    assert database_path() == tmp_path / "xdg" / "opencode-python" / "opencode.db"
    assert (tmp_path / "xdg" / "opencode-python").is_dir()


def test_storage_dir_is_created_on_demand(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert resolve_storage_dir(target) == target.resolve()
    assert target.is_dir()
    assert resolve_storage_dir(str(target)) == target.resolve()


def test_storage_path_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        resolve_storage_dir(file)
    with pytest.raises(ConfigError, match="cannot create"):
        resolve_storage_dir(file / "below")
