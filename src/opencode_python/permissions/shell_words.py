"""Shell words after quote removal, as bash computes them.

A permission rule matches what bash will run, so ``r''m``, ``\\rm`` and ``$'\\x72m'``
must all read as ``rm``. These helpers undo one kind of quoting each; ``Word`` carries
what the checker needs to know about a word besides its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# Characters bash treats as a pattern when unquoted: a glob (``*``, ``?``, ``[...]``)
# or a brace expansion (``{a,b}``, ``{1..3}``). Checked on a word's shape, in which
# quoted characters are blanked out.
_PATTERN: Final = re.compile(r"[*?]|\[.*\]|\{[^{}]*(,|\.\.)[^{}]*\}")
_QUOTED: Final = "\x00"  # a quoted character in a word's shape
_EXPANDED: Final = "\x01"  # an expansion in a word's shape


@dataclass(slots=True)
class Word:
    """One word of a command: its text after quote removal, with expansions kept as
    written (``$HOME/x``), and its shape, where quoted characters are blanked out so
    that only the unquoted ones can make a pattern."""

    text: str = ""
    shape: str = ""
    expands: bool = False  # holds an expansion: its value is only known when it runs
    assignment: bool = False  # NAME=value before a command

    @classmethod
    def literal(cls, text: str) -> Word:
        """Quoted text: exactly itself, never a pattern."""
        return cls(text, _QUOTED * len(text))

    @classmethod
    def unquoted(cls, text: str, shape: str) -> Word:
        return cls(text, shape)

    @classmethod
    def expansion(cls, written: str) -> Word:
        return cls(written, _EXPANDED, expands=True)

    def add(self, other: Word) -> None:
        self.text += other.text
        self.shape += other.shape
        self.expands = self.expands or other.expands

    @property
    def pattern(self) -> bool:
        """Whether bash expands the word as a glob or brace pattern (several words, or
        names of files that exist when it runs)."""
        return _PATTERN.search(self.shape) is not None

    @property
    def static(self) -> bool:
        """Whether the text is exactly what bash passes: no expansion, no pattern."""
        return not self.expands and not self.pattern


def unquoted_word(raw: str) -> Word:
    """An unquoted word: a backslash makes the next character literal, and a backslash
    before a newline joins the lines."""
    text: list[str] = []
    shape: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            if raw[index + 1] != "\n":
                text.append(raw[index + 1])
                shape.append(_QUOTED)
            index += 2
            continue
        text.append(char)
        shape.append(char)
        index += 1
    return Word.unquoted("".join(text), "".join(shape))


def double_quoted(raw: str) -> str:
    """Text between double quotes: a backslash escapes only ``$``, a backtick, ``"``,
    a backslash and a newline (which it removes); elsewhere it stays."""
    return _unescape(raw, '$`"\\\n')


def in_backticks(raw: str, *, quoted: bool) -> str:
    """The command inside backticks, as bash reads it before parsing it again: a
    backslash escapes ``$``, a backtick and a backslash (and ``"`` within double quotes)."""
    return _unescape(raw, '$`\\"' if quoted else "$`\\")


def _unescape(raw: str, escapable: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in escapable:
            if raw[index + 1] != "\n":
                out.append(raw[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def backtick_end(text: str, start: int) -> int:
    """The index of the backtick that closes one opened before ``start``, or -1."""
    index = start
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == "`":
            return index
        else:
            index += 1
    return -1


_C_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_HEX: Final = "0123456789abcdefABCDEF"
# \x takes up to 2 hex digits, \u up to 4, \U up to 8.
_HEX_WIDTH: Final = {"x": 2, "u": 4, "U": 8}


def ansi_c(body: str) -> str:
    """The text of ``$'body'``. ``\\xHH`` and ``\\NNN`` are bytes, read back as UTF-8 like
    the rest. Like bash, a NUL (``\\0``) ends the string: ``$'rm\\0x'`` is ``rm``."""
    out = bytearray()
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            out += char.encode("utf-8", "surrogatepass")
            index += 1
            continue
        code = body[index + 1]
        index += 2
        if code in _C_ESCAPES:
            out += _C_ESCAPES[code].encode()
        elif code in "01234567":
            digits = code
            while len(digits) < 3 and index < len(body) and body[index] in "01234567":
                digits += body[index]
                index += 1
            out.append(int(digits, 8) & 0xFF)
        elif code in _HEX_WIDTH:
            digits = ""
            while len(digits) < _HEX_WIDTH[code] and index < len(body) and body[index] in _HEX:
                digits += body[index]
                index += 1
            if not digits:
                out += b"\\" + code.encode()
            elif code == "x":
                out.append(int(digits, 16))
            else:
                out += _code_point(int(digits, 16)).encode("utf-8", "surrogatepass")
        elif code == "c" and index < len(body):
            control = body[index]
            index += 1
            out.append(0x7F if control == "?" else ord(control.upper()[0]) & 0x1F)
        else:
            out += ("\\" + code).encode("utf-8", "surrogatepass")
    return bytes(out).split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _code_point(value: int) -> str:
    return chr(value) if value <= 0x10FFFF else "\ufffd"
