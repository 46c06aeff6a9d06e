"""``opencode-python run --attach URL``: one prompt on a running server, over its API.

The same HTTP calls and events OpenCode's clients use: the answer streams from
``message.part.delta`` events, tool calls from ``message.part.updated``, and a
permission ask is answered at the terminal (``--yes``: allowed; no terminal: refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import Any

import httpx2
from rich.console import Console
from rich.text import Text

from ..core.errors import ConfigError, NotFoundError, OpenCodeError
from .serve_command import PASSWORD_ENV, USERNAME_ENV


class Attached:
    """A prompt sent to ``url``; ``out`` gets the answer, ``err`` the rest."""

    def __init__(self, url: str, out: Console, err: Console, *, yes: bool) -> None:
        password = os.environ.get(PASSWORD_ENV)
        user = os.environ.get(USERNAME_ENV) or "opencode"
        auth = httpx2.BasicAuth(user, password) if password else None
        self.http = httpx2.AsyncClient(base_url=url.rstrip("/"), auth=auth, timeout=None)
        self.out, self.err, self.yes = out, err, yes
        self.url = url
        self.session_id = ""
        self.answered = False
        self.idle = asyncio.Event()
        self._shown: set[tuple[str, str]] = set()

    async def run(
        self, message: str, *, session_id: str | None, agent: str | None, model: str | None
    ) -> dict[str, Any]:
        """Send ``message`` and print the run as it goes; the final assistant message."""
        async with self.http:
            if session_id is None:
                created = await self._call("POST", "/session", json={"title": message[:60]})
                session_id = created["id"]
            else:
                await self._call("GET", f"/session/{session_id}")
            self.session_id = session_id
            self.err.print(Text(f"attached to {self.url} · session {session_id}", style="dim"))
            connected = asyncio.Event()
            listener = asyncio.create_task(self._listen(connected))
            try:
                await asyncio.wait_for(connected.wait(), 10)
                body: dict[str, Any] = {"parts": [{"type": "text", "text": message}]}
                if agent:
                    body["agent"] = agent
                if model:
                    provider, _, model_id = model.partition("/")
                    body["model"] = {"providerID": provider, "modelID": model_id}
                answer: dict[str, Any] = await self._call(
                    "POST", f"/session/{session_id}/message", json=body
                )
                with contextlib.suppress(TimeoutError):  # the last deltas are on their way
                    await asyncio.wait_for(self.idle.wait(), 5)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            if not self.answered:  # no deltas came (a server that sends whole parts)
                for part in answer.get("parts", []):
                    if part.get("type") == "text":
                        self.out.print(part.get("text", ""), end="")
            self.out.print()
            return answer

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = await self.http.request(method, path, **options)
        except httpx2.HTTPError as exc:
            raise ConfigError(f"--attach {self.url}: cannot reach the server ({exc})") from None
        if response.status_code == 401:
            raise ConfigError(
                f"--attach {self.url}: the server wants a password; set {PASSWORD_ENV}"
            )
        if response.status_code == 404:
            raise NotFoundError(_message(response))
        if response.status_code >= 400:
            raise OpenCodeError(
                f"{method} {path}: HTTP {response.status_code}: {_message(response)}"
            )
        return response.json()

    async def _listen(self, connected: asyncio.Event) -> None:
        async with self.http.stream("GET", "/event") as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event.get("type") == "server.connected":
                    connected.set()
                await self._show(event.get("type", ""), event.get("properties", {}))

    async def _show(self, kind: str, props: dict[str, Any]) -> None:
        if props.get("sessionID") != self.session_id:
            return
        if kind == "session.idle":
            self.idle.set()
        elif kind == "message.part.delta" and props.get("field") == "text":
            self.answered = True
            self.out.print(props["delta"], end="")
        elif kind == "message.part.updated":
            part = props["part"]
            state = part.get("state", {})
            key = (part.get("id", ""), state.get("status", ""))
            if part.get("type") != "tool" or key in self._shown:
                return
            self._shown.add(key)
            if state.get("status") == "running":
                args = json.dumps(state.get("input", {}), ensure_ascii=False)[:200]
                self.out.print(Text.assemble((f"\n→ {part['tool']}", "cyan"), " ", (args, "dim")))
            elif state.get("status") == "completed":
                self.out.print(
                    Text.assemble(
                        (f"✓ {part['tool']}", "green"), " ", (state.get("title") or "", "dim")
                    )
                )
            elif state.get("status") == "error":
                error = (state.get("error") or "")[:200]
                self.out.print(Text.assemble((f"✗ {part['tool']}", "red"), " ", (error, "dim")))
        elif kind == "permission.asked":
            reply = await self._decide(props)
            await self._call("POST", f"/permission/{props['id']}/reply", json={"reply": reply})

    async def _decide(self, request: dict[str, Any]) -> str:
        what = f"{request.get('permission')} {', '.join(request.get('patterns', []))}"
        if self.yes:
            return "once"
        if not sys.stdin.isatty():
            self.err.print(
                Text(f"refused (no terminal to ask; --yes allows): {what}", style="yellow")
            )
            return "reject"
        answer = await asyncio.to_thread(input, f"\nAllow {what}? [y/N/a(lways)] ")
        return {"y": "once", "yes": "once", "a": "always", "always": "always"}.get(
            answer.strip().lower(), "reject"
        )


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)
