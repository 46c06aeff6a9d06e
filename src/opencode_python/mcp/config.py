"""How an MCP server is configured: OpenCode's ``mcp`` entries, read as they are.

``{"type": "local", "command": [...], "environment": {...}}`` starts a process and
speaks MCP over its stdin/stdout; ``{"type": "remote", "url": ..., "headers": {...}}``
speaks streamable HTTP (or SSE, for servers that speak only that). ``timeout`` (ms) bounds
starting a server and listing its tools, as in OpenCode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..core.errors import ConfigError

DEFAULT_TIMEOUT_MS = 5000


class _Server(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # OpenCode's oauth: not used

    enabled: bool = True
    timeout: int = Field(default=DEFAULT_TIMEOUT_MS, gt=0)
    """Milliseconds to start the server and list its tools."""


class LocalMCPServer(_Server):
    """A server this client starts as a subprocess (stdio)."""

    type: Literal["local"] = "local"
    command: list[str] = Field(min_length=1)
    environment: dict[str, str] = Field(default_factory=dict)


class RemoteMCPServer(_Server):
    """A server reached over streamable HTTP, or SSE when that fails."""

    type: Literal["remote"] = "remote"
    url: str = Field(pattern=r"^https?://")
    headers: dict[str, str] = Field(default_factory=dict)


MCPServerConfig = Annotated[LocalMCPServer | RemoteMCPServer, Field(discriminator="type")]
_SERVERS: TypeAdapter[dict[str, MCPServerConfig]] = TypeAdapter(dict[str, MCPServerConfig])


def parse_servers(entries: Mapping[str, object], source: str) -> dict[str, MCPServerConfig]:
    """``mcp`` entries (opencode.json's, or the same shape in code) as server configs.
    Raises ``ConfigError`` naming ``source``, the server and the field."""
    try:
        return _SERVERS.validate_python(dict(entries))
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors(include_url=False))
        raise ConfigError(f"{source}: {problems}") from None


_MESSAGES = {
    "union_tag_not_found": 'needs "type": "local" (with "command") or "remote" (with "url")',
    "union_tag_invalid": '"type" must be "local" or "remote"',
    "string_pattern_mismatch": "must start with http:// or https://",
}


def _problem(error: Any) -> str:
    """``mcp.<server>.<field>: what is wrong``, in the file's terms."""
    where = [str(p) for p in error["loc"] if p not in ("local", "remote")]
    return f"mcp.{'.'.join(where)}: {_MESSAGES.get(error['type'], error['msg'])}"
