"""Finding ``old_string`` in a file: exactly first, then tolerating the slips models make.

Models copy text from an earlier read and slip: indentation shifted, a blank line too many
at the edges, spaces collapsed, newlines written as ``\\n``, a middle line misremembered.
Each strategy below tolerates one kind of slip. They run strictest first and the first
that finds anything decides, so a looser strategy never overrides a better match. Where a
strategy matched text that differs from ``old_string``, it adapts ``new_string`` the same
way (re-indented, trimmed, unescaped), so the edit lands as the model meant it.

Order (after OpenCode's replacers, reordered so each strategy can be reached: a stricter
one never comes after a looser one that already covers it):

1. ``exact``
2. ``trimmed_boundary``: ``old_string`` with leading/trailing whitespace removed
3. ``indentation_flexible``: lines equal once their common indentation is removed
4. ``line_trimmed``: every line equal after ``strip()``
5. ``whitespace_normalized``: equal with every run of whitespace collapsed
6. ``escape_normalized``: ``old_string`` with literal ``\\n``, ``\\t``, ... unescaped
7. ``block_anchor``: first and last lines equal, the middle similar (ratio >= 0.8)
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from ...core.errors import ToolError

BLOCK_SIMILARITY = 0.8
"""How similar (``difflib`` ratio) the middle of a block must be for ``block_anchor``."""


class EditMatchError(ToolError):
    """``old_string`` was not found, was found more than once, or the edit changes nothing."""


@dataclass(frozen=True, slots=True)
class Span:
    """A match: ``content[start:end]`` is to become ``replacement``."""

    start: int
    end: int
    replacement: str


@dataclass(frozen=True, slots=True)
class Replacement:
    """The edited text, which strategy matched, and how many places changed."""

    content: str
    strategy: str
    count: int


Finder = Callable[[str, str, str], list[Span]]
"""(content, old_string, new_string) → every place the strategy matches."""


# --- helpers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Lines:
    """``content`` split on ``\\n``, with each line's start offset."""

    lines: list[str]
    starts: list[int]

    @classmethod
    def of(cls, content: str) -> _Lines:
        lines = content.split("\n")
        starts, offset = [], 0
        for line in lines:
            starts.append(offset)
            offset += len(line) + 1
        return cls(lines, starts)


def _search_lines(old: str) -> tuple[list[str], bool]:
    """``old`` as lines, without the empty line after a final newline (and whether it had one)."""
    lines = old.split("\n")
    ends_with_newline = len(lines) > 1 and lines[-1] == ""
    return (lines[:-1] if ends_with_newline else lines), ends_with_newline


def _block_span(
    text: _Lines, first: int, last: int, replacement: str, ends_with_newline: bool
) -> Span:
    """The span of lines ``first..last``; with the newline after them if ``old`` had one."""
    start = text.starts[first]
    end = text.starts[last] + len(text.lines[last])
    if ends_with_newline:
        if last + 1 < len(text.lines):
            end += 1
        else:  # the block ends the file: so must the replacement, without a newline
            ending = "\r\n" if replacement.endswith("\r\n") else "\n"
            replacement = replacement.removesuffix(ending)
    return Span(start, end, replacement)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _common_indent(lines: list[str]) -> str:
    indents = [_indent_of(line) for line in lines if line.strip()]
    if not indents:
        return ""
    prefix = indents[0]
    for indent in indents[1:]:
        while not indent.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def _dedent(lines: list[str]) -> list[str]:
    indent = _common_indent(lines)
    return [line[len(indent) :] if line.strip() else "" for line in lines]


def _reindent(new: str, old_indent: str, block_indent: str) -> str:
    """Move ``new`` from ``old_string``'s indentation to the matched block's."""
    if old_indent == block_indent:
        return new
    lines = new.split("\n")
    for index, line in enumerate(lines):
        if line.strip() and line.startswith(old_indent):
            lines[index] = block_indent + line[len(old_indent) :]
    return "\n".join(lines)


def _trim_like(old: str, new: str) -> str:
    """Remove from ``new`` the leading/trailing whitespace that was trimmed off ``old``."""
    lead = old[: len(old) - len(old.lstrip())]
    trail = old[len(old.rstrip()) :]
    if lead and new.startswith(lead):
        new = new[len(lead) :]
    if trail and new.endswith(trail):
        new = new[: len(new) - len(trail)]
    return new


def _occurrences(content: str, needle: str, replacement: str) -> list[Span]:
    spans: list[Span] = []
    index = content.find(needle)
    while index != -1:
        spans.append(Span(index, index + len(needle), replacement))
        index = content.find(needle, index + len(needle))
    return spans


def _line_blocks(
    content: str, old: str, new: str, same: Callable[[list[str], list[str]], bool]
) -> list[Span]:
    """Blocks of as many lines as ``old`` that ``same`` accepts, with ``new`` re-indented."""
    search, ends_with_newline = _search_lines(old)
    text = _Lines.of(content)
    size = len(search)
    first_line = search[0].strip()
    old_indent = _common_indent(search)
    spans: list[Span] = []
    for start in range(len(text.lines) - size + 1):
        if text.lines[start].strip() != first_line:
            continue
        block = text.lines[start : start + size]
        if same(block, search):
            replacement = _reindent(new, old_indent, _common_indent(block))
            spans.append(_block_span(text, start, start + size - 1, replacement, ends_with_newline))
    return spans


# --- strategies ----------------------------------------------------------------------


def exact(content: str, old: str, new: str) -> list[Span]:
    """``old`` exactly as written."""
    return _occurrences(content, old, new)


def trimmed_boundary(content: str, old: str, new: str) -> list[Span]:
    """``old`` without its leading and trailing whitespace (a stray blank line or indent)."""
    trimmed = old.strip()
    if not trimmed or trimmed == old:
        return []
    return _occurrences(content, trimmed, _trim_like(old, new))


def indentation_flexible(content: str, old: str, new: str) -> list[Span]:
    """Lines equal once each side's common indentation is removed (the block was shifted)."""
    return _line_blocks(content, old, new, lambda block, search: _dedent(block) == _dedent(search))


def line_trimmed(content: str, old: str, new: str) -> list[Span]:
    """Lines equal after ``strip()`` (indentation or trailing spaces differ line by line)."""
    return _line_blocks(
        content,
        old,
        new,
        lambda block, search: all(
            a.strip() == b.strip() for a, b in zip(block, search, strict=True)
        ),
    )


def whitespace_normalized(content: str, old: str, new: str) -> list[Span]:
    """Equal when every run of whitespace counts as one (``a  =  1`` finds ``a = 1``)."""
    words = old.split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(re.escape(word) for word in words))
    replacement = _trim_like(old, new)
    return [Span(m.start(), m.end(), replacement) for m in pattern.finditer(content)]


_ESCAPE = re.compile(r"\\(n|t|r|'|\"|`|\\|\$|\n)")
_UNESCAPED = {"n": "\n", "t": "\t", "r": "\r", "\n": "\n"}


def unescape(text: str) -> str:
    """Literal escape sequences (``\\n``, ``\\t``, ``\\"``, ...) as the characters they name."""
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), text)


def escape_normalized(content: str, old: str, new: str) -> list[Span]:
    """``old`` with literal escapes unescaped; ``new`` is unescaped too (same slip)."""
    unescaped = unescape(old)
    if unescaped == old:
        return []
    return _occurrences(content, unescaped, unescape(new))


def block_anchor(content: str, old: str, new: str) -> list[Span]:
    """First and last lines equal (trimmed), the lines between similar (>= 0.8).

    For a block of three or more lines whose middle was misremembered. The matched block
    may have a few lines more or fewer than ``old``.
    """
    search, ends_with_newline = _search_lines(old)
    if len(search) < 3:
        return []
    first, last = search[0].strip(), search[-1].strip()
    if not first or not last:
        return []
    middle = "\n".join(line.strip() for line in search[1:-1])
    old_indent = _common_indent(search)
    text = _Lines.of(content)
    stripped = [line.strip() for line in text.lines]
    last_lines = [index for index, line in enumerate(stripped) if line == last]
    spans: list[Span] = []
    for start, line in enumerate(stripped):
        if line != first:
            continue
        after = bisect.bisect_left(last_lines, start + 2)  # the next last line, not a scan
        if after == len(last_lines):
            break
        end = last_lines[after]
        matcher = difflib.SequenceMatcher(None, middle, "\n".join(stripped[start + 1 : end]))
        if (  # cheap upper bounds first: a far-off last line is rejected at once
            matcher.real_quick_ratio() >= BLOCK_SIMILARITY
            and matcher.quick_ratio() >= BLOCK_SIMILARITY
            and matcher.ratio() >= BLOCK_SIMILARITY
        ):
            replacement = _reindent(new, old_indent, _common_indent(text.lines[start : end + 1]))
            spans.append(_block_span(text, start, end, replacement, ends_with_newline))
    return spans


STRATEGIES: tuple[tuple[str, Finder], ...] = (
    ("exact", exact),
    ("trimmed_boundary", trimmed_boundary),
    ("indentation_flexible", indentation_flexible),
    ("line_trimmed", line_trimmed),
    ("whitespace_normalized", whitespace_normalized),
    ("escape_normalized", escape_normalized),
    ("block_anchor", block_anchor),
)

STRATEGY_NOTES = {
    "trimmed_boundary": "ignoring leading and trailing whitespace",
    "indentation_flexible": "ignoring indentation; newString was re-indented to match",
    "line_trimmed": "ignoring whitespace at the start and end of each line",
    "whitespace_normalized": "treating runs of whitespace as one space",
    "escape_normalized": "reading literal escapes such as \\n as the characters they name",
    "block_anchor": "by its first and last lines; the lines between differed slightly",
}
"""How a tolerant match was made, in words for the model (so it can be exact next time)."""


def _without_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda span: (span.start, span.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def replace(content: str, old: str, new: str, replace_all: bool = False) -> Replacement:
    """``content`` with ``old`` replaced by ``new``, by the first strategy that matches.

    Raises ``EditMatchError`` when nothing matches, when several places match and
    ``replace_all`` is false, or when the edit would change nothing.
    """
    if old == new:
        raise EditMatchError(
            "oldString and newString are identical, so there is nothing to change."
        )
    if not old:
        raise EditMatchError("oldString is empty; give the exact text to replace.")
    for name, finder in STRATEGIES:
        spans = _without_overlaps(finder(content, old, new))
        if not spans:
            continue
        if len(spans) > 1 and not replace_all:
            how = f" ({STRATEGY_NOTES[name]})" if name in STRATEGY_NOTES else ""
            raise EditMatchError(
                f"Found {len(spans)} matches for oldString{how}. Add more surrounding "
                "context to oldString so it matches exactly one place, or set replaceAll "
                "to true to replace every match."
            )
        pieces: list[str] = []
        position = 0
        for span in spans:
            pieces += [content[position : span.start], span.replacement]
            position = span.end
        pieces.append(content[position:])
        result = "".join(pieces)
        if result == content:
            raise EditMatchError("The edit would not change the file; it already reads that way.")
        return Replacement(result, name, len(spans))
    raise EditMatchError(
        "Could not find oldString in the file. It must match the file's text, including "
        "whitespace and indentation; read the file again and copy the lines exactly."
    )
