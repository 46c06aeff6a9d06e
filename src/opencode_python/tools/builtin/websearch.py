"""The ``websearch`` tool: search the web through a backend the app supplies.

Search engines need accounts and keys, so the SDK ships none: an app passes a
``WebSearchBackend`` (any object with an async ``search``) to ``WebSearchTool``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ToolError
from ..framework import Tool, ToolContext, ToolResult

DEFAULT_RESULTS: Final = 8
MAX_RESULTS: Final = 20


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result."""

    title: str
    url: str
    snippet: str = ""


@runtime_checkable
class WebSearchBackend(Protocol):
    """What ``WebSearchTool`` searches with: an engine's API, an internal index, ..."""

    async def search(self, query: str, num_results: int) -> list[SearchHit]:
        """Up to ``num_results`` hits for ``query``, best first."""
        ...


DESCRIPTION = f"""\
Search the web and return a list of results (title, URL, snippet).

- Use it for information that may be newer than what you know, or that you need a \
source for. Then fetch promising pages with the webfetch tool, when it is available.
- `num_results`: how many results to return (default {DEFAULT_RESULTS}, at most \
{MAX_RESULTS}).
- Write queries as you would in a search engine: a few specific keywords.
"""


class WebSearchParams(BaseModel):
    """The arguments of a ``websearch`` call."""

    model_config = ConfigDict(validate_by_name=True)  # num_results, as before 0.2

    query: str = Field(min_length=1, description="What to search for.")
    num_results: int = Field(
        alias="numResults",
        default=DEFAULT_RESULTS,
        ge=1,
        le=MAX_RESULTS,
        description="How many results.",
    )


class WebSearchTool(Tool):
    """Searches through ``backend``; without one every call fails with how to set one."""

    id = "websearch"
    description = DESCRIPTION
    renamed_arguments: ClassVar[Mapping[str, str]] = {"num_results": "numResults"}

    def __init__(self, backend: WebSearchBackend | None = None) -> None:
        self.backend = backend

    def parameters(self) -> dict[str, Any]:
        return WebSearchParams.model_json_schema()

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [str(args.get("query", ""))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if self.backend is None:
            raise ToolError(
                "No web search backend is configured: pass WebSearchTool(backend=...) an "
                "object with `async search(query, num_results) -> list[SearchHit]` and "
                "register it with client.register_tool(..., replace=True)."
            )
        params = WebSearchParams.model_validate(args)
        hits = (await self.backend.search(params.query, params.num_results))[: params.num_results]
        title = f"Web search: {params.query}"
        metadata = {"query": params.query, "results": len(hits)}
        if not hits:
            return ToolResult(
                title=title, output=f"No results for {params.query!r}.", metadata=metadata
            )
        lines = [f"{len(hits)} result{'' if len(hits) == 1 else 's'} for {params.query!r}:"]
        for number, hit in enumerate(hits, 1):
            lines.append(f"\n{number}. {hit.title}\n   {hit.url}")
            if hit.snippet:
                lines.append("   " + " ".join(hit.snippet.split()))
        return ToolResult(title=title, output="\n".join(lines), metadata=metadata)
