"""Loading commands from real files and config entries: names, precedence, bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opencode_python.commands import Command, CommandError, load_commands


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_with_frontmatter_becomes_a_command(tmp_path: Path) -> None:
    path = write(
        tmp_path / "command" / "review.md",
        "---\ndescription: Review code\nagent: plan\nmodel: openai/gpt-4.1\n"
        "subtask: true\nvariant: high\n---\n\n  Review $ARGUMENTS carefully.\n\n",
    )
    commands, errors = load_commands([tmp_path])
    assert errors == []
    assert commands == {
        "review": Command(
            name="review",
            template="Review $ARGUMENTS carefully.",
            description="Review code",
            agent="plan",
            model="openai/gpt-4.1",
            subtask=True,
            metadata={"variant": "high"},
            source=str(path),
        )
    }


def test_frontmatter_is_optional(tmp_path: Path) -> None:
    write(tmp_path / "commands" / "hello.md", "Say hello.\n")
    commands, _ = load_commands([tmp_path])
    assert commands["hello"].template == "Say hello."
    assert commands["hello"].description == ""
    assert commands["hello"].subtask is None


def test_nested_folders_keep_the_slash_in_the_name(tmp_path: Path) -> None:
    write(tmp_path / "command" / "git" / "log.md", "Show the log.")
    write(tmp_path / "commands" / "a" / "b" / "c.md", "Deep.")
    write(tmp_path / "command" / "notes.txt", "not a command")
    commands, errors = load_commands([tmp_path])
    assert sorted(commands) == ["a/b/c", "git/log"]
    assert errors == []


def test_later_sources_override_earlier_ones_by_name(tmp_path: Path) -> None:
    user, project = tmp_path / "user", tmp_path / "project" / ".opencode"
    write(user / "command" / "review.md", "user review")
    write(user / "command" / "only-user.md", "only user")
    write(project / "command" / "review.md", "project command/")
    write(project / "commands" / "review.md", "project commands/")
    write(project / "command" / "fix.md", "project fix")
    commands, _ = load_commands([user, project], {"fix": {"template": "json fix"}})
    assert {name: c.template for name, c in commands.items()} == {
        "fix": "json fix",
        "only-user": "only user",
        "review": "project commands/",
    }
    assert commands["fix"].source == "opencode.json"


def test_config_entries_take_every_field(tmp_path: Path) -> None:
    entries = {
        "review": {
            "template": " Review $1 ",
            "description": "Review",
            "agent": "plan",
            "model": "openai/gpt-4.1",
            "subtask": True,
            "color": "red",
        }
    }
    commands, errors = load_commands([], entries, config_source="/p/opencode.json")
    assert errors == []
    assert commands["review"] == Command(
        name="review",
        template="Review $1",
        description="Review",
        agent="plan",
        model="openai/gpt-4.1",
        subtask=True,
        metadata={"color": "red"},
        source="/p/opencode.json",
    )


def test_unknown_frontmatter_keys_are_kept_as_metadata(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "command" / "x.md", "---\nargument-hint: <file>\n---\nDo $1.")
    with caplog.at_level(logging.DEBUG, logger="opencode_python.commands"):
        commands, errors = load_commands([tmp_path])
    assert commands["x"].metadata == {"argument-hint": "<file>"}
    assert errors == []
    assert "argument-hint" in caplog.text


def test_an_unquoted_colon_in_a_value_is_read_as_text(tmp_path: Path) -> None:
    write(tmp_path / "command" / "x.md", "---\ndescription: Review: the diff\n---\nGo.")
    commands, errors = load_commands([tmp_path])
    assert errors == []
    assert commands["x"].description == "Review: the diff"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ndescription: [unclosed\n---\nbody", "not valid YAML"),
        ("---\ndescription: x\nbody", "never closed"),
        ("---\n- a list\n---\nbody", "must be a mapping"),
        ("---\nsubtask: maybe\n---\nbody", "'subtask' must be true or false"),
        ("---\nagent: 3\n---\nbody", "'agent' must be text"),
        ("---\nmodel: gpt-4.1\n---\nbody", "'model' must be 'provider/model'"),
        ("---\nvariant: [a]\n---\nbody", "'variant' must be text"),
    ],
)
def test_a_broken_file_is_skipped_with_an_error_and_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, reason: str
) -> None:
    bad = write(tmp_path / "command" / "bad.md", text)
    write(tmp_path / "command" / "good.md", "Fine.")
    with caplog.at_level(logging.WARNING, logger="opencode_python.commands"):
        commands, errors = load_commands([tmp_path])
    assert list(commands) == ["good"]
    assert len(errors) == 1
    assert errors[0].path == bad
    assert reason in errors[0].reason
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(bad) in warnings[0].getMessage()


def test_a_file_that_is_not_utf8_is_skipped(tmp_path: Path) -> None:
    bad = tmp_path / "command" / "latin.md"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"caf\xe9")
    commands, errors = load_commands([tmp_path])
    assert commands == {}
    assert [e.path for e in errors] == [bad]
    assert "cannot read" in errors[0].reason


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"description": "no template"}, "'template' is required"),
        ("just text", "must be an object"),
        ({"template": "t", "subtask": "yes"}, "'subtask' must be true or false"),
    ],
)
def test_a_broken_config_entry_is_skipped_with_an_error(
    tmp_path: Path, entry: object, reason: str
) -> None:
    commands, errors = load_commands(
        [], {"bad": entry, "good": {"template": "ok"}}, config_source="cfg.json"
    )
    assert list(commands) == ["good"]
    assert len(errors) == 1
    assert errors[0].path == Path("cfg.json")
    assert "'bad'" in errors[0].reason
    assert reason in errors[0].reason
    assert str(errors[0]).startswith("cfg.json: ")


def test_missing_directories_load_nothing(tmp_path: Path) -> None:
    assert load_commands([tmp_path / "nowhere"]) == ({}, [])


def test_errors_are_plain_reports() -> None:
    error = CommandError(Path("a.md"), "why")
    assert str(error) == "a.md: why"
