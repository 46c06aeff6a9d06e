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

With ``--text LOCOMO_JSON`` the memories are real chat text instead: the dialogue
turns of LoCoMo (see bench/memory_eval.py), cycled to ``--count``, and the queries are
its questions. Vectors stay random: the vector side's cost does not depend on them.
The last row is what an app sees: ``MemoryManager.search_memory`` (query embedding,
hybrid search, loading the entries), with a memory stored before every tenth search.

    python bench/memory_search.py [--count 100000] [--dims 384] [--queries 200]
        [--text ../shared/data/locomo-tuning/locomo6.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from opencode_python.core.models import MemoryEntry, MemoryFilter, MemoryScope
from opencode_python.memory import MemoryManager, VectorIndex, hybrid_search
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


def _locomo(path: Path, count: int, queries: int) -> tuple[list[str], list[str]]:
    """LoCoMo's turns cycled to ``count`` texts, and ``queries`` of its questions."""
    turns, questions = [], []
    for record in json.loads(path.read_text()):
        talk = record["conversation"]
        for key, value in talk.items():
            if re.fullmatch(r"session_\d+", key):
                turns += [f"{turn['speaker']}: {turn['text']}" for turn in value]
        questions += [qa["question"] for qa in record["qa"]]
    return list(itertools.islice(itertools.cycle(turns), count)), questions[:queries]


class _RandomEmbedder:
    """Random unit vectors, for timing: the cost of a search does not depend on them."""

    def __init__(self, dims: int, rng: np.random.Generator) -> None:
        self.name, self.dimensions, self._rng = EMBEDDER, dims, rng

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return _unit(self._rng.standard_normal((len(texts), self.dimensions), dtype=np.float32))


async def main(count: int, dims: int, queries: int, batch: int, text: Path | None) -> None:
    rng = np.random.default_rng(7)
    vectors = _unit(rng.standard_normal((count, dims), dtype=np.float32))
    picks = rng.integers(0, count, queries)
    query_vectors = _unit(vectors[picks] + 0.5 * _unit(rng.standard_normal((queries, dims))))
    if text is None:
        texts = _texts(rng, count)
        query_texts = [
            " ".join(["what", "is", "the", *rng.choice(texts[p].split(), 3)]) for p in picks
        ]
    else:
        texts, query_texts = _locomo(text, count, queries)
        queries = len(query_texts)
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

            manager = MemoryManager(store, project_id=PROJECT, embedder=_RandomEmbedder(dims, rng))
            await manager.search_memory("ses_000", query_texts[0], agent="build")  # loads
            samples = []
            for i in range(queries):
                if i % 10 == 0:
                    await manager.store_memory(None, texts[i], scope="project")
                start = time.perf_counter()
                await manager.search_memory("ses_000", query_texts[i], LIMIT, agent="build")
                samples.append((time.perf_counter() - start) * 1000)
            samples.sort()
            median, p95 = statistics.median(samples), samples[int(len(samples) * 0.95)]
            rows.append(("search_memory, a write every 10", f"{median:.2f} ms", f"{p95:.2f} ms"))

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

    kind = "synthetic text" if text is None else f"real text ({text.name}, cycled)"
    print(f"{count:,} memories of {kind}, {dims} dims, {queries} queries, top {LIMIT}")
    print(f"{'':<36}{'median':>14}{'p95':>12}")
    for label, median_text, p95_text in rows:
        print(f"{label:<36}{median_text:>14}{p95_text:>12}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--text", type=Path, help="LoCoMo JSON: real chat text and questions")
    args = parser.parse_args()
    asyncio.run(main(args.count, args.dims, args.queries, args.batch, args.text))
