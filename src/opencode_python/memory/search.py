"""Hybrid memory search: full-text and vector rankings fused by reciprocal rank.

Reciprocal rank fusion (score = sum of ``1 / (k_rrf + rank)``) needs no tuning between
bm25 and cosine scores, which live on unrelated scales, and rewards what both rankings
agree on. Each ranking contributes ``4 × limit`` candidates, so an item ranked low by
one list can still be lifted by the other. On a tie the meaning wins: a keyword hit
is often one common word ("user"), so the vector ranking is fused first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.models import MemoryFilter
from ..storage.contract import Store

if TYPE_CHECKING:
    from .vectors import VectorIndex

CANDIDATES_PER_RESULT = 4


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


async def hybrid_search(
    query: str,
    query_vector: Sequence[float] | None,
    filt: MemoryFilter,
    limit: int,
    *,
    store: Store,
    index: VectorIndex | None,
    k_rrf: int = 60,
) -> list[tuple[str, float]]:
    """The ``limit`` memories ``filt`` sees that best match ``query`` (words) and
    ``query_vector`` (meaning), as (id, fused score). Keyword-only without a vector."""
    if limit <= 0:
        return []
    pool = limit * CANDIDATES_PER_RESULT
    if query_vector is None or index is None:
        rankings = [await store.keyword_search(query, filt, pool)]
    else:
        keyword, vector = await asyncio.gather(
            store.keyword_search(query, filt, pool), index.search(query_vector, filt, pool)
        )
        rankings = [vector, keyword]  # ties keep first-seen order: meaning first
    return reciprocal_rank_fusion(rankings, k_rrf=k_rrf)[:limit]
