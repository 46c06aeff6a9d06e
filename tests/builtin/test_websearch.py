"""The websearch tool with a small in-memory search backend, and without any."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.websearch import SearchHit, WebSearchBackend, WebSearchTool
from opencode_python.tools.framework import ToolContext

PAGES = [
    SearchHit(
        "Python asyncio docs",
        "https://docs.python.org/3/library/asyncio.html",
        "Event loop,\n tasks",
    ),
    SearchHit(
        "asyncio TaskGroup how-to", "https://example.org/taskgroup", "Structured concurrency"
    ),
    SearchHit("Baking bread", "https://example.org/bread", "Flour, water, salt"),
]


class KeywordIndex:
    """A search backend over a fixed list: hits whose title or snippet has every word."""

    def __init__(self, pages: list[SearchHit]) -> None:
        self.pages = pages
        self.queries: list[tuple[str, int]] = []

    async def search(self, query: str, num_results: int) -> list[SearchHit]:
        self.queries.append((query, num_results))
        words = query.lower().split()
        return [
            page
            for page in self.pages
            if all(word in f"{page.title} {page.snippet}".lower() for word in words)
        ]


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(session_id="s", message_id="m", agent="build", directory=str(tmp_path))


async def test_results_are_listed_with_title_url_and_snippet(ctx: ToolContext) -> None:
    index = KeywordIndex(PAGES)
    assert isinstance(index, WebSearchBackend)
    result = await WebSearchTool(index).execute({"query": "asyncio"}, ctx)
    assert result.output == (
        "2 results for 'asyncio':\n"
        "\n1. Python asyncio docs\n   https://docs.python.org/3/library/asyncio.html\n"
        "   Event loop, tasks\n"
        "\n2. asyncio TaskGroup how-to\n   https://example.org/taskgroup\n"
        "   Structured concurrency"
    )
    assert result.title == "Web search: asyncio"
    assert result.metadata == {"query": "asyncio", "results": 2}
    assert index.queries == [("asyncio", 8)]


async def test_no_more_than_numResults_even_if_the_backend_returns_more(
    ctx: ToolContext,
) -> None:
    index = KeywordIndex(PAGES)
    result = await WebSearchTool(index).execute({"query": "asyncio", "numResults": 1}, ctx)
    assert result.metadata["results"] == 1
    assert "TaskGroup" not in result.output
    assert index.queries == [("asyncio", 1)]


async def test_no_results_says_so(ctx: ToolContext) -> None:
    result = await WebSearchTool(KeywordIndex(PAGES)).execute({"query": "quantum"}, ctx)
    assert result.output == "No results for 'quantum'."
    assert result.metadata["results"] == 0


async def test_without_a_backend_the_error_says_how_to_configure_one(ctx: ToolContext) -> None:
    with pytest.raises(
        ToolError,
        match=r"No web search backend is configured: pass WebSearchTool\(backend=\.\.\.\)",
    ):
        await WebSearchTool().execute({"query": "anything"}, ctx)


def test_the_query_is_the_permission_subject_and_the_schema_bounds_results(
    ctx: ToolContext,
) -> None:
    tool = WebSearchTool()
    assert tool.permission_patterns({"query": "python news"}, ctx) == ["python news"]
    schema = tool.parameters()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"query": "x", "numResults": 20})
    assert not validator.is_valid({"query": "x", "numResults": 21})
    assert not validator.is_valid({"query": ""})
