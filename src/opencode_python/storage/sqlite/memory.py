"""Memories: rows with the columns filters test, an FTS5 index over their content, and
the embedding as a float32 blob, for hybrid search."""

from __future__ import annotations

import array
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from ...core.errors import NotFoundError
from ...core.models import MemoryEntry, MemoryFilter, MemoryScope, now_ms
from ..contract import MemoryVectors
from .db import Db, marks

_MEMORY_COLUMNS = (
    "id, session_id, project_id, agent, scope, content, metadata, created, last_used, "
    "use_count, embedder, dims, embedding, occurred_at, context"
)
_UPSERT_MEMORY = (
    f"INSERT INTO memories ({_MEMORY_COLUMNS}) VALUES ({marks(15)}) "
    "ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, "
    "project_id = excluded.project_id, agent = excluded.agent, scope = excluded.scope, "
    "content = excluded.content, metadata = excluded.metadata, created = excluded.created, "
    "last_used = excluded.last_used, use_count = excluded.use_count, "
    "embedder = excluded.embedder, dims = excluded.dims, embedding = excluded.embedding, "
    "occurred_at = excluded.occurred_at, context = excluded.context"
)
_SELECT_MEMORY = f"SELECT {_MEMORY_COLUMNS} FROM memories AS m"
_SELECT_MEMORY_VECTORS = (
    "SELECT id, scope, coalesce(session_id, ''), coalesce(agent, ''), created, metadata, "
    "embedding, coalesce(occurred_at, created) FROM memories WHERE embedder = ? AND dims = ? "
    "AND (project_id = ? OR scope = 'user') ORDER BY seq"
)
_KEYWORD_SEARCH = (
    "SELECT m.id, bm25(memories_fts) AS rank FROM memories_fts "
    "JOIN memories AS m ON m.seq = memories_fts.rowid "
    "WHERE memories_fts MATCH ? AND {where} ORDER BY rank LIMIT ?"
)
# The best matches of the whole table first, then the filter: FTS5 ranks alone about
# twice as fast as joined. When at least ``limit`` of them are visible they are the
# visible best; else the filtered query above runs.
_KEYWORD_SEARCH_UNFILTERED = (
    "SELECT m.id, f.rank FROM (SELECT rowid, bm25(memories_fts) AS rank FROM memories_fts "
    "WHERE memories_fts MATCH ? ORDER BY rank LIMIT ?) AS f "
    "JOIN memories AS m ON m.seq = f.rowid WHERE {where} ORDER BY f.rank LIMIT ?"
)
_UNFILTERED_POOL = 4
# Words too common to say what a memory is about; matching them would rank most of the
# table. Dropped from keyword queries unless the query has nothing else.
# fmt: off
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "did", "do", "does", "for",
    "from", "had", "has", "have", "how", "i", "if", "in", "is", "it", "its", "me", "my",
    "not", "of", "on", "or", "our", "so", "that", "the", "their", "them", "there", "these",
    "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "you", "your",
})
# fmt: on
_MAX_QUERY_TERMS = 32
# Words in more than this share of all memories, and in more than _COMMON_MIN_ROWS of
# them, are dropped from keyword queries (below that, ranking them costs little).
_COMMON_SHARE = 0.05
_COMMON_MIN_ROWS = 1000
# The query is stemmed by the index's own tokenizer (a one-row scratch table), and
# words are counted in the index's vocabulary; both are per connection, in temp.
_SCRATCH_TABLES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memory_query USING fts5 "
    "(content, tokenize = 'porter unicode61')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memory_query_terms "
    "USING fts5vocab(temp, memory_query, 'instance')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memory_vocab "
    "USING fts5vocab(main, memories_fts, 'row')",
)
_WORD = re.compile(r"\w+")


def _query_words(query: str) -> list[str]:
    """The query's words, minus stopwords unless nothing else is left."""
    words = list(dict.fromkeys(_WORD.findall(query.lower())))
    return ([w for w in words if w not in _STOPWORDS] or words)[:_MAX_QUERY_TERMS]


def _match_expression(words: Sequence[str]) -> str | None:
    """The words as an FTS5 OR of quoted terms: user text never acts as syntax
    (``AND``, ``*``, ``"``, ``NEAR`` are matched as plain words or dropped)."""
    return " OR ".join(f'"{word}"' for word in words) or None


def _distinctive(db: Db, words: list[str]) -> list[str]:
    """``words`` without those in more than ``_COMMON_SHARE`` of all memories (a
    speaker's name in a chat log of thousands of turns): they say little about which
    memory is meant, and ranking every row that holds them is most of a search's time.
    The rarest word is kept when all are common. Words are counted as the index stems
    them."""
    if len(words) < 2:
        return words
    conn = db.conn
    for statement in _SCRATCH_TABLES:
        conn.execute(statement)
    conn.execute("DELETE FROM temp.memory_query")
    conn.executemany(
        "INSERT INTO temp.memory_query (rowid, content) VALUES (?, ?)", enumerate(words)
    )
    stems = dict(conn.execute("SELECT doc, term FROM temp.memory_query_terms"))
    rows = conn.execute("SELECT coalesce(max(seq), 0) FROM memories").fetchone()[0]
    counts = {
        i: conn.execute("SELECT doc FROM temp.memory_vocab WHERE term = ?", (stem,)).fetchone()
        for i, stem in stems.items()
    }
    held = {i: found[0] if found else 0 for i, found in counts.items()}
    limit = max(_COMMON_SHARE * rows, _COMMON_MIN_ROWS)
    kept = [w for i, w in enumerate(words) if held.get(i, 0) <= limit]
    if kept:
        return kept
    return [words[min(held, key=held.__getitem__)]] if held else words


def _memory_where(filt: MemoryFilter) -> tuple[str, list[Any]]:
    """SQL over ``memories AS m`` for what ``filt`` sees (see ``MemoryFilter``)."""
    visible = ["(m.scope = 'project' AND m.project_id = ?)"]
    params: list[Any] = [filt.project_id]
    if filt.session_id is not None:
        visible.append("(m.scope = 'session' AND m.project_id = ? AND m.session_id = ?)")
        params += [filt.project_id, filt.session_id]
    if filt.agent is not None:
        visible.append("(m.scope = 'agent' AND m.project_id = ? AND m.agent = ?)")
        params += [filt.project_id, filt.agent]
    if filt.user:
        visible.append("m.scope = 'user'")
    clauses = ["(" + " OR ".join(visible) + ")"]
    for key, value in filt.metadata.items():
        clauses.append("json_extract(m.metadata, ?) = ?")
        params += [f'$."{key}"', value]
    if filt.since_ms is not None:
        clauses.append("m.created >= ?")
        params.append(filt.since_ms)
    if filt.until_ms is not None:
        clauses.append("m.created < ?")
        params.append(filt.until_ms)
    return " AND ".join(clauses), params


def _pack_vector(vector: Sequence[float]) -> bytes:
    packed = array.array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack_vector(blob: bytes) -> list[float]:
    unpacked = array.array("f")
    unpacked.frombytes(blob)
    if sys.byteorder == "big":
        unpacked.byteswap()
    return unpacked.tolist()


def _memory_row(entry: MemoryEntry) -> tuple[Any, ...]:
    vector = entry.embedding
    return (
        entry.id,
        entry.session_id,
        entry.project_id,
        entry.agent,
        entry.scope,
        entry.content,
        json.dumps(entry.metadata),
        entry.created,
        entry.last_used,
        entry.use_count,
        entry.embedder,
        None if vector is None else len(vector),
        None if vector is None else _pack_vector(vector),
        entry.occurred_at,
        entry.context,
    )


def _memory_from_row(row: Sequence[Any]) -> MemoryEntry:
    return MemoryEntry(
        id=row[0],
        session_id=row[1],
        project_id=row[2],
        agent=row[3],
        scope=row[4],
        content=row[5],
        metadata=json.loads(row[6]),
        created=row[7],
        last_used=row[8],
        use_count=row[9],
        embedder=row[10],
        embedding=None if row[12] is None else _unpack_vector(row[12]),
        occurred_at=row[13],
        context=row[14],
    )


def save(db: Db, entries: Sequence[MemoryEntry]) -> None:
    """Insert or replace memories, several in one transaction."""
    rows = [_memory_row(e) for e in entries]
    if len(rows) == 1:
        db.conn.execute(_UPSERT_MEMORY, rows[0])
    elif rows:
        with db.transaction() as conn:
            conn.executemany(_UPSERT_MEMORY, rows)


def get(db: Db, memory_id: str) -> MemoryEntry:
    row = db.conn.execute(_SELECT_MEMORY + " WHERE id = ?", (memory_id,)).fetchone()
    if row is None:
        raise NotFoundError(
            f"memory {memory_id!r} not found in {db.path}; it may have been deleted or pruned"
        )
    return _memory_from_row(row)


def get_many(db: Db, memory_ids: Sequence[str]) -> list[MemoryEntry]:
    found: dict[str, Sequence[Any]] = {}
    for start in range(0, len(memory_ids), 500):  # under SQLite's bound-parameter limit
        chunk = memory_ids[start : start + 500]
        sql = f"{_SELECT_MEMORY} WHERE id IN ({marks(len(chunk))})"
        found |= {row[0]: row for row in db.conn.execute(sql, chunk)}
    return [_memory_from_row(found[i]) for i in memory_ids if i in found]


def delete(db: Db, memory_id: str) -> bool:
    return bool(db.conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,)).rowcount)


def list_(db: Db, filt: MemoryFilter, limit: int | None) -> list[MemoryEntry]:
    where, params = _memory_where(filt)
    sql = f"{_SELECT_MEMORY} WHERE {where} ORDER BY m.created DESC, m.id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_memory_from_row(row) for row in db.conn.execute(sql, params)]


def has_any(db: Db, filt: MemoryFilter) -> bool:
    where, params = _memory_where(filt)
    return (
        db.conn.execute(f"SELECT 1 FROM memories AS m WHERE {where} LIMIT 1", params).fetchone()
        is not None
    )


def keyword_search(db: Db, query: str, filt: MemoryFilter, limit: int) -> list[tuple[str, float]]:
    expression = _match_expression(_distinctive(db, _query_words(query)))
    if expression is None or limit <= 0:
        return []
    where, params = _memory_where(filt)
    rows = db.conn.execute(
        _KEYWORD_SEARCH_UNFILTERED.format(where=where),
        [expression, limit * _UNFILTERED_POOL, *params, limit],
    ).fetchall()
    if len(rows) < limit:
        rows = db.conn.execute(
            _KEYWORD_SEARCH.format(where=where), [expression, *params, limit]
        ).fetchall()
    # bm25() is lower-is-better; flip it so every score in the SDK is higher-is-better.
    return [(memory_id, -rank) for memory_id, rank in rows]


def vectors(db: Db, project_id: str, embedder: str, dims: int) -> MemoryVectors:
    rows = db.conn.execute(_SELECT_MEMORY_VECTORS, (embedder, dims, project_id)).fetchall()
    blob = b"".join(row[6] for row in rows)
    if sys.byteorder == "big":
        swapped = array.array("f")
        swapped.frombytes(blob)
        swapped.byteswap()
        blob = swapped.tobytes()
    return MemoryVectors(
        ids=[row[0] for row in rows],
        scopes=[row[1] for row in rows],
        session_ids=[row[2] for row in rows],
        agents=[row[3] for row in rows],
        created=[row[4] for row in rows],
        metadata=[row[5] for row in rows],
        dims=dims,
        vectors=blob,
        occurred=[row[7] for row in rows],
    )


def version(db: Db) -> int:
    return int(db.conn.execute("SELECT version FROM memory_version").fetchone()[0])


def touch(db: Db, memory_ids: Sequence[str]) -> None:
    db.conn.execute(
        "UPDATE memories SET last_used = ?, use_count = use_count + 1 "
        f"WHERE id IN ({marks(len(memory_ids))})",
        [now_ms(), *memory_ids],
    )


def prune(
    db: Db,
    scope: MemoryScope,
    max_count: int | None,
    max_age_ms: int | None,
    project_id: str | None,
) -> int:
    where = "scope = ?"
    params: list[Any] = [scope]
    if project_id is not None:
        where += " AND project_id = ?"
        params.append(project_id)
    deleted = 0
    with db.transaction() as conn:
        if max_age_ms is not None:
            deleted += conn.execute(
                f"DELETE FROM memories WHERE {where} AND coalesce(last_used, created) < ?",
                [*params, now_ms() - max_age_ms],
            ).rowcount
        if max_count is not None:
            deleted += conn.execute(
                f"DELETE FROM memories WHERE seq IN (SELECT seq FROM memories WHERE {where} "
                "ORDER BY coalesce(last_used, created) DESC, use_count DESC, seq DESC "
                "LIMIT -1 OFFSET ?)",
                [*params, max(max_count, 0)],
            ).rowcount
    return deleted
