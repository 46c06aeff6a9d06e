"""Doom-loop detection: a model calling the same tools with the same arguments over and over.

Pure: the caller passes the session's calls in order (across assistant messages), the
one about to run last, and gets back what loop, if any, that call would complete.
OpenCode only looks for one call repeated within a message; this also finds cycles
(``A, B, A, B, A, B``) and loops that span messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal

Call = tuple[str, str]
"""A call as compared: the tool id and its arguments as canonical JSON."""


#: Free text a model writes about a call (bash's and task's ``description``): varying it
#: does not make a repeated call a different one.
FREE_TEXT_FIELDS = frozenset({"description"})


def canonical_call(tool: str, args: Mapping[str, Any]) -> Call:
    """``(tool, args as JSON with sorted keys)``: equal arguments give equal calls, and so
    do arguments that differ only in whitespace or in a free-text ``description``."""
    return tool, json.dumps(
        _plain(args), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if k not in FREE_TEXT_FIELDS}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return " ".join(value.split())
    return value


@dataclass(frozen=True, slots=True)
class DoomLoop:
    """A loop the current call would complete.

    ``tool`` is the current call's tool, ``length`` the number of calls in the cycle
    (1 for a repeat), ``repeats`` how often it ran back to back, ``calls`` one cycle.
    ``message`` says it in words for the model and the user (no final period).
    """

    kind: Literal["repeat", "cycle"]
    tool: str
    length: int
    repeats: int
    calls: tuple[Call, ...]
    message: str


@dataclass(frozen=True, slots=True)
class DoomLoopDetector:
    """Flags the current call when it completes ``threshold`` back-to-back runs of one
    call, or of a cycle of 2 to ``max_cycle`` calls, all with the same arguments."""

    threshold: int = 3
    max_cycle: int = 4

    def __post_init__(self) -> None:
        if self.threshold < 2:
            raise ValueError(f"threshold must be at least 2, got {self.threshold}")
        if self.max_cycle < 1:
            raise ValueError(f"max_cycle must be at least 1, got {self.max_cycle}")

    def check(self, calls: Sequence[Call]) -> DoomLoop | None:
        """The loop that ``calls[-1]`` (the call about to run) completes, or ``None``.

        The shortest cycle wins, so ``A, A, A`` is a repeat and ``A, B, A, B, A, B`` a
        cycle of two, never one of four.
        """
        window = self.threshold * self.max_cycle
        tail = list(islice(reversed(calls), window))[::-1]  # a deque works too
        for length in range(1, self.max_cycle + 1):
            span = length * self.threshold
            if span > len(tail):
                break
            cycle = tail[-length:]
            if tail[-span:] == cycle * self.threshold:
                return self._loop(tuple(cycle))
        return None

    def _loop(self, cycle: tuple[Call, ...]) -> DoomLoop:
        tool = cycle[-1][0]
        if len(cycle) == 1:
            message = (
                f"The same call to {tool} with the same arguments was made "
                f"{self.threshold} times in a row"
            )
            return DoomLoop("repeat", tool, 1, self.threshold, cycle, message)
        names = ", ".join(name for name, _ in cycle)
        message = (
            f"The calls {names} repeat as a cycle {self.threshold} times with the same arguments"
        )
        return DoomLoop("cycle", tool, len(cycle), self.threshold, cycle, message)
