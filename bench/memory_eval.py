"""Memory retrieval on a public long-conversation benchmark: recall of labelled evidence.

Reads LoCoMo (Maharana et al., "Evaluating Very Long-Term Conversational Memory of LLM
Agents", ACL 2024; CC BY-NC 4.0) from ``--data`` (never copied into this repository),
stores every dialogue turn of a conversation as one project memory, with the date of its
session as the time it is about and the two turns before it in its session as its
context, and searches with each question. A question's evidence
is the turns its label names ("D3:7" = session 3, turn 7). For the hybrid search, its
vector side alone and its keyword side alone, side by side, it prints per category:

- recall@5 and recall@10: the share of a question's evidence turns in the top 5 / 10;
- hit@10: the share of questions with at least one evidence turn in the top 10.

This measures retrieval, not answer accuracy. Conversations are split in two: the
fusion's weights were tuned on ``--tune`` (by default the first three), and the table
reports the others. ``--grid`` searches the weights on the tuning split.

    python bench/memory_eval.py --data ../shared/data/locomo-tuning/locomo6.json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opencode_python.core.models import MemoryFilter
from opencode_python.memory import LocalEmbedder, MemoryManager, VectorIndex
from opencode_python.memory.search import DEFAULT_FUSION, Fusion, hybrid_search
from opencode_python.storage import SQLiteStore

PROJECT = "prj_locomo"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
SIDES = ("hybrid", "vector", "keyword")
CONTEXT_TURNS = 2
_EVIDENCE = re.compile(r"D(\d+):(\d+)")


@dataclass
class Question:
    text: str
    category: int
    evidence: set[str]


@dataclass
class Conversation:
    sample_id: str
    turns: list[tuple[str, str, int]]  # (dia_id, text, session time in ms)
    questions: list[Question]


def load(path: Path) -> list[Conversation]:
    conversations = []
    for record in json.loads(path.read_text()):
        talk = record["conversation"]
        turns = []
        for key in sorted(talk, key=_session_order):
            if not re.fullmatch(r"session_\d+", key):
                continue
            when = _session_time(talk[f"{key}_date_time"])
            for turn in talk[key]:
                text = f"{turn['speaker']}: {turn['text']}"
                if turn.get("blip_caption"):
                    text += f" [shares a photo of {turn['blip_caption']}]"
                turns.append((turn["dia_id"], text, when))
        questions = [
            Question(qa["question"], qa["category"], _evidence(qa.get("evidence", [])))
            for qa in record["qa"]
        ]
        conversations.append(
            Conversation(record["sample_id"], turns, [q for q in questions if q.evidence])
        )
    return conversations


def _session_order(key: str) -> tuple[int, str]:
    number = re.match(r"session_(\d+)", key)
    return (int(number.group(1)) if number else 0, key)


def _session_time(text: str) -> int:
    """``1:56 pm on 8 May, 2023`` as epoch milliseconds."""
    parsed = datetime.strptime(text, "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _evidence(labels: Sequence[str]) -> set[str]:
    """Evidence ids, normalised: ``D:11:26`` and ``D8:6; D9:17`` occur in the data."""
    found = set()
    for label in labels:
        for session, turn in _EVIDENCE.findall(label.replace("D:", "D")):
            found.add(f"D{int(session)}:{int(turn)}")
    return found


class Indexed:
    """One conversation stored as memories, ready to search three ways."""

    def __init__(self, conversation: Conversation, store: SQLiteStore, embedder: Any) -> None:
        self.conversation = conversation
        self.store = store
        self.embedder = embedder
        self.manager = MemoryManager(store, project_id=PROJECT, embedder=embedder)
        self.index = VectorIndex(store, embedder.name)
        self.dia_of: dict[str, str] = {}
        self.filt = MemoryFilter(project_id=PROJECT)

    async def fill(self) -> None:
        turns = self.conversation.turns
        ids = await self.manager.store_memories(
            [text for _, text, _ in turns],
            scope="project",
            occurred_at=[when for _, _, when in turns],
            context=[_context(turns, i) for i in range(len(turns))],
            metadata=[{"dia_id": dia} for dia, _, _ in turns],
        )
        self.dia_of = {memory_id: dia for memory_id, (dia, _, _) in zip(ids, turns, strict=True)}

    async def rankings(self, question: str, vector: Any, fusion: Fusion) -> dict[str, list[str]]:
        filt, store, index = self.filt, self.store, self.index
        found = {
            "hybrid": await hybrid_search(
                question, vector, filt, 10, store=store, index=index, fusion=fusion
            ),
            "vector": await index.search(vector, filt, 10),
            "keyword": await store.keyword_search(question, filt, 10),
        }
        return {side: [self.dia_of[i] for i, _ in ranked] for side, ranked in found.items()}


def _context(turns: list[tuple[str, str, int]], i: int) -> str | None:
    """The turn's context: up to ``CONTEXT_TURNS`` turns before it in its session."""
    session = turns[i][0].split(":")[0]  # "D3:7": session 3
    start = max(0, i - CONTEXT_TURNS)
    before = [text for dia, text, _ in turns[start:i] if dia.split(":")[0] == session]
    return " ".join(before) or None


def score(evidence: set[str], ranked: list[str]) -> tuple[float, float, float]:
    def recall(k: int) -> float:
        return len(evidence & set(ranked[:k])) / len(evidence)

    return recall(5), recall(10), float(bool(evidence & set(ranked[:10])))


async def evaluate(
    indexed: list[Indexed], vectors: dict[str, Any], fusion: Fusion, sides: Sequence[str]
) -> dict[tuple[str, str], list[tuple[float, float, float]]]:
    """Scores per (side, category name), plus the category "all"."""
    scores: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    for conversation in indexed:
        for question in conversation.conversation.questions:
            ranked = await conversation.rankings(question.text, vectors[question.text], fusion)
            for side in sides:
                result = score(question.evidence, ranked[side])
                scores[side, CATEGORIES[question.category]].append(result)
                scores[side, "all"].append(result)
    return scores


def mean(values: list[tuple[float, float, float]], column: int) -> float:
    return sum(v[column] for v in values) / len(values) if values else 0.0


def table(scores: dict[tuple[str, str], list[tuple[float, float, float]]]) -> str:
    header = f"{'category':<12} {'questions':>9}  " + "  ".join(
        f"{side + ' r@5':>11} {'r@10':>6} {'hit@10':>6}" for side in SIDES
    )
    lines = [header, "-" * len(header)]
    for category in [*CATEGORIES.values(), "all"]:
        count = len(scores["hybrid", category])
        cells = "  ".join(
            f"{mean(scores[side, category], 0):>11.3f} {mean(scores[side, category], 1):>6.3f}"
            f" {mean(scores[side, category], 2):>6.3f}"
            for side in SIDES
        )
        lines.append(f"{category:<12} {count:>9}  {cells}")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="LoCoMo JSON (locomo10.json)")
    parser.add_argument("--tune", default="", help="sample ids tuned on (default: first three)")
    parser.add_argument("--grid", action="store_true", help="search the fusion weights")
    args = parser.parse_args()

    conversations = load(args.data)
    tune_ids = set(args.tune.split(",")) if args.tune else {c.sample_id for c in conversations[:3]}
    tuning = [c for c in conversations if c.sample_id in tune_ids]
    reported = [c for c in conversations if c.sample_id not in tune_ids]
    embedder = LocalEmbedder()
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        indexed: dict[str, Indexed] = {}
        for conversation in conversations:
            store = SQLiteStore(Path(directory) / f"{conversation.sample_id}.db")
            indexed[conversation.sample_id] = Indexed(conversation, store, embedder)
            await indexed[conversation.sample_id].fill()
        questions = sorted({q.text for c in conversations for q in c.questions})
        vectors = dict(zip(questions, await embedder.embed(questions), strict=True))
        turns = sum(len(c.turns) for c in conversations)
        print(
            f"LoCoMo: {len(conversations)} conversations, {turns} turns stored, "
            f"{len(questions)} questions embedded in {time.perf_counter() - started:.0f} s"
        )
        if args.grid:
            await grid(
                [indexed[c.sample_id] for c in tuning],
                [indexed[c.sample_id] for c in reported],
                vectors,
            )
        for name, split in (("tuning", tuning), ("reported", reported)):
            scores = await evaluate(
                [indexed[c.sample_id] for c in split], vectors, DEFAULT_FUSION, SIDES
            )
            ids = ", ".join(c.sample_id for c in split)
            print(f"\n{name} split ({ids}), fusion {DEFAULT_FUSION}:\n{table(scores)}")
        for item in indexed.values():
            await item.store.close()


async def grid(tuning: list[Indexed], reported: list[Indexed], vectors: dict[str, Any]) -> None:
    """Hybrid recall@10 over fusion weights, on the tuning split (the reported split
    beside it, to see that the choice carries over)."""
    print(f"\n{'keyword_weight':>14} {'bm25_floor':>10} {'tuning r@10':>11} {'reported':>9}")
    for weight, floor in itertools.product((0.1, 0.2, 0.3, 0.4, 0.5), (0.0, 2.0, 4.0, 6.0, 8.0)):
        fusion = Fusion(keyword_weight=weight, bm25_floor=floor)
        tuned = await evaluate(tuning, vectors, fusion, ("hybrid",))
        other = await evaluate(reported, vectors, fusion, ("hybrid",))
        print(
            f"{weight:>14} {floor:>10} {mean(tuned['hybrid', 'all'], 1):>11.3f}"
            f" {mean(other['hybrid', 'all'], 1):>9.3f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
