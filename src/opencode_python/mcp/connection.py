"""One MCP server: started on first use, watched, restarted after it dies.

The official client (``mcp.Client``) must be entered and left in one task, so each
connection runs in a task of the client's ``TaskScope`` that holds the session open
until the connection is closed or the server goes away. Calls come from any task.
A server that fails to start or dies is reported once, with the tail of its stderr,
and started again on the next use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from typing import IO, TYPE_CHECKING, Any

from ..core.tasks import TaskScope
from .config import LocalMCPServer, MCPServerConfig, RemoteMCPServer

if TYPE_CHECKING:  # the SDK (and httpx2) load with the first server that starts
    import mcp_types as types
    from mcp import Client
    from mcp.shared.dispatcher import ProgressFnT

log = logging.getLogger(__name__)

STDERR_TAIL_CHARS = 2000


class MCPServerError(Exception):
    """A server that could not be started or reached; the message says why."""


class MCPConnection:
    """The session with one server, opened on demand."""

    def __init__(self, name: str, config: MCPServerConfig, tasks: TaskScope) -> None:
        self.name = name
        self.config = config
        self._tasks = tasks
        self._client: Client | None = None
        self._stop: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stderr: IO[str] | None = None
        self.tools_changed = False
        """Set when the server said its tool list changed (``list_changed``)."""
        self._sse = False  # a remote server that answered only over SSE
        self.failure: str | None = None
        """Why the last start failed or the server went away; None while it is up."""

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def client(self) -> Client:
        """The open session, starting the server first if it is not running."""
        async with self._lock:
            if self._client is not None:
                return self._client
            try:
                self._client = await self._start()
            except Exception as exc:
                if not isinstance(self.config, RemoteMCPServer) or self._sse:
                    raise self._start_error(exc) from None
                self._sse = True  # an older server may speak only SSE
                try:
                    self._client = await self._start()
                except Exception:
                    self._sse = False
                    raise self._start_error(exc) from None  # the streamable HTTP error
            self.failure = None
            return self._client

    async def _start(self) -> Client:
        ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._runner = self._tasks.spawn(self._hold(ready, self._stop), name=f"mcp {self.name}")
        try:
            return await asyncio.wait_for(asyncio.shield(ready), self.config.timeout / 1000)
        except BaseException:
            await self._end()
            raise

    def _start_error(self, exc: Exception) -> MCPServerError:
        if isinstance(exc, TimeoutError):
            return self._failed(f"did not start within {self.config.timeout} ms")
        return self._failed(f"failed to start: {_describe(exc)}")

    async def list_tools(self) -> list[types.Tool]:
        client = await self.client()
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            page = await asyncio.wait_for(
                client.list_tools(cursor=cursor, cache_mode="refresh"), self.config.timeout / 1000
            )
            tools += page.tools
            cursor = page.next_cursor
            if cursor is None:
                self.tools_changed = False
                return tools

    async def call_tool(
        self, name: str, arguments: dict[str, Any], progress: ProgressFnT | None = None
    ) -> types.CallToolResult:
        """Call a tool; a server that dies meanwhile raises ``MCPServerError`` (and is
        started again on the next call). Cancelling the caller cancels the request."""
        client = await self.client()
        call = asyncio.ensure_future(client.call_tool(name, arguments, progress_callback=progress))
        runner = self._runner
        assert runner is not None
        done, _ = await asyncio.wait({call, runner}, return_when=asyncio.FIRST_COMPLETED)
        if call not in done:
            call.cancel()
            raise self._failed(f"went away during the call of {name!r}")
        try:
            return call.result()
        except Exception as exc:
            if not _connection_closed(exc):
                raise
            error = self._failed(f"went away during the call of {name!r}")
            await self.close()  # the session is of no more use: the next call starts anew
            raise error from None

    async def close(self) -> None:
        """Leave the session and stop the server."""
        async with self._lock:
            await self._end()
            self._close_stderr()

    async def _hold(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        """Enter the session, hand it over, and keep it open until ``stop``."""
        from mcp import Client

        try:
            async with Client(self._transport(), message_handler=self._on_message) as client:
                ready.set_result(client)
                listener = asyncio.ensure_future(self._listen(client))
                try:
                    await stop.wait()
                finally:
                    listener.cancel()
                    await asyncio.gather(listener, return_exceptions=True)
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else MCPServerError(str(exc)))
            elif not stop.is_set() and not isinstance(exc, asyncio.CancelledError):
                self._failed(f"went away: {_describe(exc)}")
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._client = None

    def _transport(self) -> Any:
        import httpx2
        from mcp import StdioServerParameters
        from mcp.client.sse import sse_client
        from mcp.client.stdio import stdio_client
        from mcp.client.streamable_http import streamable_http_client

        config = self.config
        if isinstance(config, LocalMCPServer):
            command, *args = config.command
            self._close_stderr()  # the last run's; its tail was reported
            # kept open while the server may write to it; closed with the connection
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
            params = StdioServerParameters(
                command=command, args=args, env={**os.environ, **config.environment}
            )
            return stdio_client(params, errlog=self._stderr)
        if self._sse:
            return sse_client(config.url, headers=config.headers)
        http = httpx2.AsyncClient(headers=config.headers, timeout=httpx2.Timeout(30, read=300))
        return _closing(http, streamable_http_client(config.url, http_client=http))

    async def _listen(self, client: Client) -> None:
        """Watch for tool list changes: a ``subscriptions/listen`` stream on servers of
        the 2026-07-28 protocol; older ones send ``list_changed`` notifications, which
        ``_on_message`` reads."""
        from mcp.client.subscriptions import ListenNotSupportedError

        try:
            async with client.listen(tools_list_changed=True) as events:
                async for _ in events:
                    self.tools_changed = True
        except ListenNotSupportedError:
            return
        except Exception as exc:  # the session is ending; _hold reports why
            log.debug("MCP server %r: change stream ended: %s", self.name, exc)

    async def _on_message(self, message: Any) -> None:
        import mcp_types

        if isinstance(message, mcp_types.ToolListChangedNotification):
            self.tools_changed = True

    async def _end(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._runner is not None and not self._runner.done():
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(self._runner), 5)
            if not self._runner.done():
                self._runner.cancel()
                await asyncio.wait({self._runner})
        self._client = None
        self._runner = None

    def _failed(self, reason: str) -> MCPServerError:
        """Record and report (once per failure) why the server is not available."""
        message = f"MCP server {self.name!r} {reason}"
        tail = self._stderr_tail()
        if tail:
            message += f"; its stderr ends with:\n{tail}"
        if self.failure != message:
            log.warning("%s", message)
        self.failure = message
        return MCPServerError(message)

    def _close_stderr(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            return self._stderr.read()[-STDERR_TAIL_CHARS:].strip()
        except (OSError, ValueError):
            return ""


@contextlib.asynccontextmanager
async def _closing(http: Any, transport: Any) -> Any:
    """``transport``, then the HTTP client it used."""
    async with http, transport as streams:
        yield streams


def _connection_closed(exc: Exception) -> bool:
    """Whether ``exc`` says the connection to the server is gone (the server died)."""
    import mcp_types
    from mcp.shared.exceptions import MCPError

    return isinstance(exc, MCPError) and exc.code == mcp_types.CONNECTION_CLOSED


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
