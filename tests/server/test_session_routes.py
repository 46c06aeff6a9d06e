"""OpenCode's session, event and permission routes, through HTTP on a running server.

The server serves a real client (SQLite in a temp dir) whose model is the scripted
server; every request goes through a socket, as OpenCode's clients send them.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest

from opencode_python import Agent, ConfigError, OpenCodeAsyncClient, SDKConfig
from opencode_python.server import serving
from opencode_python.testing import Fault, ScriptedToolCall, Turn

from .conftest import Served, ServeFactory, check_schema

TEXT = [{"type": "text", "text": "Say hello"}]


class Events:
    """The events of ``GET /event`` (or ``/global/event``) as they come."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._changed = asyncio.Event()

    def add(self, line: str) -> None:
        self.raw.append(line)
        self.items.append(json.loads(line.removeprefix("data: ")))
        self._changed.set()

    def types(self) -> list[str]:
        return [e.get("type") or e["payload"]["type"] for e in self.items]

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 10
    ) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                for item in self.items:
                    if predicate(item):
                        return item
                self._changed.clear()
                await self._changed.wait()


@asynccontextmanager
async def listening(http: httpx2.AsyncClient, path: str = "/event") -> AsyncIterator[Events]:
    events = Events()

    async def read() -> None:
        async with http.stream("GET", path, timeout=None) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    events.add(line)

    task = asyncio.create_task(read())
    await events.wait_for(lambda e: True)  # server.connected: the stream is live
    try:
        yield events
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def of_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("type") == kind


async def new_session(s: Served, **body: Any) -> dict[str, Any]:
    response = await s.http.post("/session", json=body)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


# --- sessions ------------------------------------------------------------------------


async def test_session_lifecycle_in_opencodes_shapes(serve: ServeFactory) -> None:
    async with serve() as s:
        created = await new_session(s, title="First")
        assert created["id"].startswith("ses_")
        assert created["title"] == "First"
        assert created["projectID"]
        assert created["directory"] == str(s.client.config.resolved_project_dir)
        assert set(created["time"]) >= {"created", "updated"}
        assert created["tokens"] == {
            "input": 0,
            "output": 0,
            "reasoning": 0,
            "cache": {"read": 0, "write": 0},
        }
        sid = created["id"]
        assert (await s.http.get(f"/session/{sid}")).json() == created
        renamed = (await s.http.patch(f"/session/{sid}", json={"title": "Renamed"})).json()
        assert renamed["title"] == "Renamed"
        child = await new_session(s, parentID=sid, title="Child")
        assert child["parentID"] == sid
        children = (await s.http.get(f"/session/{sid}/children")).json()
        assert [c["id"] for c in children] == [child["id"]]
        listed = (await s.http.get("/session")).json()
        assert {x["id"] for x in listed} == {sid, child["id"]}
        roots = (await s.http.get("/session", params={"roots": "true"})).json()
        assert [x["id"] for x in roots] == [sid]
        assert (await s.http.delete(f"/session/{sid}")).json() is True
        gone = await s.http.get(f"/session/{sid}")
        assert gone.status_code == 404
        assert gone.json()["name"] == "NotFoundError"
        assert (await s.http.get(f"/session/{child['id']}")).status_code == 404


async def test_errors_have_opencodes_bodies(serve: ServeFactory) -> None:
    async with serve() as s:
        sid = (await new_session(s))["id"]
        missing = await s.http.get("/session/ses_nope/message")
        assert missing.status_code == 404
        assert missing.json()["name"] == "NotFoundError"
        assert "ses_nope" in missing.json()["data"]["message"]
        bad = await s.http.post(f"/session/{sid}/message", json={"parts": "nope"})
        assert bad.status_code == 400
        assert bad.json()["name"] == "BadRequest"
        assert bad.json()["data"]["kind"] == "Payload"
        assert bad.json()["data"]["message"].endswith('at ["parts"]')
        no_parts = await s.http.post(f"/session/{sid}/message", json={})
        assert no_parts.json()["data"]["message"].startswith("Missing key")
        model = await s.http.post(
            f"/session/{sid}/message",
            json={"parts": TEXT, "model": {"providerID": "nope", "modelID": "x"}},
        )
        assert model.status_code == 400
        assert "nope" in model.json()["data"]["message"]
        share = await s.http.post(f"/session/{sid}/share")
        assert share.status_code == 400
        assert "sharing is not supported" in share.json()["data"]["message"]
        no_message = await s.http.get(f"/session/{sid}/message/msg_nope")
        assert no_message.json() == {
            "name": "NotFoundError",
            "data": {"message": "Message not found: msg_nope"},
        }
    assert s.llm.requests == []  # nothing that failed reached the model


# --- prompts and events --------------------------------------------------------------


async def test_a_prompt_runs_to_its_end_and_streams_opencodes_events(serve: ServeFactory) -> None:
    async with serve() as s:
        s.llm.add_turn(Turn(text="Hello from the engine.", chunk_size=5))
        sid = (await new_session(s))["id"]
        async with listening(s.http) as events:
            response = await s.http.post(f"/session/{sid}/message", json={"parts": TEXT})
            await events.wait_for(of_type("session.idle"))
        assert response.status_code == 200
        answer = response.json()
        assert answer["info"]["role"] == "assistant"
        assert answer["info"]["finish"] == "stop"
        assert answer["info"]["providerID"] == "openai"
        [text] = [p for p in answer["parts"] if p["type"] == "text"]
        assert text["text"] == "Hello from the engine."
        assert [p["type"] for p in answer["parts"]] == ["step-start", "text", "step-finish"]
        types = events.types()
        assert types[0] == "server.connected"
        deltas = [e["properties"] for e in events.items if e["type"] == "message.part.delta"]
        assert "".join(d["delta"] for d in deltas) == "Hello from the engine."
        assert {d["partID"] for d in deltas} == {text["id"]}
        assert types.index("session.status") < types.index("message.part.delta")
        assert types[-2:] == ["session.status", "session.idle"] or "session.idle" in types
        busy = next(e for e in events.items if e["type"] == "session.status")
        assert busy["properties"] == {"sessionID": sid, "status": {"type": "busy"}}
        assert all(line.startswith("data: {") for line in events.raw)

        messages = (await s.http.get(f"/session/{sid}/message")).json()
        check_schema("session.messages", messages)
        check_schema("session.prompt", answer)
        check_schema("session.get", (await s.http.get(f"/session/{sid}")).json())
        check_schema("session.list", (await s.http.get("/session")).json())
        assert [m["info"]["role"] for m in messages] == ["user", "assistant"]
        assert messages[0]["parts"][0]["text"] == "Say hello"
        assert messages[1] == answer
        one = (await s.http.get(f"/session/{sid}/message/{answer['info']['id']}")).json()
        assert one == answer


async def test_prompt_async_answers_204_and_the_run_goes_on(serve: ServeFactory) -> None:
    async with serve() as s:
        s.llm.add_turn(Turn(text="Later.", delay=0.2))
        sid = (await new_session(s))["id"]
        async with listening(s.http) as events:
            started = await s.http.post(f"/session/{sid}/prompt_async", json={"parts": TEXT})
            assert started.status_code == 204
            assert started.content == b""
            await events.wait_for(of_type("session.status"))
            status = (await s.http.get("/session/status")).json()
            assert status == {sid: {"type": "busy"}}
            await events.wait_for(of_type("session.idle"))
        messages = (await s.http.get(f"/session/{sid}/message")).json()
        assert messages[-1]["parts"][1]["text"] == "Later."


async def test_abort_stops_the_run(serve: ServeFactory) -> None:
    async with serve() as s:
        s.llm.add_turn(Turn(text="x" * 200, chunk_size=1, chunk_delay=0.05))
        sid = (await new_session(s))["id"]
        async with listening(s.http) as events:
            await s.http.post(f"/session/{sid}/prompt_async", json={"parts": TEXT})
            await events.wait_for(of_type("message.part.delta"))
            assert (await s.http.post(f"/session/{sid}/abort")).json() is True
            error = await events.wait_for(of_type("session.error"))
            await events.wait_for(of_type("session.idle"))
        assert error["properties"]["error"]["name"] == "MessageAbortedError"
        messages = (await s.http.get(f"/session/{sid}/message")).json()
        check_schema("session.messages", messages)  # the error is one OpenCode knows
        assert messages[-1]["info"]["error"]["name"] == "MessageAbortedError"


async def test_a_json_schema_format_answers_structured(serve: ServeFactory) -> None:
    async with serve() as s:
        s.llm.add_turn(Turn(tool_calls=[ScriptedToolCall("final_result", {"city": "Oslo"})]))
        sid = (await new_session(s))["id"]
        schema = {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }
        answer = await s.http.post(
            f"/session/{sid}/message",
            json={"parts": TEXT, "format": {"type": "json_schema", "schema": schema}},
        )
    assert answer.json()["info"]["structured"] == {"city": "Oslo"}


async def test_fork_copies_the_messages_up_to_one(serve: ServeFactory) -> None:
    async with serve() as s:
        s.llm.add_turns([Turn(text="one"), Turn(text="two")])
        source = await new_session(s, title="Plan")
        sid = source["id"]
        await s.http.post(f"/session/{sid}/message", json={"parts": TEXT})
        await s.http.post(f"/session/{sid}/message", json={"parts": TEXT})
        messages = (await s.http.get(f"/session/{sid}/message")).json()
        fork = (
            await s.http.post(f"/session/{sid}/fork", json={"messageID": messages[1]["info"]["id"]})
        ).json()
        assert fork["title"] == "Plan (fork #1)"
        copied = (await s.http.get(f"/session/{fork['id']}/message")).json()
        assert [m["parts"][-2:][0].get("text") for m in copied] == ["Say hello", "one"]
        assert {m["info"]["id"] for m in copied}.isdisjoint(m["info"]["id"] for m in messages)
        assert len((await s.http.get(f"/session/{sid}/message")).json()) == 4  # untouched


# --- permissions ---------------------------------------------------------------------


ASKER = Agent(name="asker", mode="primary", permission={"bash": "ask"})
BASH = ScriptedToolCall("bash", {"command": "echo hi", "description": "say hi"})


@pytest.mark.parametrize("route", ["v1", "v2"])
async def test_a_permission_ask_waits_for_the_reply_route(serve: ServeFactory, route: str) -> None:
    async with serve(builtin_tools=["bash"]) as s:
        await s.client.register_agent(ASKER)
        s.llm.add_turns([Turn(tool_calls=[BASH]), Turn(text="Done.")])
        sid = (await new_session(s))["id"]
        async with listening(s.http) as events:
            await s.http.post(
                f"/session/{sid}/prompt_async", json={"parts": TEXT, "agent": "asker"}
            )
            asked = (await events.wait_for(of_type("permission.asked")))["properties"]
            assert asked["sessionID"] == sid
            assert asked["permission"] == "bash"
            assert asked["patterns"] == ["echo hi"]
            assert asked["tool"]["callID"] == BASH.call_id
            assert asked["tool"]["messageID"].startswith("msg_")
            pending = (await s.http.get("/permission")).json()
            assert [p["id"] for p in pending] == [asked["id"]]
            if route == "v1":
                reply = await s.http.post(
                    f"/session/{sid}/permissions/{asked['id']}", json={"response": "once"}
                )
            else:
                reply = await s.http.post(
                    f"/permission/{asked['id']}/reply", json={"reply": "once"}
                )
            assert reply.json() is True
            replied = await events.wait_for(of_type("permission.replied"))
            await events.wait_for(of_type("session.idle"))
        assert replied["properties"] == {
            "sessionID": sid,
            "requestID": asked["id"],
            "reply": "once",
        }
        messages = (await s.http.get(f"/session/{sid}/message")).json()
        check_schema("session.messages", messages)  # a tool part and its states too
        check_schema("permission.list", pending)
        [tool] = [p for m in messages for p in m["parts"] if p["type"] == "tool"]
        assert tool["state"]["status"] == "completed"
        assert tool["state"]["output"].strip() == "hi"
        assert messages[-1]["parts"][1]["text"] == "Done."
        assert (await s.http.get("/permission")).json() == []


async def test_an_unanswered_ask_is_rejected_after_the_timeout(serve: ServeFactory) -> None:
    async with serve(builtin_tools=["bash"], permission_timeout=0.3) as s:
        await s.client.register_agent(ASKER)
        s.llm.add_turns([Turn(tool_calls=[BASH]), Turn(text="I could not run it.")])
        sid = (await new_session(s))["id"]
        async with listening(s.http) as events:
            answer = await s.http.post(
                f"/session/{sid}/message", json={"parts": TEXT, "agent": "asker"}
            )
            replied = await events.wait_for(of_type("permission.replied"))
        assert replied["properties"]["reply"] == "reject"
        assert answer.json()["parts"][1]["text"] == "I could not run it."
        messages = (await s.http.get(f"/session/{sid}/message")).json()
        [tool] = [p for m in messages for p in m["parts"] if p["type"] == "tool"]
        assert tool["state"]["status"] == "error"
        assert "nobody answered" in tool["state"]["error"]


async def test_replying_to_an_unknown_request_is_opencodes_404(serve: ServeFactory) -> None:
    async with serve() as s:
        sid = (await new_session(s))["id"]
        v1 = await s.http.post(f"/session/{sid}/permissions/per_nope", json={"response": "once"})
        v2 = await s.http.post("/permission/per_nope/reply", json={"reply": "always"})
        bad = await s.http.post("/permission/per_nope/reply", json={"reply": "maybe"})
    for response in (v1, v2):
        assert response.status_code == 404
        assert response.json() == {
            "_tag": "PermissionNotFoundError",
            "requestID": "per_nope",
            "message": "Permission request not found: per_nope",
        }
    assert bad.status_code == 400
    assert bad.json()["data"]["message"].endswith('at ["reply"]')


# --- the global stream, auth, binding, the document ---------------------------------


async def test_the_global_stream_wraps_each_event_with_its_directory(serve: ServeFactory) -> None:
    async with serve() as s, listening(s.http, "/global/event") as events:
        created = await new_session(s)
        event = await events.wait_for(lambda e: e["payload"]["type"] == "session.created")
    assert events.items[0] == {"payload": events.items[0]["payload"]}  # connect: no directory
    assert event["directory"] == created["directory"]
    assert event["payload"]["properties"]["info"]["id"] == created["id"]


async def test_a_password_asks_every_request_for_basic_auth(serve: ServeFactory) -> None:
    async with serve(password="s3cret") as s:
        async with httpx2.AsyncClient(base_url=s.url) as anonymous:
            refused = await anonymous.get("/session")
            wrong = await anonymous.get("/doc", auth=httpx2.BasicAuth("opencode", "nope"))
            token = base64.b64encode(b"opencode:s3cret").decode()
            by_token = await anonymous.get("/session", params={"auth_token": token})
            preflight = await anonymous.options("/session")
        allowed = await s.http.get("/session")
    assert refused.status_code == 401
    assert refused.content == b""
    assert refused.headers["www-authenticate"] == 'Basic realm="Secure Area"'
    assert wrong.status_code == 401
    assert by_token.status_code == 200
    assert allowed.status_code == 200
    assert preflight.status_code != 401


async def test_cors_is_off_unless_an_origin_is_given(serve: ServeFactory) -> None:
    origin = {"Origin": "http://localhost:3000"}
    async with serve() as s:
        closed = await s.http.get("/session", headers=origin)
    async with serve(cors_origins=["http://localhost:3000"]) as s:
        opened = await s.http.get("/session", headers=origin)
        other = await s.http.get("/session", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in closed.headers
    assert opened.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "access-control-allow-origin" not in other.headers


async def test_serving_beyond_loopback_needs_a_password(tmp_path: Any) -> None:
    config = SDKConfig(storage_path=tmp_path / "data", project_dir=tmp_path, memory_embedder="none")
    async with OpenCodeAsyncClient(config) as client:
        with pytest.raises(ConfigError, match="OPENCODE_SERVER_PASSWORD"):
            async with serving(client, host="0.0.0.0"):
                pass


async def test_the_openapi_document_is_served_at_doc(serve: ServeFactory) -> None:
    async with serve() as s:
        document = (await s.http.get("/doc")).json()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {"session.list", "session.prompt", "event.subscribe", "permission.respond"} <= (
        operations
    )


async def test_failed_runs_answer_with_errors_opencode_knows(serve: ServeFactory) -> None:
    async with serve() as s:
        s.llm.add_turn(Turn(fault=Fault.status(400)))
        sid = (await new_session(s))["id"]
        failed = (await s.http.post(f"/session/{sid}/message", json={"parts": TEXT})).json()
        s.llm.add_turns([Turn(text="no json") for _ in range(2)])
        schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
        body = {
            "parts": TEXT,
            "format": {"type": "json_schema", "schema": schema, "retryCount": 1},
        }
        structured = (await s.http.post(f"/session/{sid}/message", json=body)).json()
        messages = (await s.http.get(f"/session/{sid}/message")).json()
    assert failed["info"]["error"]["name"] == "APIError"
    assert failed["info"]["error"]["data"]["isRetryable"] is False
    assert structured["info"]["error"]["name"] == "StructuredOutputError"
    assert structured["info"]["error"]["data"]["retries"] == 1
    check_schema("session.prompt", failed)
    check_schema("session.prompt", structured)
    check_schema("session.messages", messages)
