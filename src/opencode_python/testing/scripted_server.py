"""A real HTTP server that plays scripted turns in the OpenAI and Anthropic wire formats.

Tests and benchmarks point the official ``openai`` / ``anthropic`` clients (or our own
provider adapters) at it, so every byte goes through a socket, an HTTP parser and an SSE
decoder exactly as with a real model endpoint, while the answers come from a script.
The server runs uvicorn in a thread of its own with its own event loop, so it works
from sync code and from any async test, and it serves requests concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any, Protocol

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "ScriptedLLMServer needs starlette and uvicorn: pip install 'opencode-python[testing]'"
    ) from exc

from ..core.models import TokenUsage
from .script import Fault, RecordedRequest, ScriptedFinish, Turn, Wire

Responder = Callable[[RecordedRequest], Turn]

_SIGNATURE = "c2NyaXB0ZWQtdGhpbmtpbmctc2lnbmF0dXJl"
"""The signature sent with scripted Anthropic thinking; clients only pass it back."""


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class _CutConnection(Exception):
    """Raised inside a response to make uvicorn drop the connection mid-body."""


class _HideCuts(logging.Filter):
    """Keeps the deliberate connection drops of ``Fault.cut`` out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        return not isinstance(error, _CutConnection)


_uvicorn_log = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _HideCuts) for f in _uvicorn_log.filters):
    _uvicorn_log.addFilter(_HideCuts())


# --- wire formats --------------------------------------------------------------------


class _WireFormat(Protocol):
    def stream_events(
        self, turn: Turn, body: dict[str, Any], number: int
    ) -> tuple[list[bytes], list[bytes]]:
        """The SSE events of the streamed response: the content, then the events that
        finish it (which a ``Fault.cut`` never sends)."""
        ...

    def message(self, turn: Turn, body: dict[str, Any], number: int) -> dict[str, Any]:
        """The non-streaming response body."""
        ...

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """An error response body as this provider writes it."""
        ...


_OPENAI_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}

_ANTHROPIC_STOP_REASONS: dict[ScriptedFinish, str] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}

_ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class _OpenAIWire:
    """OpenAI Chat Completions, with reasoning in ``reasoning_content`` as vLLM, DeepSeek
    and OpenRouter-like servers send it."""

    def usage(self, usage: TokenUsage) -> dict[str, Any]:
        """OpenAI counts cached prompt tokens in ``prompt_tokens`` and reasoning in
        ``completion_tokens``; the details break them out again."""
        prompt = usage.input + usage.cache.read + usage.cache.write
        completion = usage.output + usage.reasoning
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": usage.cache.read},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning},
        }

    def stream_events(
        self, turn: Turn, body: dict[str, Any], number: int
    ) -> tuple[list[bytes], list[bytes]]:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        head = {
            "id": f"chatcmpl-scripted-{number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": str(body.get("model", "scripted")),
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            data: dict[str, Any] = {**head, "choices": [choice]}
            if include_usage:
                data["usage"] = None
            return f"data: {_dumps(data)}\n\n".encode()

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"reasoning_content": p}) for p in turn.pieces(turn.reasoning or "")]
        events += [chunk({"content": p}) for p in turn.pieces(turn.text or "")]
        for index, call in enumerate(turn.tool_calls):
            function = {"name": call.name, "arguments": ""}
            first = {"index": index, "id": call.call_id, "type": "function", "function": function}
            events.append(chunk({"tool_calls": [first]}))
            events += [
                chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
                for p in turn.pieces(call.arguments_json)
            ]
        closing = [chunk({}, turn.finish_reason)]
        if include_usage:
            data = {**head, "choices": [], "usage": self.usage(turn.token_usage)}
            closing.append(f"data: {_dumps(data)}\n\n".encode())
        closing.append(b"data: [DONE]\n\n")
        return events, closing

    def message(self, turn: Turn, body: dict[str, Any], number: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": turn.text, "refusal": None}
        if turn.reasoning is not None:
            message["reasoning_content"] = turn.reasoning
        if turn.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for call in turn.tool_calls
            ]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": turn.finish_reason,
        }
        return {
            "id": f"chatcmpl-scripted-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "scripted")),
            "choices": [choice],
            "usage": self.usage(turn.token_usage),
        }

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind, code = _OPENAI_ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _AnthropicWire:
    """Anthropic Messages. Every SSE event carries an ``event:`` line: the client skips
    events without one."""

    def usage(self, usage: TokenUsage) -> dict[str, Any]:
        """Anthropic counts thinking in ``output_tokens``; ``output_tokens_details``
        breaks it out again."""
        data: dict[str, Any] = {
            "input_tokens": usage.input,
            "cache_creation_input_tokens": usage.cache.write,
            "cache_read_input_tokens": usage.cache.read,
            "output_tokens": usage.output + usage.reasoning,
        }
        if usage.reasoning:
            data["output_tokens_details"] = {"thinking_tokens": usage.reasoning}
        return data

    def _envelope(self, body: dict[str, Any], number: int) -> dict[str, Any]:
        return {
            "id": f"msg_scripted_{number}",
            "type": "message",
            "role": "assistant",
            "model": str(body.get("model", "scripted")),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
        }

    def stream_events(
        self, turn: Turn, body: dict[str, Any], number: int
    ) -> tuple[list[bytes], list[bytes]]:
        def event(data: dict[str, Any]) -> bytes:
            return f"event: {data['type']}\ndata: {_dumps(data)}\n\n".encode()

        usage = self.usage(turn.token_usage)
        start = {**self._envelope(body, number), "usage": {**usage, "output_tokens": 0}}
        events = [event({"type": "message_start", "message": start}), event({"type": "ping"})]
        blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if turn.reasoning is not None:
            deltas = [
                {"type": "thinking_delta", "thinking": p} for p in turn.pieces(turn.reasoning)
            ]
            deltas.append({"type": "signature_delta", "signature": _SIGNATURE})
            blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
        if turn.text is not None:
            deltas = [{"type": "text_delta", "text": p} for p in turn.pieces(turn.text)]
            blocks.append(({"type": "text", "text": ""}, deltas))
        for call in turn.tool_calls:
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in turn.pieces(call.arguments_json)
            ]
            blocks.append(
                ({"type": "tool_use", "id": call.call_id, "name": call.name, "input": {}}, deltas)
            )
        for index, (block, deltas) in enumerate(blocks):
            events.append(
                event({"type": "content_block_start", "index": index, "content_block": block})
            )
            events += [
                event({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas
            ]
            events.append(event({"type": "content_block_stop", "index": index}))
        stop = {"stop_reason": _ANTHROPIC_STOP_REASONS[turn.finish_reason], "stop_sequence": None}
        delta_usage = {"output_tokens": usage["output_tokens"]}
        if "output_tokens_details" in usage:
            delta_usage["output_tokens_details"] = usage["output_tokens_details"]
        closing = [
            event({"type": "message_delta", "delta": stop, "usage": delta_usage}),
            event({"type": "message_stop"}),
        ]
        return events, closing

    def message(self, turn: Turn, body: dict[str, Any], number: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if turn.reasoning is not None:
            content.append(
                {"type": "thinking", "thinking": turn.reasoning, "signature": _SIGNATURE}
            )
        if turn.text is not None:
            content.append({"type": "text", "text": turn.text})
        for call in turn.tool_calls:
            try:
                arguments: Any = json.loads(call.arguments_json)
            except ValueError:
                arguments = call.arguments_json  # malformed on purpose: sent as it is
            content.append(
                {"type": "tool_use", "id": call.call_id, "name": call.name, "input": arguments}
            )
        return {
            **self._envelope(body, number),
            "content": content,
            "stop_reason": _ANTHROPIC_STOP_REASONS[turn.finish_reason],
            "usage": self.usage(turn.token_usage),
        }

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = _ANTHROPIC_ERRORS.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": message}}


_WIRES: dict[Wire, _WireFormat] = {"openai": _OpenAIWire(), "anthropic": _AnthropicWire()}


# --- the server ----------------------------------------------------------------------


class _ThreadedUvicorn(uvicorn.Server):
    """uvicorn in a thread: signals when it is listening and stops the moment it is told."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    async def main_loop(self) -> None:
        # uvicorn polls for ``should_exit`` every 0.1 s; waiting on an event stops at once.
        await self.on_tick(0)
        assert self._exit is not None
        await self._exit.wait()

    def serve_socket(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self.serve(sockets=[sock]))
        finally:
            self.ready.set()

    def request_exit(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._exit is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._exit.set)


class ScriptedLLMServer:
    """An OpenAI- and Anthropic-compatible endpoint on 127.0.0.1 that plays ``Turn``s.

    Each request takes the first queued turn whose ``when`` matches it; when none does,
    ``responder`` (if given) makes one. With neither, the request fails with HTTP 500
    and a message saying so, rather than hanging. Serves
    ``POST /v1/chat/completions`` and ``POST /v1/messages``, streaming or not.
    """

    def __init__(
        self, turns: Iterable[Turn] | None = None, *, responder: Responder | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._turns: list[Turn] = list(turns or [])
        self._responder = responder
        self._requests: list[RecordedRequest] = []
        self._server: _ThreadedUvicorn | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    # --- lifecycle ---

    def start(self) -> None:
        """Listen on a free port and serve from a background thread."""
        if self._thread is not None:
            raise RuntimeError("ScriptedLLMServer is already running")
        # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that name it, and
        # without it every streamed chunk waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            http="h11",
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=1,
        )
        server = _ThreadedUvicorn(config)
        thread = threading.Thread(
            target=server.serve_socket, args=(sock,), name=f"ScriptedLLMServer:{port}", daemon=True
        )
        thread.start()
        if not server.ready.wait(10) or not server.started:
            server.request_exit()
            thread.join(5)
            sock.close()
            raise RuntimeError(f"ScriptedLLMServer could not start on 127.0.0.1:{port}")
        self._server, self._thread, self._port = server, thread, port

    def stop(self) -> None:
        """Stop serving; requests still streaming get a second to finish. Safe to repeat."""
        if self._server is None or self._thread is None:
            return
        self._server.request_exit()
        self._thread.join(10)
        self._server = self._thread = self._port = None

    def __enter__(self) -> ScriptedLLMServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ScriptedLLMServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # In a thread: stopping waits for open streams, which this loop may be reading.
        await asyncio.to_thread(self.stop)

    # --- addresses and script ---

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._port is None:
            raise RuntimeError("ScriptedLLMServer is not running: call start() or use `with`")
        return f"http://127.0.0.1:{self._port}"

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` for OpenAI clients (the client appends ``/chat/completions``)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The ``base_url`` for Anthropic clients (the client appends ``/v1/messages``)."""
        return self.url

    def add_turn(self, turn: Turn) -> None:
        with self._lock:
            self._turns.append(turn)

    def add_turns(self, turns: Iterable[Turn]) -> None:
        with self._lock:
            self._turns.extend(turns)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def remaining_turns(self) -> list[Turn]:
        """The queued turns no request has taken yet (a copy)."""
        with self._lock:
            return list(self._turns)

    # --- serving ---

    async def _openai(self, request: Request) -> Response:
        return await self._serve("openai", request)

    async def _anthropic(self, request: Request) -> Response:
        return await self._serve("anthropic", request)

    async def _unknown(self, request: Request) -> Response:
        message = (
            f"ScriptedLLMServer serves POST /v1/chat/completions and POST /v1/messages, not "
            f"{request.method} {request.url.path}. Use server.openai_base_url or "
            "server.anthropic_base_url as the client's base_url."
        )
        return JSONResponse({"error": {"message": message, "type": "not_found"}}, 404)

    def _take_turn(self, recorded: RecordedRequest) -> Turn | None:
        with self._lock:
            for index, turn in enumerate(self._turns):
                if turn.matches(recorded):
                    return self._turns.pop(index)
        return self._responder(recorded) if self._responder is not None else None

    async def _serve(self, wire: Wire, request: Request) -> Response:
        started = time.monotonic()
        fmt = _WIRES[wire]
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return JSONResponse(fmt.error_body(400, f"request body is not JSON: {exc}"), 400)
        if not isinstance(body, dict):
            return JSONResponse(fmt.error_body(400, "request body is not a JSON object"), 400)
        recorded = RecordedRequest(wire, request.url.path, dict(request.headers), body, started)
        with self._lock:
            self._requests.append(recorded)
            number = len(self._requests)
        try:
            turn = self._take_turn(recorded)
        except Exception as exc:
            return self._fail(
                recorded, fmt, f"choosing a turn for request #{number} failed: {exc!r}"
            )
        if turn is None:
            return self._fail(
                recorded,
                fmt,
                f"no scripted turn matches request #{number} "
                f"(last user text: {recorded.last_user_text[:200]!r}); add a Turn",
            )
        if turn.delay:
            await asyncio.sleep(turn.delay)
        fault = turn.fault
        if fault is not None and fault.kind == "status":
            return self._status_fault(recorded, fmt, fault)
        if fault is not None and fault.kind == "hang":
            await asyncio.Event().wait()  # until the client leaves or the server stops
        cut = fault if fault is not None and fault.kind in ("cut", "stall") else None
        if body.get("stream") is True:
            events, closing = fmt.stream_events(turn, body, number)
            events = events[: cut.after_chunks] if cut is not None else events + closing
            return StreamingResponse(
                self._stream(
                    recorded,
                    events,
                    turn.chunk_delay,
                    drop=cut is not None and cut.kind == "cut" and cut.abrupt,
                    stall=cut is not None and cut.kind == "stall",
                ),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache"},
            )
        message = _dumps(fmt.message(turn, body, number)).encode()
        if cut is not None:  # not streaming: half the body, then the stream stops
            return StreamingResponse(
                self._stream(
                    recorded,
                    [message[: len(message) // 2]],
                    0.0,
                    drop=cut.kind == "cut" and cut.abrupt,
                    stall=cut.kind == "stall",
                ),
                media_type="application/json",
            )
        recorded.finished = time.monotonic()
        return Response(message, media_type="application/json")

    def _fail(self, recorded: RecordedRequest, fmt: _WireFormat, problem: str) -> Response:
        recorded.finished = time.monotonic()
        return JSONResponse(fmt.error_body(500, f"ScriptedLLMServer: {problem}"), 500)

    def _status_fault(self, recorded: RecordedRequest, fmt: _WireFormat, fault: Fault) -> Response:
        code = fault.status_code
        body = fault.body or fmt.error_body(code, f"Scripted fault: HTTP {code}")
        headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
        recorded.finished = time.monotonic()
        return JSONResponse(body, code, headers=headers)

    async def _stream(
        self,
        recorded: RecordedRequest,
        chunks: list[bytes],
        chunk_delay: float,
        *,
        drop: bool,
        stall: bool = False,
    ) -> AsyncIterator[bytes]:
        """Send each chunk in a write of its own, ``chunk_delay`` apart; ``drop`` then
        closes the connection without ending the HTTP body, ``stall`` goes silent."""
        last = len(chunks) - 1
        for index, chunk in enumerate(chunks):
            if index and chunk_delay:
                await asyncio.sleep(chunk_delay)
            if index == last:
                recorded.finished = time.monotonic()
            yield chunk
        if not chunks:
            recorded.finished = time.monotonic()
        if stall:
            await asyncio.Event().wait()  # until the client leaves or the server stops
        if drop:
            raise _CutConnection("Fault.cut: dropping the connection")
