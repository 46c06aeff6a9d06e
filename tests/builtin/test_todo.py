"""The todo tools over a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from opencode_python.core.errors import ToolError
from opencode_python.storage import SQLiteStore
from opencode_python.tools.builtin.todo import TodoReadTool, TodoWriteTool
from opencode_python.tools.framework import ToolContext

TODOS: list[dict[str, Any]] = [
    {"id": "1", "content": "Write the parser", "status": "completed", "priority": "high"},
    {"id": "2", "content": "Test the parser", "status": "in_progress", "priority": "high"},
    {"id": "3", "content": "Document it", "status": "pending", "priority": "medium"},
    {"id": "4", "content": "Port to Rust", "status": "cancelled", "priority": "low"},
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "db.sqlite") as opened:
        yield opened


def context(store: SQLiteStore | None, session_id: str = "s1") -> ToolContext:
    return ToolContext(session_id=session_id, message_id="m", agent="build", store=store)


async def test_write_then_read_returns_the_list_and_counts_open_items(
    store: SQLiteStore,
) -> None:
    written = await TodoWriteTool().execute({"todos": TODOS}, context(store))
    assert json.loads(written.output) == TODOS
    assert written.title == "2 open todos"
    assert written.metadata == {"todos": TODOS, "open": 2}

    read = await TodoReadTool().execute({}, context(store))
    assert json.loads(read.output) == TODOS
    assert read.title == "2 open todos"


async def test_items_in_opencodes_shape_need_no_id(store: SQLiteStore) -> None:
    todos = [{"content": "Ship it", "status": "pending", "priority": "high"}]
    written = await TodoWriteTool().execute({"todos": todos}, context(store))
    assert json.loads(written.output) == todos
    assert json.loads((await TodoReadTool().execute({}, context(store))).output) == todos


async def test_a_write_replaces_the_whole_list(store: SQLiteStore) -> None:
    await TodoWriteTool().execute({"todos": TODOS}, context(store))
    done = [{**TODOS[2], "status": "in_progress"}]
    await TodoWriteTool().execute({"todos": done}, context(store))
    read = await TodoReadTool().execute({}, context(store))
    assert json.loads(read.output) == done
    assert read.title == "1 open todo"


async def test_each_session_has_its_own_list(store: SQLiteStore) -> None:
    await TodoWriteTool().execute({"todos": TODOS}, context(store, "s1"))
    other = await TodoReadTool().execute({}, context(store, "s2"))
    assert other.output == "[]"
    assert other.title == "0 open todos"


async def test_the_list_survives_reopening_the_store(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    async with SQLiteStore(path) as first:
        await TodoWriteTool().execute({"todos": TODOS[:2]}, context(first))
    async with SQLiteStore(path) as second:
        read = await TodoReadTool().execute({}, context(second))
    assert json.loads(read.output) == TODOS[:2]


async def test_without_a_store_both_tools_say_what_is_missing() -> None:
    with pytest.raises(ToolError, match="needs a store"):
        await TodoWriteTool().execute({"todos": TODOS}, context(None))
    with pytest.raises(ToolError, match="needs a store"):
        await TodoReadTool().execute({}, context(None))


def test_schema_allows_only_known_statuses_and_priorities() -> None:
    schema = TodoWriteTool().parameters()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"todos": TODOS})
    assert validator.is_valid({"todos": []})
    assert not validator.is_valid({"todos": [{**TODOS[0], "status": "done"}]})
    assert not validator.is_valid({"todos": [{**TODOS[0], "priority": "urgent"}]})
