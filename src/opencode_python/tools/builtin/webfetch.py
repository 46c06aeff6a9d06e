"""The ``webfetch`` tool: fetch a URL and return it as Markdown, plain text or HTML.

The URL is checked and fetched in normal form (``normalize_url``), so the URL the
rules saw is the URL requested, and each redirect is checked like a call of its own
before it is followed. The body is streamed with a size cap, so a huge download is
stopped early instead of filling memory; the whole fetch runs under one deadline.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, Field

from ...core.errors import PermissionDeniedError, ToolError
from ...permissions.urls import normalize_url
from ..framework import Tool, ToolAttachment, ToolContext, ToolResult

if TYPE_CHECKING:  # the HTTP client and the HTML parsers load on the first fetch
    import httpx2
    from bs4 import BeautifulSoup

MAX_RESPONSE_BYTES: Final = 5 * 1024 * 1024
DEFAULT_TIMEOUT_S: Final = 30
MAX_TIMEOUT_S: Final = 120
MAX_REDIRECTS: Final = 10
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
USER_AGENT: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_ACCEPT: Final = {
    "markdown": "text/markdown;q=1.0, text/x-markdown;q=0.9, text/plain;q=0.8, "
    "text/html;q=0.7, */*;q=0.1",
    "text": "text/plain;q=1.0, text/markdown;q=0.9, text/html;q=0.8, */*;q=0.1",
    "html": "text/html;q=1.0, application/xhtml+xml;q=0.9, text/plain;q=0.8, "
    "text/markdown;q=0.7, */*;q=0.1",
}
# Elements whose text is not page content.
_NOT_CONTENT: Final = ["head", "script", "style", "noscript", "template", "iframe", "object"]
# Elements that start a line of their own in the text format.
_BLOCKS: Final = re.compile(
    r"^(address|article|aside|blockquote|br|d[dlt]|div|fig(caption|ure)|footer|form|h[1-6r]"
    r"|header|li|main|nav|ol|p|pre|section|table|t[dhr]|ul)$"
)
_TEXTUAL: Final = re.compile(r"^text/|json|xml|javascript|ecmascript|yaml|toml|csv")

DESCRIPTION = f"""\
Fetch a web page or file by URL and return its content.

- `url` must be a full http:// or https:// URL.
- `format` is how the content comes back: "markdown" (default; HTML pages are \
converted), "text" (HTML reduced to its text) or "html" (the raw page).
- `timeout` is in seconds: default {DEFAULT_TIMEOUT_S}, at most {MAX_TIMEOUT_S}.
- Responses larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB are refused. Images \
are returned as attachments.
- Redirects are followed (at most {MAX_REDIRECTS}) when the permission rules allow \
the URL they lead to.
- This tool reads; it does not log in, submit forms or run scripts on the page.
"""


class WebFetchParams(BaseModel):
    """The arguments of a ``webfetch`` call."""

    url: str = Field(description="The URL to fetch (http:// or https://).")
    format: Literal["markdown", "text", "html"] = Field(
        default="markdown", description="How to return the content."
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TIMEOUT_S,
        description=f"Timeout in seconds (default {DEFAULT_TIMEOUT_S}).",
    )


class WebFetchTool(Tool):
    """Fetches URLs; the permission subject is the URL in normal form."""

    id = "webfetch"
    description = DESCRIPTION

    def parameters(self) -> dict[str, Any]:
        return WebFetchParams.model_json_schema()

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [normalize_url(str(args.get("url", "")))]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = WebFetchParams.model_validate(args)
        url = normalize_url(params.url)
        timeout = params.timeout or DEFAULT_TIMEOUT_S
        import httpx2

        try:
            async with asyncio.timeout(timeout) as deadline:

                async def follow(source: str, location: str) -> str:
                    return await self._follow(source, location, args, ctx, deadline)

                response, body = await _fetch(url, params.format, follow)
        except TimeoutError as error:
            raise ToolError(f"Fetching {url} timed out after {timeout:g} s.") from error
        except httpx2.HTTPError as error:
            raise ToolError(f"Could not fetch {url}: {error}") from error

        content_type = response.headers.get("content-type", "")
        mime = content_type.split(";")[0].strip().lower()
        title = f"{url} ({content_type or 'unknown type'})"
        metadata = {
            "url": str(response.url),
            "status": response.status_code,
            "content_type": content_type,
            "bytes": len(body),
        }
        if mime.startswith("image/") and mime != "image/svg+xml":
            data_url = f"data:{mime};base64,{base64.b64encode(body).decode('ascii')}"
            return ToolResult(
                title=title,
                output=f"Fetched an image ({mime}, {len(body):,} bytes); it is attached.",
                metadata=metadata,
                attachments=[ToolAttachment(mime=mime, url=data_url)],
            )
        if mime and not _TEXTUAL.search(mime):
            raise ToolError(
                f"{url} returned {mime} ({len(body):,} bytes), which is not text; "
                "webfetch returns web pages, text and images."
            )
        text = body.decode(_charset(response), errors="replace")
        is_html = mime in ("text/html", "application/xhtml+xml") or (
            not mime and text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))
        )
        if is_html and params.format == "markdown":
            text = html_to_markdown(text)
        elif is_html and params.format == "text":
            text = html_to_text(text)
        return ToolResult(title=title, output=text, metadata=metadata)

    async def _follow(
        self,
        source: str,
        location: str,
        args: dict[str, Any],
        ctx: ToolContext,
        deadline: asyncio.Timeout,
    ) -> str:
        """The normal form of a redirect's target, once the rules allow it as they would
        a call to fetch it; raises when they do not. The deadline stops while an
        approver decides: a person's time is not the fetch's."""
        try:
            target = normalize_url(urljoin(source, location))
        except ToolError as error:
            raise ToolError(
                f"The redirect from {source} to {location!r} was refused, so it was not "
                f"followed: {error}"
            ) from None
        loop = asyncio.get_running_loop()
        left = (deadline.when() or loop.time()) - loop.time()
        deadline.reschedule(None)
        redirected = {**args, "url": target}
        try:
            for check in self.permission_checks(redirected, ctx):
                await ctx.ask(check, metadata={"input": redirected, "redirected_from": source})
        except PermissionDeniedError as error:
            raise PermissionDeniedError(
                f"The redirect from {source} to {target} was refused, so {target} was not "
                f"fetched. {error}",
                reason=error.reason,
            ) from None
        finally:
            deadline.reschedule(loop.time() + left)
        return target


async def _fetch(
    url: str, fmt: str, follow: Callable[[str, str], Awaitable[str]]
) -> tuple[httpx2.Response, bytes]:
    """GET ``url``, reading at most ``MAX_RESPONSE_BYTES`` of the body.

    Redirects are followed by hand, each target first passed to ``follow``, which
    returns the URL to fetch next or raises. No client timeout: the caller's
    ``asyncio.timeout`` bounds the whole fetch.
    """
    import httpx2

    headers = {
        "User-Agent": USER_AGENT,
        "Accept": _ACCEPT[fmt],
        "Accept-Language": "en-US,en;q=0.9",
    }
    async with httpx2.AsyncClient(follow_redirects=False, timeout=None, headers=headers) as client:
        for followed in range(MAX_REDIRECTS + 1):
            async with client.stream("GET", url) as response:
                location = response.headers.get("location")
                if response.status_code not in _REDIRECT_STATUSES or location is None:
                    return response, await _read(url, response)
            if followed == MAX_REDIRECTS:
                break
            url = await follow(url, location)
    raise ToolError(
        f"{url} redirects again after {MAX_REDIRECTS} redirects; webfetch stopped there."
    )


async def _read(url: str, response: httpx2.Response) -> bytes:
    """The body of a final response, or a ``ToolError`` for an HTTP error or a body over
    the cap."""
    if response.status_code >= 400:
        reason = f" {response.reason_phrase}" if response.reason_phrase else ""
        raise ToolError(f"Fetching {url} failed: HTTP {response.status_code}{reason}.")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise ToolError(_too_large(url))
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ToolError(_too_large(url))
        chunks.append(chunk)
    return b"".join(chunks)


def _charset(response: httpx2.Response) -> str:
    """The declared charset when Python knows it, else UTF-8."""
    declared = response.charset_encoding
    if declared:
        try:
            return codecs.lookup(declared).name
        except LookupError:
            pass
    return "utf-8"


def _too_large(url: str) -> str:
    limit = MAX_RESPONSE_BYTES // (1024 * 1024)
    return f"The response from {url} is larger than {limit} MB; the download was stopped."


def _content_soup(html: str) -> BeautifulSoup:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for element in soup(_NOT_CONTENT):
        element.decompose()
    return soup


def html_to_markdown(html: str) -> str:
    """The page's content as Markdown (scripts, styles and the ``<head>`` left out)."""
    from markdownify import ATX, MarkdownConverter

    converter = MarkdownConverter(heading_style=ATX, bullets="-")
    markdown = converter.convert_soup(_content_soup(html))
    return re.sub(r"\n{3,}", "\n\n", markdown).strip()


def html_to_text(html: str) -> str:
    """The page's visible text, each block on a line of its own, blank lines dropped."""
    soup = _content_soup(html)
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    lines = (line.strip() for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)
