"""A whole answer from a stream, for side calls (titles, summaries) that need no events."""

from __future__ import annotations

from ..core.models import TokenUsage
from .base import ChatRequest, Finish, Provider, TextDelta


async def complete_text(provider: Provider, request: ChatRequest) -> tuple[str, TokenUsage]:
    """The text the model wrote and the usage it reported."""
    text: list[str] = []
    usage = TokenUsage()
    async for event in provider.stream(request):
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, Finish):
            usage = event.usage
    return "".join(text), usage
