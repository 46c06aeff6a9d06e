"""Long tool output: cut to the limits, the full text saved, the model told where."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

import pytest

from opencode_python.tools.truncation import cleanup_old_outputs, truncate_output


def numbered(count: int) -> str:
    return "".join(f"line {n}\n" for n in range(1, count + 1))


def test_output_within_limits_is_unchanged_and_not_saved(tmp_path: Path) -> None:
    text = numbered(2000)
    result = truncate_output(text, save_dir=tmp_path / "out", name_hint="tool_call_1")
    assert result.text == text
    assert not result.truncated
    assert result.saved_path is None
    assert not (tmp_path / "out").exists()


def test_too_many_lines_keeps_the_head_and_saves_everything(tmp_path: Path) -> None:
    text = numbered(2500)
    result = truncate_output(text, save_dir=tmp_path / "out", name_hint="tool_call_1")
    assert result.truncated
    assert result.saved_path == (tmp_path / "out" / "tool_call_1.txt").absolute()
    assert result.saved_path.read_text(encoding="utf-8") == text
    head, note = result.text.split("\n\n", 1)
    assert head.splitlines() == [f"line {n}" for n in range(1, 2001)]
    assert note.startswith("... 500 lines truncated ...")
    assert f"was saved to {result.saved_path}." in note
    assert "(2500 lines, " in note
    assert note.endswith("Use the read tool with offset/limit (or grep) to view the rest.")


def test_tail_keeps_the_end_and_puts_the_note_first(tmp_path: Path) -> None:
    text = numbered(30)
    result = truncate_output(text, max_lines=10, direction="tail", save_dir=tmp_path)
    assert result.truncated
    note, tail = result.text.rsplit("\n\n", 1)
    assert tail.splitlines() == [f"line {n}" for n in range(21, 31)]
    assert note.startswith("... 20 lines truncated ...")
    assert result.saved_path is not None
    assert result.saved_path.read_text(encoding="utf-8") == text


def test_too_many_bytes_keeps_whole_lines_within_the_byte_limit(tmp_path: Path) -> None:
    line = "x" * 99 + "\n"  # 100 bytes
    text = line * 20
    directions: tuple[Literal["head", "tail"], ...] = ("head", "tail")
    for direction in directions:
        result = truncate_output(text, max_bytes=1050, direction=direction, save_dir=tmp_path)
        shown = result.text.split("\n\n")[0 if direction == "head" else -1]
        assert shown == (line * 10).removesuffix("\n")
        assert "... 10 lines truncated ..." in result.text


def test_both_limits_hold_at_once(tmp_path: Path) -> None:
    text = "".join(f"{n:04}" + "y" * 95 + "\n" for n in range(100))  # 100 lines of 100 bytes
    by_lines = truncate_output(text, max_lines=5, max_bytes=10_000, save_dir=tmp_path)
    assert by_lines.text.startswith("0000")
    assert by_lines.text.split("\n\n")[0].count("\n") == 4  # five lines
    by_bytes = truncate_output(text, max_lines=50, max_bytes=300, save_dir=tmp_path)
    assert by_bytes.text.split("\n\n")[0].count("\n") == 2  # three lines


def test_multibyte_text_is_measured_in_utf8_bytes(tmp_path: Path) -> None:
    line = "é" * 50 + "\n"  # 50 characters, 101 bytes
    result = truncate_output(line * 10, max_bytes=250, save_dir=tmp_path)
    assert result.text.split("\n\n")[0] == (line * 2).removesuffix("\n")
    assert result.saved_path is not None
    assert result.saved_path.read_text(encoding="utf-8") == line * 10


@pytest.mark.parametrize("direction", ["head", "tail"])
def test_a_single_huge_line_is_cut_by_bytes_on_a_character_boundary(
    tmp_path: Path, direction: Literal["head", "tail"]
) -> None:
    text = "ab€" * 1000  # € is three bytes: cuts at 100 bytes fall inside one
    result = truncate_output(text, max_bytes=100, direction=direction, save_dir=tmp_path)
    shown = result.text.split("\n\n")[0 if direction == "head" else -1]
    assert len(shown.encode()) <= 100
    assert len(shown.encode()) >= 98  # at most one character lost to the boundary
    assert text.startswith(shown) if direction == "head" else text.endswith(shown)
    assert f"... {len(text.encode()) - len(shown.encode())} bytes truncated ..." in result.text
    assert result.saved_path is not None
    assert result.saved_path.read_text(encoding="utf-8") == text


def test_lone_surrogates_do_not_break_measuring_or_saving(tmp_path: Path) -> None:
    text = "bad \udcff byte\n" * 50
    result = truncate_output(text, max_lines=10, save_dir=tmp_path)
    assert result.truncated
    assert result.saved_path is not None
    assert result.saved_path.read_text(encoding="utf-8").count("\n") == 50


def test_only_newlines_end_lines(tmp_path: Path) -> None:
    text = "a\rb\x0cc\u2028d\n" * 3  # one line each, as the read tool counts them
    assert not truncate_output(text, max_lines=3, save_dir=tmp_path).truncated
    cut = truncate_output(text, max_lines=2, save_dir=tmp_path)
    assert cut.text.startswith("a\rb\x0cc\u2028d\na\rb\x0cc\u2028d\n\n... 1 line truncated ...")


def test_saved_names_are_unique_and_safe(tmp_path: Path) -> None:
    text = numbered(20)
    first = truncate_output(text, max_lines=5, save_dir=tmp_path, name_hint="bash_call/1 x")
    second = truncate_output(text, max_lines=5, save_dir=tmp_path, name_hint="bash_call/1 x")
    assert first.saved_path is not None
    assert second.saved_path is not None
    assert first.saved_path.name == "bash_call_1_x.txt"
    assert second.saved_path.name == "bash_call_1_x-2.txt"
    assert first.saved_path.read_text(encoding="utf-8") == text
    unnamed = truncate_output(text, max_lines=5, save_dir=tmp_path, name_hint="../..")
    assert unnamed.saved_path is not None
    assert unnamed.saved_path.parent == tmp_path.absolute()


def test_limits_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        truncate_output("x", max_lines=0, save_dir=tmp_path)


def test_cleanup_deletes_only_old_saved_outputs(tmp_path: Path) -> None:
    assert cleanup_old_outputs(tmp_path / "missing") == 0
    old = tmp_path / "tool_old.txt"
    new = tmp_path / "tool_new.txt"
    other = tmp_path / "notes.md"
    for path in (old, new, other):
        path.write_text("x", encoding="utf-8")
    eight_days_ago = time.time() - 8 * 86400
    for path in (old, other):
        os.utime(path, (eight_days_ago, eight_days_ago))
    assert cleanup_old_outputs(tmp_path) == 1
    assert not old.exists()
    assert new.exists()
    assert other.exists()
    an_hour_ago = time.time() - 3600
    os.utime(new, (an_hour_ago, an_hour_ago))
    assert cleanup_old_outputs(tmp_path, max_age_days=1 / 48) == 1
    assert not new.exists()
