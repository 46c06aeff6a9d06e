"""The session export format: a session tree as plain JSON data, and its validation.

Store-independent: a store reads the tree's rows and calls ``build_export``; on import
it calls ``parse_export`` and writes what comes back. Shape::

    {"format": "opencode-python.session", "version": 1, "session": {...},
     "messages": [{"info": {...}, "parts": [...]}], "children": [<exports>]}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from ..core.errors import StorageError
from ..core.models import MessageWithParts, Session

EXPORT_FORMAT = "opencode-python.session"
EXPORT_VERSION = 1

SessionTree = list[tuple[Session, list[MessageWithParts]]]
"""Sessions of one tree, parents before children, each with its messages in order."""


def build_export(
    root_id: str, sessions: Iterable[Session], messages: Iterable[MessageWithParts]
) -> dict[str, Any]:
    """The export of ``root_id`` and its descendants, from their sessions and messages
    (messages in creation order; children in the order ``sessions`` lists them)."""
    by_id = {session.id: session for session in sessions}
    children: defaultdict[str, list[str]] = defaultdict(list)
    for session in by_id.values():
        if session.id != root_id and session.parent_id is not None:
            children[session.parent_id].append(session.id)
    by_session: defaultdict[str, list[MessageWithParts]] = defaultdict(list)
    for message in messages:
        by_session[message.info.session_id].append(message)
    seen: set[str] = set()  # a parent cycle in the stored data must not recurse forever

    def export(session_id: str) -> dict[str, Any]:
        seen.add(session_id)
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "session": by_id[session_id].model_dump(mode="json"),
            "messages": [m.model_dump(mode="json") for m in by_session[session_id]],
            "children": [export(child) for child in children[session_id] if child not in seen],
        }

    return export(root_id)


def parse_export(data: Any) -> SessionTree:
    """Validate an export and its children; the root is the first entry.

    Raises ``StorageError`` saying what is wrong (format, version, a field, a message
    or part listed under the wrong owner).
    """
    tree: SessionTree = []
    _parse_level(data, tree, parent_id=None)
    return tree


def _parse_level(data: Any, into: SessionTree, *, parent_id: str | None) -> None:
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise StorageError(
            f"not an opencode-python session export: expected a dict with format {EXPORT_FORMAT!r}"
        )
    if data.get("version") != EXPORT_VERSION:
        raise StorageError(
            f"session export version {data.get('version')!r} is not supported; this "
            f"opencode-python reads version {EXPORT_VERSION}"
        )
    try:
        session = Session.model_validate(data["session"])
        messages = [MessageWithParts.model_validate(m) for m in data.get("messages", [])]
        children = list(data.get("children", []))
    except (KeyError, TypeError, ValidationError) as exc:
        raise StorageError(f"invalid session export: {exc}") from exc
    if parent_id is not None and session.parent_id != parent_id:
        raise StorageError(
            f"invalid session export: child session {session.id!r} names parent "
            f"{session.parent_id!r} but is listed under {parent_id!r}"
        )
    for message in messages:
        if message.info.session_id != session.id:
            raise StorageError(
                f"invalid session export: message {message.info.id!r} belongs to session "
                f"{message.info.session_id!r} but is listed under {session.id!r}"
            )
        for part in message.parts:
            if part.message_id != message.info.id:
                raise StorageError(
                    f"invalid session export: part {part.id!r} belongs to message "
                    f"{part.message_id!r} but is listed under {message.info.id!r}"
                )
    into.append((session, messages))
    for child in children:
        _parse_level(child, into, parent_id=session.id)
