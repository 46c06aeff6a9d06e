"""What the file tools share: junk directories, glob matching, walking, text I/O, diffs.

Kept in one place so that ``list``, ``glob`` and ``grep`` skip the same directories and
read globs the same way, and so that the editing tools read, write and lock files alike.
"""

from __future__ import annotations

import difflib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel

from ...core.errors import ToolError
from ..framework import ToolContext, ToolResult
from .paths import display_path
from .safe_open import open_checked, read_file, write_file

JUNK_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".next",
        ".idea",
        "dist",
        "build",
        "target",
        "coverage",
    }
)
"""Directories ``list``, ``glob`` and ``grep`` never enter: VCS data, dependencies, caches
and build output, which drown real results. A path inside one can still be given directly."""

BINARY_EXTENSIONS = frozenset(
    {
        ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".exe", ".dll", ".so",
        ".dylib", ".class", ".jar", ".war", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
        ".odt", ".ods", ".odp", ".pdf", ".bin", ".dat", ".obj", ".o", ".a", ".lib", ".wasm",
        ".pyc", ".pyo", ".ico", ".bmp", ".tif", ".tiff", ".mp3", ".mp4", ".wav", ".avi",
        ".mov", ".mkv", ".flac", ".ogg", ".woff", ".woff2", ".ttf", ".otf", ".eot",
        ".sqlite", ".db", ".parquet", ".npy", ".npz", ".pkl",
    }
)  # fmt: skip

MAX_LINE_CHARS = 2000
"""Longer lines are cut in what the model reads (minified files would flood it)."""


def cut_line(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]}... (line truncated to {MAX_LINE_CHARS} chars)"


# --- schemas -------------------------------------------------------------------------


def tool_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a pydantic model, with ``$ref``s inlined and titles dropped.

    Providers differ in how much of JSON schema they accept; a flat schema works with all.
    """
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                return inline(defs[ref.rsplit("/", 1)[-1]])
            return {
                key: inline(value)
                for key, value in node.items()
                if not (key == "title" and isinstance(value, str))  # keeps a field "title"
            }
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


# --- globs ---------------------------------------------------------------------------


def expand_braces(pattern: str) -> list[str]:
    """``*.{ts,tsx}`` → ``["*.ts", "*.tsx"]``; nested and repeated groups expand fully."""
    depth = 0
    start = -1
    for index, char in enumerate(pattern):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                head, body, tail = pattern[:start], pattern[start + 1 : index], pattern[index + 1 :]
                return [
                    expanded
                    for option in _split_top_level(body)
                    for expanded in expand_braces(head + option + tail)
                ]
    return [pattern]


def _split_top_level(body: str) -> list[str]:
    options: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == "," and depth == 0:
            options.append("".join(current))
            current = []
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current.append(char)
    options.append("".join(current))
    return options


def _translate(pattern: str) -> str:
    """One brace-free glob as a regex, with gitignore (and ripgrep ``--glob``) semantics."""
    pattern = pattern.removeprefix("./").rstrip("/")
    anchored = "/" in pattern  # a slash anywhere but the end anchors at the search root
    pattern = pattern.lstrip("/")
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        else:
            char = pattern[index]
            index += 1
            if char == "*":
                out.append("[^/]*")
            elif char == "?":
                out.append("[^/]")
            elif char == "\\" and index < len(pattern):
                out.append(re.escape(pattern[index]))
                index += 1
            elif char == "[" and (close := pattern.find("]", index + 1)) != -1:
                body = pattern[index:close]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = close + 1
            else:
                out.append(re.escape(char))
    body = "".join(out)
    return body if anchored else f"(?:.*/)?{body}"


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex that fully matches the relative POSIX paths ``pattern`` selects.

    ``*`` and ``?`` stay within one path segment, ``**`` crosses segments, ``[...]`` and
    ``{a,b}`` work as in a shell. A pattern without a slash matches the file name at any
    depth (``*.py``); one with a slash is anchored at the search root (``src/*.py``).
    """
    alternatives = "|".join(f"(?:{_translate(option)})" for option in expand_braces(pattern))
    return re.compile(alternatives, re.DOTALL)


# --- walking -------------------------------------------------------------------------


class Entry(NamedTuple):
    """One entry of a directory as a walk sees it: its name and what it is (unfollowed)."""

    name: str
    is_dir: bool
    is_file: bool


def scan_dir(directory: Path) -> list[Entry]:
    """The entries of a directory by name, without symlinks or junk directories.

    Symlinks are left out so that a walk never leaves the tree or loops (ripgrep does the
    same), and the directory is opened as checked (``safe_open``), so one swapped for a
    symlink during the walk is refused rather than followed. An unreadable directory has
    no entries.
    """
    kept: list[Entry] = []
    try:
        with open_checked(directory, os.O_DIRECTORY) as fd, os.scandir(fd) as entries:
            for entry in entries:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not entry.is_symlink() and not (entry.name in JUNK_DIRS and is_dir):
                    kept.append(Entry(entry.name, is_dir, entry.is_file(follow_symlinks=False)))
    except OSError:
        return []
    return sorted(kept)


def walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``root`` as (relative POSIX path, path), depth first."""
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        subdirs: list[tuple[Path, str]] = []
        for entry in scan_dir(directory):
            relative = f"{prefix}{entry.name}"
            if entry.is_dir:
                subdirs.append((directory / entry.name, relative + "/"))
            elif entry.is_file:
                yield relative, directory / entry.name
        stack.extend(reversed(subdirs))


def modified_time(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# --- reading and writing -------------------------------------------------------------


def binary_reason(path: Path, sample: bytes) -> str | None:
    """Why a file looks binary (its extension, NUL bytes, control characters), or None."""
    if path.suffix.lower() in BINARY_EXTENSIONS:
        return f"{path.suffix.lower()} files are binary"
    if b"\0" in sample:
        return "it contains NUL bytes"
    if sample:
        control = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
        if control / len(sample) > 0.3:
            return "most of its bytes are not text"
    return None


def not_found(ctx: ToolContext, path: Path, what: str = "File") -> ToolError:
    """A "file not found" error that names similar entries in the same directory."""
    shown = display_path(ctx, path)
    parent = path.parent
    if not parent.is_dir():
        return ToolError(
            f"{what} not found: {shown} (its directory {display_path(ctx, parent)} "
            "does not exist either)"
        )
    try:
        with open_checked(parent, os.O_DIRECTORY) as fd, os.scandir(fd) as entries:
            names = [entry.name for entry in entries]
    except OSError:
        names = []
    wanted = path.name.lower()
    similar = [name for name in names if wanted in name.lower() or name.lower() in wanted]
    similar += difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(similar))[:3]
    if not suggestions:
        return ToolError(f"{what} not found: {shown}")
    listed = "\n".join(display_path(ctx, parent / name) for name in suggestions)
    return ToolError(f"{what} not found: {shown}\n\nDid you mean one of these?\n{listed}")


def read_text_file(ctx: ToolContext, path: Path) -> str:
    """The text of an existing file that is meant to be edited, byte for byte.

    Undecodable bytes survive a round trip (``surrogateescape``), and line endings are
    kept, so an edit changes only what it means to.
    """
    if path.is_dir():
        raise ToolError(f"{display_path(ctx, path)} is a directory, not a file")
    try:
        data = read_file(path)
    except (FileNotFoundError, NotADirectoryError):
        raise not_found(ctx, path) from None
    reason = binary_reason(path, data[:8192])
    if reason is not None:
        raise ToolError(
            f"{display_path(ctx, path)} is a binary file ({reason}); it cannot be edited"
        )
    return data.decode("utf-8", "surrogateescape")


def write_text_file(path: Path, text: str) -> None:
    """Write ``text`` exactly (no newline translation), creating parent directories."""
    write_file(path, text.encode("utf-8", "surrogateescape"))


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def locked(*paths: Path) -> Iterator[None]:
    """Hold the locks of ``paths`` (in a fixed order, so two holders never deadlock).

    Calls of one step run concurrently, and two edits of the same file must not both read
    the old text and overwrite each other. The locks are thread locks because the
    read-change-write runs in a worker thread; they live for the process, as the files do.
    """
    with _locks_guard:
        locks = [_locks.setdefault(key, threading.Lock()) for key in sorted({*map(str, paths)})]
    with ExitStack() as stack:
        for lock in locks:
            stack.enter_context(lock)
        yield


# --- diffs ---------------------------------------------------------------------------


def unified_diff(old: str, new: str, label: str) -> str:
    """A unified diff of two texts (line endings ignored), labelled with the file's path."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=label, tofile=label, lineterm=""
    )
    return "\n".join(lines)


def diff_counts(diff: str) -> tuple[int, int]:
    """(lines added, lines removed) in a unified diff."""
    added = removed = 0
    in_hunks = False  # before the first "@@", "---"/"+++" lines are the file header
    for line in diff.splitlines():
        if line.startswith("@@"):
            in_hunks = True
        elif in_hunks and line.startswith("+"):
            added += 1
        elif in_hunks and line.startswith("-"):
            removed += 1
    return added, removed


def change_result(ctx: ToolContext, path: Path, before: str, after: str, output: str) -> ToolResult:
    """The result of a tool that changed a file: a diff and its size in the metadata."""
    shown = display_path(ctx, path)
    diff = unified_diff(before, after, shown)
    added, removed = diff_counts(diff)
    return ToolResult(
        title=shown,
        output=output,
        metadata={"filepath": str(path), "diff": diff, "additions": added, "deletions": removed},
    )
