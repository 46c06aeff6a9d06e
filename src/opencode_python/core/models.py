"""The data the engine stores and publishes: sessions, messages, parts, usage.

Plain pydantic models with no I/O. Times are epoch milliseconds. Objects made often
(parts, messages) only validate what they are given, so they stay cheap to build.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from .ids import new_id


def now_ms() -> int:
    """The current time in epoch milliseconds, the unit of every stored time."""
    return int(time.time() * 1000)


class _Model(BaseModel):
    # Schemas are built on first use, not at import: importing the package stays fast.
    model_config = ConfigDict(extra="forbid", validate_assignment=False, defer_build=True)


# --- usage -------------------------------------------------------------------------


class CacheUsage(_Model):
    read: int = 0
    write: int = 0


class TokenUsage(_Model):
    """Tokens of one step, message or session. ``input`` excludes cached tokens."""

    input: int = 0
    output: int = 0
    reasoning: int = 0
    cache: CacheUsage = Field(default_factory=CacheUsage)

    @property
    def total(self) -> int:
        return self.input + self.output + self.reasoning + self.cache.read + self.cache.write

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input=self.input + other.input,
            output=self.output + other.output,
            reasoning=self.reasoning + other.reasoning,
            cache=CacheUsage(
                read=self.cache.read + other.cache.read,
                write=self.cache.write + other.cache.write,
            ),
        )


# --- permission rules (evaluated by opencode_python.permissions) -------------------

PermissionAction = Literal["allow", "ask", "deny"]


class PermissionRule(_Model):
    """``permission`` is a tool id or permission key; ``pattern`` matches the subject."""

    permission: str
    pattern: str = "*"
    action: PermissionAction


class Approval(_Model):
    """An ``always`` answer kept for one project and agent: an allow rule that persists."""

    project_id: str
    agent: str
    permission: str
    pattern: str
    created: int = Field(default_factory=now_ms)

    def rule(self) -> PermissionRule:
        return PermissionRule(permission=self.permission, pattern=self.pattern, action="allow")


# --- sessions ------------------------------------------------------------------------


class SessionTime(_Model):
    created: int = Field(default_factory=now_ms)
    updated: int = Field(default_factory=now_ms)
    archived: int | None = None


class Session(_Model):
    id: str = Field(default_factory=lambda: new_id("session"))
    slug: str = ""
    project_id: str = ""
    directory: str = ""
    parent_id: str | None = None
    title: str = ""
    version: str = ""
    time: SessionTime = Field(default_factory=SessionTime)
    permission: list[PermissionRule] = Field(default_factory=list)
    usage: TokenUsage = Field(default_factory=TokenUsage)
    cost: float = 0.0


# --- messages ------------------------------------------------------------------------


class MessageTime(_Model):
    created: int = Field(default_factory=now_ms)
    completed: int | None = None


class MessageError(_Model):
    """Why an assistant message failed: ``name`` is the error class, ``message`` the text."""

    name: str
    message: str
    retryable: bool = False


FinishReason = Literal[
    "stop", "tool_calls", "length", "content_filter", "aborted", "interrupted", "error", "other"
]
"""``aborted``: the run was stopped (abort, close); ``interrupted``: the process running
it died, and a later open closed what it left unfinished."""


class Message(_Model):
    """A user or assistant message. Its content lives in parts."""

    id: str = Field(default_factory=lambda: new_id("message"))
    session_id: str
    role: Literal["user", "assistant"]
    time: MessageTime = Field(default_factory=MessageTime)
    parent_id: str | None = None
    agent: str | None = None
    provider_id: str | None = None
    model_id: str | None = None
    finish: FinishReason | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    cost: float = 0.0
    error: MessageError | None = None
    summary: bool = False


# --- parts ---------------------------------------------------------------------------


class PartTime(_Model):
    start: int = Field(default_factory=now_ms)
    end: int | None = None


class _PartBase(_Model):
    id: str = Field(default_factory=lambda: new_id("part"))
    session_id: str
    message_id: str


class TextPart(_PartBase):
    type: Literal["text"] = "text"
    text: str = ""
    synthetic: bool = False
    time: PartTime = Field(default_factory=PartTime)


class ReasoningPart(_PartBase):
    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    time: PartTime = Field(default_factory=PartTime)


ToolStatus = Literal["pending", "running", "completed", "error"]


class Attachment(_Model):
    """A file a tool produced (an image it read, say), as a URL or a data URL."""

    mime: str
    url: str
    filename: str | None = None


class ToolState(_Model):
    """Where a tool call stands. ``error`` holds the message when ``status`` is error."""

    status: ToolStatus = "pending"
    input: dict[str, Any] = Field(default_factory=dict)
    raw_input: str = ""
    output: str | None = None
    error: str | None = None
    title: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    time: PartTime | None = None


class ToolPart(_PartBase):
    type: Literal["tool"] = "tool"
    call_id: str
    tool: str
    state: ToolState = Field(default_factory=ToolState)


class FilePart(_PartBase):
    type: Literal["file"] = "file"
    mime: str
    url: str
    filename: str | None = None


class StepStartPart(_PartBase):
    type: Literal["step-start"] = "step-start"


class StepFinishPart(_PartBase):
    type: Literal["step-finish"] = "step-finish"
    reason: FinishReason
    usage: TokenUsage = Field(default_factory=TokenUsage)
    cost: float = 0.0


class CompactionPart(_PartBase):
    type: Literal["compaction"] = "compaction"
    auto: bool = False
    keep_from: str | None = None  # first message kept verbatim after the summary


class SubtaskPart(_PartBase):
    type: Literal["subtask"] = "subtask"
    agent: str
    prompt: str
    description: str = ""
    child_session_id: str | None = None


Part = Annotated[
    TextPart
    | ReasoningPart
    | ToolPart
    | FilePart
    | StepStartPart
    | StepFinishPart
    | CompactionPart
    | SubtaskPart,
    Field(discriminator="type"),
]

PART_ADAPTER: TypeAdapter[Part] = TypeAdapter(Part, config=ConfigDict(defer_build=True))


def parse_part(data: str | bytes | dict[str, Any]) -> Part:
    """Build the right part class from its JSON or dict form."""
    if isinstance(data, dict):
        return PART_ADAPTER.validate_python(data)
    return PART_ADAPTER.validate_json(data)


ExecutionStatus = Literal["running", "completed", "error", "refused", "aborted", "interrupted"]
"""``refused``: the call never ran (see ``ToolExecution.reason``); ``aborted``: the run
was stopped while it ran; ``interrupted``: the process died while it ran."""

RefusalReason = Literal[
    "denied",
    "rejected",
    "doom_loop",
    "invalid_arguments",
    "unknown_tool",
    "not_offered",
    "step_limit",
    "final_answer",
]
"""Why a call was refused: a rule denied it, the approver rejected it, it repeated a
loop, its arguments did not match the schema, no such tool, the agent may not use it,
it came on the last step, where tools are off, or beside the final answer that ended
the run."""


class ToolExecution(_Model):
    """One tool call as the executor saw it, refused ones included: the audit log."""

    id: str = Field(default_factory=lambda: new_id("tool_execution"))
    session_id: str
    message_id: str
    call_id: str
    tool: str
    agent: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: ExecutionStatus = "running"
    reason: RefusalReason | None = None
    title: str | None = None
    output: str | None = None
    error: str | None = None
    time: PartTime = Field(default_factory=PartTime)


class MessageWithParts(_Model):
    """A message and its parts, in the order they were made."""

    info: Message
    parts: list[Part] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart) and not p.synthetic)


# --- memory ------------------------------------------------------------------------

MemoryScope = Literal["session", "agent", "project", "user"]
"""Who recalls a memory: one session, one agent of a project, the project, or the user
in every project."""

MetadataValue = str | int | float | bool


class MemoryEntry(_Model):
    """One remembered fact, with the vector an embedder made of it (if any)."""

    id: str = Field(default_factory=lambda: new_id("memory"))
    session_id: str | None = None
    project_id: str
    agent: str | None = None
    scope: MemoryScope = "session"
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding: list[float] | None = Field(default=None, repr=False)
    embedder: str | None = None
    created: int = Field(default_factory=now_ms)
    occurred_at: int | None = None
    """When what the memory says happened (epoch ms), if known: a conversation turn's
    date. Embedded with the text, so a question about a time finds it."""
    context: str | None = None
    """Text around the memory that says what it answers (in a conversation, the turns
    before it). The embedder sees it before the content; search results and the
    keyword index hold only the content."""
    last_used: int | None = None
    use_count: int = 0
    relevance_score: float | None = None
    """Set on search results only: how well the entry matched (higher is better)."""


class MemoryRetention(_Model):
    """How many memories of a scope to keep, and for how long (oldest or least used go)."""

    max_count: int | None = Field(default=None, ge=1)
    max_age_days: float | None = Field(default=None, gt=0)


class MemoryFilter(_Model):
    """Which memories a search from one place may see.

    From a session of ``agent`` in ``project_id``: memories of scope ``session`` with
    that ``session_id``, scope ``agent`` with that agent in the project, scope
    ``project`` of the project and, when ``user`` is true, scope ``user`` from every
    project. ``metadata`` keeps entries whose top-level keys equal the given values;
    ``since_ms``/``until_ms`` bound ``created`` (inclusive, exclusive).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    project_id: str
    session_id: str | None = None
    agent: str | None = None
    user: bool = True
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    since_ms: int | None = None
    until_ms: int | None = None

    @field_validator("metadata")
    @classmethod
    def _plain_keys(cls, value: dict[str, MetadataValue]) -> dict[str, MetadataValue]:
        # Keys become JSON paths ($."key"); a double quote would end the label early.
        for key in value:
            if '"' in key:
                raise ValueError(f"metadata filter key {key!r} must not contain a double quote")
        return value
