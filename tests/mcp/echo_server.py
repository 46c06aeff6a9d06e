"""An MCP server of the tests' own, on the official SDK's ``MCPServer``.

Run as ``python echo_server.py [stdio|http PORT|sse PORT]``. Its tools cover what a client must
handle: text, structured content, an image, an error result, progress, a slow call
(for cancellation), a crash (for restarts), a tool list that changes, a resource and a
prompt.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

app = MCPServer("echo")
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


class Sum(BaseModel):
    total: int


@app.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@app.tool()
def add(a: int, b: int) -> Sum:
    """Add two numbers."""
    return Sum(total=a + b)


@app.tool()
def pixel() -> Image:
    """A one-pixel PNG."""
    return Image(data=PIXEL, format="png")


@app.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ToolError(f"failed on purpose: {reason}")


@app.tool()
async def count(to: int, ctx: Context) -> str:
    """Count up, reporting progress."""
    for step in range(1, to + 1):
        await ctx.report_progress(step, to, f"step {step}")
    return f"counted to {to}"


@app.tool()
async def slow(seconds: float, marker: str) -> str:
    """Sleep, then write ``marker`` (a path): cancelled calls never write it."""
    await asyncio.sleep(seconds)
    Path(marker).write_text("finished")
    return "slept"


@app.tool()
def crash() -> str:
    """Kill the server mid-call."""
    print("about to crash", file=sys.stderr, flush=True)
    os._exit(3)


@app.tool()
async def grow(ctx: Context) -> str:
    """Add a tool named ``extra`` and tell the client its list changed."""

    def extra() -> str:
        return "extra tool"

    app.add_tool(extra, name="extra", description="Added at run time.")
    await ctx.notify_tools_changed()  # to subscriptions/listen (2026-07-28)
    await ctx.session.send_tool_list_changed()  # to clients of older protocols
    return "grown"


@app.resource("notes://today")
def today() -> str:
    """Today's notes."""
    return "Ship the release."


@app.prompt()
def review(path: str) -> str:
    """Review a file."""
    return f"Please review {path}."


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] in ("http", "sse"):
        transport = "streamable-http" if sys.argv[1] == "http" else "sse"
        app.run(transport=transport, host="127.0.0.1", port=int(sys.argv[2]))
    else:
        print("echo server starting", file=sys.stderr, flush=True)
        app.run()
