"""The wildcard patterns of permission rules.

``*`` matches any run of characters, ``/`` and newlines included; ``?`` matches exactly
one character; everything else is literal, and the whole subject must match. A pattern
ending in `` *`` also matches the bare command (``ls *`` matches ``ls`` and ``ls -la``,
not ``lsof``). A leading ``~`` or ``$HOME`` stands for the home directory.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

_HOME_MARKERS = ("~", "$HOME")


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
    first, *middle_and_last = re.split(r"\*+", pattern)
    regex = _literal(first)
    if middle_and_last:
        *middle, last = middle_and_last
        regex += "".join(f"(?>.*?{_literal(part)})" for part in middle)
        regex += ".*" + _literal(last)
    return regex


def _literal(text: str) -> str:
    return ".".join(re.escape(part) for part in text.split("?"))
