"""An MCP server's tool as one of ours: ``<server>_<tool>`` (OpenCode's naming), its
input schema as given, run through the same executor (permissions, doom loop,
truncation, timeout, abort) as every tool."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..core.errors import ToolError
from ..tools.framework import Tool, ToolAttachment, ToolContext, ToolResult
from .connection import MCPConnection

if TYPE_CHECKING:
    import mcp_types as types

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def safe_name(name: str) -> str:
    """``name`` in the characters MCP and tool ids allow: ``Backend Architect`` →
    ``Backend_Architect``."""
    return _UNSAFE.sub("_", name)


def tool_id(server: str, tool: str) -> str:
    """OpenCode's id for ``tool`` of ``server``: both sanitised, joined by ``_``."""
    return f"{safe_name(server)}_{safe_name(tool)}"


class MCPTool(Tool):
    """Calls ``name`` on the connection's server."""

    def __init__(self, connection: MCPConnection, tool: types.Tool) -> None:
        self.connection = connection
        self.name = tool.name
        self.server_tool = tool
        self.description = tool.description or f"{tool.name} (from MCP server {connection.name})"  # type: ignore[misc]
        self._schema = dict(tool.input_schema or {"type": "object", "properties": {}})

    def parameters(self) -> dict[str, Any]:
        return self._schema

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        async def progress(progress: float, total: float | None, message: str | None) -> None:
            await ctx.update_metadata(
                message, {"progress": progress, "total": total, "message": message}
            )

        result = await self.connection.call_tool(self.name, args, progress)
        return _result(result, self.connection.name, self.name)


def _result(result: types.CallToolResult, server: str, name: str) -> ToolResult:
    """Text blocks become the output; images and other media the attachments; a
    structured result is kept in the metadata (and is the output when there is no
    text). ``is_error`` results raise, so the model reads them as errors."""
    import mcp_types as types

    texts: list[str] = []
    attachments: list[ToolAttachment] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            texts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            attachments.append(
                ToolAttachment(
                    mime=block.mime_type, url=f"data:{block.mime_type};base64,{block.data}"
                )
            )
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, types.TextResourceContents):
                texts.append(resource.text)
            else:
                mime = resource.mime_type or "application/octet-stream"
                attachments.append(
                    ToolAttachment(mime=mime, url=f"data:{mime};base64,{resource.blob}")
                )
        elif isinstance(block, types.ResourceLink):
            texts.append(f"[{block.name}]({block.uri})")
    output = "\n".join(texts)
    if not output and result.structured_content is not None:
        output = json.dumps(result.structured_content, ensure_ascii=False)
    if result.is_error:
        raise ToolError(output or f"The MCP tool {name!r} of {server!r} failed.")
    metadata: dict[str, Any] = {"mcp_server": server, "mcp_tool": name}
    if result.structured_content is not None:
        metadata["structured"] = result.structured_content
    return ToolResult(
        title=f"{server}: {name}",
        output=output or "(no output)",
        metadata=metadata,
        attachments=attachments or None,
    )
