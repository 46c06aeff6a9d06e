"""Fixtures for storage tests: real SQLite files in temporary directories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opencode_python.core.models import (
    CacheUsage,
    CompactionPart,
    FilePart,
    Part,
    PartTime,
    ReasoningPart,
    StepFinishPart,
    StepStartPart,
    SubtaskPart,
    TextPart,
    TokenUsage,
    ToolPart,
    ToolState,
)
from opencode_python.storage import SQLiteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "opencode.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db_path) as opened:
        yield opened


def every_part(session_id: str, message_id: str) -> list[Part]:
    """One part of each type, with non-default values wherever a field allows."""
    ids = {"session_id": session_id, "message_id": message_id}
    usage = TokenUsage(input=120, output=45, reasoning=7, cache=CacheUsage(read=30, write=2))
    return [
        StepStartPart(**ids),
        ReasoningPart(**ids, text="thinking…", metadata={"signature": "abc", "n": [1, 2]}),
        TextPart(**ids, text="héllo\nworld", synthetic=True, time=PartTime(start=1, end=2)),
        ToolPart(
            **ids,
            call_id="call_1",
            tool="read",
            state=ToolState(
                status="completed",
                input={"path": "a.py", "limit": 10},
                raw_input='{"path": "a.py", "limit": 10}',
                output="line 1\nline 2",
                title="a.py",
                metadata={"truncated": False, "lines": 2},
                time=PartTime(start=3, end=4),
            ),
        ),
        ToolPart(
            **ids,
            call_id="call_2",
            tool="bash",
            state=ToolState(status="error", input={"command": "false"}, error="exit 1"),
        ),
        FilePart(**ids, mime="image/png", url="data:image/png;base64,AAAA", filename="x.png"),
        SubtaskPart(
            **ids,
            agent="explore",
            prompt="find it",
            description="search",
            child_session_id="ses_child",
        ),
        CompactionPart(**ids, auto=True),
        StepFinishPart(**ids, reason="tool_calls", usage=usage, cost=0.1 + 0.2),
    ]
