"""Anthropic Messages, over the official ``anthropic`` client's raw stream events.

Raw events (not the client's helper stream) keep the mapping in our hands: thinking
and its signature, tool input assembled from JSON deltas, usage from ``message_start``
and ``message_delta``. Prompt caching is on: the system prompt and the last two
messages carry cache breakpoints, so a growing conversation is read from cache.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import anthropic
import httpx2
from anthropic import types as wire
from anthropic.types.message_create_params import MessageCreateParamsBase

from ..core.errors import BrokenStreamError, ProviderError
from ..core.models import CacheUsage, FinishReason, TokenUsage
from .base import (
    ChatMessage,
    ChatRequest,
    Finish,
    ImageBlock,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallDelta,
    ToolCallStart,
    ToolResultBlock,
    named_tool_choice,
)
from .catalog import ModelCatalog
from .config import CLIENT_ARGS, NO_KEY, ProviderConfig, merge_options
from .guard import check_ready
from .profile import ModelProfile, anthropic_profile
from .relay import relay
from .retry import error_from_status, error_from_transport

_REQUEST_PARAMS = frozenset(MessageCreateParamsBase.__annotations__) | CLIENT_ARGS
_CACHE = {"type": "ephemeral"}
_TOOL_CHOICE_MODES = {"auto": "auto", "none": "none", "required": "any"}

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


class AnthropicProvider:
    """A ``Provider`` over the Anthropic Messages API.

    ``max_tokens`` is required by the API: it comes from the request, else from the
    catalog's output limit for the model. ``http_client`` replaces the transport.
    """

    def __init__(
        self,
        config: ProviderConfig,
        *,
        catalog: ModelCatalog | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.id = config.provider_id
        self._config = config
        self._catalog = catalog or ModelCatalog()
        api_key = config.resolve_api_key()
        self._missing_key = api_key is None and config.requires_api_key
        # An explicit key stops the client from reading env vars or profile files.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key or NO_KEY,
            base_url=config.resolve_base_url(),
            max_retries=0,
            timeout=config.http_timeout(),
            http_client=http_client,
        )
        self._base_url = str(self._client.base_url)

    @property
    def base_url(self) -> str:
        return self._base_url

    async def aclose(self) -> None:
        if not self._client.is_closed():
            await self._client.close()

    def profile(self, model_id: str) -> ModelProfile:
        return anthropic_profile(model_id)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one message. Checks the real-request guard before any I/O."""
        check_ready(self._config, self._base_url, missing_key=self._missing_key)
        params = self._params(request)

        async def open_stream() -> Any:
            return await self._client.messages.create(
                model=request.model,
                messages=to_anthropic_messages(request),
                stream=True,
                **params,
            )

        async for event in relay(
            open_stream,
            EventMapper(),
            provider_id=self.id,
            base_url=self._base_url,
            api_error=anthropic.APIError,
            map_error=lambda exc, during: self._map_error(exc, during_stream=during),
        ):
            yield event

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        max_tokens = request.max_output_tokens
        if max_tokens is None:
            override = self._config.models.get(request.model)
            info = self._catalog.info(
                self.id, request.model, override=override, base_url=self._config.base_url
            )
            max_tokens = info.max_output
        params: dict[str, Any] = {"max_tokens": max_tokens}
        system: list[dict[str, Any]] = [{"type": "text", "text": s} for s in request.system if s]
        if system:
            system[-1]["cache_control"] = _CACHE
            params["system"] = system
        if request.tools:
            params["tools"] = [
                {
                    "name": t.name,
                    "description": t.description,
                    "input_schema": {"type": "object", **t.parameters},
                }
                for t in request.tools
            ]
        if request.output is not None:
            output_format = {"type": "json_schema", "schema": request.output.schema}
            params["output_config"] = {"format": output_format}
        # anthropic 2.x dropped temperature and top_p from `create`; the API takes them.
        sampling = {"temperature": request.temperature, "top_p": request.top_p}
        extra = {k: v for k, v in sampling.items() if v is not None}
        if extra:
            params["extra_body"] = extra
        params = merge_options(params, self._config.options, request.options, _REQUEST_PARAMS)
        if "tool_choice" in params:
            params["tool_choice"] = to_anthropic_tool_choice(params["tool_choice"])
        return params

    def _map_error(self, exc: anthropic.APIError, *, during_stream: bool) -> ProviderError:
        if isinstance(exc, anthropic.APIConnectionError):
            return error_from_transport(
                provider_id=self.id,
                base_url=self._base_url,
                error=exc,
                during_stream=during_stream,
                timed_out=isinstance(exc, anthropic.APITimeoutError),
            )
        if isinstance(exc, anthropic.APIStatusError):
            # An `error` event inside a 200 stream arrives here with status 200.
            return error_from_status(
                provider_id=self.id,
                status_code=exc.status_code,
                message=exc.api_message or exc.message,
                error_type=exc.type,
                headers=exc.response.headers,
                key_hint=self._config.missing_key_message(),
            )
        return error_from_status(
            provider_id=self.id,
            status_code=None,
            message=exc.message,
            key_hint=self._config.missing_key_message(),
        )


# --- request mapping -----------------------------------------------------------------


def to_anthropic_tool_choice(value: object) -> object:
    """OpenAI's ``tool_choice`` forms in Anthropic's, so one agent's options suit both.

    "auto", "none" and "required" become ``{"type": "auto" | "none" | "any"}``, and a
    named function (``{"type": "function", "function": {"name": X}}`` or
    ``{"name": X}``) becomes ``{"type": "tool", "name": X}``. Anything else, Anthropic's
    own forms included, passes as it is.
    """
    if isinstance(value, str) and value in _TOOL_CHOICE_MODES:
        return {"type": _TOOL_CHOICE_MODES[value]}
    name = named_tool_choice(value)
    return value if name is None else {"type": "tool", "name": name}


def to_anthropic_messages(request: ChatRequest) -> list[wire.MessageParam]:
    """The history in Messages form: roles alternate, tool results open a user turn.

    Tool messages become ``tool_result`` blocks in a user message; consecutive turns of
    one role are merged. Reasoning goes back as signed ``thinking`` (or
    ``redacted_thinking``) blocks; unsigned reasoning is dropped, as the API would
    refuse it.
    """
    merged: list[dict[str, Any]] = []
    for message in request.messages:
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"].extend(blocks)
        else:
            merged.append({"role": role, "content": blocks})
    for turn in merged:
        if turn["role"] == "user":
            # tool_result blocks must come first in their user turn
            turn["content"].sort(key=lambda b: b["type"] != "tool_result")
    for turn in merged[-2:]:
        cacheable = [b for b in turn["content"] if "thinking" not in b["type"]]
        if cacheable:
            cacheable[-1]["cache_control"] = _CACHE
    return cast("list[wire.MessageParam]", merged)


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            if block.text:
                blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, ReasoningBlock):
            if message.role == "assistant":
                blocks.extend(_reasoning(block))
        elif isinstance(block, ImageBlock):
            blocks.append(_image(block))
        elif isinstance(block, ToolCallBlock):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": block.call_id,
                    "name": block.name,
                    "input": block.arguments,
                }
            )
        elif isinstance(block, ToolResultBlock):
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.call_id}
            if block.images:
                text = [{"type": "text", "text": block.output}] if block.output else []
                result["content"] = [*text, *(_image(i) for i in block.images)]
            elif block.output:
                result["content"] = block.output
            if block.is_error:
                result["is_error"] = True
            blocks.append(result)
    return blocks


def _image(image: ImageBlock) -> dict[str, Any]:
    source = {"type": "base64", "media_type": image.mime, "data": image.data_base64}
    return {"type": "image", "source": source}


def _reasoning(block: ReasoningBlock) -> list[dict[str, Any]]:
    signature = block.metadata.get("signature")
    redacted = block.metadata.get("redacted_data")
    if isinstance(redacted, str) and redacted:
        return [{"type": "redacted_thinking", "data": redacted}]
    if isinstance(signature, str) and signature:
        return [{"type": "thinking", "thinking": block.text, "signature": signature}]
    return []


# --- stream mapping ------------------------------------------------------------------


@dataclass(slots=True)
class _PendingToolUse:
    call_id: str
    name: str
    initial_input: dict[str, object]
    json_parts: list[str] = field(default_factory=list)


class EventMapper:
    """Turns raw Messages stream events into stream events, one event at a time."""

    def __init__(self) -> None:
        self._tools: dict[int, _PendingToolUse] = {}
        self._reason: str | None = None
        self._input = 0
        self._output = 0
        self._thinking = 0
        self._cache_read = 0
        self._cache_write = 0

    def feed(self, event: wire.RawMessageStreamEvent) -> list[StreamEvent]:
        if isinstance(event, wire.RawContentBlockDeltaEvent):
            return self._delta(event)
        if isinstance(event, wire.RawContentBlockStartEvent):
            return self._start(event)
        if isinstance(event, wire.RawContentBlockStopEvent):
            pending = self._tools.pop(event.index, None)
            if pending is None:
                return []
            text = "".join(pending.json_parts)
            if not text:
                text = json.dumps(pending.initial_input) if pending.initial_input else "{}"
            return [ToolCall(pending.call_id, pending.name, text)]
        if isinstance(event, wire.RawMessageStartEvent):
            start = event.message.usage
            self._count(
                start.input_tokens,
                start.output_tokens,
                start.cache_read_input_tokens,
                start.cache_creation_input_tokens,
                start.output_tokens_details,
            )
        elif isinstance(event, wire.RawMessageDeltaEvent):
            if event.delta.stop_reason:
                self._reason = event.delta.stop_reason
            delta = event.usage
            self._count(
                delta.input_tokens,
                delta.output_tokens,
                delta.cache_read_input_tokens,
                delta.cache_creation_input_tokens,
                delta.output_tokens_details,
            )
        return []

    def _count(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read: int | None,
        cache_write: int | None,
        details: wire.OutputTokensDetails | None,
    ) -> None:
        """Take the latest of each counter: ``message_delta`` counts are cumulative."""
        if input_tokens is not None:
            self._input = input_tokens
        if output_tokens is not None:
            self._output = output_tokens
        if cache_read is not None:
            self._cache_read = cache_read
        if cache_write is not None:
            self._cache_write = cache_write
        if details is not None:
            self._thinking = details.thinking_tokens

    def _start(self, event: wire.RawContentBlockStartEvent) -> list[StreamEvent]:
        block = event.content_block
        if isinstance(block, wire.TextBlock):
            return [TextDelta(block.text)] if block.text else []
        if isinstance(block, wire.ThinkingBlock):
            events: list[StreamEvent] = []
            if block.thinking:
                events.append(ReasoningDelta(block.thinking))
            if block.signature:
                events.append(ReasoningDelta("", metadata={"signature": block.signature}))
            return events
        if isinstance(block, wire.RedactedThinkingBlock):
            return [ReasoningDelta("", metadata={"redacted_data": block.data})]
        if isinstance(block, wire.ToolUseBlock):
            self._tools[event.index] = _PendingToolUse(block.id, block.name, dict(block.input))
            return [ToolCallStart(block.id, block.name)]
        return []

    def _delta(self, event: wire.RawContentBlockDeltaEvent) -> list[StreamEvent]:
        delta = event.delta
        if isinstance(delta, wire.TextDelta):
            return [TextDelta(delta.text)] if delta.text else []
        if isinstance(delta, wire.ThinkingDelta):
            return [ReasoningDelta(delta.thinking)] if delta.thinking else []
        if isinstance(delta, wire.SignatureDelta):
            return [ReasoningDelta("", metadata={"signature": delta.signature})]
        if isinstance(delta, wire.InputJSONDelta):
            pending = self._tools.get(event.index)
            if pending is not None and delta.partial_json:
                pending.json_parts.append(delta.partial_json)
                return [ToolCallDelta(pending.call_id, delta.partial_json)]
        return []

    def finish(self, provider_id: str) -> list[StreamEvent]:
        """The closing events; raises ``BrokenStreamError`` if no stop reason came."""
        if self._reason is None:
            raise BrokenStreamError(
                f"The stream from {provider_id} ended before the model finished "
                "(no stop_reason). Trying again may help.",
                provider_id=provider_id,
            )
        if self._tools:
            raise BrokenStreamError(
                f"The stream from {provider_id} ended inside a tool call. Trying again may help.",
                provider_id=provider_id,
            )
        thinking = min(self._thinking, self._output)
        usage = TokenUsage(
            input=self._input,
            output=self._output - thinking,
            reasoning=thinking,
            cache=CacheUsage(read=self._cache_read, write=self._cache_write),
        )
        return [Finish(_FINISH.get(self._reason, "other"), usage)]
