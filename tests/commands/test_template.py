"""Expanding commands with real files and real bash: arguments, shell, ``@path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python.commands import (
    Command,
    ExpandedCommand,
    collect_attachments,
    expand_command,
    render_prompt,
)
from opencode_python.commands.references import MAX_FILE_BYTES
from opencode_python.commands.template import split_arguments


def command(template: str, **fields: object) -> Command:
    return Command.model_validate({"name": "t", "template": template, "source": "test", **fields})


async def expand(template: str, arguments: str, tmp_path: Path, shell_timeout: float = 60) -> str:
    expanded = await expand_command(
        command(template), arguments, project_dir=tmp_path, shell_timeout=shell_timeout
    )
    return expanded.text


def test_arguments_are_split_like_opencode() -> None:
    assert split_arguments("""one "two words" 'three more' [Image 1] four""") == [
        "one",
        "two words",
        "three more",
        "[Image 1]",
        "four",
    ]
    assert split_arguments("") == []


async def test_the_highest_placeholder_takes_the_rest(tmp_path: Path) -> None:
    text = await expand("$1 / $2 / $3", 'one "two words" three four five', tmp_path)
    assert text == "one / two words / three four five"


async def test_missing_arguments_become_empty(tmp_path: Path) -> None:
    assert await expand("a=$1 b=$2.", "x", tmp_path) == "a=x b=."


async def test_arguments_placeholder_is_the_raw_string(tmp_path: Path) -> None:
    raw = ' src/  "quoted" $1 '
    assert await expand("Review [$ARGUMENTS] now", raw, tmp_path) == f"Review [{raw}] now"


async def test_no_placeholders_appends_the_arguments(tmp_path: Path) -> None:
    assert await expand("Review the code.", "src/app.py", tmp_path) == (
        "Review the code.\n\nsrc/app.py"
    )
    assert await expand("Review the code.", "   ", tmp_path) == "Review the code."


async def test_the_command_settings_come_along(tmp_path: Path) -> None:
    expanded = await expand_command(
        command("Go.", agent="plan", model="openai/gpt-4.1", subtask=True),
        "",
        project_dir=tmp_path,
    )
    assert expanded == ExpandedCommand(
        text="Go.", files=(), agent="plan", model="openai/gpt-4.1", subtask=True
    )


async def test_shell_output_is_injected_in_the_project_dir(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here", encoding="utf-8")
    text = await expand("Files:\n!`ls`\nSay: !`echo $1`", "hello", tmp_path)
    assert text == "Files:\nmarker.txt\n\nSay: hello"


async def test_an_argument_cannot_inject_shell_code(tmp_path: Path) -> None:
    text = await expand(
        "!`echo $1` | !`echo $ARGUMENTS`", '"; touch pwned" $(touch pwned2)', tmp_path
    )
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "pwned2").exists()
    assert text == "; touch pwned $(touch pwned2)\n | ; touch pwned $(touch pwned2)"


async def test_each_argument_is_one_word_of_a_shell_segment(tmp_path: Path) -> None:
    """As in OpenCode, `pnpm test -- $ARGUMENTS` with two files gets two arguments."""
    text = await expand("!`printf '[%s]' $ARGUMENTS`", 'a.ts "b c.ts"', tmp_path)
    assert text == "[a.ts][b c.ts]"


async def test_arguments_cannot_add_shell_segments(tmp_path: Path) -> None:
    text = await expand("Do $1", "!`touch pwned`", tmp_path)
    assert text == "Do !`touch pwned`"
    text = await expand("No placeholders", "!`touch pwned`", tmp_path)
    assert text == "No placeholders\n\n!`touch pwned`"
    assert not (tmp_path / "pwned").exists()


async def test_a_failing_command_shows_its_output_and_a_note(tmp_path: Path) -> None:
    text = await expand("Result: !`echo partial; echo oops >&2; exit 2`", "", tmp_path)
    assert text == "Result: partial\n[command exited with status 2: oops]"


async def test_a_command_that_runs_too_long_is_killed(tmp_path: Path) -> None:
    text = await expand("!`echo started; sleep 5; echo finished`", "", tmp_path, shell_timeout=0.5)
    assert text == "started\n[command timed out after 0.5 s and was killed]"


async def test_a_file_reference_is_attached_from_the_worktree(tmp_path: Path) -> None:
    worktree, project = tmp_path / "repo", tmp_path / "repo" / "pkg"
    (worktree / "src").mkdir(parents=True)
    project.mkdir()
    app = worktree / "src" / "app.py"
    app.write_text("print('hi')\n", encoding="utf-8")
    expanded = await expand_command(
        command("Review @$1."), "src/app.py", project_dir=project, worktree=worktree
    )
    assert expanded.files == (app,)
    assert expanded.text == f"Review @src/app.py.\n\n<file path=\"{app}\">\nprint('hi')\n</file>"


async def test_a_missing_file_reference_is_left_alone(tmp_path: Path) -> None:
    expanded = await expand_command(
        command("Ask @nobody about @missing.py, mail me@example.com"), "", project_dir=tmp_path
    )
    assert expanded.text == "Ask @nobody about @missing.py, mail me@example.com"
    assert expanded.files == ()


async def test_a_binary_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    image = tmp_path / "logo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    expanded = await expand_command(command("Look at @logo.png"), "", project_dir=tmp_path)
    assert expanded.files == ()
    assert expanded.text == (
        f'Look at @logo.png\n\n<file path="{image}">\n'
        "[not attached: a binary file, 10 bytes]\n</file>"
    )


async def test_a_directory_reference_lists_its_entries(tmp_path: Path) -> None:
    (tmp_path / "docs" / "guide").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text("x", encoding="utf-8")
    expanded = await expand_command(command("See @docs"), "", project_dir=tmp_path)
    docs = tmp_path / "docs"
    assert expanded.files == (docs,)
    assert expanded.text.endswith(f'<directory path="{docs}">\nguide/\nindex.md\n</directory>')


def test_a_large_file_is_cut_with_a_note(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("é" * MAX_FILE_BYTES, encoding="utf-8")  # 2 bytes each: cut mid-char
    [attachment] = collect_attachments("@big.txt", tmp_path)
    assert attachment.kind == "file"
    assert attachment.content == "é" * (MAX_FILE_BYTES // 2)
    assert "cut at 200 KB" in attachment.note


def test_home_references_and_repeats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    notes = tmp_path / "notes.md"
    notes.write_text("remember", encoding="utf-8")
    attachments = collect_attachments("@~/notes.md and @notes.md again", tmp_path)
    assert [a.path for a in attachments] == [notes]
    assert render_prompt("Hi", attachments) == f'Hi\n\n<file path="{notes}">\nremember\n</file>'
