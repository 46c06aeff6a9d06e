"""Test an agent without a real model: scripted model turns, over HTTP or in process.

``ScriptedLLMServer`` needs the ``testing`` extra (starlette, uvicorn) and is imported
on first use, so the rest of this package works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .script import Fault, RecordedRequest, ScriptedToolCall, Turn
from .scripted_provider import ScriptedProvider

if TYPE_CHECKING:
    from .scripted_server import ScriptedLLMServer

__all__ = [
    "Fault",
    "RecordedRequest",
    "ScriptedLLMServer",
    "ScriptedProvider",
    "ScriptedToolCall",
    "Turn",
]


def __getattr__(name: str) -> Any:
    if name == "ScriptedLLMServer":
        from .scripted_server import ScriptedLLMServer

        return ScriptedLLMServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
