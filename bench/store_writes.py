"""Per-call latency of the SQLite store's hot paths, as the agent loop uses them.

Each step of the loop saves an assistant message and a few parts; this times those
calls one by one on a real file (WAL, synchronous=NORMAL) and prints the median and
95th percentile per call in microseconds. Every call is one hop to the store thread;
``write`` is how the loop ends a step: message, parts and usage charge in one hop.

    python bench/store_writes.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from opencode_python.core.models import (
    Message,
    Session,
    TextPart,
    TokenUsage,
    ToolPart,
    ToolState,
)
from opencode_python.storage import SQLiteStore, UsageCharge, WriteBatch


async def _time(label: str, calls: int, make: Callable[[int], Awaitable[None]]) -> None:
    samples = []
    for i in range(calls):
        start = time.perf_counter()
        await make(i)
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95)]
    print(f"{label:<28} median {statistics.median(samples):7.1f} us   p95 {p95:7.1f} us")


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with SQLiteStore(Path(tmp) / "opencode.db") as store:
            session = await store.create_session(Session(title="bench"))
            message = Message(session_id=session.id, role="assistant")
            await store.save_message(message)
            text = TextPart(session_id=session.id, message_id=message.id, text="x" * 200)
            tool = ToolPart(
                session_id=session.id,
                message_id=message.id,
                call_id="call_1",
                tool="read",
                state=ToolState(status="completed", input={"path": "a.py"}, output="y" * 2000),
            )

            async def save_new_part(i: int) -> None:
                await store.save_part(text.model_copy(update={"id": f"prt_{i:026d}"}))

            async def update_part(i: int) -> None:
                await store.save_part(text.model_copy(update={"text": "x" * (i % 500)}))

            async def save_tool_part(i: int) -> None:
                await store.save_part(tool)

            async def save_message(i: int) -> None:
                await store.save_message(message)

            async def save_three_parts(i: int) -> None:
                await store.save_parts(
                    [text.model_copy(update={"id": f"prt_b{i:08d}{j:017d}"}) for j in range(3)]
                )

            async def update_session(i: int) -> None:
                await store.update_session(session)

            await _time("save_part (insert)", calls, save_new_part)
            await _time("save_part (update text)", calls, update_part)
            await _time("save_part (tool, 2 KB)", calls, save_tool_part)
            await _time("save_message (upsert)", calls, save_message)
            await _time("save_parts (3 parts)", calls, save_three_parts)
            step_end = WriteBatch(
                messages=[message],
                parts=[text, tool],
                charges=[UsageCharge(session.id, TokenUsage(input=100, output=20), 0.001)],
            )

            async def write_step(i: int) -> None:
                await store.write(step_end)

            await _time("update_session", calls, update_session)
            await _time("write (msg + 2 parts + usage)", calls, write_step)

            # A realistic history to read back: 20 messages of 5 parts each.
            history = await store.create_session(Session(title="history"))
            for _ in range(20):
                msg = Message(session_id=history.id, role="assistant")
                await store.save_message(msg)
                await store.save_parts(
                    [TextPart(session_id=history.id, message_id=msg.id) for _ in range(5)]
                )

            async def list_messages(i: int) -> None:
                await store.list_messages(history.id)

            await _time("list_messages (20 x 5 parts)", max(calls // 10, 10), list_messages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(main(parser.parse_args().calls))
