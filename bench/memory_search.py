"""Memory search at scale: insert throughput and search latency, against two floors.

Builds ``--count`` memories (random unit vectors of ``--dims`` dimensions and short
texts drawn from a Zipf-weighted vocabulary, so common words hit many rows the way real
text does) in a temporary SQLite file, then times over ``--queries`` queries:

- hybrid search (``hybrid_search``: FTS5 bm25 + the numpy ``VectorIndex``, fused),
- vector-only search (``VectorIndex.search``, with the session's scope filter),
- keyword-only search (``SQLiteStore.keyword_search``),
- plain numpy brute force over the same matrix (no filter, no thread hop): the floor,
- sqlite-vec's ``vec0`` k-NN over the same vectors, when ``sqlean`` and ``sqlite_vec``
  are installed (``pip install 'opencode-python[bench]'``).

    python bench/memory_search.py [--count 100000] [--dims 384] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from opencode_python.core.models import MemoryEntry, MemoryFilter, MemoryScope
from opencode_python.memory import VectorIndex, hybrid_search
from opencode_python.storage import SQLiteStore

PROJECT = "prj_bench"
EMBEDDER = "bench-random"
LIMIT = 10
COMMON = ["the", "a", "of", "to", "and", "is", "in", "for", "on", "with"]


def _vocabulary(rng: np.random.Generator, size: int) -> tuple[list[str], npt.NDArray[np.float64]]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = COMMON + ["".join(rng.choice(letters, 7)) for _ in range(size)]
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    return words, weights / weights.sum()


def _texts(rng: np.random.Generator, count: int) -> list[str]:
    words, weights = _vocabulary(rng, 20_000)
    lengths = rng.integers(8, 20, count)
    drawn = rng.choice(len(words), int(lengths.sum()), p=weights)
    texts, start = [], 0
    for length in lengths:
        texts.append(" ".join(words[i] for i in drawn[start : start + length]))
        start += length
    return texts


def _unit(rows: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    unit: npt.NDArray[np.float32] = (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(
        np.float32
    )
    return unit


def _scope(i: int) -> tuple[MemoryScope, str | None]:
    """Mostly project memories, with some per session (of 100) and per user."""
    if i % 10 == 0:
        return "session", f"ses_{i % 100:03d}"
    if i % 10 == 1:
        return "user", None
    return "project", None


async def _timed(calls: list[Callable[[], Awaitable[Any]]]) -> tuple[float, float]:
    samples = []
    for call in calls:
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def _sqlite_vec(
    path: Path, vectors: npt.NDArray[np.float32], queries: npt.NDArray[np.float32]
) -> tuple[float, float, float] | None:
    """(insert s, median ms, p95 ms) of vec0 k-NN, or None without sqlean/sqlite_vec."""
    try:
        import sqlean
        import sqlite_vec
    except ImportError:
        return None
    db = sqlean.connect(str(path), isolation_level=None)
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    db.execute(
        f"CREATE VIRTUAL TABLE vec USING vec0(embedding float[{vectors.shape[1]}] "
        "distance_metric=cosine)"
    )
    start = time.perf_counter()
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO vec (rowid, embedding) VALUES (?, ?)",
        ((i + 1, row.tobytes()) for i, row in enumerate(vectors)),
    )
    db.execute("COMMIT")
    insert_s = time.perf_counter() - start
    samples = []
    for query in queries:
        start = time.perf_counter()
        db.execute(
            "SELECT rowid, distance FROM vec WHERE embedding MATCH ? AND k = ?",
            (query.tobytes(), LIMIT),
        ).fetchall()
        samples.append((time.perf_counter() - start) * 1000)
    db.close()
    samples.sort()
    return insert_s, statistics.median(samples), samples[int(len(samples) * 0.95)]


async def main(count: int, dims: int, queries: int, batch: int) -> None:
    rng = np.random.default_rng(7)
    vectors = _unit(rng.standard_normal((count, dims), dtype=np.float32))
    texts = _texts(rng, count)
    picks = rng.integers(0, count, queries)
    query_vectors = _unit(vectors[picks] + 0.5 * _unit(rng.standard_normal((queries, dims))))
    query_texts = [" ".join(["what", "is", "the", *rng.choice(texts[p].split(), 3)]) for p in picks]
    filt = MemoryFilter(project_id=PROJECT, session_id="ses_000", agent="build")
    rows: list[tuple[str, str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        async with SQLiteStore(Path(tmp) / "memories.db") as store:
            start = time.perf_counter()
            for first in range(0, count, batch):
                entries = []
                for i in range(first, min(first + batch, count)):
                    scope, session_id = _scope(i)
                    entries.append(
                        MemoryEntry(
                            project_id=PROJECT,
                            session_id=session_id,
                            scope=scope,
                            content=texts[i],
                            embedding=vectors[i].tolist(),
                            embedder=EMBEDDER,
                        )
                    )
                await store.save_memories(entries)
            insert_s = time.perf_counter() - start
            rows.append((f"insert (batches of {batch})", f"{count / insert_s:,.0f} /s", ""))

            index = VectorIndex(store, EMBEDDER)
            start = time.perf_counter()
            await index.search(query_vectors[0], filt, LIMIT)
            load_ms = (time.perf_counter() - start) * 1000
            rows.append(("vector index load (after a write)", f"{load_ms:,.0f} ms", ""))

            def hybrid(i: int) -> Callable[[], Awaitable[Any]]:
                return lambda: hybrid_search(
                    query_texts[i], query_vectors[i], filt, LIMIT, store=store, index=index
                )

            def vector(i: int) -> Callable[[], Awaitable[Any]]:
                return lambda: index.search(query_vectors[i], filt, LIMIT)

            def keyword(i: int) -> Callable[[], Awaitable[Any]]:
                return lambda: store.keyword_search(query_texts[i], filt, LIMIT * 4)

            for label, make in (
                ("hybrid", hybrid),
                ("vector only", vector),
                ("keyword only", keyword),
            ):
                median, p95 = await _timed([make(i) for i in range(queries)])
                rows.append((label, f"{median:.2f} ms", f"{p95:.2f} ms"))

        def floor(i: int) -> Callable[[], Awaitable[Any]]:
            async def search() -> None:
                np.argpartition(vectors @ query_vectors[i], -LIMIT)[-LIMIT:]

            return search

        median, p95 = await _timed([floor(i) for i in range(queries)])
        rows.append(("numpy brute force (floor)", f"{median:.2f} ms", f"{p95:.2f} ms"))

        vec = _sqlite_vec(Path(tmp) / "vec.db", vectors, query_vectors)
        if vec is None:
            rows.append(("sqlite-vec", "not installed", ""))
        else:
            rows.append(("sqlite-vec insert", f"{count / vec[0]:,.0f} /s", ""))
            rows.append(("sqlite-vec k-NN", f"{vec[1]:.2f} ms", f"{vec[2]:.2f} ms"))

    print(f"{count:,} memories, {dims} dims, {queries} queries, top {LIMIT}")
    print(f"{'':<36}{'median':>14}{'p95':>12}")
    for label, median_text, p95_text in rows:
        print(f"{label:<36}{median_text:>14}{p95_text:>12}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.dims, args.queries, args.batch))
