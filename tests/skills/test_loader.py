"""Skill discovery on real directory trees: locations, precedence, bad files."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from opencode_python.core.errors import ConfigError
from opencode_python.skills.loader import SkillLoader

from .support import git_repo, write_skill


def names(loader: SkillLoader) -> list[str]:
    return [skill.name for skill in loader.discover_skills()]


def user_skills_dir() -> Path:
    """Where the conftest's XDG_CONFIG_HOME puts the user's skills."""
    return Path(os.environ["XDG_CONFIG_HOME"]) / "opencode-python" / "skills"


def test_nothing_to_find_returns_an_empty_list(tmp_path: Path) -> None:
    loader = SkillLoader(tmp_path)
    assert loader.discover_skills() == []
    assert loader.list_skills() == []
    assert loader.get_skill_by_name("anything") is None
    assert loader.errors == []


def test_works_from_the_current_directory_outside_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_skill(tmp_path / ".opencode" / "skills", "here")
    monkeypatch.chdir(tmp_path)
    loader = SkillLoader(Path.cwd())
    assert [s.name for s in loader.discover_skills()] == ["here"]
    assert loader.worktree == tmp_path.resolve()


def test_every_project_location_from_base_dir_up_to_the_worktree(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    base = repo / "pkg" / "sub"
    base.mkdir(parents=True)
    write_skill(repo / ".opencode" / "skill", "singular")
    write_skill(repo / ".opencode" / "skills", "plural")
    write_skill(repo / ".claude" / "skills", "claude")
    write_skill(repo / "pkg" / ".agents" / "skills", "agents")
    write_skill(base / ".opencode" / "skills", "nearest")
    write_skill(tmp_path / ".claude" / "skills", "outside-the-repo")  # above the worktree

    loader = SkillLoader(base)
    skills = loader.discover_skills()

    assert loader.worktree == repo
    assert [s.name for s in skills] == ["agents", "claude", "nearest", "plural", "singular"]
    assert {s.source for s in skills} == {"project"}
    claude = loader.get_skill_by_name("claude")
    assert claude is not None
    assert claude.path == repo / ".claude" / "skills" / "claude" / "SKILL.md"
    assert claude.directory == claude.path.parent
    assert claude.content == "Do the thing."


def test_an_explicit_worktree_bounds_the_search(tmp_path: Path) -> None:
    write_skill(tmp_path / ".claude" / "skills", "top")
    write_skill(tmp_path / "a" / ".claude" / "skills", "middle")
    base = tmp_path / "a" / "b"
    base.mkdir()
    assert names(SkillLoader(base, worktree=tmp_path / "a")) == ["middle"]
    assert names(SkillLoader(base, worktree=tmp_path)) == ["middle", "top"]


def test_skills_nested_below_a_skills_directory_are_found(tmp_path: Path) -> None:
    write_skill(tmp_path / ".opencode" / "skills" / "group", "inner")
    assert names(SkillLoader(tmp_path)) == ["inner"]


def test_user_config_dir_skills(tmp_path: Path) -> None:
    config_dir = user_skills_dir().parent
    write_skill(config_dir / "skills", "from-user")
    write_skill(config_dir / "skill", "from-user-singular")

    loader = SkillLoader(tmp_path)
    skills = loader.discover_skills()

    assert loader.user_dir == config_dir
    assert [(s.name, s.source) for s in skills] == [
        ("from-user", "user"),
        ("from-user-singular", "user"),
    ]


def test_extra_paths_from_config_relative_and_absolute(tmp_path: Path) -> None:
    write_skill(tmp_path / "team-skills", "relative")
    shared = tmp_path / "elsewhere"
    write_skill(shared / "deep" / "er", "absolute")
    project = tmp_path / "project"
    project.mkdir()

    loader = SkillLoader(project, extra_paths=["../team-skills", shared])

    assert [(s.name, s.source) for s in loader.discover_skills()] == [
        ("absolute", "config"),
        ("relative", "config"),
    ]


def test_a_missing_extra_path_is_reported_not_raised(tmp_path: Path) -> None:
    loader = SkillLoader(tmp_path, extra_paths=[tmp_path / "nope"])
    assert loader.discover_skills() == []
    assert [(e.path, e.reason) for e in loader.errors] == [
        (tmp_path.resolve() / "nope", "configured skill path is not a directory")
    ]


def test_the_skill_nearest_the_project_wins_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo = git_repo(tmp_path / "repo")
    base = repo / "sub"
    nearest = write_skill(base / ".claude" / "skills", "deploy", "Nearest.")
    root_copy = write_skill(repo / ".opencode" / "skills", "deploy", "At the repo root.")
    write_skill(user_skills_dir(), "deploy", "From the user.")
    write_skill(tmp_path / "extra", "deploy", "From config.")

    with caplog.at_level(logging.WARNING, logger="opencode_python.skills"):
        skills = SkillLoader(base, extra_paths=[tmp_path / "extra"]).discover_skills()

    assert [(s.description, s.path) for s in skills] == [("Nearest.", nearest)]
    warnings = [r.getMessage() for r in caplog.records if "two skills" in r.getMessage()]
    assert len(warnings) == 3
    assert str(nearest) in warnings[0]
    assert str(root_copy) in warnings[0]


@pytest.mark.parametrize(
    ("winner", "loser"),
    [
        (".opencode/skill", ".opencode/skills"),
        (".opencode/skills", ".claude/skills"),
        (".claude/skills", ".agents/skills"),
    ],
)
def test_within_one_directory_opencode_dirs_come_first(
    tmp_path: Path, winner: str, loser: str
) -> None:
    write_skill(tmp_path / loser, "same", "Loser.")
    write_skill(tmp_path / winner, "same", "Winner.")
    assert [s.description for s in SkillLoader(tmp_path).discover_skills()] == ["Winner."]


def test_project_beats_user_beats_config(tmp_path: Path) -> None:
    write_skill(user_skills_dir(), "shared", "User.")
    write_skill(user_skills_dir(), "mine", "User.")
    write_skill(tmp_path / "extra", "shared", "Config.")
    write_skill(tmp_path / "extra", "mine", "Config.")
    write_skill(tmp_path / "extra", "only-config", "Config.")
    write_skill(tmp_path / ".opencode" / "skills", "shared", "Project.")

    skills = SkillLoader(tmp_path, extra_paths=[tmp_path / "extra"]).discover_skills()

    assert [(s.name, s.source) for s in skills] == [
        ("mine", "user"),
        ("only-config", "config"),
        ("shared", "project"),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("# Just markdown\n", "no frontmatter"),
        ("", "no frontmatter"),
        ("---\nname: x\ndescription: y\n", "never closed"),
        ("---\nname: [unclosed\ndescription: y\n---\n", "not valid YAML"),
        ("---\n- a\n- b\n---\n", "must be a mapping"),
        ("---\n---\nbody\n", "no 'name'"),
        ("---\ndescription: y\n---\n", "no 'name'"),
        ("---\nname: bad\n---\n", "no 'description'"),
        ("---\nname: bad\ndescription: ''\n---\n", "'description' must be non-empty"),
        ("---\nname: bad\ndescription: [a, b]\n---\n", "'description' must be non-empty"),
        ("---\nname: bad\ndescription: y\nlicense: 3\n---\n", "'license' must be text"),
        ("---\nname: bad\ndescription: y\nmetadata: [1]\n---\n", "'metadata' must be a mapping"),
        ("---\nname: 42\ndescription: y\n---\n", "'name' must be non-empty text; got 42"),
    ],
)
def test_malformed_skills_are_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, reason: str
) -> None:
    skills = tmp_path / ".opencode" / "skills"
    write_skill(skills, "good")
    bad = skills / "bad" / "SKILL.md"
    bad.parent.mkdir(parents=True)
    bad.write_text(text, encoding="utf-8")

    loader = SkillLoader(tmp_path)
    with caplog.at_level(logging.WARNING, logger="opencode_python.skills"):
        found = loader.discover_skills()

    assert [s.name for s in found] == ["good"]
    assert [e.path for e in loader.errors] == [bad]
    assert reason in loader.errors[0].reason
    assert str(loader.errors[0]).startswith(f"{bad}: ")
    assert any(str(bad) in r.getMessage() for r in caplog.records)


def test_an_unreadable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / ".opencode" / "skills" / "binary" / "SKILL.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"---\nname: binary\n\xff\xfe\n---\n")
    loader = SkillLoader(tmp_path)
    assert loader.discover_skills() == []
    assert "cannot read the file" in loader.errors[0].reason


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("a", True),
        ("pdf", True),
        ("pdf-forms", True),
        ("v2-api-3", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("PDF", False),
        ("pdf_forms", False),
        ("pdf--forms", False),
        ("-pdf", False),
        ("pdf-", False),
        ("pdf forms", False),
        ("pdf.forms", False),
        ("é", False),
    ],
)
def test_names_outside_the_spec_load_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, valid: bool
) -> None:
    """OpenCode loads them (skills from real repositories use them), so we do too."""
    write_skill(tmp_path / ".opencode" / "skills", f'"{name}"', directory="dir")
    loader = SkillLoader(tmp_path)
    with caplog.at_level(logging.WARNING, logger="opencode_python.skills"):
        assert [s.name for s in loader.discover_skills()] == [name]
    assert loader.errors == []
    spec = [r for r in caplog.records if "Agent Skills spec asks" in r.getMessage()]
    assert len(spec) == (0 if valid else 1)


def test_a_description_over_1024_characters_loads_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Anthropic's own claude-api skill has one."""
    write_skill(tmp_path / ".opencode" / "skills", "long", "x" * 1500)
    with caplog.at_level(logging.WARNING, logger="opencode_python.skills"):
        [skill] = SkillLoader(tmp_path).discover_skills()
    assert len(skill.description) == 1500
    assert "the description is 1500 characters" in caplog.text


def test_opencode_and_claude_code_personal_skills_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    write_skill(home / ".config" / "opencode" / "skill", "from-opencode")
    write_skill(home / ".opencode" / "skills", "from-dot-opencode")
    write_skill(home / ".claude" / "skills", "from-claude")
    write_skill(home / ".agents" / "skills", "from-agents")
    write_skill(home / ".config" / "opencode-python" / "skills", "from-us")
    project = tmp_path / "project"
    project.mkdir()
    skills = SkillLoader(project).discover_skills()
    assert {s.name: s.source for s in skills} == {
        "from-agents": "user",
        "from-claude": "user",
        "from-dot-opencode": "user",
        "from-opencode": "user",
        "from-us": "user",
    }


def test_a_name_unlike_its_directory_warns_but_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_skill(tmp_path / ".opencode" / "skills", "real-name", directory="folder")
    with caplog.at_level(logging.WARNING, logger="opencode_python.skills"):
        assert names(SkillLoader(tmp_path)) == ["real-name"]
    assert any("'folder'" in r.getMessage() for r in caplog.records)


def test_optional_fields_and_the_body(tmp_path: Path) -> None:
    path = tmp_path / ".opencode" / "skills" / "pdf" / "SKILL.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        "\ufeff---\r\nname: pdf\r\ndescription: >\r\n  Fill PDF forms\r\n  and merge files.\r\n"
        "license: MIT\r\nmetadata:\r\n  version: '1.2'\r\n  owner: docs\r\n"
        "allowed-tools: [bash]\r\n---\r\n\r\n# PDF\r\n\r\nRun `scripts/fill.py`.\r\n".encode()
    )
    skill = SkillLoader(tmp_path).get_skill_by_name("pdf")
    assert skill is not None
    assert skill.description == "Fill PDF forms and merge files."
    assert skill.license == "MIT"
    assert skill.metadata == {"version": "1.2", "owner": "docs"}
    assert skill.content == "# PDF\n\nRun `scripts/fill.py`."


def test_an_unquoted_colon_in_a_value_is_read_as_text(tmp_path: Path) -> None:
    """Claude Code accepts this invalid YAML, and skills written for it use it."""
    write_skill(
        tmp_path / ".claude" / "skills",
        "review",
        "Review code. Use when: the user asks for a review",
        extra="license: Apache-2.0\n",
    )
    loader = SkillLoader(tmp_path)
    skill = loader.get_skill_by_name("review")
    assert skill is not None
    assert skill.description == "Review code. Use when: the user asks for a review"
    assert skill.license == "Apache-2.0"
    assert loader.errors == []


def test_results_are_cached_until_discovered_again(tmp_path: Path) -> None:
    skills = tmp_path / ".opencode" / "skills"
    write_skill(skills, "first")
    loader = SkillLoader(tmp_path)
    assert [s.name for s in loader.list_skills()] == ["first"]

    write_skill(skills, "second")
    assert [s.name for s in loader.list_skills()] == ["first"]
    assert loader.get_skill_by_name("second") is None
    assert names(loader) == ["first", "second"]
    assert loader.get_skill_by_name("second") is not None


def test_symlinked_skills_are_followed_and_loaded_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = tmp_path / "library"
    write_skill(library, "linked")
    skills = tmp_path / "project" / ".claude" / "skills"
    skills.mkdir(parents=True)
    (skills / "linked").symlink_to(library / "linked", target_is_directory=True)
    (skills / "loop").symlink_to(skills, target_is_directory=True)  # a cycle

    with caplog.at_level(logging.WARNING, logger="opencode_python.skills"):
        loader = SkillLoader(tmp_path / "project", extra_paths=[library])
        skills_found = loader.discover_skills()

    assert [(s.name, s.source) for s in skills_found] == [("linked", "project")]
    assert skills_found[0].path == skills / "linked" / "SKILL.md"
    assert caplog.records == []


def test_a_base_dir_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        SkillLoader(tmp_path / "missing")
