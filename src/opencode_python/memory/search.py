"""Hybrid memory search: full-text and vector candidates fused by their scores.

Each side proposes ``4 × limit`` candidates. Every candidate gets its exact cosine
similarity to the query (looked up for keyword-only ones) and its bm25 score divided by
``max(top bm25, bm25_floor)``, and ranks by ``(1 - w) * cosine + w * keyword``. Fusing
scores, not ranks, keeps a strong keyword hit (a name, an error code) on top, and the
floor keeps a list of equally weak hits (a word in most memories, such as a speaker's
name, whose bm25 is near zero) from counting as strong. The weights were tuned on
LoCoMo with ``bench/memory_eval.py`` (see docs/memory.md).

Reciprocal rank fusion (``reciprocal_rank_fusion``) is kept for callers that fuse
rankings of their own: measured on LoCoMo it ranked below the keyword side alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..core.models import MemoryFilter
from ..storage.contract import Store
from .when import time_window

if TYPE_CHECKING:
    from .vectors import VectorIndex

CANDIDATES_PER_RESULT = 4


@dataclass(frozen=True, slots=True)
class Fusion:
    """How the two sides' scores combine: ``keyword_weight`` is the share of the
    normalised bm25 score, ``bm25_floor`` the least top score that counts as a strong
    keyword hit."""

    keyword_weight: float = 0.3
    bm25_floor: float = 4.0
    time_weight: float = 0.1
    """Added for a memory about the time the query names ("in May 2023", "last week")."""


DEFAULT_FUSION = Fusion()


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[str, float]]], *, k_rrf: int = 60
) -> list[tuple[str, float]]:
    """Merge best-first rankings of (id, score) into one, best first; ties keep the
    order in which ids were first seen."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k_rrf + rank)
    return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)


def fuse_scores(
    cosines: dict[str, float], keyword: Sequence[tuple[str, float]], fusion: Fusion
) -> list[tuple[str, float]]:
    """Every id of ``cosines`` (all candidates, with their cosine similarity) ranked by
    the weighted sum with its normalised bm25 score from ``keyword``, best first."""
    top = max((bm25 for _, bm25 in keyword), default=0.0)
    scale = max(top, fusion.bm25_floor, 1e-9)
    bm25 = {item: max(value, 0.0) / scale for item, value in keyword}
    weight = fusion.keyword_weight
    fused = {
        item: (1 - weight) * cosine + weight * bm25.get(item, 0.0)
        for item, cosine in cosines.items()
    }
    return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)


async def hybrid_search(
    query: str,
    query_vector: Sequence[float] | None,
    filt: MemoryFilter,
    limit: int,
    *,
    store: Store,
    index: VectorIndex | None,
    fusion: Fusion = DEFAULT_FUSION,
    now: datetime | None = None,
) -> list[tuple[str, float]]:
    """The ``limit`` memories ``filt`` sees that best match ``query`` (words) and
    ``query_vector`` (meaning), as (id, fused score). Keyword-only without a vector.
    When the query names a time (relative ones from ``now``), memories about then
    (``occurred_at``, else their creation) get ``fusion.time_weight`` more."""
    if limit <= 0:
        return []
    pool = limit * CANDIDATES_PER_RESULT
    if query_vector is None or index is None:
        return (await store.keyword_search(query, filt, pool))[:limit]
    # The vector side first: its version check then reaches the store thread before the
    # keyword query does, and the ranking runs in a worker thread beside that query.
    vector, keyword = await asyncio.gather(
        index.search(query_vector, filt, pool), store.keyword_search(query, filt, pool)
    )
    cosines = dict(vector)
    missing = [item for item, _ in keyword if item not in cosines]
    if missing:
        cosines |= await index.similarities(query_vector, filt.project_id, missing)
    fused = fuse_scores(cosines, keyword, fusion)
    window = time_window(query, now)
    if window is not None and fusion.time_weight:
        times = await index.times(filt.project_id, len(query_vector), list(cosines))
        start, end = window
        fused = sorted(
            (
                (item, value + fusion.time_weight * (start <= times.get(item, -1) < end))
                for item, value in fused
            ),
            key=lambda pair: pair[1],
            reverse=True,
        )
    return fused[:limit]
