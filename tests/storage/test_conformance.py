"""The store conformance suite, run on SQLiteStore; a dead writer is a real process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from opencode_python.storage import SQLiteStore, WriteBatch
from opencode_python.testing.store_conformance import DeadWriter, StoreConformance, StoreFactory

# Writes the batch it reads on stdin, then dies the way a killed process does: no
# close(), no exit handlers; the operating system drops its lock.
DEAD_WRITER = """
import asyncio, json, os, sys
from opencode_python.core.models import Message, TokenUsage, ToolExecution, parse_part
from opencode_python.storage import SQLiteStore, UsageCharge, WriteBatch

async def main(path):
    data = json.loads(sys.stdin.read())
    store = SQLiteStore(path)
    await store.write(WriteBatch(
        messages=[Message.model_validate(m) for m in data["messages"]],
        parts=[parse_part(p) for p in data["parts"]],
        removed_parts=data["removed_parts"],
        executions=[ToolExecution.model_validate(e) for e in data["executions"]],
        charges=[UsageCharge(c["session_id"], TokenUsage.model_validate(c["usage"]), c["cost"])
                 for c in data["charges"]],
    ))
    os._exit(0)

asyncio.run(main(sys.argv[1]))
"""


def batch_json(batch: WriteBatch) -> str:
    return json.dumps(
        {
            "messages": [m.model_dump(mode="json") for m in batch.messages],
            "parts": [p.model_dump(mode="json") for p in batch.parts],
            "removed_parts": batch.removed_parts,
            "executions": [e.model_dump(mode="json") for e in batch.executions],
            "charges": [
                {"session_id": c.session_id, "usage": c.usage.model_dump(), "cost": c.cost}
                for c in batch.charges
            ],
        }
    )


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def store_factory(self, db_path: Path) -> StoreFactory:
        return lambda: SQLiteStore(db_path)

    @pytest.fixture
    def dead_writer(self, db_path: Path) -> DeadWriter:
        async def write(batch: WriteBatch) -> None:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                DEAD_WRITER,
                str(db_path),
                stdin=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, stderr = await asyncio.wait_for(process.communicate(batch_json(batch).encode()), 60)
            assert process.returncode == 0, stderr.decode()

        return write
