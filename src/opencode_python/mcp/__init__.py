"""MCP: use any MCP server's tools (``client.mcp``), configured in code or under
``mcp`` in ``opencode.json``. See docs/mcp.md."""

from .config import LocalMCPServer, MCPServerConfig, RemoteMCPServer, parse_servers
from .connection import MCPConnection, MCPServerError
from .manager import MCPManager
from .tools import MCPTool, tool_id

__all__ = [
    "LocalMCPServer",
    "MCPConnection",
    "MCPManager",
    "MCPServerConfig",
    "MCPServerError",
    "MCPTool",
    "RemoteMCPServer",
    "parse_servers",
    "tool_id",
]
