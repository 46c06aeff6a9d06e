"""The ``apply_patch`` tool: many files changed by one patch, verified before any write.

The format is the one OpenAI's Codex models are trained on (and OpenCode accepts)::

    *** Begin Patch
    *** Add File: path        (then every line starts with "+")
    *** Delete File: path
    *** Update File: path
    *** Move to: new/path     (optional)
    @@ optional context line  (a line just above the hunk, to find it)
     context line
    -removed line
    +added line
    *** End of File           (optional: the hunk ends at the end of the file)
    *** End Patch

The whole patch is parsed, and every hunk located in the files as they will be at that
point of the patch, before anything is written: a patch that does not apply changes
nothing. Hunks are found like Codex's ``seek_sequence``: exactly, then ignoring trailing
whitespace, then surrounding whitespace, then typographic punctuation.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult
from .filesystem import (
    diff_counts,
    locked,
    not_found,
    read_text_file,
    tool_schema,
    unified_diff,
    write_text_file,
)
from .paths import check_external, display_path
from .safe_open import checked_path, remove_file

DESCRIPTION = """\
Change files with a patch: add, delete, update and rename several files in one call.

The patch is plain text in this format:

*** Begin Patch
*** Add File: src/new_module.py
+print("every line of a new file starts with +")
*** Update File: src/app.py
@@ def main():
     config = load()
-    run(config)
+    run(config, verbose=True)
*** Update File: old/name.txt
*** Move to: new/name.txt
@@
-old line
+new line
*** Delete File: obsolete.txt
*** End Patch

Rules:
- Paths are relative to the working directory (or absolute).
- In an update, each hunk starts with "@@", optionally followed by a line that appears \
just above the hunk (a def or class line) to say where it is. Then every line starts \
with one character: " " for a context line (unchanged), "-" for a line to remove, "+" \
for a line to add. Give about 3 context lines above and below each change, enough to \
find the place unambiguously; hunks must appear in file order.
- "*** End of File" after a hunk's lines says the hunk ends at the end of the file.
- Every hunk is checked before anything is written: if one does not apply, no file is \
changed, and the error names the file and the hunk.
- Adding a file that exists, or moving onto one, is refused; update it instead.
"""

_HEREDOC = re.compile(r"^(?:(?:cat|apply_patch)\s+)?<<['\"]?(\w+)['\"]?\s*\n(.*)\n\1\s*$", re.S)
_BEGIN, _END = "*** Begin Patch", "*** End Patch"
_ADD, _DELETE, _UPDATE, _MOVE = (
    "*** Add File:",
    "*** Delete File:",
    "*** Update File:",
    "*** Move to:",
)
_END_OF_FILE = "*** End of File"


class ApplyPatchParams(BaseModel):
    # by name: the snake_case spelling of before 0.2, for code that calls execute()
    model_config = ConfigDict(extra="forbid", validate_by_name=True)

    patch_text: str = Field(
        alias="patchText", description="The whole patch, from '*** Begin Patch' to '*** End Patch'."
    )


@dataclass(slots=True)
class Hunk:
    """One ``@@`` section of an update: lines to find (``old``) and what replaces them."""

    context: str | None
    line: int
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    end_of_file: bool = False

    def label(self, number: int) -> str:
        """``hunk 2 (patch line 14, @@ def main():)``: which hunk, findable in the patch."""
        where = f", @@ {self.context}" if self.context else ""
        return f"hunk {number} (patch line {self.line}{where})"


@dataclass(slots=True)
class FileOperation:
    kind: Literal["add", "delete", "update"]
    path: str
    move_to: str | None = None
    content: str = ""
    hunks: list[Hunk] = field(default_factory=list)


class PatchError(ToolError):
    """The patch is malformed or does not apply; nothing was written."""


# --- parsing -------------------------------------------------------------------------


def parse_patch(text: str) -> list[FileOperation]:
    """The file operations of a patch, in order. Raises ``PatchError`` naming the line."""
    text = text.replace("\r\n", "\n").strip()
    heredoc = _HEREDOC.match(text)
    if heredoc:
        text = heredoc.group(2).strip()
    lines = text.split("\n")
    if lines[0].strip() != _BEGIN:
        raise PatchError(f"The patch must start with the line '{_BEGIN}'.")
    if len(lines) < 2 or lines[-1].strip() != _END:
        raise PatchError(f"The patch must end with the line '{_END}'.")
    operations: list[FileOperation] = []
    index = 1
    last = len(lines) - 1
    while index < last:
        line = lines[index]
        number = index + 1
        if line.startswith(_ADD):
            operation = FileOperation("add", _header_path(line, _ADD, number))
            index += 1
            section = index
            while index < last and not lines[index].startswith("*** "):
                index += 1
            end = index
            while end > section and lines[end - 1] == "":
                end -= 1  # blank lines before the next section only separate
            for number, added in enumerate(lines[section:end], section + 1):
                if not added.startswith("+"):
                    raise PatchError(
                        f"Patch line {number}: every line of an added file must start with "
                        f"'+' (in '{_ADD} {operation.path}'); got {added!r}."
                    )
            operation.content = "".join(f"{added[1:]}\n" for added in lines[section:end])
        elif line.startswith(_DELETE):
            operation = FileOperation("delete", _header_path(line, _DELETE, number))
            index += 1
        elif line.startswith(_UPDATE):
            operation = FileOperation("update", _header_path(line, _UPDATE, number))
            index += 1
            if index < last and lines[index].startswith(_MOVE):
                operation.move_to = _header_path(lines[index], _MOVE, index + 1)
                index += 1
            index = _parse_hunks(lines, index, last, operation)
        elif not line.strip():
            index += 1
            continue
        else:
            raise PatchError(
                f"Patch line {number}: expected '{_ADD}', '{_DELETE}', '{_UPDATE}' or "
                f"'{_END}'; got {line!r}."
            )
        operations.append(operation)
    if not operations:
        raise PatchError("The patch changes no files.")
    return operations


def _header_path(line: str, prefix: str, number: int) -> str:
    path = line[len(prefix) :].strip()
    if not path:
        raise PatchError(f"Patch line {number}: '{prefix}' needs a path.")
    return path


def _parse_hunks(lines: list[str], index: int, last: int, operation: FileOperation) -> int:
    """Read the hunks of an update from ``index``; returns the index after them.

    A bare empty line counts as an empty context line inside a hunk (models drop the
    space), but is ignored at the end of one, where it only separates sections.
    """
    hunk: Hunk | None = None
    blanks = 0
    while index < last:
        line = lines[index]
        if line == "":
            blanks += 1
            index += 1
            continue
        if line.startswith("@@"):
            hunk = Hunk(context=line[2:].strip() or None, line=index + 1)
            operation.hunks.append(hunk)
        elif line.strip() == _END_OF_FILE and hunk is not None:
            hunk.end_of_file = True
            hunk = None
        elif line.startswith("*** "):
            break
        elif line[:1] in (" ", "-", "+"):
            if hunk is None:
                if operation.hunks:
                    raise PatchError(
                        f"Patch line {index + 1}: a new hunk in '{_UPDATE} {operation.path}' "
                        "must start with '@@'."
                    )
                hunk = Hunk(context=None, line=index + 1)  # the first "@@" may be left out
                operation.hunks.append(hunk)
            hunk.old += [""] * blanks
            hunk.new += [""] * blanks
            if line[0] != "+":
                hunk.old.append(line[1:])
            if line[0] != "-":
                hunk.new.append(line[1:])
        else:
            raise PatchError(
                f"Patch line {index + 1}: unexpected {line!r} in '{_UPDATE} {operation.path}'. "
                "Hunk lines start with ' ' (context), '-' (remove) or '+' (add); hunks start "
                "with '@@'."
            )
        blanks = 0
        index += 1
    if not operation.hunks and operation.move_to is None:
        raise PatchError(f"'{_UPDATE} {operation.path}' has no hunks.")
    for number, hunk in enumerate(operation.hunks, 1):
        if not hunk.old and not hunk.new:
            raise PatchError(f"In '{_UPDATE} {operation.path}', {hunk.label(number)} has no lines.")
    return index


# --- applying hunks ------------------------------------------------------------------

_PUNCTUATION = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-",
        "\u00a0": " ",
    }
)  # fmt: skip

_COMPARISONS: tuple[Callable[[str, str], bool], ...] = (
    lambda a, b: a == b,
    lambda a, b: a.rstrip() == b.rstrip(),
    lambda a, b: a.strip() == b.strip(),
    lambda a, b: a.strip().translate(_PUNCTUATION) == b.strip().translate(_PUNCTUATION),
)


def seek(lines: list[str], pattern: list[str], start: int, end_of_file: bool) -> int | None:
    """Where ``pattern`` occurs in ``lines`` at or after ``start``.

    Each comparison is tried over the whole range before a looser one; a hunk marked
    ``end_of_file`` is tried at the end of the file first.
    """
    last_start = len(lines) - len(pattern)
    if last_start < start:
        return None
    order = list(range(start, last_start + 1))
    if end_of_file:
        order = [last_start, *order[:-1]]
    for same in _COMPARISONS:
        for at in order:
            if all(same(lines[at + k], expected) for k, expected in enumerate(pattern)):
                return at
    return None


def apply_hunks(text: str, hunks: list[Hunk], shown: str) -> str:
    """``text`` with every hunk applied, or ``PatchError`` naming the hunk that did not fit."""
    crlf = "\r\n" in text
    lines = text.replace("\r\n", "\n").split("\n")
    trailing_newline = lines[-1] == "" or text == ""
    if lines[-1] == "":
        lines.pop()
    edits: list[tuple[int, int, list[str]]] = []
    cursor = 0
    for number, hunk in enumerate(hunks, 1):
        if hunk.context is not None:
            found = seek(lines, [hunk.context], cursor, False)
            if found is None:
                raise PatchError(
                    f"{shown}: {hunk.label(number)} does not apply: the context line "
                    f"{hunk.context!r} was not found."
                )
            cursor = found + 1
        if not hunk.old:  # pure addition: after the context line, else at the end
            edits.append((cursor if hunk.context is not None else len(lines), 0, hunk.new))
            continue
        old, new = hunk.old, hunk.new
        at = seek(lines, old, cursor, hunk.end_of_file)
        if at is None and old[-1] == "":  # a blank line the model added after the hunk
            old, new = old[:-1], new[:-1] if new and new[-1] == "" else new
            at = seek(lines, old, cursor, hunk.end_of_file) if old else None
        if at is None:
            expected = "\n".join(hunk.old)
            raise PatchError(
                f"{shown}: {hunk.label(number)} does not apply: these lines were not found "
                f"(searching from line {cursor + 1}):\n{expected}"
            )
        edits.append((at, len(old), new))
        cursor = at + len(old)
    for at, length, new in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[at : at + length] = new
    result = "\n".join(lines) + ("\n" if trailing_newline and lines else "")
    return result.replace("\n", "\r\n") if crlf else result


# --- the tool ------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class _Change:
    """What one operation did, for the summary and the diff."""

    kind: Literal["A", "M", "D"]
    path: Path
    before: str
    after: str
    source: Path | None = None  # where a moved file came from


class _Plan:
    """The files as the patch leaves them, worked out in memory before any write."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.original: dict[Path, str | None] = {}
        self.state: dict[Path, str | None] = {}
        self.changes: list[_Change] = []

    def current(self, path: Path) -> str | None:
        if path not in self.state:
            text = read_text_file(self.ctx, path) if path.exists() else None
            self.original[path] = self.state[path] = text
        return self.state[path]

    def apply(self, operation: FileOperation) -> None:
        path = checked_path(self.ctx, operation.path)
        shown = display_path(self.ctx, path)
        if operation.kind == "add":
            if path.is_dir() or self.current(path) is not None:
                raise PatchError(
                    f"Cannot add {shown}: it already exists. Use '{_UPDATE} {operation.path}' "
                    "to change it."
                )
            self.state[path] = operation.content
            self.changes.append(_Change("A", path, "", operation.content))
            return
        text = self.current(path)
        if text is None:
            raise PatchError(str(not_found(self.ctx, path)))
        if operation.kind == "delete":
            self.state[path] = None
            self.changes.append(_Change("D", path, text, ""))
            return
        updated = apply_hunks(text, operation.hunks, shown)
        target = checked_path(self.ctx, operation.move_to) if operation.move_to else path
        if target != path:
            if target.is_dir() or self.current(target) is not None:
                raise PatchError(
                    f"Cannot move {shown} to {display_path(self.ctx, target)}: the "
                    "destination already exists."
                )
            self.state[path] = None
        self.state[target] = updated
        self.changes.append(_Change("M", target, text, updated, path if target != path else None))

    def write(self) -> None:
        for path, text in self.state.items():
            if text is None:
                if self.original[path] is not None:
                    remove_file(path)
            elif text != self.original[path]:
                write_text_file(path, text)


def _touched(ctx: ToolContext, operations: list[FileOperation]) -> list[Path]:
    paths = [
        checked_path(ctx, name)
        for operation in operations
        for name in (operation.path, operation.move_to)
        if name
    ]
    return list(dict.fromkeys(paths))


class ApplyPatchTool(Tool):
    """Codex-style multi-file patches, all verified before anything is written."""

    id = "apply_patch"
    description = DESCRIPTION
    renamed_arguments: ClassVar[Mapping[str, str]] = {"patch_text": "patchText"}

    def parameters(self) -> dict[str, Any]:
        return tool_schema(ApplyPatchParams)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        operations = parse_patch(args["patchText"])
        return [display_path(ctx, path) for path in _touched(ctx, operations)]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        operations = parse_patch(ApplyPatchParams.model_validate(args).patch_text)
        paths = _touched(ctx, operations)
        for path in paths:
            await check_external(ctx, path)
        return await asyncio.to_thread(self._apply, ctx, operations, paths)

    def _apply(
        self, ctx: ToolContext, operations: list[FileOperation], paths: list[Path]
    ) -> ToolResult:
        plan = _Plan(ctx)
        with locked(*paths):
            try:
                for operation in operations:
                    plan.apply(operation)
            except ToolError as exc:
                raise PatchError(
                    f"{exc}\n\nThe patch was not applied; no file was changed."
                ) from None
            plan.write()
        files: list[dict[str, Any]] = []
        diffs: list[str] = []
        summary: list[str] = []
        for change in plan.changes:
            shown = display_path(ctx, change.path)
            diff = unified_diff(change.before, change.after, shown)
            added, removed = diff_counts(diff)
            moved = f" (moved from {display_path(ctx, change.source)})" if change.source else ""
            summary.append(f"{change.kind} {shown}{moved}")
            diffs.append(diff)
            files.append(
                {"path": shown, "type": change.kind, "additions": added, "deletions": removed}
            )
        return ToolResult(
            title=", ".join(file["path"] for file in files),
            output="Success. Updated the following files:\n" + "\n".join(summary),
            metadata={"files": files, "diff": "\n".join(diff for diff in diffs if diff)},
        )
