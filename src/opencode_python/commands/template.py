"""Expanding a command: arguments into placeholders, shell output, attached files.

Follows OpenCode's rules, with one deliberate difference. OpenCode substitutes the
arguments first and then runs the ``!`cmd` `` segments, so an argument can inject shell
code (or a whole new segment). Here the segments are found in the template itself, and
inside them each argument a placeholder stands for becomes one ``shlex``-quoted shell
word (``$ARGUMENTS`` with two files gives the command two words, as in OpenCode, and an
argument such as ``"; rm -rf ~"`` stays one harmless word).
"""

from __future__ import annotations

import asyncio
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .loader import Command
from .references import collect_attachments, render_prompt
from .shell import run_shell

_ARGUMENT = re.compile(r"""(?:\[Image\s+\d+\]|"[^"]*"|'[^']*'|[^\s"']+)""", re.IGNORECASE)
_OUTER_QUOTE = re.compile(r"""^["']|["']$""")
_NUMBERED = re.compile(r"\$(\d+)")
_PLACEHOLDER = re.compile(r"\$(?:(\d+)|ARGUMENTS)")
_SHELL = re.compile(r"!`([^`]+)`")
ARGUMENTS_PLACEHOLDER = "$ARGUMENTS"


@dataclass(frozen=True, slots=True)
class ExpandedCommand:
    """A command ready to send. ``text`` is the whole prompt, attached files' blocks
    included; ``files`` are the absolute paths whose contents (or listings) it holds.
    ``agent``, ``model`` and ``subtask`` are the command's, None where it sets none."""

    text: str
    files: tuple[Path, ...]
    agent: str | None
    model: str | None
    subtask: bool | None


async def expand_command(
    command: Command,
    arguments: str,
    *,
    project_dir: Path,
    worktree: Path | None = None,
    shell_timeout: float = 60.0,
) -> ExpandedCommand:
    """``command``'s template filled with ``arguments`` (one string, as typed).

    Shell segments run in order in ``project_dir``, each for at most ``shell_timeout``
    seconds; a failure becomes a note in the text, never an exception. ``@path``
    references are taken from ``worktree`` (default: ``project_dir``).
    """
    text = await expand_template(
        command.template, arguments, cwd=project_dir, shell_timeout=shell_timeout
    )
    attachments = await asyncio.to_thread(collect_attachments, text, worktree or project_dir)
    return ExpandedCommand(
        text=render_prompt(text, attachments),
        files=tuple(a.path for a in attachments if a.kind != "skipped"),
        agent=command.agent,
        model=command.model,
        subtask=command.subtask,
    )


async def expand_template(template: str, arguments: str, *, cwd: Path, shell_timeout: float) -> str:
    """The prompt text before files are attached (stripped, as OpenCode does)."""
    fill = _Filler(template, arguments)
    pieces: list[str] = []
    position = 0
    for segment in _SHELL.finditer(template):
        pieces.append(fill(template[position : segment.start()], quote=False))
        pieces.append(await run_shell(fill(segment.group(1), quote=True), cwd, shell_timeout))
        position = segment.end()
    pieces.append(fill(template[position:], quote=False))
    text = "".join(pieces)
    if not fill.has_placeholders and arguments.strip():
        text = f"{text}\n\n{arguments}"
    return text.strip()


def split_arguments(arguments: str) -> list[str]:
    """OpenCode's split: words, ``"quoted"`` or ``'quoted'`` runs, ``[Image N]``."""
    return [_OUTER_QUOTE.sub("", word) for word in _ARGUMENT.findall(arguments)]


def placeholders(template: str) -> list[str]:
    """The argument placeholders ``template`` uses (OpenCode's command ``hints``): each
    ``$N`` once, by number, then ``$ARGUMENTS`` if it is there."""
    numbers = sorted({int(n) for n in _NUMBERED.findall(template)})
    found = [f"${n}" for n in numbers]
    if ARGUMENTS_PLACEHOLDER in template:
        found.append(ARGUMENTS_PLACEHOLDER)
    return found


class _Filler:
    """Replaces ``$N`` and ``$ARGUMENTS``; the highest ``$N`` of the whole template
    takes every argument from N on, joined by spaces."""

    def __init__(self, template: str, arguments: str) -> None:
        self.raw = arguments
        self.values = split_arguments(arguments)
        numbers = [int(n) for n in _NUMBERED.findall(template)]
        self.last = max(numbers, default=0)
        self.has_placeholders = bool(numbers) or ARGUMENTS_PLACEHOLDER in template

    def __call__(self, text: str, *, quote: bool) -> str:
        def value(match: re.Match[str]) -> str:
            if quote:
                return " ".join(shlex.quote(word) for word in self._words(match.group(1)))
            return self._value(match.group(1))

        return _PLACEHOLDER.sub(value, text)

    def _words(self, number: str | None) -> list[str]:
        """The arguments a placeholder stands for, one per shell word."""
        if number is None:
            return self.values
        position = int(number)
        if not 1 <= position <= len(self.values):
            return []
        return self.values[position - 1 :] if position == self.last else [self.values[position - 1]]

    def _value(self, number: str | None) -> str:
        if number is None:
            return self.raw
        position = int(number)
        if not 1 <= position <= len(self.values):
            return ""
        if position == self.last:
            return " ".join(self.values[position - 1 :])
        return self.values[position - 1]
