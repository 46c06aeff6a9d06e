"""Identifiers: one scheme for every kind, sortable by creation time.

An id is ``<prefix>_`` + 14 hex digits of (milliseconds << 12 | counter) + 12 random
base62 characters. Ids made in one process sort in creation order, even within the
same millisecond; ids from different processes sort by millisecond.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Literal

IdKind = Literal[
    "session", "message", "part", "tool_execution", "memory", "event", "task", "permission"
]

PREFIXES: dict[IdKind, str] = {
    "session": "ses",
    "message": "msg",
    "part": "prt",
    "tool_execution": "tex",
    "memory": "mem",
    "event": "evt",
    "task": "tsk",
    "permission": "per",
}

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _time_component() -> int:
    global _last_ms, _counter
    with _lock:
        now = int(time.time() * 1000)
        if now <= _last_ms:
            _counter += 1
            if _counter >= 0x1000:  # counter exhausted within this millisecond: borrow the next
                _last_ms += 1
                _counter = 0
        else:
            _last_ms = now
            _counter = 0
        return (_last_ms << 12) | _counter


def new_id(kind: IdKind) -> str:
    """A fresh id for ``kind`` (``ses_...``, ``msg_...``, ``prt_...``)."""
    value = int.from_bytes(secrets.token_bytes(9))  # 72 bits; 62**12 > 2**71
    chars = []
    for _ in range(12):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    rand = "".join(chars)
    return f"{PREFIXES[kind]}_{_time_component():014x}{rand}"


def id_kind(value: str) -> IdKind | None:
    """The kind an id was made for, from its prefix; None for a foreign string."""
    prefix, _, rest = value.partition("_")
    for kind, known in PREFIXES.items():
        if known == prefix and len(rest) == 26:
            return kind
    return None


def id_timestamp_ms(value: str) -> int:
    """The creation time (epoch milliseconds) encoded in an id."""
    return int(value.split("_", 1)[1][:14], 16) >> 12
