"""Cutting long tool output to what the model can take, without losing the rest.

An output over the line or byte limit is cut to its head (or tail), the full text is
saved to a file, and the model is told where it is and how to read it, so a large file
or log costs a bounded part of the context and nothing is out of reach.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MAX_LINES = 2000
MAX_BYTES = 50 * 1024

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_MAX_NAME = 120


@dataclass(frozen=True, slots=True)
class Truncated:
    """The text for the model; when ``truncated``, where the full output was saved."""

    text: str
    truncated: bool
    saved_path: Path | None = None


def truncate_output(
    text: str,
    *,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    direction: Literal["head", "tail"] = "head",
    save_dir: Path,
    name_hint: str = "output",
) -> Truncated:
    """Keep the head (or tail) of ``text`` within both limits and save the full text.

    Under both limits the text comes back unchanged and nothing is saved. Otherwise
    whole lines are kept (a single line over ``max_bytes`` is cut at a character
    boundary), the full text goes to a new file in ``save_dir`` named after
    ``name_hint``, and a note tells the model how much was cut and where the rest is.
    """
    if max_lines < 1 or max_bytes < 1:
        raise ValueError(f"limits must be positive, got {max_lines} lines and {max_bytes} bytes")
    lines = _split_lines(text)
    total_bytes = _size(text)
    if len(lines) <= max_lines and total_bytes <= max_bytes:
        return Truncated(text, truncated=False)

    ordered = lines if direction == "head" else lines[::-1]
    kept: list[str] = []
    size = 0
    for line in ordered:
        line_size = _size(line)
        if len(kept) == max_lines or size + line_size > max_bytes:
            break
        kept.append(line)
        size += line_size
    if kept:
        omitted = f"{_lines(len(lines) - len(kept))} truncated"
    else:  # the first line alone is over max_bytes: keep what fits of it
        kept.append(_cut(ordered[0], max_bytes, keep=direction))
        omitted = f"{total_bytes - _size(kept[0])} bytes truncated"
    if direction == "tail":
        kept.reverse()
    shown = "".join(kept).removesuffix("\n")

    saved = _save(text, save_dir, name_hint)
    note = (
        f"... {omitted} ...\n\n"
        f"The full output ({_lines(len(lines))}, {total_bytes} bytes) was saved to {saved}. "
        "Use the read tool with offset/limit (or grep) to view the rest."
    )
    cut = f"{shown}\n\n{note}" if direction == "head" else f"{note}\n\n{shown}"
    return Truncated(cut, truncated=True, saved_path=saved)


def cleanup_old_outputs(save_dir: Path, max_age_days: float = 7) -> int:
    """Delete saved outputs (``*.txt`` in ``save_dir``) older than ``max_age_days``.

    Returns how many were deleted. A missing directory has nothing to delete.
    """
    if not save_dir.is_dir():
        return 0
    cutoff = time.time() - max_age_days * 86400
    deleted = 0
    for path in save_dir.glob("*.txt"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # deleted meanwhile, by another cleanup
            continue
    return deleted


def _split_lines(text: str) -> list[str]:
    """The lines with their ends, split at ``\\n`` only (``str.splitlines`` also splits at
    ``\\r``, form feeds and more, which the read tool does not count as lines)."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def _cut(line: str, max_bytes: int, *, keep: Literal["head", "tail"]) -> str:
    """At most ``max_bytes`` of ``line`` from its start (or end), whole characters only."""
    data = line.encode("utf-8", "replace")
    part = data[:max_bytes] if keep == "head" else data[len(data) - max_bytes :]
    return part.decode("utf-8", "ignore")  # drops the one character split by the cut


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def _save(text: str, save_dir: Path, name_hint: str) -> Path:
    """Write ``text`` to a new file named after the hint; never overwrite an earlier one."""
    save_dir.mkdir(parents=True, exist_ok=True)
    stem = _UNSAFE_NAME.sub("_", name_hint).strip("._")[:_MAX_NAME] or "output"
    number = 1
    while True:
        path = save_dir / (f"{stem}.txt" if number == 1 else f"{stem}-{number}.txt")
        try:
            with path.open("x", encoding="utf-8", errors="replace", newline="") as file:
                file.write(text)
        except FileExistsError:
            number += 1
            continue
        return path.absolute()
