"""Exact nearest-neighbour search over memory vectors with numpy.

Brute force over a normalised float32 matrix is exact, needs no extension (the stock
``sqlite3`` cannot load one) and, measured in ``bench/memory_search.py``, answers in a
few milliseconds at 100,000 vectors of 384 dimensions. The matrix of what a project can
see is loaded once per (project, dimensions) and reused until the store's
``memory_version()`` says a memory was written, by this process or another.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.models import MemoryEntry, MemoryFilter
from ..storage.contract import MemoryVectors, Store

_SCOPE_CODES = {"session": 0, "agent": 1, "project": 2, "user": 3}
_NO_CODE = -1


def _unit_rows(matrix: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32, copy=False)


def _codes(values: Sequence[str]) -> tuple[dict[str, int], npt.NDArray[np.int32]]:
    """Strings as small integers, so a filter compares numbers instead of strings."""
    mapping: dict[str, int] = {}
    codes = np.fromiter(
        (mapping.setdefault(v, len(mapping)) for v in values), dtype=np.int32, count=len(values)
    )
    return mapping, codes


@dataclass(eq=False)
class _Snapshot:
    """One project's vectors for one embedder, ready to rank and filter. Rows written
    by this process are added in place (``upsert``); the matrix keeps spare capacity so
    that adding a row rarely copies it."""

    ids: list[str]
    buffer: npt.NDArray[np.float32]
    scopes: npt.NDArray[np.int8]
    session_codes: dict[str, int]
    sessions: npt.NDArray[np.int32]
    agent_codes: dict[str, int]
    agents: npt.NDArray[np.int32]
    created: npt.NDArray[np.int64]
    occurred: npt.NDArray[np.int64]
    raw_metadata: list[str] = field(repr=False)

    @classmethod
    def build(cls, rows: MemoryVectors) -> _Snapshot:
        count = len(rows.ids)
        matrix = np.frombuffer(rows.vectors, dtype="<f4").reshape(count, rows.dims)
        session_codes, sessions = _codes(rows.session_ids)
        agent_codes, agents = _codes(rows.agents)
        return cls(
            ids=rows.ids,
            buffer=_unit_rows(matrix),
            scopes=np.fromiter((_SCOPE_CODES[s] for s in rows.scopes), np.int8, count),
            session_codes=session_codes,
            sessions=sessions,
            agent_codes=agent_codes,
            agents=agents,
            created=np.asarray(rows.created, dtype=np.int64),
            occurred=np.asarray(rows.occurred or rows.created, dtype=np.int64),
            raw_metadata=rows.metadata,
        )

    @property
    def matrix(self) -> npt.NDArray[np.float32]:
        return self.buffer[: len(self.ids)]

    def upsert(
        self, entries: Sequence[MemoryEntry], belongs: Callable[[MemoryEntry], bool]
    ) -> bool:
        """Add or replace the rows of ``entries`` that ``belongs`` keeps; False when an
        entry already here no longer belongs (the snapshot must then be rebuilt)."""
        for entry in entries:
            row = self.row_of.get(entry.id)
            if not belongs(entry):
                if row is not None:
                    return False
                continue
            vector = _unit_rows(np.asarray([entry.embedding], dtype=np.float32))[0]
            if row is None:
                row = self._append_row()
                self.ids.append(entry.id)
                self.raw_metadata.append("")
                self.row_of[entry.id] = row
            self.buffer[row] = vector
            self.scopes[row] = _SCOPE_CODES[entry.scope]
            self.sessions[row] = self.session_codes.setdefault(
                entry.session_id or "", len(self.session_codes)
            )
            self.agents[row] = self.agent_codes.setdefault(entry.agent or "", len(self.agent_codes))
            self.created[row] = entry.created
            self.occurred[row] = entry.created if entry.occurred_at is None else entry.occurred_at
            self.raw_metadata[row] = json.dumps(entry.metadata)
            self.__dict__.pop("metadata", None)  # parsed again on the next filter by it
        return True

    def _append_row(self) -> int:
        row = len(self.ids)
        if row == len(self.buffer):
            grown = np.empty((max(16, row * 3 // 2), self.buffer.shape[1]), dtype=np.float32)
            grown[:row] = self.buffer
            self.buffer = grown
        self.scopes = np.append(self.scopes, np.int8(0))
        self.sessions = np.append(self.sessions, np.int32(0))
        self.agents = np.append(self.agents, np.int32(0))
        self.created = np.append(self.created, np.int64(0))
        self.occurred = np.append(self.occurred, np.int64(0))
        return row

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {memory_id: row for row, memory_id in enumerate(self.ids)}

    def similarities(self, query: npt.NDArray[np.float32], ids: Sequence[str]) -> dict[str, float]:
        rows = [(memory_id, self.row_of.get(memory_id)) for memory_id in ids]
        found = [(memory_id, row) for memory_id, row in rows if row is not None]
        if not found:
            return {}
        scores = self.matrix[[row for _, row in found]] @ query
        return {memory_id: float(s) for (memory_id, _), s in zip(found, scores, strict=True)}

    def times(self, ids: Sequence[str]) -> dict[str, int]:
        rows = self.row_of
        return {i: int(self.occurred[rows[i]]) for i in ids if i in rows}

    @cached_property
    def metadata(self) -> list[dict[str, Any]]:
        """Parsed on the first search that filters by metadata, then kept."""
        return [json.loads(m) for m in self.raw_metadata]

    def visible(self, filt: MemoryFilter) -> npt.NDArray[np.intp]:
        """Row numbers ``filt`` sees: the same rule as the store's SQL filter."""
        scopes = self.scopes
        mask = scopes == _SCOPE_CODES["project"]
        if filt.session_id is not None:
            code = self.session_codes.get(filt.session_id, _NO_CODE)
            mask |= (scopes == _SCOPE_CODES["session"]) & (self.sessions == code)
        if filt.agent is not None:
            code = self.agent_codes.get(filt.agent, _NO_CODE)
            mask |= (scopes == _SCOPE_CODES["agent"]) & (self.agents == code)
        if filt.user:
            mask |= scopes == _SCOPE_CODES["user"]
        if filt.since_ms is not None:
            mask &= self.created >= filt.since_ms
        if filt.until_ms is not None:
            mask &= self.created < filt.until_ms
        rows = np.flatnonzero(mask)
        if filt.metadata:
            wanted = filt.metadata.items()
            metadata = self.metadata
            rows = rows[
                [all(k in metadata[r] and metadata[r][k] == v for k, v in wanted) for r in rows]
            ]
        return rows

    def rank(
        self, query: npt.NDArray[np.float32], filt: MemoryFilter, k: int
    ) -> list[tuple[str, float]]:
        rows = self.visible(filt)
        if k <= 0 or rows.size == 0:
            return []
        # Scoring every row and then picking is cheaper than copying the visible rows out.
        scores = (self.matrix @ query)[rows]
        if k < rows.size:
            top = np.argpartition(scores, -k)[-k:]
            top = top[np.argsort(scores[top])[::-1]]
        else:
            top = np.argsort(scores)[::-1]
        return [(self.ids[rows[i]], float(scores[i])) for i in top]


class VectorIndex:
    """Cosine search over the vectors one embedder made, cached per project."""

    def __init__(self, store: Store, embedder: str) -> None:
        self.store = store
        self.embedder = embedder
        self._version: int | None = None
        self._snapshots: dict[tuple[str, int], _Snapshot] = {}
        self._lock = asyncio.Lock()

    async def search(
        self, query_vector: Sequence[float], filt: MemoryFilter, k: int
    ) -> list[tuple[str, float]]:
        """The ``k`` memories ``filt`` sees whose vectors are nearest ``query_vector``,
        as (id, cosine similarity), most similar first."""
        query = np.asarray(query_vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if norm == 0 or k <= 0:
            return []
        async with self._lock:  # rows added by ``wrote`` never change under a ranking
            snapshot = await self._loaded(filt.project_id, query.size)
            return await asyncio.to_thread(snapshot.rank, query / norm, filt, k)

    async def similarities(
        self, query_vector: Sequence[float], project_id: str, ids: Sequence[str]
    ) -> dict[str, float]:
        """The cosine similarity of each memory in ``ids`` to ``query_vector`` (those
        without a vector of this embedder are left out)."""
        query = np.asarray(query_vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if norm == 0 or not ids:
            return {}
        async with self._lock:
            snapshot = await self._loaded(project_id, query.size)
            return snapshot.similarities(query / norm, ids)

    async def times(self, project_id: str, dims: int, ids: Sequence[str]) -> dict[str, int]:
        """When each memory in ``ids`` is about (``occurred_at``, else its creation), for
        those with a ``dims``-long vector of this embedder."""
        async with self._lock:
            return (await self._loaded(project_id, dims)).times(ids)

    async def wrote(self, entries: Sequence[MemoryEntry], before: int, after: int) -> None:
        """This process saved ``entries``, moving the store's memory version from
        ``before`` to ``after``: add them to the loaded snapshots instead of reloading
        those. When anyone else wrote in between, the next search reloads as usual."""
        async with self._lock:
            if self._version != before or after - before != len(entries):
                return
            for (project_id, dims), snapshot in list(self._snapshots.items()):

                def belongs(
                    entry: MemoryEntry, project_id: str = project_id, dims: int = dims
                ) -> bool:
                    return (
                        entry.embedder == self.embedder
                        and entry.embedding is not None
                        and len(entry.embedding) == dims
                        and (entry.project_id == project_id or entry.scope == "user")
                    )

                if not snapshot.upsert(entries, belongs):
                    del self._snapshots[project_id, dims]
            self._version = after

    async def _loaded(self, project_id: str, dims: int) -> _Snapshot:
        """The snapshot for (project, dims), loaded again if anyone wrote since; call
        with the lock held."""
        version = await self.store.memory_version()
        if version != self._version:
            self._snapshots.clear()
            self._version = version
        key = (project_id, dims)
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            rows = await self.store.memory_vectors(project_id, self.embedder, dims)
            snapshot = await asyncio.to_thread(_Snapshot.build, rows)
            self._snapshots[key] = snapshot
        return snapshot
