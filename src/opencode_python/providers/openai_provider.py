"""OpenAI Chat Completions, and every server that speaks it (vLLM, Ollama, groq...).

Streams through the official ``openai`` client with its retries off (the agent loop
retries with ``RetryPolicy``). Usage follows OpenCode's accounting: ``input`` excludes
cached tokens, ``output`` excludes reasoning, so ``output + reasoning`` equals the
server's ``completion_tokens``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import httpx2
import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import CompletionCreateParamsBase
from openai.types.completion_usage import CompletionUsage

from ..core.errors import BrokenStreamError, ProviderError
from ..core.models import CacheUsage, FinishReason, TokenUsage
from .base import (
    ChatMessage,
    ChatRequest,
    Finish,
    ImageBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallDelta,
    ToolCallStart,
    ToolResultBlock,
)
from .config import CLIENT_ARGS, NO_KEY, ProviderConfig, merge_options
from .guard import check_ready
from .profile import ModelProfile, openai_profile
from .relay import relay
from .retry import error_from_status, error_from_transport

_REQUEST_PARAMS = frozenset(CompletionCreateParamsBase.__annotations__) | CLIENT_ARGS

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


def openai_client(
    config: ProviderConfig, http_client: httpx2.AsyncClient | None = None
) -> tuple[openai.AsyncOpenAI, bool]:
    """The official client for ``config`` (we retry ourselves), and whether a needed key
    is missing (reported at the first call, before any I/O, rather than here)."""
    api_key = config.resolve_api_key()
    client = openai.AsyncOpenAI(
        api_key=api_key or NO_KEY,
        base_url=config.resolve_base_url(),
        max_retries=0,
        timeout=config.http_timeout(),
        http_client=http_client,
    )
    return client, api_key is None and config.requires_api_key


class OpenAIProvider:
    """A ``Provider`` over the Chat Completions API.

    ``http_client`` replaces the client's transport (a mock in tests, a tuned pool).
    """

    def __init__(
        self, config: ProviderConfig, *, http_client: httpx2.AsyncClient | None = None
    ) -> None:
        self.id = config.provider_id
        self._config = config
        self._client, self._missing_key = openai_client(config, http_client)
        self._base_url = str(self._client.base_url)
        self._official = urlsplit(self._base_url).hostname == "api.openai.com"

    @property
    def base_url(self) -> str:
        return self._base_url

    async def aclose(self) -> None:
        if not self._client.is_closed():
            await self._client.close()

    def profile(self, model_id: str) -> ModelProfile:
        return openai_profile(model_id, official=self._official)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one completion. Checks the real-request guard before any I/O."""
        check_ready(self._config, self._base_url, missing_key=self._missing_key)
        params = self._params(request)
        # The history and the tools travel in ``extra_body``, which the client sends as
        # given: passed as typed arguments, ``create`` first walks them against its
        # TypedDicts (milliseconds per request with a long history, and chat
        # completions has no field it would rename).
        params["extra_body"] = {
            **params.get("extra_body", {}),
            "messages": to_openai_messages(request),
            **({"tools": params.pop("tools")} if "tools" in params else {}),
        }

        async def open_stream() -> Any:
            return await self._client.chat.completions.create(
                model=request.model, messages=[], stream=True, **params
            )

        async for event in relay(
            open_stream,
            ChunkMapper(),
            provider_id=self.id,
            base_url=self._base_url,
            api_error=openai.APIError,
            map_error=lambda exc, during: self._map_error(exc, during_stream=during),
        ):
            yield event

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        """Sampling settings, tools and options as keyword arguments for ``create``."""
        params: dict[str, Any] = {"stream_options": {"include_usage": True}}
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        if request.output is not None:
            schema: dict[str, Any] = {
                "name": request.output.name,
                "schema": request.output.schema,
                "strict": request.output.strict,
            }
            if request.output.description:
                schema["description"] = request.output.description
            params["response_format"] = {"type": "json_schema", "json_schema": schema}
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.top_p is not None:
            params["top_p"] = request.top_p
        if request.max_output_tokens is not None:
            # OpenAI's reasoning models refuse max_tokens; most compatible servers
            # only know max_tokens.
            name = "max_completion_tokens" if self._official else "max_tokens"
            params[name] = request.max_output_tokens
        return merge_options(params, self._config.options, request.options, _REQUEST_PARAMS)

    def _map_error(self, exc: openai.APIError, *, during_stream: bool) -> ProviderError:
        if isinstance(exc, openai.APIConnectionError):
            return error_from_transport(
                provider_id=self.id,
                base_url=self._base_url,
                error=exc,
                during_stream=during_stream,
                timed_out=isinstance(exc, openai.APITimeoutError),
            )
        body = exc.body if isinstance(exc.body, dict) else {}
        error_type = exc.code or exc.type or _str(body.get("type"))
        if isinstance(exc, openai.APIStatusError):
            return error_from_status(
                provider_id=self.id,
                status_code=exc.status_code,
                message=_str(body.get("message")) or exc.message,
                error_type=error_type,
                headers=exc.response.headers,
                key_hint=self._config.missing_key_message(),
            )
        # An error event inside the stream: no status, only the body.
        return error_from_status(
            provider_id=self.id,
            status_code=None,
            message=exc.message,
            error_type=error_type,
            key_hint=self._config.missing_key_message(),
        )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --- request mapping -----------------------------------------------------------------


def to_openai_messages(request: ChatRequest) -> list[ChatCompletionMessageParam]:
    """The request's history in Chat Completions form.

    System prompts become one system message. Tool results become ``tool`` messages
    right where they are; reasoning is not sent back (the API has no field for it).
    """
    out: list[dict[str, Any]] = []
    system = "\n\n".join(s for s in request.system if s)
    if system:
        out.append({"role": "system", "content": system})
    for message in request.messages:
        out.extend(_message(message))
    return cast("list[ChatCompletionMessageParam]", out)


def _image_part(image: ImageBlock) -> dict[str, Any]:
    url = f"data:{image.mime};base64,{image.data_base64}"
    return {"type": "image_url", "image_url": {"url": url}}


def _message(message: ChatMessage) -> list[dict[str, Any]]:
    results = [b for b in message.content if isinstance(b, ToolResultBlock)]
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": r.call_id, "content": r.output} for r in results
    ]
    # Tool messages carry text only here, so pictures a tool returned follow as user input.
    pictures: list[dict[str, Any]] = []
    for r in results:
        for image in r.images:
            pictures.append({"type": "text", "text": f"Image returned by {r.name} ({r.call_id}):"})
            pictures.append(_image_part(image))
    if pictures:
        out.append({"role": "user", "content": pictures})
    if message.role == "assistant":
        assistant = _assistant(message)
        if assistant is not None:
            out.append(assistant)
        return out
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
    if parts:
        # A lone text part goes as a plain string, which every compatible server reads.
        single = len(parts) == 1 and parts[0]["type"] == "text"
        out.append({"role": "user", "content": parts[0]["text"] if single else parts})
    return out


def _assistant(message: ChatMessage) -> dict[str, Any] | None:
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
    calls = [
        {
            "id": b.call_id,
            "type": "function",
            "function": {"name": b.name, "arguments": json.dumps(b.arguments)},
        }
        for b in message.content
        if isinstance(b, ToolCallBlock)
    ]
    if not text and not calls:
        return None
    assistant: dict[str, Any] = {"role": "assistant"}
    if text:
        assistant["content"] = text
    if calls:
        assistant["tool_calls"] = calls
    return assistant


# --- stream mapping ------------------------------------------------------------------


@dataclass(slots=True)
class _PendingCall:
    call_id: str | None = None
    name: str | None = None
    arguments: str = ""
    started: bool = False


class ChunkMapper:
    """Turns Chat Completions chunks into stream events, one chunk at a time.

    Tool calls are assembled by ``index`` and completed when the stream ends; the
    finish reason and usage may come in either order, so ``Finish`` comes last.
    """

    def __init__(self) -> None:
        self._calls: dict[int, _PendingCall] = {}
        self._reason: str | None = None
        self._usage: CompletionUsage | None = None

    def feed(self, chunk: ChatCompletionChunk) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta is not None:
                # Compatible servers send reasoning as `reasoning_content` or `reasoning`.
                reasoning = getattr(delta, "reasoning_content", None) or getattr(
                    delta, "reasoning", None
                )
                if isinstance(reasoning, str) and reasoning:
                    events.append(ReasoningDelta(reasoning))
                if delta.content:
                    events.append(TextDelta(delta.content))
                if delta.refusal:
                    events.append(TextDelta(delta.refusal))
                for position, tool_call in enumerate(delta.tool_calls or ()):
                    events.extend(self._tool_delta(position, tool_call))
            if choice.finish_reason:
                self._reason = choice.finish_reason
        return events

    def _tool_delta(self, position: int, tool_call: Any) -> list[StreamEvent]:
        index = getattr(tool_call, "index", None)
        pending = self._calls.setdefault(
            index if isinstance(index, int) else position, _PendingCall()
        )
        if tool_call.id:
            pending.call_id = tool_call.id
        function = tool_call.function
        events: list[StreamEvent] = []
        piece = ""
        if function is not None:
            if function.name:
                pending.name = function.name
            if function.arguments:
                pending.arguments += function.arguments
                piece = function.arguments
        if not pending.started and pending.call_id and pending.name:
            pending.started = True
            events.append(ToolCallStart(pending.call_id, pending.name))
            piece = pending.arguments  # what came before the call could start
        if pending.started and pending.call_id and piece:
            events.append(ToolCallDelta(pending.call_id, piece))
        return events

    def finish(self, provider_id: str) -> list[StreamEvent]:
        """The closing events; raises ``BrokenStreamError`` if no finish reason came."""
        if self._reason is None:
            raise BrokenStreamError(
                f"The stream from {provider_id} ended before the model finished "
                "(no finish_reason). Trying again may help.",
                provider_id=provider_id,
            )
        events: list[StreamEvent] = []
        for _, pending in sorted(self._calls.items()):
            # A call without a name is still a call: the executor refuses it with a
            # result the model reads, and the step's other calls run.
            name = pending.name or ""
            call_id = pending.call_id or f"call_{secrets.token_hex(12)}"
            if not pending.started:
                events.append(ToolCallStart(call_id, name))
            events.append(ToolCall(call_id, name, pending.arguments or "{}"))
        reason = _FINISH.get(self._reason, "other")
        if self._calls and reason == "stop":
            reason = "tool_calls"  # some compatible servers say "stop" after tool calls
        events.append(Finish(reason, usage_from_openai(self._usage)))
        return events


def usage_from_openai(usage: CompletionUsage | None) -> TokenUsage:
    """OpenCode's accounting: cached and reasoning tokens counted apart from the rest."""
    if usage is None:
        return TokenUsage()
    prompt = usage.prompt_tokens_details
    cache_read = (prompt.cached_tokens or 0) if prompt else 0
    cache_write = (getattr(prompt, "cache_write_tokens", None) or 0) if prompt else 0
    details = usage.completion_tokens_details
    reasoning = (details.reasoning_tokens or 0) if details else 0
    completion = usage.completion_tokens or 0
    return TokenUsage(
        input=max((usage.prompt_tokens or 0) - cache_read - cache_write, 0),
        output=max(completion - reasoning, 0),
        reasoning=reasoning,
        cache=CacheUsage(read=cache_read, write=cache_write),
    )
