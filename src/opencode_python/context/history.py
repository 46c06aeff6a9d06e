"""Stored messages turned into the neutral chat history a provider sends.

Assistant tool calls become a tool-call block followed by a ``tool`` message with the
result, so every call the model made is answered, even one a crash left unfinished.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.models import (
    FilePart,
    MessageWithParts,
    ReasoningPart,
    TextPart,
    ToolPart,
)
from ..providers.base import (
    ChatMessage,
    ContentBlock,
    ImageBlock,
    ReasoningBlock,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)

INTERRUPTED_OUTPUT = "[Tool execution was interrupted before it finished]"
#: What a call the model made without a tool name is called when the history is sent
#: back: the APIs refuse an empty name, and the model reads why the call failed.
UNNAMED_TOOL = "unnamed_tool"


def to_chat_messages(messages: Iterable[MessageWithParts]) -> list[ChatMessage]:
    """The history a model should see for these stored messages, in order."""
    out: list[ChatMessage] = []
    for message in messages:
        if message.info.role == "user":
            blocks = _user_blocks(message)
            if blocks:
                out.append(ChatMessage("user", blocks))
        else:
            out.extend(_assistant_messages(message))
    return out


def _user_blocks(message: MessageWithParts) -> list[ContentBlock]:
    blocks: list[ContentBlock] = []
    for part in message.parts:
        if isinstance(part, TextPart) and part.text:
            blocks.append(TextBlock(part.text))
        elif isinstance(part, FilePart):
            blocks.append(_file_block(part))
    return blocks


def _file_block(part: FilePart) -> ContentBlock:
    if part.mime.startswith("image/") and part.url.startswith("data:"):
        _, _, data = part.url.partition(",")
        return ImageBlock(part.mime, data)
    return TextBlock(f"[Attached file {part.filename or part.url} ({part.mime})]")


def _assistant_messages(message: MessageWithParts) -> list[ChatMessage]:
    content: list[ContentBlock] = []
    results: list[ContentBlock] = []
    for part in message.parts:
        if isinstance(part, TextPart) and part.text:
            content.append(TextBlock(part.text))
        elif isinstance(part, ReasoningPart) and (part.text or part.metadata):
            content.append(ReasoningBlock(part.text, dict(part.metadata)))
        elif isinstance(part, ToolPart):
            state = part.state
            name = part.tool or UNNAMED_TOOL
            content.append(ToolCallBlock(part.call_id, name, dict(state.input)))
            if state.status == "completed":
                images = [
                    ImageBlock(a.mime, a.url.partition(",")[2])
                    for a in state.attachments
                    if a.mime.startswith("image/") and a.url.startswith("data:")
                ]
                results.append(
                    ToolResultBlock(part.call_id, name, state.output or "", images=images)
                )
            elif state.status == "error":
                results.append(ToolResultBlock(part.call_id, name, state.error or "error", True))
            else:
                results.append(ToolResultBlock(part.call_id, name, INTERRUPTED_OUTPUT, True))
    out: list[ChatMessage] = []
    if content:
        out.append(ChatMessage("assistant", content))
    if results:
        out.append(ChatMessage("tool", results))
    return out
