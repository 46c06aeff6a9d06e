"""Our records in OpenCode's JSON shapes: what its HTTP API sends and its clients read.

The engine's models use Python names (``session_id``, ``usage``); OpenCode's wire uses
its own (``sessionID``, ``tokens``). These models are that wire, taken from OpenCode
1.18's OpenAPI document, and they generate our ``/doc``; the functions map each record
across. Nothing here reads the store.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.models import (
    CompactionPart,
    FilePart,
    Message,
    MessageWithParts,
    Part,
    PermissionRule,
    ReasoningPart,
    Session,
    StepFinishPart,
    StepStartPart,
    SubtaskPart,
    TextPart,
    TokenUsage,
    ToolPart,
)

# Our finish reasons in OpenCode's words (``tool-calls``, not ``tool_calls``).
_FINISH = {"tool_calls": "tool-calls", "content_filter": "content-filter"}
# Our provider errors that OpenCode calls APIError (a failed call to the model's API).
_API_ERRORS = frozenset(
    {
        "ProviderError",
        "RateLimitError",
        "ProviderUnavailableError",
        "ProviderConnectionError",
        "BrokenStreamError",
        "ProviderRequestError",
    }
)


class Wire(BaseModel):
    """A JSON object of OpenCode's API: extra keys are kept, none are required but
    what OpenCode requires."""

    model_config = ConfigDict(extra="allow")


class Cache(Wire):
    read: int = 0
    write: int = 0


class Tokens(Wire):
    input: int = 0
    output: int = 0
    reasoning: int = 0
    cache: Cache = Field(default_factory=Cache)


class SessionTime(Wire):
    created: int
    updated: int
    archived: int | None = None


class SessionInfo(Wire):
    """OpenCode's ``Session``."""

    id: str
    slug: str
    projectID: str
    directory: str
    parentID: str | None = None
    title: str
    version: str
    time: SessionTime
    cost: float = 0.0
    tokens: Tokens = Field(default_factory=Tokens)
    permission: list[PermissionRule] | None = None


class ModelRef(Wire):
    providerID: str
    modelID: str


class MessageTime(Wire):
    created: int
    completed: int | None = None


class MessageError(Wire):
    name: str
    data: dict[str, Any]


class UserMessage(Wire):
    id: str
    sessionID: str
    role: Literal["user"] = "user"
    time: MessageTime
    agent: str
    model: ModelRef


class MessagePath(Wire):
    cwd: str
    root: str


class AssistantMessage(Wire):
    id: str
    sessionID: str
    role: Literal["assistant"] = "assistant"
    time: MessageTime
    parentID: str
    modelID: str
    providerID: str
    mode: str
    agent: str
    path: MessagePath
    cost: float
    tokens: Tokens
    error: MessageError | None = None
    finish: str | None = None
    summary: bool | None = None


class PartJSON(Wire):
    """One of OpenCode's parts: ``text``, ``reasoning``, ``tool``, ``file``,
    ``step-start``, ``step-finish``, ``compaction``, ``subtask``."""

    id: str
    sessionID: str
    messageID: str
    type: str


class MessageJSON(Wire):
    """A message as OpenCode's API returns it: ``{info, parts}``."""

    info: UserMessage | AssistantMessage
    parts: list[PartJSON]


# --- our records, across ---------------------------------------------------------------


def tokens(usage: TokenUsage) -> Tokens:
    cache = Cache(read=usage.cache.read, write=usage.cache.write)
    return Tokens(input=usage.input, output=usage.output, reasoning=usage.reasoning, cache=cache)


def session_info(session: Session) -> SessionInfo:
    return SessionInfo(
        id=session.id,
        slug=session.slug or session.id[-12:],
        projectID=session.project_id,
        directory=session.directory,
        parentID=session.parent_id,
        title=session.title,
        version=session.version,
        time=SessionTime(
            created=session.time.created,
            updated=session.time.updated,
            archived=session.time.archived,
        ),
        cost=session.cost,
        tokens=tokens(session.usage),
        permission=session.permission or None,
    )


def message_info(message: Message, directory: str) -> UserMessage | AssistantMessage:
    """OpenCode's ``UserMessage`` or ``AssistantMessage`` for one of ours."""
    time = MessageTime(created=message.time.created, completed=message.time.completed)
    agent = message.agent or "build"
    if message.role == "user":
        model = ModelRef(providerID=message.provider_id or "", modelID=message.model_id or "")
        return UserMessage(
            id=message.id,
            sessionID=message.session_id,
            time=MessageTime(created=message.time.created),
            agent=agent,
            model=model,
        )
    error = None if message.error is None else _message_error(message)
    return AssistantMessage(
        id=message.id,
        sessionID=message.session_id,
        time=time,
        parentID=message.parent_id or "",
        modelID=message.model_id or "",
        providerID=message.provider_id or "",
        mode=agent,
        agent=agent,
        path=MessagePath(cwd=directory, root=directory),
        cost=message.cost,
        tokens=tokens(message.usage),
        error=error,
        finish=_finish(message.finish),
        summary=message.summary or None,
    )


def _message_error(message: Message) -> MessageError:
    """The error in one of the shapes OpenCode's ``AssistantMessage.error`` allows
    (each name has its own closed set of fields)."""
    assert message.error is not None
    name, text = message.error.name, message.error.message
    if message.finish in ("aborted", "interrupted"):
        return MessageError(name="MessageAbortedError", data={"message": text})
    if name == "ProviderAuthError":
        data = {"providerID": message.provider_id or "", "message": text}
        return MessageError(name=name, data=data)
    if name == "ContextOverflowError":
        return MessageError(name=name, data={"message": text})
    if name in _API_ERRORS:
        api: dict[str, Any] = {"message": text, "isRetryable": message.error.retryable}
        return MessageError(name="APIError", data=api)
    return MessageError(name="UnknownError", data={"message": f"{name}: {text}"})


def message_json(message: MessageWithParts, directory: str) -> MessageJSON:
    return MessageJSON(
        info=message_info(message.info, directory),
        parts=[part_json(part) for part in message.parts],
    )


def part_json(part: Part) -> PartJSON:
    """OpenCode's form of one of our parts."""
    ids = {"id": part.id, "sessionID": part.session_id, "messageID": part.message_id}
    fields: dict[str, Any]
    if isinstance(part, TextPart | ReasoningPart):
        fields = {"text": part.text, "time": _time(part.time.start, part.time.end)}
        if isinstance(part, TextPart) and part.synthetic:
            fields["synthetic"] = True
        if isinstance(part, ReasoningPart) and part.metadata:
            fields["metadata"] = part.metadata
    elif isinstance(part, ToolPart):
        fields = {"callID": part.call_id, "tool": part.tool, "state": _tool_state(part)}
    elif isinstance(part, FilePart):
        fields = {"mime": part.mime, "url": part.url}
        if part.filename:
            fields["filename"] = part.filename
    elif isinstance(part, StepStartPart):
        fields = {}
    elif isinstance(part, StepFinishPart):
        fields = {
            "reason": _finish(part.reason),
            "cost": part.cost,
            "tokens": tokens(part.usage).model_dump(),
        }
    elif isinstance(part, CompactionPart):
        fields = {"auto": part.auto}
    else:
        assert isinstance(part, SubtaskPart)
        fields = {"prompt": part.prompt, "description": part.description, "agent": part.agent}
    return PartJSON(type=part.type, **ids, **fields)


def _tool_state(part: ToolPart) -> dict[str, Any]:
    state = part.state
    out: dict[str, Any] = {"status": state.status, "input": state.input}
    if state.status == "pending":
        out["raw"] = state.raw_input
        return out
    start = state.time.start if state.time else 0
    end = state.time.end if state.time else None
    if state.title is not None:
        out["title"] = state.title
    out["metadata"] = state.metadata
    if state.status == "running":
        out["time"] = {"start": start}
    elif state.status == "completed":
        out.update(output=state.output or "", title=state.title or "")
        out["time"] = {"start": start, "end": end or start}
        if state.attachments:
            out["attachments"] = [a.model_dump(exclude_none=True) for a in state.attachments]
    else:
        out["error"] = state.error or ""
        out["time"] = {"start": start, "end": end or start}
    return out


def _time(start: int, end: int | None) -> dict[str, int]:
    return {"start": start} if end is None else {"start": start, "end": end}


def _finish(reason: str | None) -> str | None:
    return None if reason is None else _FINISH.get(reason, reason)


# --- the info routes' answers (what /doc says of them; extra keys pass as sent) -------


class AgentInfo(Wire):
    """OpenCode's ``Agent``."""

    name: str
    mode: str
    permission: list[PermissionRule]
    options: dict[str, Any]


class ModelInfo(Wire):
    """OpenCode's ``Model``: a model a provider offers."""

    id: str
    providerID: str
    api: dict[str, Any]
    name: str
    capabilities: dict[str, Any]
    cost: dict[str, Any]
    limit: dict[str, Any]
    status: str
    options: dict[str, Any]
    headers: dict[str, str]
    release_date: str


class ProviderInfo(Wire):
    """OpenCode's ``Provider``."""

    id: str
    name: str
    source: str
    env: list[str]
    options: dict[str, Any]
    models: dict[str, ModelInfo]


class ConfigProviders(Wire):
    providers: list[ProviderInfo]
    default: dict[str, str]


class ProviderList(Wire):
    all: list[ProviderInfo]
    default: dict[str, str]
    connected: list[str]


class PathInfo(Wire):
    home: str
    state: str
    config: str
    worktree: str
    directory: str


class ProjectTime(Wire):
    created: int
    updated: int


class ProjectInfo(Wire):
    id: str
    worktree: str
    time: ProjectTime
    sandboxes: list[str]
    vcs: str | None = None


class FileNode(Wire):
    name: str
    path: str
    absolute: str
    type: Literal["file", "directory"]
    ignored: bool


class TextOf(Wire):
    text: str


class FindMatch(Wire):
    """One match of ``/find``, as ripgrep's JSON writes it."""

    path: TextOf
    lines: TextOf
    line_number: int
    absolute_offset: int
    submatches: list[dict[str, Any]]


class CommandInfo(Wire):
    """OpenCode's ``Command``."""

    name: str
    template: str
    hints: list[str]


class ConfigInfo(Wire):
    """OpenCode's ``Config``: the merged configuration (every key optional)."""
