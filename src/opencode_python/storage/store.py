"""``SessionStorage``: the friendly, user-facing view of stored sessions.

Applications use it directly to keep conversations; the client hands it its own store.
It does no I/O until first used, so it is cheap to build anywhere.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from ..core.errors import NotFoundError
from ..core.ids import new_id
from ..core.models import (
    Message,
    MessageTime,
    MessageWithParts,
    Session,
    TextPart,
    TokenUsage,
    now_ms,
)
from .contract import Store, UsageCharge, WriteBatch
from .paths import database_path
from .project import ProjectInfo, resolve_project

Role = Literal["user", "assistant"]
_ROLES: tuple[Role, ...] = ("user", "assistant")


DEFAULT_TITLE_MARK = "session - "


def has_default_title(session: Session) -> bool:
    """Whether the session still has the dated title it was created with (no real one)."""
    return session.title.startswith(("New " + DEFAULT_TITLE_MARK, "Child " + DEFAULT_TITLE_MARK))


def _slug(title: str, session_id: str) -> str:
    """A short readable handle: the title's first words and the id's random tail."""
    stem = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:4])[:32].strip("-")
    return f"{stem or 'session'}-{session_id[-6:].lower()}"


class SessionStorage:
    """Create, list, read, rename, delete, export and import sessions and their messages.

    ``base_dir`` is the storage directory (default: the per-user data directory);
    ``project_dir`` the directory whose project new sessions belong to (default: the
    current directory). Pass ``store`` to share an open store: it is then borrowed and
    never closed here.
    """

    def __init__(
        self,
        base_dir: str | Path | None = None,
        *,
        project_dir: str | Path | None = None,
        store: Store | None = None,
    ) -> None:
        if store is not None and base_dir is not None:
            raise ValueError(
                "pass either base_dir (SessionStorage opens a database there) or store "
                "(a store it borrows), not both"
            )
        self._base_dir = base_dir
        self._project_dir = project_dir
        self._store = store
        self._owns_store = store is None
        self._project: ProjectInfo | None = None
        self._lock = asyncio.Lock()

    async def _get_store(self) -> Store:
        if self._store is not None:
            return self._store
        async with self._lock:
            if self._store is None:
                path = await asyncio.to_thread(database_path, self._base_dir)
                from .sqlite import SQLiteStore  # the embedded default

                store = SQLiteStore(path)
                await store.open()
                self._store = store
            return self._store

    async def project(self) -> ProjectInfo:
        """The project new sessions belong to (resolved once, on first use)."""
        if self._project is None:
            directory = self._project_dir if self._project_dir is not None else Path.cwd()
            self._project = await asyncio.to_thread(resolve_project, directory)
        return self._project

    async def close(self) -> None:
        """Close the database if this object opened it; a borrowed store stays open."""
        if self._owns_store and self._store is not None:
            await self._store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # sessions ----------------------------------------------------------------------

    async def create_session(
        self, title: str = "", *, version: str = "", parent_id: str | None = None
    ) -> Session:
        """A new session in the current project. Without a title, a dated default."""
        store = await self._get_store()
        if parent_id is not None:
            await store.get_session(parent_id)  # NotFoundError names a wrong parent now
        project = await self.project()
        session_id = new_id("session")
        slug = _slug(title, session_id)
        if not title:
            kind = "Child" if parent_id else "New"
            title = f"{kind} {DEFAULT_TITLE_MARK}{datetime.now(UTC).isoformat(timespec='seconds')}"
        session = Session(
            id=session_id,
            slug=slug,
            project_id=project.id,
            directory=project.directory,
            parent_id=parent_id,
            title=title,
            version=version,
        )
        return await store.create_session(session)

    async def get_session(self, session_id: str) -> Session:
        """Raises ``NotFoundError`` when there is no such session."""
        return await (await self._get_store()).get_session(session_id)

    async def list_sessions(
        self,
        *,
        project_id: str | None = None,
        parent_id: str | None = None,
        roots_only: bool = False,
        limit: int | None = None,
    ) -> list[Session]:
        """All sessions (or one project's, or one session's children), latest update first."""
        store = await self._get_store()
        return await store.list_sessions(
            project_id=project_id, parent_id=parent_id, roots_only=roots_only, limit=limit
        )

    async def rename_session(self, session_id: str, title: str) -> Session:
        """Give the session a new title; it counts as an update."""
        if not title.strip():
            raise ValueError("a session title must not be empty")
        store = await self._get_store()
        session = await store.get_session(session_id)
        session.title = title
        session.time.updated = max(now_ms(), session.time.updated)
        return await store.update_session(session)

    async def delete_session(self, session_id: str) -> None:
        """Delete the session, its messages and its child sessions."""
        await (await self._get_store()).delete_session(session_id)

    async def fork_session(self, session_id: str, *, up_to: str | None = None) -> Session:
        """A new session holding a copy of ``session_id``'s messages, up to and including
        the message ``up_to`` (all of them when None), under new ids; the original is
        left as it was. Its title says which fork it is, as OpenCode's do.

        Raises ``NotFoundError`` for an unknown session or a message not in it.
        """
        store = await self._get_store()
        source = await store.get_session(session_id)
        messages = await store.list_messages(session_id)
        if up_to is not None:
            ids = [m.info.id for m in messages]
            if up_to not in ids:
                raise NotFoundError(f"Message not found: {up_to} (in session {session_id})")
            messages = messages[: ids.index(up_to) + 1]
        siblings = await store.list_sessions(project_id=source.project_id)
        mark = f"{source.title} (fork #"
        number = 1 + sum(1 for s in siblings if s.title.startswith(mark))
        fork = await self.create_session(
            f"{mark}{number})", version=source.version, parent_id=source.parent_id
        )
        renamed = {m.info.id: new_id("message") for m in messages}
        batch = WriteBatch(charges=[UsageCharge(fork.id, TokenUsage(), 0.0)])
        for message in messages:
            parent = message.info.parent_id
            info = message.info.model_copy(
                update={
                    "id": renamed[message.info.id],
                    "session_id": fork.id,
                    "parent_id": renamed.get(parent, parent) if parent else None,
                }
            )
            batch.messages.append(info)
            batch.parts.extend(
                part.model_copy(
                    update={"id": new_id("part"), "session_id": fork.id, "message_id": info.id}
                )
                for part in message.parts
            )
            batch.charges.append(UsageCharge(fork.id, info.usage, info.cost))
        await store.write(batch)
        return await store.get_session(fork.id)

    # messages ----------------------------------------------------------------------

    async def add_message(self, session_id: str, role: Role, content: str) -> str:
        """Store a finished ``role`` message holding ``content`` as one text part; its id.

        The message, its part and the session's update go in one transaction.
        """
        if role not in _ROLES:
            raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")
        store = await self._get_store()
        now = now_ms()
        message = Message(
            session_id=session_id,
            role=role,
            time=MessageTime(created=now, completed=now),
            finish="stop" if role == "assistant" else None,
        )
        part = TextPart(session_id=session_id, message_id=message.id, text=content)
        part.time.end = now
        # A zero charge moves the session's time.updated: adding a message is an update.
        nothing = UsageCharge(session_id, TokenUsage(), 0.0)
        await store.write(WriteBatch(messages=[message], parts=[part], charges=[nothing]))
        return message.id

    async def get_messages(
        self, session_id: str, *, limit: int | None = None
    ) -> list[MessageWithParts]:
        """The session's messages, oldest first; with ``limit``, only the latest ones."""
        return await (await self._get_store()).list_messages(session_id, limit=limit)

    # export / import ---------------------------------------------------------------

    async def export_session(self, session_id: str) -> dict[str, Any]:
        """The session with its messages and child sessions, as JSON-able data."""
        return await (await self._get_store()).export_session(session_id)

    async def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        """Restore an export with the same ids; ``overwrite`` replaces an existing one."""
        return await (await self._get_store()).import_session(data, overwrite=overwrite)
