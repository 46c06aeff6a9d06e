"""Keeping long sessions inside the model's context: pruning and summaries.

When a step's tokens reach the usable context (the window minus an output reserve),
old tool outputs are cleared first; if the history is still too big, the compaction
agent summarises it. The summary is stored as an assistant message (``summary=True``)
after a user message holding a ``compaction`` part, and the history a model sees from
then on is: the summary, the last turns verbatim, and everything after. The compactor
only computes; the caller stores the result with the summary's usage, together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.models import (
    CompactionPart,
    Message,
    MessageWithParts,
    Session,
    TextPart,
    TokenUsage,
    ToolPart,
    now_ms,
)
from ..providers.base import ChatMessage, ChatRequest, Provider, TextBlock
from ..providers.complete import complete_text
from .history import to_chat_messages

PRUNED_OUTPUT = "[Old tool result content cleared to save context]"
SUMMARY_INTRO = "Summary of the conversation so far (older turns were compacted):"
SUMMARY_REQUEST = (
    "Write the summary of the conversation above now, with the headings Goal, "
    "Constraints, Progress, Decisions, Next steps and Relevant files. It replaces the "
    "older turns, so keep every fact needed to continue the work."
)
OUTPUT_RESERVE_CAP = 32_000


def usable_context(context_window: int | None, max_output: int) -> int | None:
    """Tokens a request may fill before compaction: the window minus an output reserve."""
    if not context_window:
        return None
    return context_window - min(max_output, OUTPUT_RESERVE_CAP)


def step_tokens(usage: TokenUsage) -> int:
    """How much of the context a step used: everything sent plus what came back."""
    return usage.input + usage.cache.read + usage.cache.write + usage.output + usage.reasoning


def estimate_tokens(messages: Sequence[MessageWithParts]) -> int:
    """A cheap estimate (4 characters a token) for deciding whether pruning was enough."""
    total = 0
    for message in messages:
        for part in message.parts:
            if isinstance(part, TextPart):
                total += len(part.text)
            elif isinstance(part, ToolPart):
                total += len(part.state.output or part.state.error or "") + len(
                    part.state.raw_input
                )
    return total // 4


def select_history(messages: Sequence[MessageWithParts]) -> list[MessageWithParts]:
    """The messages a model should see: those since the last compaction, with its summary.

    The compaction message records where the verbatim tail starts (``keep_from``); the
    summary message after it stands in for everything before that.
    """
    for index in range(len(messages) - 1, -1, -1):
        compaction = _compaction_part(messages[index])
        if compaction is None:
            continue
        summary = messages[index + 1 : index + 2]
        kept = [
            m
            for m in messages[:index]
            if compaction.keep_from is not None and m.info.id >= compaction.keep_from
        ]
        after = messages[index + 2 :]
        return [*_as_context(summary), *kept, *after]
    return list(messages)


def _compaction_part(message: MessageWithParts) -> CompactionPart | None:
    if message.info.role != "user":
        return None
    for part in message.parts:
        if isinstance(part, CompactionPart):
            return part
    return None


def _as_context(summary: Sequence[MessageWithParts]) -> list[MessageWithParts]:
    """The stored summary as a user turn that opens the history."""
    if not summary or not summary[0].info.summary:
        return []
    stored = summary[0]
    text = f"{SUMMARY_INTRO}\n\n{stored.text}"
    user = Message(id=stored.info.id, session_id=stored.info.session_id, role="user")
    part = TextPart(session_id=user.session_id, message_id=user.id, text=text, synthetic=True)
    return [MessageWithParts(info=user, parts=[part])]


def prunable_tool_parts(
    messages: Sequence[MessageWithParts], *, protect_tokens: int = 40_000, keep_turns: int = 2
) -> list[ToolPart]:
    """Completed tool parts old enough to clear: outside the last ``keep_turns`` user
    turns and beyond the newest ``protect_tokens`` of tool output (OpenCode's rule)."""
    user_turns = 0
    protected = 0
    found: list[ToolPart] = []
    for message in reversed(messages):
        if message.info.role == "user" and _compaction_part(message) is None:
            user_turns += 1
        if message.info.summary:
            break
        if user_turns <= keep_turns:
            continue
        for part in reversed(message.parts):
            if not isinstance(part, ToolPart) or part.state.status != "completed":
                continue
            if part.state.output == PRUNED_OUTPUT:
                return found
            size = len(part.state.output or "") // 4
            if protected + size <= protect_tokens:
                protected += size
            else:
                found.append(part)
    return found


@dataclass(slots=True)
class Compacted:
    """What a compaction changed, for the caller to store in one transaction.

    ``history`` is what the model sees from now on; ``pruned`` the tool parts whose
    output was cleared; ``added`` the compaction marker and the summary message (empty
    when pruning was enough); ``summary`` the message the summary call's ``usage`` and
    ``cost`` belong to.
    """

    history: list[MessageWithParts]
    pruned: list[ToolPart] = field(default_factory=list)
    added: list[MessageWithParts] = field(default_factory=list)
    summary: Message | None = None
    summary_text: str = ""
    keep_from: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: float = 0.0


class Compactor:
    """Prunes and summarises one session's history through a provider. It stores
    nothing: it says what changed (``Compacted``) and the caller records it."""

    def __init__(self, *, provider: Provider, model_id: str, prompt: str) -> None:
        self.provider = provider
        self.model_id = model_id
        self.prompt = prompt

    def prune(self, messages: Sequence[MessageWithParts]) -> list[ToolPart]:
        """Clear old tool outputs in ``messages``; returns the parts it changed."""
        parts = prunable_tool_parts(messages)
        for part in parts:
            part.state.output = PRUNED_OUTPUT
            part.state.metadata["pruned_at"] = now_ms()
        return parts

    async def summarize(
        self,
        session: Session,
        messages: Sequence[MessageWithParts],
        *,
        keep_turns: int = 2,
        auto: bool = True,
    ) -> Compacted:
        """Write a summary of ``messages``: the new history, and the marker and summary
        messages to store (the summary's usage is left for the caller to charge)."""
        history = select_history(messages)
        keep_from = _tail_start(history, keep_turns)
        to_summarize = [m for m in history if keep_from is None or m.info.id < keep_from]
        text, usage = await self._ask_model(to_summarize)
        marker = Message(session_id=session.id, role="user", agent="compaction")
        part = CompactionPart(
            session_id=session.id, message_id=marker.id, auto=auto, keep_from=keep_from
        )
        summary = Message(
            session_id=session.id,
            role="assistant",
            agent="compaction",
            provider_id=self.provider.id,
            model_id=self.model_id,
            summary=True,
            finish="stop",
        )
        summary.time.completed = now_ms()
        summary_part = TextPart(session_id=session.id, message_id=summary.id, text=text)
        added = [
            MessageWithParts(info=marker, parts=[part]),
            MessageWithParts(info=summary, parts=[summary_part]),
        ]
        return Compacted(
            history=select_history([*messages, *added]),
            added=added,
            summary=summary,
            summary_text=text,
            keep_from=keep_from,
            usage=usage,
        )

    async def _ask_model(self, messages: Sequence[MessageWithParts]) -> tuple[str, TokenUsage]:
        chat = to_chat_messages(messages)
        chat.append(ChatMessage("user", [TextBlock(SUMMARY_REQUEST)]))
        request = ChatRequest(model=self.model_id, messages=chat, system=[self.prompt])
        text, usage = await complete_text(self.provider, request)
        return text.strip(), usage


def _tail_start(history: Sequence[MessageWithParts], keep_turns: int) -> str | None:
    """The id of the user message that opens the last ``keep_turns`` turns."""
    users = [m for m in history if m.info.role == "user" and not _is_synthetic(m)]
    if keep_turns <= 0 or len(users) <= keep_turns:
        return None  # too few turns to keep any verbatim: summarise them all
    return users[-keep_turns].info.id


def _is_synthetic(message: MessageWithParts) -> bool:
    return all(isinstance(p, TextPart) and p.synthetic for p in message.parts)
