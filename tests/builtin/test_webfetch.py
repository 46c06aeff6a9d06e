"""The webfetch tool against a real HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.webfetch import MAX_RESPONSE_BYTES, WebFetchTool
from opencode_python.tools.framework import ToolContext

PAGE = """<!doctype html>
<html><head><title>Shop</title><style>p { color: red }</style>
<script>var tracking = 1;</script></head>
<body><h1>Welcome</h1>
<p>Hello <b>world</b>, see <a href="/about">about us</a>.</p>
<ul><li>apples</li><li>pears</li></ul>
<noscript>enable scripts</noscript>
<pre><code>print("hi")</code></pre>
</body></html>"""
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
RELEASE = threading.Event()  # lets the slow endpoint go when the server stops


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_headers: dict[str, str] = {}  # noqa: RUF012  (the last request's, for one test)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""

    def send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", headers.pop("length", str(len(body))))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Handler.seen_headers = dict(self.headers)
        # the client stops reading the large bodies early, as it should
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.route()

    def route(self) -> None:
        if self.path == "/page.html":
            self.send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif self.path == "/notes.txt":
            self.send(200, b"plain  text\nline two\n", "text/plain")
        elif self.path == "/data.json":
            self.send(200, b'{"ok": true}', "application/json")
        elif self.path == "/latin1.html":
            self.send(200, "<p>café</p>".encode("latin-1"), "text/html; charset=iso-8859-1")
        elif self.path == "/logo.png":
            self.send(200, PNG, "image/png")
        elif self.path == "/archive.zip":
            self.send(200, b"PK\x03\x04", "application/zip")
        elif self.path == "/moved":
            self.send(302, b"", "text/plain", Location="/page.html")
        elif self.path == "/declared-large":
            self.send(200, b"x" * 1024, "text/plain", length=str(MAX_RESPONSE_BYTES + 1))
        elif self.path == "/streamed-large":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"y" * 65536
            for _ in range(MAX_RESPONSE_BYTES // len(chunk) + 2):
                self.wfile.write(chunk)
            self.close_connection = True
        elif self.path == "/slow":
            RELEASE.wait(10)
            self.send(200, b"late", "text/plain")
        else:
            self.send(404, b"no such page", "text/plain")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        RELEASE.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(
        session_id="s",
        message_id="m",
        agent="build",
        directory=str(tmp_path),
        working_dir=str(tmp_path),
    )


async def fetch(ctx: ToolContext, url: str, **args: Any) -> Any:
    return await WebFetchTool().execute({"url": url, **args}, ctx)


async def test_html_becomes_markdown_without_scripts_or_styles(
    base_url: str, ctx: ToolContext
) -> None:
    result = await fetch(ctx, f"{base_url}/page.html")
    assert result.output == (
        "# Welcome\n\nHello **world**, see [about us](/about).\n\n- apples\n- pears\n\n"
        '```\nprint("hi")\n```'
    )
    assert result.title == f"{base_url}/page.html (text/html; charset=utf-8)"
    assert result.metadata["status"] == 200
    assert result.metadata["bytes"] == len(PAGE.encode())
    assert "text/markdown" in Handler.seen_headers["Accept"].split(",")[0]
    assert "Mozilla/5.0" in Handler.seen_headers["User-Agent"]


async def test_html_as_text_and_as_html(base_url: str, ctx: ToolContext) -> None:
    text = await fetch(ctx, f"{base_url}/page.html", format="text")
    assert text.output == 'Welcome\nHello world, see about us.\napples\npears\nprint("hi")'
    raw = await fetch(ctx, f"{base_url}/page.html", format="html")
    assert raw.output == PAGE
    assert Handler.seen_headers["Accept"].startswith("text/html")


async def test_text_and_json_come_back_as_they_are(base_url: str, ctx: ToolContext) -> None:
    assert (await fetch(ctx, f"{base_url}/notes.txt")).output == "plain  text\nline two\n"
    assert (await fetch(ctx, f"{base_url}/data.json", format="text")).output == '{"ok": true}'


async def test_the_declared_charset_is_used(base_url: str, ctx: ToolContext) -> None:
    assert (await fetch(ctx, f"{base_url}/latin1.html")).output == "café"


async def test_redirects_are_followed(base_url: str, ctx: ToolContext) -> None:
    result = await fetch(ctx, f"{base_url}/moved")
    assert result.output.startswith("# Welcome")
    assert result.metadata["url"] == f"{base_url}/page.html"


async def test_images_come_back_as_attachments(base_url: str, ctx: ToolContext) -> None:
    result = await fetch(ctx, f"{base_url}/logo.png")
    assert "image/png" in result.output
    [attachment] = result.attachments
    assert attachment.mime == "image/png"
    assert attachment.url.startswith("data:image/png;base64,iVBORw0KGgo")


async def test_binary_content_is_refused(base_url: str, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"application/zip .* not text"):
        await fetch(ctx, f"{base_url}/archive.zip")


async def test_http_errors_name_the_status(base_url: str, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"failed: HTTP 404 Not Found"):
        await fetch(ctx, f"{base_url}/missing")


@pytest.mark.parametrize("path", ["/declared-large", "/streamed-large"])
async def test_bodies_over_the_cap_are_stopped(base_url: str, ctx: ToolContext, path: str) -> None:
    with pytest.raises(ToolError, match="larger than 5 MB; the download was stopped"):
        await fetch(ctx, f"{base_url}{path}")


async def test_the_timeout_bounds_the_whole_fetch(base_url: str, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"timed out after 0.3 s"):
        await fetch(ctx, f"{base_url}/slow", timeout=0.3)


async def test_unreachable_hosts_are_reported(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"Could not fetch http://127.0.0.1:9/"):
        await fetch(ctx, "http://127.0.0.1:9/")


@pytest.mark.parametrize("url", ["ftp://example.com/file", "file:///etc/passwd", "example.com"])
async def test_only_http_and_https_urls(ctx: ToolContext, url: str) -> None:
    with pytest.raises(ToolError, match="must start with http:// or https://"):
        await fetch(ctx, url)


def test_the_url_is_the_permission_subject(ctx: ToolContext) -> None:
    url = "https://example.com/docs"
    assert WebFetchTool().permission_patterns({"url": url}, ctx) == [url]


def test_schema_limits_format_and_timeout() -> None:
    schema = WebFetchTool().parameters()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"url": "https://x", "format": "text", "timeout": 120})
    assert not validator.is_valid({"url": "https://x", "format": "pdf"})
    assert not validator.is_valid({"url": "https://x", "timeout": 121})
