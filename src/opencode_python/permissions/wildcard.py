"""The wildcard patterns of permission rules.

``*`` matches any run of characters, ``/`` and newlines included; ``?`` matches exactly
one character; a backslash before ``*``, ``?``, ``\\``, ``~`` or ``$`` makes that
character literal (``escape`` writes such a pattern); everything else is literal, and
the whole subject must match. A pattern ending in `` *`` also matches the bare command
(``ls *`` matches ``ls`` and ``ls -la``, not ``lsof``). A leading ``~`` or ``$HOME``
stands for the home directory.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

_HOME_MARKERS = ("~", "$HOME")


def escape(subject: str) -> str:
    """A pattern that matches ``subject`` and nothing else (what an ``always`` answer
    stores: approving a file named ``*.env`` must not approve every ``.env``)."""
    escaped = subject.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    if escaped.startswith(_HOME_MARKERS):
        escaped = "\\" + escaped  # a literal ~ or $HOME, not the home directory
    return escaped


def wildcard_match(pattern: str, subject: str) -> bool:
    """Whether ``pattern`` matches all of ``subject``. Called on every tool call, so cached."""
    home = os.path.expanduser("~") if pattern.startswith(_HOME_MARKERS) else ""
    return _compile(pattern, home).fullmatch(subject) is not None


@lru_cache(maxsize=4096)
def _compile(pattern: str, home: str) -> re.Pattern[str]:
    """Compile ``pattern`` once per home directory (the home is part of the key, so a
    changed ``$HOME`` takes effect)."""
    prefix = ""
    for marker in _HOME_MARKERS:
        if home and (pattern == marker or pattern.startswith(marker + "/")):
            prefix, pattern = re.escape(home), pattern[len(marker) :]
            break
    bare = pattern.endswith(" *")
    if bare:
        pattern = pattern[:-2]
    regex = prefix + _glob(pattern)
    if bare:
        regex += "(?: .*)?"
    return re.compile(regex, re.DOTALL)


def _glob(pattern: str) -> str:
    """Translate ``*`` and ``?`` without catastrophic backtracking.

    Each literal run between stars is matched at its first occurrence inside an atomic
    group, which is always right for stars (the earliest fit leaves the most room for the
    rest) and keeps matching near-linear even for patterns like ``*a*a*a*b`` on long input.
    """
    first, *middle_and_last = _between_stars(pattern)
    regex = first
    if middle_and_last:
        *middle, last = middle_and_last
        regex += "".join(f"(?>.*?{part})" for part in middle)
        regex += ".*" + last
    return regex


_ESCAPABLE = frozenset("*?\\~$")


def _between_stars(pattern: str) -> list[str]:
    """The regexes of the runs between unescaped stars (``?`` as one character, an
    escaped character as itself)."""
    runs: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in _ESCAPABLE:
            current.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == "*":
            runs.append("".join(current))
            current = []
            while index < len(pattern) and pattern[index] == "*":
                index += 1
            continue
        current.append("." if char == "?" else re.escape(char))
        index += 1
    runs.append("".join(current))
    return runs
