"""The webfetch tool against a real HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from jsonschema import Draft202012Validator

from opencode_python import OpenCodeAsyncClient, PermissionRequest
from opencode_python.core.errors import PermissionDeniedError, ToolError
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn
from opencode_python.tools.builtin.webfetch import (
    MAX_REDIRECTS,
    MAX_RESPONSE_BYTES,
    WebFetchTool,
)
from opencode_python.tools.framework import PermissionCheck, ToolContext

from ..conftest import scripted_config

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
SECRET = b"TOP-SECRET-42"
RELEASE = threading.Event()  # lets the slow endpoint go when the server stops
SERVED: list[str] = []  # every path the server answered, as it read it
# Redirects by path: where each one points ({port} is the server's).
REDIRECTS = {
    "/moved": "/page.html",
    "/public/go": "/secret",
    "/public/hop1": "/public/hop2",
    "/public/hop2": "http://127.0.0.1:{port}/public/hop3",
    "/public/hop3": "/secret",
    "/public/sneaky": "HTTP://127.0.0.1:{port}/public/../%73ecret",
    "/public/relative": "../secret",
    "/public/ftp": "ftp://127.0.0.1/secret",
    "/public/file": "file:///etc/passwd",
    "/public/loop": "/public/loop",
}


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
            self.route(_as_served(self.path))

    def route(self, path: str) -> None:
        """Answer ``path``, read as a lenient server reads it."""
        SERVED.append(path)
        if path == "/secret":
            self.send(200, SECRET, "text/plain")
        elif path in REDIRECTS:
            location = REDIRECTS[path].format(port=self.server.server_address[1])
            self.send(302, b"", "text/plain", Location=location)
        elif path.startswith("/public/"):
            self.send(200, b"public " + path.encode(), "text/plain")
        elif path == "/page.html":
            self.send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/notes.txt":
            self.send(200, b"plain  text\nline two\n", "text/plain")
        elif path == "/data.json":
            self.send(200, b'{"ok": true}', "application/json")
        elif path == "/latin1.html":
            self.send(200, "<p>café</p>".encode("latin-1"), "text/html; charset=iso-8859-1")
        elif path == "/logo.png":
            self.send(200, PNG, "image/png")
        elif path == "/archive.zip":
            self.send(200, b"PK\x03\x04", "application/zip")
        elif path == "/declared-large":
            self.send(200, b"x" * 1024, "text/plain", length=str(MAX_RESPONSE_BYTES + 1))
        elif path == "/streamed-large":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"y" * 65536
            for _ in range(MAX_RESPONSE_BYTES // len(chunk) + 2):
                self.wfile.write(chunk)
            self.close_connection = True
        elif path == "/slow":
            RELEASE.wait(10)
            self.send(200, b"late", "text/plain")
        else:
            self.send(404, b"no such page", "text/plain")


def _as_served(target: str) -> str:
    """The path a request line names, decoded and with dot segments resolved, as many
    servers read it; so any spelling of ``/secret`` that reaches the server is seen."""
    return posixpath.normpath(unquote(urlsplit(target).path))


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
def port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


@pytest.fixture
def asked() -> list[PermissionCheck]:
    """The permissions the running tool asked for (all allowed), in order."""
    return []


@pytest.fixture
def ctx(tmp_path: Path, asked: list[PermissionCheck]) -> ToolContext:
    async def allow(check: PermissionCheck, metadata: dict[str, Any]) -> None:
        asked.append(check)

    return ToolContext(
        session_id="s",
        message_id="m",
        agent="build",
        directory=str(tmp_path),
        working_dir=str(tmp_path),
        _on_ask=allow,
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


async def test_redirects_are_followed_once_the_target_is_allowed(
    base_url: str, ctx: ToolContext, asked: list[PermissionCheck]
) -> None:
    result = await fetch(ctx, f"{base_url}/moved")
    assert result.output.startswith("# Welcome")
    assert result.metadata["url"] == f"{base_url}/page.html"
    assert asked == [PermissionCheck("webfetch", [f"{base_url}/page.html"])]


async def test_a_redirect_chain_checks_every_hop_in_normal_form(
    base_url: str, ctx: ToolContext, asked: list[PermissionCheck]
) -> None:
    result = await fetch(ctx, f"{base_url}/public/hop1")
    assert result.output == SECRET.decode()
    assert [check.patterns for check in asked] == [
        [f"{base_url}/public/hop2"],
        [f"{base_url}/public/hop3"],
        [f"{base_url}/secret"],
    ]


async def test_a_refused_redirect_target_is_never_fetched(base_url: str, tmp_path: Path) -> None:
    async def refuse(check: PermissionCheck, metadata: dict[str, Any]) -> None:
        assert metadata["redirected_from"] == f"{base_url}/public/sneaky"
        raise PermissionDeniedError(f"Permission denied: {check.patterns[0]}")

    ctx = ToolContext(session_id="s", message_id="m", agent="build", _on_ask=refuse)
    SERVED.clear()
    with pytest.raises(PermissionDeniedError) as refused:
        await fetch(ctx, f"{base_url}/public/sneaky")
    assert str(refused.value).startswith(
        f"The redirect from {base_url}/public/sneaky to {base_url}/secret was refused, "
        f"so {base_url}/secret was not fetched. Permission denied"
    )
    assert SERVED == ["/public/sneaky"]


@pytest.mark.parametrize("path", ["/public/ftp", "/public/file"])
async def test_redirects_to_other_schemes_are_refused(
    base_url: str, ctx: ToolContext, asked: list[PermissionCheck], path: str
) -> None:
    with pytest.raises(ToolError, match=r"redirect from .* was refused, so it was not followed"):
        await fetch(ctx, f"{base_url}{path}")
    assert asked == []


async def test_redirects_stop_after_the_limit(
    base_url: str, ctx: ToolContext, asked: list[PermissionCheck]
) -> None:
    SERVED.clear()
    with pytest.raises(ToolError, match=f"redirects again after {MAX_REDIRECTS} redirects"):
        await fetch(ctx, f"{base_url}/public/loop")
    assert SERVED == ["/public/loop"] * (MAX_REDIRECTS + 1)
    assert len(asked) == MAX_REDIRECTS


async def test_time_spent_on_an_approval_is_not_the_fetchs(base_url: str) -> None:
    async def slow_yes(check: PermissionCheck, metadata: dict[str, Any]) -> None:
        await asyncio.sleep(0.6)

    ctx = ToolContext(session_id="s", message_id="m", agent="build", _on_ask=slow_yes)
    result = await fetch(ctx, f"{base_url}/public/go", timeout=0.5)
    assert result.output == SECRET.decode()


async def test_the_normal_form_is_what_is_fetched(base_url: str, ctx: ToolContext) -> None:
    result = await fetch(ctx, base_url.replace("http", "HTTP") + "/public/./a/../b%2Fc#x")
    assert result.metadata["url"] == f"{base_url}/public/b%2Fc"
    assert result.title.startswith(f"{base_url}/public/b%2Fc ")


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


def test_the_url_in_normal_form_is_the_permission_subject(ctx: ToolContext) -> None:
    tool = WebFetchTool()
    assert tool.permission_patterns({"url": "https://example.com/docs"}, ctx) == [
        "https://example.com/docs"
    ]
    assert tool.permission_patterns({"url": "HTTPS://Example.com:443/a/../docs#x"}, ctx) == [
        "https://example.com/docs"
    ]
    with pytest.raises(ToolError, match="user name or password"):
        tool.permission_patterns({"url": "https://me@example.com/"}, ctx)


def test_schema_limits_format_and_timeout() -> None:
    schema = WebFetchTool().parameters()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"url": "https://x", "format": "text", "timeout": 120})
    assert not validator.is_valid({"url": "https://x", "format": "pdf"})
    assert not validator.is_valid({"url": "https://x", "timeout": 121})


# --- through a real client: rules on URLs hold against every spelling of the URL ------

# Ways to reach /secret on the test server ({port} is its port); each must be refused
# by a rule that denies http://127.0.0.1:{port}/secret*.
SECRET_SPELLINGS = [
    "HTTP://127.0.0.1:{port}/secret",
    "http://LocalHost:{port}/secret",
    "http://127.0.0.1:0{port}/secret",
    "http://127.0.0.1:{port}/./secret",
    "http://127.0.0.1:{port}/public/../secret",
    "http://127.0.0.1:{port}/public/./../../secret",
    "http://127.0.0.1:{port}/%73ecret",
    "http://127.0.0.1:{port}/%73%65%63%72%65%74",
    "http://127.0.0.1:{port}/public/%2e%2E/secret",
    "http://127.1:{port}/secret",
    "http://2130706433:{port}/secret",
    "http://0x7f.0.0.1:{port}/secret",
    "http://[::ffff:127.0.0.1]:{port}/secret",
    "http://127.0.0.1.:{port}/secret",
    "http://127.0.0.1:{port}/secret#/public/",
    "http://127.0.0.1:{port}/public/go",
    "http://127.0.0.1:{port}/public/hop1",
    "http://127.0.0.1:{port}/public/sneaky",
    "http://127.0.0.1:{port}/public/relative",
]


def deny_secret(port: int) -> dict[str, Any]:
    return {
        "webfetch": {
            "*": "allow",
            f"http://127.0.0.1:{port}/secret*": "deny",
            f"http://localhost:{port}/secret*": "deny",
        }
    }


async def run_fetches(
    tmp_path: Path, urls: list[str], permission: Any, approver: Any = None
) -> list[str]:
    """One model step that fetches each URL, through a client under ``permission``;
    the tool results the model read, in the same order."""
    calls = [ScriptedToolCall("webfetch", {"url": url, "format": "text"}) for url in urls]
    with ScriptedLLMServer([Turn(tool_calls=calls), Turn(text="done")]) as server:
        config = scripted_config(server, "openai", tmp_path, builtin_tools=True)
        config.permission = permission
        async with OpenCodeAsyncClient(config) as client:
            if approver is not None:
                client.on_permission(approver)
            session = await client.create_session()
            await client.prompt(session.id, "fetch them")
        results = dict(server.requests[-1].tool_results)
    return [results[call.call_id] for call in calls]


async def test_no_spelling_of_a_denied_url_is_fetched(tmp_path: Path, port: int) -> None:
    urls = [url.format(port=port) for url in SECRET_SPELLINGS]
    SERVED.clear()
    results = await run_fetches(tmp_path, urls, deny_secret(port))
    for url, result in zip(urls, results, strict=True):
        assert "Permission denied: webfetch" in result, url
        assert "/secret' is not allowed" in result, url
        assert SECRET.decode() not in result, url
    assert "/secret" not in SERVED
    redirected = [r for r in results if "The redirect from" in r]
    assert len(redirected) == 4  # go, hop1 (after two allowed hops), sneaky, relative
    assert all(f"to http://127.0.0.1:{port}/secret was refused" in r for r in redirected)
    assert {"/public/go", "/public/hop1", "/public/hop2", "/public/hop3"} <= set(SERVED)


async def test_control_each_spelling_reaches_the_url_when_allowed(
    tmp_path: Path, port: int
) -> None:
    urls = [url.format(port=port) for url in SECRET_SPELLINGS]
    SERVED.clear()
    results = await run_fetches(tmp_path, urls, {"webfetch": "allow"})
    assert results == [SECRET.decode()] * len(urls)
    assert SERVED.count("/secret") == len(urls)


async def test_a_redirect_target_the_rules_ask_about_goes_to_the_approver(
    tmp_path: Path, port: int
) -> None:
    asked: list[PermissionRequest] = []

    def approver(request: PermissionRequest) -> str:
        asked.append(request)
        return "reject"

    rules = {"webfetch": {"*": "allow", f"http://127.0.0.1:{port}/secret*": "ask"}}
    SERVED.clear()
    [result] = await run_fetches(
        tmp_path, [f"http://127.0.0.1:{port}/public/sneaky"], rules, approver
    )
    [request] = asked
    assert request.permission == "webfetch"
    assert request.patterns == [f"http://127.0.0.1:{port}/secret"]
    assert request.metadata["redirected_from"] == f"http://127.0.0.1:{port}/public/sneaky"
    assert "was refused" in result
    assert "The user rejected permission for webfetch" in result
    assert SERVED == ["/public/sneaky"]
