"""``/session``: OpenCode's session routes over the SDK's sessions and runs.

``POST /session/{id}/message`` runs the prompt to its end (tool calls and permission
waits included) and returns the run's last assistant message, as OpenCode's does; a
run that failed still answers 200 with the message's ``error``. ``prompt_async``
starts it and answers 204.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from ..agents.result import AgentResult
from ..core.errors import ConfigError, NotFoundError, OutputValidationError
from ..sdk.client import OpenCodeAsyncClient
from ..tools.builtin.todo import read_todos
from .app import ServerState, state_of
from .bodies import (
    FilePartInput,
    ForkBody,
    JSONSchemaFormat,
    PromptBody,
    SessionCreate,
    SessionUpdate,
    SubtaskPartInput,
    SummarizeBody,
    TextPartInput,
)
from .errors import NotSupported
from .wire import MessageJSON, SessionInfo, message_json, session_info

router = APIRouter(prefix="/session", tags=["session"])
State = Annotated[ServerState, Depends(state_of)]


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def session_json(info: SessionInfo) -> JSONResponse:
    return JSONResponse(_dump(info))


@router.get("", operation_id="session.list", response_model=list[SessionInfo])
async def list_sessions(
    state: State,
    roots: bool | None = Query(None, description="Only sessions without a parent."),
    search: str | None = Query(None, description="Only titles containing this."),
    limit: int | None = Query(None, ge=1),
) -> JSONResponse:
    sessions = await state.client.list_sessions()
    sessions.sort(key=lambda s: s.time.updated, reverse=True)
    if roots:
        sessions = [s for s in sessions if s.parent_id is None]
    if search:
        sessions = [s for s in sessions if search.lower() in s.title.lower()]
    return JSONResponse([_dump(session_info(s)) for s in sessions[:limit]])


@router.post("", operation_id="session.create", response_model=SessionInfo)
async def create_session(state: State, body: SessionCreate | None = None) -> JSONResponse:
    body = body or SessionCreate()
    session = await state.client.create_session(body.title, parent_id=body.parentID)
    return session_json(session_info(session))


@router.get("/status", operation_id="session.status")
async def session_status(state: State) -> dict[str, Any]:
    """Sessions with a run in progress (idle ones are absent, as in OpenCode)."""
    return {run.session_id: {"type": "busy"} for run in state.client.list_running_agents()}


@router.get("/{sessionID}", operation_id="session.get", response_model=SessionInfo)
async def get_session(state: State, sessionID: str) -> JSONResponse:
    return session_json(session_info(await state.client.get_session(sessionID)))


@router.patch("/{sessionID}", operation_id="session.update", response_model=SessionInfo)
async def update_session(state: State, sessionID: str, body: SessionUpdate) -> JSONResponse:
    client = state.client
    session = await client.get_session(sessionID)
    if body.title is not None:
        session = await client.rename_session(sessionID, body.title)
    if body.time is not None and body.time.archived is not None:
        session = await client.archive_session(sessionID)
    return session_json(session_info(session))


@router.delete("/{sessionID}", operation_id="session.delete")
async def delete_session(state: State, sessionID: str) -> bool:
    await state.client.delete_session(sessionID)
    return True


@router.get("/{sessionID}/children", operation_id="session.children")
async def children(state: State, sessionID: str) -> JSONResponse:
    await state.client.get_session(sessionID)
    sessions = await state.client.store.list_sessions(parent_id=sessionID)
    return JSONResponse([_dump(session_info(s)) for s in sessions])


@router.get("/{sessionID}/todo", operation_id="session.todo")
async def todo(state: State, sessionID: str) -> list[dict[str, Any]]:
    await state.client.get_session(sessionID)
    items = await read_todos(state.client.store, sessionID)
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


@router.post("/{sessionID}/abort", operation_id="session.abort")
async def abort(state: State, sessionID: str) -> bool:
    state.client.abort(sessionID)
    return True


@router.get("/{sessionID}/message", operation_id="session.messages")
async def messages(
    state: State, sessionID: str, limit: int | None = Query(None, ge=1)
) -> JSONResponse:
    await state.client.get_session(sessionID)
    stored = await state.client.get_messages(sessionID)
    if limit is not None:
        stored = stored[-limit:]
    return JSONResponse([_dump(message_json(m, state.directory)) for m in stored])


@router.get(
    "/{sessionID}/message/{messageID}", operation_id="session.message", response_model=MessageJSON
)
async def message(state: State, sessionID: str, messageID: str) -> JSONResponse:
    await state.client.get_session(sessionID)
    try:
        stored = await state.client.store.get_message(sessionID, messageID)
    except NotFoundError:
        raise NotFoundError(f"Message not found: {messageID}") from None
    return JSONResponse(_dump(message_json(stored, state.directory)))


@router.post("/{sessionID}/message", operation_id="session.prompt", response_model=MessageJSON)
async def prompt(state: State, sessionID: str, body: PromptBody) -> JSONResponse:
    await state.client.get_session(sessionID)
    check_prompt(state.client, body)
    if body.noReply:
        message_id = await state.client.add_message(sessionID, "user", prompt_text(body))
        stored = await state.client.store.get_message(sessionID, message_id)
        return JSONResponse(_dump(message_json(stored, state.directory)))
    return JSONResponse(await run_prompt(state, sessionID, body))


@router.post("/{sessionID}/prompt_async", operation_id="session.prompt_async", status_code=204)
async def prompt_async(state: State, sessionID: str, body: PromptBody) -> Response:
    await state.client.get_session(sessionID)
    check_prompt(state.client, body)
    state.spawn(run_prompt(state, sessionID, body))
    return Response(status_code=204)


@router.post("/{sessionID}/summarize", operation_id="session.summarize")
async def summarize(state: State, sessionID: str, body: SummarizeBody) -> bool:
    await state.client.get_session(sessionID)
    await state.client.compact_session(sessionID, model=f"{body.providerID}/{body.modelID}")
    return True


@router.post("/{sessionID}/fork", operation_id="session.fork", response_model=SessionInfo)
async def fork(state: State, sessionID: str, body: ForkBody | None = None) -> JSONResponse:
    message_id = body.messageID if body else None
    return session_json(session_info(await state.client.fork_session(sessionID, message_id)))


@router.post("/{sessionID}/share", operation_id="session.share")
async def share(state: State, sessionID: str) -> None:
    await state.client.get_session(sessionID)
    raise NotSupported(
        "sharing is not supported: opencode-python keeps sessions local and has no share "
        "service; export the session instead (client.export_session)"
    )


@router.delete("/{sessionID}/share", operation_id="session.unshare")
async def unshare(state: State, sessionID: str) -> None:
    await share(state, sessionID)


# --- running a prompt ----------------------------------------------------------------


def prompt_text(body: PromptBody) -> str:
    """The message the parts make: texts as they are, files and mentions named."""
    pieces: list[str] = []
    for part in body.parts:
        if isinstance(part, TextPartInput):
            pieces.append(part.text)
        elif isinstance(part, FilePartInput):
            pieces.append(f"[attached file: {part.filename or part.url} ({part.mime})]")
        elif isinstance(part, SubtaskPartInput):
            pieces.append(f"Use the {part.agent} subagent for: {part.prompt}")
        else:
            pieces.append(f"@{part.name}")
    return "\n\n".join(p for p in pieces if p)


def check_prompt(client: OpenCodeAsyncClient, body: PromptBody) -> None:
    """Refuse, before anything runs, a prompt naming an unknown model or agent: a
    mistake in the body (400), not a missing resource."""
    try:
        if body.model is not None:
            client.providers.resolve_model(f"{body.model.providerID}/{body.model.modelID}")
        if body.agent is not None:
            client.agents.get(body.agent)
    except NotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if not prompt_text(body).strip():
        raise ConfigError("the prompt has no text: give at least one text part")


async def run_prompt(state: ServerState, session_id: str, body: PromptBody) -> dict[str, Any]:
    """Run a checked prompt to its end; the run's last assistant message, as OpenCode's."""
    client = state.client
    model = f"{body.model.providerID}/{body.model.modelID}" if body.model else None
    output: dict[str, Any] = {}
    if isinstance(body.format, JSONSchemaFormat):
        output = {"output_type": body.format.schema_, "output_retries": body.format.retryCount}
    structured_error = None
    try:
        result: AgentResult = await client.prompt(
            session_id, prompt_text(body), model=model, agent=body.agent, **output
        )
    except OutputValidationError as exc:
        result = exc.result
        retries = exc.result.metadata.get("output_retries", 0) if exc.result else 0
        data = {"message": str(exc), "retries": max(0, retries - 1)}
        structured_error = {"name": "StructuredOutputError", "data": data}
    last = result.message_ids[-1] if result.message_ids else None
    if last is None:
        stored = (await client.get_messages(session_id))[-1]
    else:
        stored = await client.store.get_message(session_id, last)
    answer: dict[str, Any] = _dump(message_json(stored, state.directory))
    if output and structured_error is None:
        answer["info"]["structured"] = result.output
    if structured_error is not None:
        answer["info"]["error"] = structured_error
    return answer
