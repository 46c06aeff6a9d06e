"""``@path`` references in a prompt: the files and directories they name, attached.

Paths are taken from the worktree root (``~/`` from the home directory), as OpenCode
does. The ``@path`` text stays in the prompt; the contents follow it as ``<file>``
blocks (``render_prompt``). A path that does not exist is left alone: ``@here`` may
just be a word.
"""

from __future__ import annotations

import codecs
import html
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: OpenCode's file-reference pattern; JavaScript's ``\w`` is ASCII-only.
_REFERENCE = re.compile(r"(?<![A-Za-z0-9_`])@(\.?[^\s`,.]*(?:\.[^\s`,.]+)*)")
#: A file longer than this is cut, with a note.
MAX_FILE_BYTES = 200 * 1024
#: A directory listing longer than this is cut, with a note.
MAX_DIRECTORY_ENTRIES = 1000
_BINARY_SNIFF_BYTES = 8192

AttachmentKind = Literal["file", "directory", "skipped"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """What one ``@path`` names: a file's text, a directory's listing, or nothing
    (``skipped``: binary or unreadable). ``note`` says what was left out and why."""

    path: Path
    kind: AttachmentKind
    content: str = ""
    note: str = ""

    def render(self) -> str:
        """The block appended to the prompt."""
        tag = "directory" if self.kind == "directory" else "file"
        body = "\n".join(part for part in (self.content.rstrip("\n"), self.note) if part)
        return f'<{tag} path="{html.escape(str(self.path))}">\n{body}\n</{tag}>'


def collect_attachments(text: str, worktree: Path) -> list[Attachment]:
    """One attachment per distinct existing path ``text`` references, in order of
    first mention. Blocking file I/O: run it in a thread from async code."""
    attachments: list[Attachment] = []
    seen: set[Path] = set()
    for match in _REFERENCE.finditer(text):
        name = match.group(1)
        if not name:
            continue
        path = _resolve(name, worktree)
        if path in seen:
            continue
        seen.add(path)
        attachment = _attach(path)
        if attachment is not None:
            attachments.append(attachment)
    return attachments


def render_prompt(text: str, attachments: Iterable[Attachment]) -> str:
    """``text`` with each attachment's block after it, separated by blank lines."""
    return "\n\n".join([text, *(attachment.render() for attachment in attachments)])


def _resolve(name: str, worktree: Path) -> Path:
    path = Path.home() / name[2:] if name.startswith("~/") else worktree / name
    return Path(os.path.abspath(path))


def _attach(path: Path) -> Attachment | None:
    """None for a path that is missing or not a regular file or directory."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(mode):
        return _directory(path)
    if stat.S_ISREG(mode):
        return _file(path)
    return None


def _file(path: Path) -> Attachment:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        size = path.stat().st_size
    except OSError as exc:
        return Attachment(path, "skipped", note=f"[not attached: cannot read the file ({exc})]")
    cut = len(data) > MAX_FILE_BYTES
    content = _text(data[:MAX_FILE_BYTES], complete=not cut)
    if content is None:
        return Attachment(path, "skipped", note=f"[not attached: a binary file, {size} bytes]")
    if not cut:
        return Attachment(path, "file", content)
    note = f"[cut at {MAX_FILE_BYTES // 1024} KB of {size} bytes; read the rest with the read tool]"
    return Attachment(path, "file", content, note)


def _text(data: bytes, *, complete: bool) -> str | None:
    """``data`` as UTF-8, or None for binary. A cut file may end inside a character."""
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        return None
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        return None


def _directory(path: Path) -> Attachment:
    try:
        entries = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in os.scandir(path))
    except OSError as exc:
        return Attachment(path, "skipped", note=f"[not listed: {exc}]")
    note = ""
    if len(entries) > MAX_DIRECTORY_ENTRIES:
        note = f"[{len(entries) - MAX_DIRECTORY_ENTRIES} more entries not listed]"
    listing = "\n".join(entries[:MAX_DIRECTORY_ENTRIES])
    return Attachment(path, "directory", listing, note)
