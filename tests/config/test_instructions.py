"""Instruction files: found up the worktree, in the user dir and by config globs; read
without ever crashing on a bad one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opencode_python.config import find_instruction_files, load_config, load_instructions


def write(path: Path, text: str = "rules") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_one_file_per_directory_from_the_project_up_to_the_worktree(
    repo: Path, project: Path, worktree: Path
) -> None:
    here = write(project / "AGENTS.md")
    write(project / "CLAUDE.md")  # AGENTS.md is preferred in the same directory
    middle = write(repo / "packages" / "CLAUDE.md")
    root = write(repo / "AGENTS.md")
    write(repo.parent / "AGENTS.md")  # above the worktree: never read
    write(project / "sub" / "AGENTS.md")  # below the project: not on the way up

    assert find_instruction_files(project, worktree=worktree) == [here, middle, root]


def test_without_a_worktree_only_the_project_dir_is_searched(repo: Path, project: Path) -> None:
    write(repo / "AGENTS.md")
    assert find_instruction_files(project) == []
    here = write(project / "CLAUDE.md")
    assert find_instruction_files(project) == [here]


def test_the_user_dir_comes_after_the_project(
    user_dir: Path, repo: Path, project: Path, worktree: Path
) -> None:
    root = write(repo / "AGENTS.md")
    user_claude = write(user_dir / "CLAUDE.md")
    assert find_instruction_files(project, worktree=worktree) == [root, user_claude]
    user_agents = write(user_dir / "AGENTS.md")
    assert find_instruction_files(project, worktree=worktree) == [root, user_agents]


def test_an_explicit_user_dir_replaces_the_default(
    tmp_path: Path, user_dir: Path, project: Path
) -> None:
    write(user_dir / "AGENTS.md")
    mine = write(tmp_path / "mine" / "AGENTS.md")
    assert find_instruction_files(project, user_dir=mine.parent) == [mine]


def test_globs_come_last_sorted_files_only_without_repeats(
    user_dir: Path, repo: Path, project: Path, worktree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(repo.parent / "home"))
    root = write(repo / "AGENTS.md")
    user = write(user_dir / "AGENTS.md")
    b = write(repo / "docs" / "b.md")
    a = write(repo / "docs" / "a.md")
    deep = write(repo / "docs" / "deep" / "c.md")
    (repo / "docs" / "folder.md").mkdir()
    notes = write(repo.parent / "home" / "notes.md")
    local = write(project / "local.md")

    found = find_instruction_files(
        project,
        worktree=worktree,
        extra=[
            str(repo / "docs" / "*.md"),
            str(repo / "AGENTS.md"),
            "~/notes.md",
            str(repo / "docs" / "**" / "*.md"),
            "local.md",
            str(repo / "nothing" / "*.md"),
        ],
    )
    assert found == [root, user, a, b, notes, deep, local]


def test_config_instructions_feed_the_search(repo: Path, project: Path, worktree: Path) -> None:
    write(repo / "opencode.json", '{"instructions": ["docs/*.md"]}')
    style = write(repo / "docs" / "STYLE.md", "Use tabs.")
    here = write(project / "AGENTS.md", "Be brief.")

    config = load_config(project, worktree=worktree).config
    files = find_instruction_files(project, worktree=worktree, extra=config.instructions)
    assert load_instructions(files) == [(here, "Be brief."), (style, "Use tabs.")]


def test_unreadable_files_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = write(tmp_path / "AGENTS.md", "Keep going.")
    binary = tmp_path / "image.md"
    binary.write_bytes(b"\x89PNG\xff\xfe")
    directory = tmp_path / "a-directory"
    directory.mkdir()
    missing = tmp_path / "gone.md"

    with caplog.at_level(logging.WARNING, logger="opencode_python.config"):
        loaded = load_instructions([binary, directory, good, missing])

    assert loaded == [(good, "Keep going.")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert f"{binary}: not UTF-8 text" in warnings[0]
    assert str(directory) in warnings[1]
    assert str(missing) in warnings[2]


def test_brackets_in_directory_names_are_not_glob_syntax(tmp_path: Path) -> None:
    project = tmp_path / "proj[1]"
    rules = write(project / "docs" / "rules.md")
    write(project / "opencode.json", '{"instructions": ["docs/*.md"]}')
    config = load_config(project).config
    assert find_instruction_files(project, extra=config.instructions) == [rules]
    assert find_instruction_files(project, extra=["docs/rules.md"]) == [rules]


def test_a_relative_instruction_is_looked_for_in_every_directory_up_to_the_worktree(
    repo: Path, project: Path, worktree: Path
) -> None:
    """OpenCode's rule (globUp): a project's "instructions": ["STYLE.md"] finds the file
    beside the project and any above it, whichever config file named it."""
    write(project / ".opencode" / "opencode.json", '{"instructions": ["STYLE.md"]}')
    here = write(project / "STYLE.md")
    root = write(repo / "STYLE.md")
    write(repo.parent / "STYLE.md")  # above the worktree
    config = load_config(project, worktree=worktree).config
    assert find_instruction_files(project, worktree=worktree, extra=config.instructions) == [
        here,
        root,
    ]


def test_one_personal_file_this_sdks_else_opencodes_else_claude_codes(
    user_dir: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    claude = write(tmp_path / "home" / ".claude" / "CLAUDE.md")
    assert find_instruction_files(project) == [claude]
    opencode = write(user_dir.parent / "opencode" / "AGENTS.md")
    assert find_instruction_files(project) == [opencode]
    ours = write(user_dir / "AGENTS.md")
    assert find_instruction_files(project) == [ours]
