"""The invalid tool: what the model reads after a malformed call."""

from __future__ import annotations

from opencode_python.tools.builtin.invalid import InvalidTool
from opencode_python.tools.framework import ToolContext


async def test_the_error_goes_back_to_the_model() -> None:
    ctx = ToolContext(session_id="s", message_id="m", agent="build")
    result = await InvalidTool().execute({"tool": "read", "error": "filePath: field required"}, ctx)
    assert result.output == (
        "The arguments provided to the tool are invalid: filePath: field required"
    )
    assert result.title == "Invalid Tool"
    assert result.metadata == {"tool": "read"}
