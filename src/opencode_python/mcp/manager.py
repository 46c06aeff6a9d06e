"""The MCP servers a client uses, and their tools in its registry.

Servers start lazily: ``ensure_connected`` (called before each run) starts the enabled
ones not running yet, in parallel, and registers their tools; a server that fails is
reported once and its tools leave the registry, so the model is never offered a tool
that cannot run, and a run never fails for it. A tool list the server says changed is
read again before the next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..core.errors import NotFoundError
from ..core.tasks import TaskScope
from ..tools.framework import ToolRegistry
from .config import MCPServerConfig
from .connection import MCPConnection, MCPServerError
from .tools import MCPTool, tool_id

if TYPE_CHECKING:
    import mcp_types as types

log = logging.getLogger(__name__)


class MCPManager:
    """Servers by name (``client.mcp``): their tools, resources and prompts."""

    def __init__(self, registry: ToolRegistry) -> None:
        self._registry = registry
        self._tasks = TaskScope()  # the sessions' own: closed after the runs that use them
        self._connections: dict[str, MCPConnection] = {}
        self._registered: dict[str, list[str]] = {}

    @property
    def servers(self) -> Mapping[str, MCPServerConfig]:
        return {name: c.config for name, c in self._connections.items()}

    def add_server(self, name: str, config: MCPServerConfig) -> None:
        """Add (or replace) a server; it starts on the next run or ``connect``."""
        self._connections[name] = MCPConnection(name, config, self._tasks)

    async def connect(self, names: list[str] | None = None) -> dict[str, str | None]:
        """Start the servers (all enabled ones by default) and register their tools;
        returns each server's failure, None for those that are up."""
        chosen = [
            c
            for name, c in self._connections.items()
            if (names is None and c.config.enabled) or (names is not None and name in names)
        ]
        await asyncio.gather(*(self._refresh(c) for c in chosen))
        return {c.name: c.failure for c in chosen}

    async def ensure_connected(self) -> None:
        """Before a run: start what is not running, re-read changed tool lists."""
        stale = [
            c.name
            for c in self._connections.values()
            if c.config.enabled and (not c.connected or c.tools_changed)
        ]
        if stale:
            await self.connect(stale)

    def changed(self) -> bool:
        """Whether a server said its tool list changed (read again by
        ``ensure_connected``, between a run's steps too)."""
        return any(c.tools_changed for c in self._connections.values() if c.config.enabled)

    async def close(self) -> None:
        """Leave every session and stop the local servers."""
        await asyncio.gather(*(c.close() for c in self._connections.values()))
        await self._tasks.aclose()

    async def list_resources(self, server: str) -> list[types.Resource]:
        client = await self._connection(server).client()
        return list((await client.list_resources()).resources)

    async def read_resource(
        self, server: str, uri: str
    ) -> list[types.TextResourceContents | types.BlobResourceContents]:
        client = await self._connection(server).client()
        return list((await client.read_resource(uri)).contents)

    async def list_prompts(self, server: str) -> list[types.Prompt]:
        client = await self._connection(server).client()
        return list((await client.list_prompts()).prompts)

    async def get_prompt(
        self, server: str, name: str, arguments: dict[str, str] | None = None
    ) -> types.GetPromptResult:
        client = await self._connection(server).client()
        return await client.get_prompt(name, arguments)

    async def resource_context(self, refs: Sequence[str]) -> list[str]:
        """The text of each resource ``server:uri`` in ``refs``, as system prompt parts;
        one that cannot be read is named with why (and logged), so the run goes on."""
        parts = []
        for ref in refs:
            server, _, uri = ref.partition(":")
            try:
                contents = await self.read_resource(server, uri)
            except Exception as exc:
                log.warning("MCP resource %r could not be read: %s", ref, exc)
                parts.append(f"(The resource {uri} of MCP server {server} could not be read.)")
                continue
            text = "\n".join(c.text for c in contents if hasattr(c, "text"))
            parts.append(f"Resource {uri} (from MCP server {server}):\n{text}")
        return parts

    def _connection(self, server: str) -> MCPConnection:
        connection = self._connections.get(server)
        if connection is None:
            known = ", ".join(sorted(self._connections)) or "none"
            raise NotFoundError(f"no MCP server named {server!r} (servers: {known})")
        return connection

    async def _refresh(self, connection: MCPConnection) -> None:
        try:
            tools = await connection.list_tools()
        except MCPServerError:
            tools = []
        except Exception as exc:  # a server that answers nonsense is as good as down
            connection.failure = f"MCP server {connection.name!r} failed to list tools: {exc}"
            log.warning("%s", connection.failure)
            tools = []
        for old in self._registered.pop(connection.name, []):
            if old in self._registry:
                await self._registry.unregister(old)
        ids: list[str] = []
        for tool in tools:
            key = tool_id(connection.name, tool.name)
            if key in self._registry and key not in ids:
                log.warning(
                    "MCP tool %s of %r is not offered: a tool with id %r exists",
                    tool.name,
                    connection.name,
                    key,
                )
                continue
            await self._registry.register(MCPTool(connection, tool), key, replace=True)
            ids.append(key)
        self._registered[connection.name] = ids
