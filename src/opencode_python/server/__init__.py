"""The HTTP server: OpenCode's API over the SDK (``opencode-python serve``, docs/server.md).

Needs the ``server`` extra (FastAPI, uvicorn, sse-starlette).
"""

from .app import create_app
from .runner import serving

__all__ = ["create_app", "serving"]
