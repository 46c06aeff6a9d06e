"""``MemoryManager``: facts an app and its agents keep across sessions, found by meaning.

Memories live in the client's store with the name and size of the embedder that made
their vectors; a search only compares vectors of the same embedder, so switching
embedders never mixes spaces (``reembed`` brings old memories over). Without an
embedder, search falls back to keywords (said once in the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError
from ..core.models import (
    MemoryEntry,
    MemoryFilter,
    MemoryRetention,
    MemoryScope,
    MessageWithParts,
    TokenUsage,
)
from ..storage.contract import Store
from .embedders import MemoryEmbedder
from .search import hybrid_search
from .summarizer import MemorySummarizer, MemorySummary

if TYPE_CHECKING:
    from .vectors import VectorIndex

log = logging.getLogger(__name__)

STATE_NAMESPACE = "conversation_state"
# How many memories ``reembed`` embeds per call.
_EMBED_BATCH = 256


class MemoryManager:
    """Store, search, update and prune memories of one project."""

    def __init__(
        self,
        store: Store,
        *,
        project_id: str,
        embedder: MemoryEmbedder | None = None,
        summarizer: Callable[[], MemorySummarizer] | None = None,
        retention: Mapping[MemoryScope, MemoryRetention] | None = None,
    ) -> None:
        self.store = store
        self.project_id = project_id
        self.embedder = embedder
        self._summarizer = summarizer
        self.retention = dict(retention or {})
        self._index: VectorIndex | None = None
        if embedder is not None:  # numpy, imported only for vector search
            from .vectors import VectorIndex

            self._index = VectorIndex(store, embedder.name)
        self._warned = False

    async def store_memory(
        self,
        session_id: str | None,
        content: str,
        metadata: dict[str, Any] | None = None,
        embeddings: Sequence[float] | None = None,
        scope: MemoryScope = "session",
        *,
        agent: str | None = None,
        occurred_at: datetime | int | None = None,
        context: str | None = None,
    ) -> str:
        """Keep ``content``; returns its id. ``embeddings`` must come from this embedder.
        ``occurred_at`` is when what it says happened (a datetime or epoch ms);
        ``context`` is text the embedder sees with it (the turns before a chat turn)."""
        [memory_id] = await self.store_memories(
            [content],
            session_id=session_id,
            metadata=[metadata or {}],
            embeddings=None if embeddings is None else [embeddings],
            scope=scope,
            agent=agent,
            occurred_at=[occurred_at],
            context=[context],
        )
        return memory_id

    async def store_memories(
        self,
        contents: Sequence[str],
        *,
        session_id: str | None = None,
        metadata: Sequence[dict[str, Any]] | None = None,
        embeddings: Sequence[Sequence[float]] | None = None,
        scope: MemoryScope = "session",
        agent: str | None = None,
        occurred_at: Sequence[datetime | int | None] | None = None,
        context: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Keep many memories at once, embedded in one batch and written in one
        transaction; returns their ids in order. ``metadata``, ``embeddings``,
        ``occurred_at`` and ``context``, when given, have one item per content."""
        given: tuple[tuple[str, Sequence[Any] | None], ...] = (
            ("metadata", metadata),
            ("embeddings", embeddings),
            ("occurred_at", occurred_at),
            ("context", context),
        )
        for name, values in given:
            if values is not None and len(values) != len(contents):
                raise ConfigError(
                    f"store_memories got {len(contents)} contents but {len(values)} {name} "
                    "values; give one per content"
                )
        for content in contents:
            if not content.strip():
                raise ConfigError("a memory needs some content; got an empty string")
        entries = [
            MemoryEntry(
                session_id=session_id,
                project_id=self.project_id,
                agent=agent,
                scope=scope,
                content=content,
                metadata=dict(metadata[i]) if metadata is not None else {},
                occurred_at=_epoch_ms(occurred_at[i]) if occurred_at is not None else None,
                context=context[i] if context is not None else None,
            )
            for i, content in enumerate(contents)
        ]
        await self._embed_into(entries, embeddings)
        await self._save(entries)
        limits = self.retention.get(scope)
        if limits is not None:
            max_age_ms = int(limits.max_age_days * 86_400_000) if limits.max_age_days else None
            await self.prune(scope, max_count=limits.max_count, max_age_ms=max_age_ms)
        return [entry.id for entry in entries]

    async def get(self, memory_id: str) -> MemoryEntry:
        return await self.store.get_memory(memory_id)

    async def update(
        self,
        memory_id: str,
        *,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> MemoryEntry:
        """Change a memory's text (re-embedded) or metadata (merged)."""
        entry = await self.store.get_memory(memory_id)
        if content is not None:
            entry.content = content
            await self._embed_into([entry], None)
        if metadata:
            entry.metadata.update(metadata)
        await self._save([entry])
        return entry

    async def delete(self, memory_id: str) -> bool:
        return await self.store.delete_memory(memory_id)

    async def search_memory(
        self,
        session_id: str | None,
        query: str,
        limit: int = 10,
        filters: dict[str, Any] | None = None,
        *,
        agent: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> list[MemoryEntry]:
        """Memories visible from ``session_id`` that best match ``query``, best first.

        ``filters`` keeps memories whose metadata has those values; the search covers
        the session's memories, the agent's, the project's and the user's.
        """
        filt = MemoryFilter(
            project_id=self.project_id,
            session_id=session_id,
            agent=agent,
            metadata=dict(filters or {}),
            since_ms=since_ms,
            until_ms=until_ms,
        )
        if not await self.store.has_memories(filt):
            return []  # nothing to find: the embedder is not even loaded
        vector = None
        if self.embedder is not None and self._index is not None:
            vector = (await self.embedder.embed([query]))[0]
        elif not self._warned:
            self._warned = True
            log.info("no embedder is available: memory search uses keywords only")
        ranked = await hybrid_search(
            query, vector, filt, limit, store=self.store, index=self._index
        )
        scores = dict(ranked)
        found = await self.store.get_memories(list(scores))
        for entry in found:
            entry.relevance_score = scores[entry.id]
            entry.embedding = None
        if found:
            await self.store.touch_memories([m.id for m in found])
        return found

    async def summarize_memories(
        self, session_id: str, since: datetime | int | None = None
    ) -> MemorySummary:
        """Condense a session (its messages since ``since``) into a summary with key
        points, stored as a session memory with its source; returns the summary."""
        if self._summarizer is None:
            raise ConfigError("summaries need a model: configure one (SDKConfig(model=...))")
        since_ms = int(since.timestamp() * 1000) if isinstance(since, datetime) else since
        messages = [
            m
            for m in await self.store.list_messages(session_id)
            if since_ms is None or m.info.time.created >= since_ms
        ]
        summary = MemorySummary(session_id=session_id, summary="")
        if not messages:
            return summary
        summarizer = self._summarizer()
        text, points, usage = await summarizer.summarize(messages)
        summary.summary, summary.key_points, summary.usage = text, points, usage
        summary.cost = summarizer.cost_of(usage)
        body = text + "".join(f"\n- {point}" for point in points)
        summary.memory_id = await self.store_memory(
            session_id,
            body,
            {"kind": "summary", "source_session": session_id, "since": since_ms},
        )
        return summary

    async def remember_facts(
        self, session_id: str, messages: Sequence[MessageWithParts], *, agent: str | None
    ) -> tuple[list[str], TokenUsage, float]:
        """Store the facts the summarizer finds worth keeping in ``messages``, each with
        its source session and message; returns their ids and the call's usage and cost."""
        if self._summarizer is None or not messages:
            return [], TokenUsage(), 0.0
        summarizer = self._summarizer()
        facts, usage = await summarizer.facts(messages)
        source = messages[-1].info.id
        ids = [
            await self.store_memory(
                session_id,
                fact,
                {"kind": "fact", "source_session": session_id, "source_message": source},
                scope="project",
                agent=agent,
            )
            for fact in facts
        ]
        return ids, usage, summarizer.cost_of(usage)

    async def reembed(self) -> int:
        """Give every memory of the project a vector from the current embedder."""
        if self.embedder is None:
            raise ConfigError("no embedder is configured, so there is nothing to re-embed with")
        entries = await self.store.list_memories(MemoryFilter(project_id=self.project_id))
        stale = [e for e in entries if e.embedder != self.embedder.name]
        for start in range(0, len(stale), _EMBED_BATCH):
            batch = stale[start : start + _EMBED_BATCH]
            await self._embed_into(batch, None)
            await self._save(batch)
        return len(stale)

    async def prune(
        self,
        scope: MemoryScope,
        *,
        max_count: int | None = None,
        max_age_ms: int | None = None,
    ) -> int:
        """Retention: drop the oldest or least used memories of a scope beyond the limits."""
        return await self.store.prune_memories(
            scope, max_count=max_count, max_age_ms=max_age_ms, project_id=self.project_id
        )

    async def save_conversation_state(
        self, session_id: str, state_key: str, state_data: dict[str, Any]
    ) -> None:
        """Keep structured state for a conversation (a form half filled, a plan)."""
        await self.store.set_state(STATE_NAMESPACE, f"{session_id}:{state_key}", state_data)

    async def retrieve_conversation_state(
        self, session_id: str, state_key: str
    ) -> dict[str, Any] | None:
        value = await self.store.get_state(STATE_NAMESPACE, f"{session_id}:{state_key}")
        return value if isinstance(value, dict) else None

    async def _save(self, entries: Sequence[MemoryEntry]) -> None:
        """Save, and hand the rows to the vector index so it need not load them again."""
        if self._index is None:
            await self.store.save_memories(entries)
            return
        before = await self.store.memory_version()
        await self.store.save_memories(entries)
        await self._index.wrote(entries, before, await self.store.memory_version())

    async def _embed_into(
        self, entries: Sequence[MemoryEntry], given: Sequence[Sequence[float]] | None
    ) -> None:
        if self.embedder is None:
            if given is not None:
                raise ConfigError(
                    "embeddings were given but no embedder is configured to say what space "
                    "they are in; configure the embedder that made them"
                )
            for entry in entries:
                entry.embedding, entry.embedder = None, None
            return
        if given is not None:
            for vector in given:
                if len(vector) != self.embedder.dimensions:
                    raise ConfigError(
                        f"the given embeddings have {len(vector)} dimensions; the embedder "
                        f"{self.embedder.name} makes {self.embedder.dimensions}"
                    )
            vectors = [[float(x) for x in vector] for vector in given]
        else:
            made = await self.embedder.embed([embedding_text(entry) for entry in entries])
            vectors = [[float(x) for x in row] for row in made]
        for entry, vector in zip(entries, vectors, strict=True):
            entry.embedding, entry.embedder = vector, self.embedder.name


def embedding_text(entry: MemoryEntry) -> str:
    """What the embedder sees: the context, the content, and the date it is about when
    known. The context lets an answer be found by its question (a reply to "what did
    you do on Sunday?"), the date lets a question that names a time find memories
    from then."""
    text = entry.content if not entry.context else f"{entry.context} {entry.content}"
    if entry.occurred_at is None:
        return text
    when = datetime.fromtimestamp(entry.occurred_at / 1000, tz=UTC)
    return f"{text} ({when.day} {when:%B %Y})"


def _epoch_ms(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(value.timestamp() * 1000)
