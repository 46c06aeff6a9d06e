"""The web viewer: one page at ``/`` and its script and style, from the package's data.

A plain page over the same HTTP API OpenCode's clients use (sessions, prompts, the
``/event`` stream, permission replies); nothing is fetched from elsewhere, so it works
offline. With a password, the browser's basic auth covers the page and its calls.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

_ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
# The page loads only its own script and style, and talks only to this server.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _asset(name: str) -> bytes:
    return files(__package__ or "opencode_python.server").joinpath("static", name).read_bytes()


def _serve(name: str) -> Response:
    headers = {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _CSP,
    }
    return Response(_asset(name), media_type=_ASSETS[name], headers=headers)


@router.get("/")
async def index() -> Response:
    return _serve("index.html")


@router.get("/viewer/app.js")
async def script() -> Response:
    return _serve("app.js")


@router.get("/viewer/style.css")
async def style() -> Response:
    return _serve("style.css")
