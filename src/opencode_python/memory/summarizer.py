"""``MemorySummarizer``: a session (or part of one) condensed into a summary and facts.

It asks the model through the provider layer, so any configured model works, and
returns plain data; ``MemoryManager`` stores the result as memories.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..context.history import to_chat_messages
from ..core.models import MessageWithParts, TokenUsage
from ..providers.base import ChatMessage, ChatRequest, Provider, TextBlock
from ..providers.complete import complete_text

SUMMARY_REQUEST = (
    "Summarise the conversation above for long-term memory. Reply in exactly this form:\n"
    "Summary: <one short paragraph>\n"
    "Key points:\n- <a self-contained fact worth remembering>\n- ..."
)
FACTS_REQUEST = (
    "List the facts from the conversation above that are worth remembering in later "
    "sessions: preferences, decisions, names, constraints. One self-contained fact per "
    "line, each starting with '- '. Reply 'none' if there are none."
)
_BULLET = re.compile(r"^\s*[-*•]\s+(.+?)\s*$")


@dataclass(slots=True)
class MemorySummary:
    """What ``summarize_memories`` produced; ``memory_id`` is the stored summary."""

    session_id: str
    summary: str
    key_points: list[str] = field(default_factory=list)
    memory_id: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: float = 0.0


class MemorySummarizer:
    """Summaries and fact lists from stored messages, through one model."""

    def __init__(
        self,
        provider: Provider,
        model_id: str,
        prompt: str,
        cost_of: Callable[[TokenUsage], float] = lambda usage: 0.0,
    ) -> None:
        self.provider = provider
        self.model_id = model_id
        self.prompt = prompt
        self.cost_of = cost_of

    async def summarize(
        self, messages: Sequence[MessageWithParts]
    ) -> tuple[str, list[str], TokenUsage]:
        """(summary paragraph, key points, usage) for ``messages``."""
        text, usage = await self._ask(messages, SUMMARY_REQUEST)
        head, _, tail = text.partition("Key points:")
        summary = head.replace("Summary:", "", 1).strip()
        return summary, _bullets(tail), usage

    async def facts(self, messages: Sequence[MessageWithParts]) -> tuple[list[str], TokenUsage]:
        """Facts worth keeping from ``messages`` (possibly none)."""
        text, usage = await self._ask(messages, FACTS_REQUEST)
        return _bullets(text), usage

    async def _ask(
        self, messages: Sequence[MessageWithParts], request: str
    ) -> tuple[str, TokenUsage]:
        chat = to_chat_messages(messages)
        chat.append(ChatMessage("user", [TextBlock(request)]))
        call = ChatRequest(model=self.model_id, messages=chat, system=[self.prompt])
        text, usage = await complete_text(self.provider, call)
        return text.strip(), usage


def _bullets(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := _BULLET.match(line))]
