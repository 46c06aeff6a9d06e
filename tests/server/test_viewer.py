"""The web viewer at ``/``: served from the package, and driven in a real browser.

The browser tests use Debian's chromium (``apt-get install chromium``) through
Playwright; Playwright's own browser download is not used. Without ``/usr/bin/chromium``
they are skipped, unless ``OPENCODE_PYTHON_REQUIRE_BROWSER=1`` (CI), which makes that a
failure. A screenshot of the page is kept under ``tests/server/artifacts/``.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from opencode_python.testing import ScriptedToolCall, Turn

from .conftest import ServeFactory

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WAIT_MS = 20_000  # a slow CI machine: each expectation waits up to this long


def _need_browser() -> None:
    """Skip without chromium or Playwright, or fail where the browser is required."""
    required = os.environ.get("OPENCODE_PYTHON_REQUIRE_BROWSER") == "1"
    problem = None
    if not CHROMIUM.is_file():
        problem = f"{CHROMIUM} is absent (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (the dev extra has it)"
    if problem is None:
        return
    if required:
        pytest.fail(f"OPENCODE_PYTHON_REQUIRE_BROWSER=1 but {problem}")
    pytest.skip(f"the web viewer's browser test needs Debian's chromium: {problem}")


@asynccontextmanager
async def browser(profile: Path, **options: Any) -> AsyncIterator[BrowserContext]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
            **options,
        )
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            await context.close()


# --- served from the package -----------------------------------------------------------


def test_the_page_and_its_assets_ship_in_the_package() -> None:
    static = importlib.resources.files("opencode_python.server").joinpath("static")
    for name in ("index.html", "app.js", "style.css"):
        assert static.joinpath(name).is_file(), name


async def test_the_page_is_served_at_the_root_and_kept_out_of_the_api_doc(
    serve: ServeFactory,
) -> None:
    async with serve() as s:
        page = await s.http.get("/")
        script = await s.http.get("/viewer/app.js")
        style = await s.http.get("/viewer/style.css")
        doc = (await s.http.get("/doc")).json()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/viewer/app.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert "EventSource" in script.text
    # nothing is fetched from elsewhere: the page works offline
    for body in (page.text, script.text, style.text):
        assert "http://" not in body
        assert "https://" not in body
    assert not {"/", "/viewer/app.js", "/viewer/style.css"} & set(doc["paths"])


async def test_the_page_needs_the_password_when_the_server_has_one(serve: ServeFactory) -> None:
    async with serve(password="pw") as s:
        anonymous = await s.http.get("/", auth=None)
        page = await s.http.get("/")
    assert anonymous.status_code == 401
    assert page.status_code == 200


# --- in a real browser -------------------------------------------------------------------

ANSWER = "Hello from the scripted model, streamed in small pieces."
PROMPT = "say <b>hello</b> & <img src=x onerror=alert(1)>"
# Records every text the assistant's text parts show, to see the answer grow by deltas.
WATCH_TEXT = """() => {
  window.__seen = new Set();
  const watch = () => {
    for (const body of document.querySelectorAll("#messages .assistant .part.text .body")) {
      window.__seen.add(body.textContent);
    }
  };
  new MutationObserver(watch).observe(document.getElementById("messages"), {
    subtree: true, childList: true, characterData: true,
  });
}"""


async def test_the_viewer_streams_answers_and_asks_for_permission_in_a_browser(
    serve: ServeFactory, tmp_path: Path
) -> None:
    _need_browser()
    from playwright.async_api import expect

    expect.set_options(timeout=WAIT_MS)
    async with (
        serve(builtin_tools=["bash"], permission={"bash": "ask"}) as s,
        browser(tmp_path / "profile") as context,
    ):
        s.llm.add_turns(
            [
                Turn(text=ANSWER, chunk_size=6, chunk_delay=0.08),
                Turn(
                    tool_calls=[
                        ScriptedToolCall("bash", {"command": "echo hi", "description": "say hi"})
                    ]
                ),
                Turn(text="The command printed hi.", chunk_delay=0.02),
            ]
        )
        page = context.pages[0] if context.pages else await context.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))

        await page.goto(s.url + "/")
        await expect(page.locator("#connection")).to_have_text("live")
        # the picker offers the agents a prompt can name (just "build" without /agent)
        listed = await s.http.get("/agent")
        agents = listed.json() if listed.status_code == 200 else []
        names = [a["name"] for a in agents if not a.get("hidden") and a["mode"] != "subagent"]
        await expect(page.locator("#agent option")).to_have_text(names or ["build"])
        assert await page.locator("#agent").input_value() == "build"

        # a new session, opened
        await page.get_by_role("button", name="New session").click()
        await expect(page.locator("#session-list .session.active")).to_have_count(1)
        await expect(page.locator("#send")).to_be_enabled()
        (session,) = await s.client.list_sessions()
        assert page.url.endswith("#" + session.id)

        # a prompt: its answer streams in
        await page.evaluate(WATCH_TEXT)
        await page.locator("#prompt").fill(PROMPT)
        await page.locator("#send").click()
        await expect(page.locator("#abort")).to_be_visible()
        answer = page.locator("#messages .assistant .part.text").first
        await expect(answer).to_have_text(ANSWER)
        seen: list[str] = await page.evaluate("() => [...window.__seen]")
        partial = [t for t in seen if t and t != ANSWER and ANSWER.startswith(t)]
        assert partial, f"the answer did not grow piece by piece: {seen}"
        await expect(page.locator("#session-status")).to_have_text("idle")
        await expect(page.locator("#abort")).to_be_hidden()
        # the prompt is shown as text, not as markup
        await expect(page.locator("#messages .user .part.text").first).to_have_text(PROMPT)
        assert await page.locator("#messages b, #messages img").count() == 0

        # a prompt whose tool call asks for permission
        await page.locator("#prompt").fill("run echo hi")
        await page.locator("#prompt").press("Enter")
        ask = page.locator("#permissions .permission")
        await expect(ask).to_have_count(1)
        await expect(ask).to_contain_text("bash")
        await expect(ask).to_contain_text("echo hi")
        await expect(page.locator("#session-list .badge.ask")).to_have_count(1)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "viewer-permission.png"))
        await ask.get_by_role("button", name="Allow once").click()
        await expect(ask).to_have_count(0)
        tool = page.locator("#messages .part.tool")
        await expect(tool.locator(".tool-name")).to_have_text("bash")
        await expect(tool.locator(".input")).to_have_text("$ echo hi")
        await expect(tool.locator(".output")).to_have_text("hi")
        await expect(tool.locator(".tool-status")).to_have_text("completed")
        await expect(page.locator("#messages")).to_contain_text("The command printed hi.")
        await expect(page.locator("#session-status")).to_have_text("idle")

        await page.screenshot(path=str(ARTIFACTS / "viewer.png"), full_page=True)

        # after a reload the same conversation comes from GET /session/{id}/message
        await page.reload()
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#messages .part.tool .output")).to_have_text("hi")
        await expect(page.locator("#messages .assistant .part.text")).to_have_text(
            [ANSWER, "The command printed hi."]
        )
        await expect(page.locator("#messages .user .part.text")).to_have_text(
            [PROMPT, "run echo hi"]
        )
        assert page_errors == []


async def test_a_subagent_session_opens_from_its_task_call_in_a_browser(
    serve: ServeFactory, tmp_path: Path
) -> None:
    _need_browser()
    from playwright.async_api import expect

    expect.set_options(timeout=WAIT_MS)
    task = ScriptedToolCall(
        "task",
        {"description": "find the fact", "prompt": "Find the fact", "subagent_type": "general"},
    )
    async with serve(builtin_tools=["task"]) as s, browser(tmp_path / "profile") as context:
        s.llm.add_turns(
            [
                Turn(tool_calls=[task], when="delegate"),
                Turn(text="The fact is 42.", when="Find the fact"),
                Turn(text="The subagent says 42."),
            ]
        )
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(s.url + "/")
        await expect(page.locator("#connection")).to_have_text("live")
        await page.get_by_role("button", name="New session").click()
        await expect(page.locator("#send")).to_be_enabled()
        await page.locator("#prompt").fill("delegate the search")
        await page.locator("#send").click()
        await expect(page.locator("#messages")).to_contain_text("The subagent says 42.")
        await expect(page.locator("#session-list .session.child")).to_have_count(1)
        parent = page.url

        await page.locator("#messages .part.tool a.child-session").click()
        await expect(page.locator("#messages .assistant .part.text")).to_have_text(
            "The fact is 42."
        )
        await expect(page.locator("#parent-link")).to_be_visible()
        await expect(page.locator("#session-list .session.child.active")).to_have_count(1)
        await page.locator("#parent-link").click()
        await expect(page.locator("#messages")).to_contain_text("The subagent says 42.")
        assert page.url == parent


async def test_the_viewer_works_behind_basic_auth_in_a_browser(
    serve: ServeFactory, tmp_path: Path
) -> None:
    _need_browser()
    from playwright.async_api import expect

    expect.set_options(timeout=WAIT_MS)
    credentials = {"username": "opencode", "password": "pw"}
    async with (
        serve(password="pw") as s,
        browser(tmp_path / "profile", http_credentials=credentials) as context,
    ):
        s.llm.add_turns([Turn(text="Answered behind a password.")])
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(s.url + "/")
        # the event stream (an EventSource, which sends no headers of its own) is live
        await expect(page.locator("#connection")).to_have_text("live")
        await page.get_by_role("button", name="New session").click()
        await expect(page.locator("#send")).to_be_enabled()
        await page.locator("#prompt").fill("hello")
        await page.locator("#send").click()
        await expect(page.locator("#messages .assistant .part.text")).to_have_text(
            "Answered behind a password."
        )
