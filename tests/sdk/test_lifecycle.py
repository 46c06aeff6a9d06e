"""The client's lifecycle as a careless script meets it: forgotten closes, a close in the
middle of a run, two prompts at once, a provider that never answers."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import time
import warnings
import weakref
from pathlib import Path

import pytest

from opencode_python import OpenCodeAsyncClient, SessionBusyError
from opencode_python.core import events as ev
from opencode_python.core.models import ReasoningPart, TextPart, ToolPart
from opencode_python.core.unfinished import is_open_part
from opencode_python.providers.retry import RetryPolicy
from opencode_python.testing import Fault, ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import ClientFactory, scripted_config
from ..tools_for_tests import SleepTool

ROOT = Path(__file__).resolve().parents[2]


def run_script(code: str, tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; a hang fails the test instead of blocking it."""
    return subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_script_that_never_closes_its_client_exits_with_its_session_stored(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    done = run_script(
        f"""
        import asyncio
        from opencode_python import OpenCodeAsyncClient, SDKConfig

        async def main():
            client = OpenCodeAsyncClient(SDKConfig(storage_path={str(tmp_path / "data")!r}))
            session = await client.create_session(title="kept")
            print(session.id)

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    session_id = done.stdout.strip()
    check = run_script(
        f"""
        import asyncio
        from opencode_python import OpenCodeAsyncClient, SDKConfig

        async def main():
            async with OpenCodeAsyncClient(SDKConfig(storage_path={str(tmp_path / "data")!r})) as c:
                print((await c.get_session({session_id!r})).title)

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert check.stdout.strip() == "kept", check.stderr


def test_a_forgotten_sync_client_lets_the_script_exit(tmp_path: Path) -> None:
    done = run_script(
        f"""
        from opencode_python import OpenCodeSyncClient, SDKConfig

        client = OpenCodeSyncClient(SDKConfig(storage_path={str(tmp_path / "data")!r}))
        print(client.create_session(title="sync").title)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sync"


async def test_an_idle_client_is_freed_when_the_app_drops_it(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="hello")]) as server:
        client = OpenCodeAsyncClient(scripted_config(server, "openai", tmp_path))
        session = await client.create_session()
        await client.prompt(session.id, "hi")
    ref = weakref.ref(client)
    gc.disable()  # freed by reference counting alone: no cycle holds the client
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            del client
            freed = ref() is None
            gc.collect()
    finally:
        gc.enable()
    assert freed
    # its store, never closed, says so as an unclosed file does
    assert any("unclosed SQLiteStore" in str(w.message) for w in warned)


async def test_close_during_a_run_ends_it_aborted_with_no_unfinished_part(
    make_client: ClientFactory,
) -> None:
    sleeper = SleepTool()
    turns = [
        Turn(
            text="Let me think. ",
            reasoning="Sleeping is the answer.",
            tool_calls=[ScriptedToolCall("sleep", {"seconds": 30})],
        )
    ]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        await client.register_tool(sleeper)
        session = await client.create_session()
        started = asyncio.Event()
        client.events.subscribe(ev.TOOL_STARTED, lambda e: started.set())
        run = asyncio.create_task(client.prompt(session.id, "sleep long"))
        await asyncio.wait_for(started.wait(), 10)
        await client.close()
        result = await asyncio.wait_for(run, 10)
        reopened = make_client(server)
        messages = await reopened.get_messages(session.id)
    assert result.error == "The run was aborted."
    assert sleeper.cancelled == 1
    assistant = messages[-1]
    assert assistant.info.finish == "aborted"
    assert assistant.info.time.completed is not None
    assert [p for m in messages for p in m.parts if is_open_part(p)] == []
    tool = next(p for p in assistant.parts if isinstance(p, ToolPart))
    assert tool.state.error == "The run was aborted."
    assert any(isinstance(p, TextPart) and p.text == "Let me think. " for p in assistant.parts)
    assert any(isinstance(p, ReasoningPart) for p in assistant.parts)


async def test_two_prompts_on_one_session_run_one_after_the_other(
    make_client: ClientFactory,
) -> None:
    turns = [
        Turn(text="first answer", when="first", chunk_size=2, chunk_delay=0.01),
        Turn(text="second answer", when="second"),
    ]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        session = await client.create_session()
        first = asyncio.create_task(client.prompt(session.id, "first question"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(client.prompt(session.id, "second question"))
        results = await asyncio.gather(first, second)
        messages = await client.get_messages(session.id)
        later = server.requests[1]
    assert [r.response for r in results] == ["first answer", "second answer"]
    assert [(m.info.role, m.text) for m in messages] == [
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "second question"),
        ("assistant", "second answer"),
    ]
    assert "first answer" in str(later.messages)  # the second run saw the first


async def test_a_prompt_that_must_not_wait_is_refused_while_the_session_is_busy(
    make_client: ClientFactory,
) -> None:
    sleeper = SleepTool()
    turns = [Turn(tool_calls=[ScriptedToolCall("sleep", {"seconds": 0.5})]), Turn(text="done")]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        await client.register_tool(sleeper)
        session = await client.create_session()
        started = asyncio.Event()
        client.events.subscribe(ev.TOOL_STARTED, lambda e: started.set())
        first = asyncio.create_task(client.prompt(session.id, "sleep"))
        await asyncio.wait_for(started.wait(), 10)
        with pytest.raises(SessionBusyError, match="already has a run in progress"):
            await client.prompt(session.id, "me too", wait=False)
        assert (await first).response == "done"
        messages = await client.get_messages(session.id)
    assert [m.info.role for m in messages] == ["user", "assistant", "assistant"]


async def test_cancelling_the_caller_aborts_its_run(make_client: ClientFactory) -> None:
    sleeper = SleepTool()
    with ScriptedLLMServer([Turn(tool_calls=[ScriptedToolCall("sleep", {"seconds": 30})])]) as s:
        client = make_client(s)
        await client.register_tool(sleeper)
        session = await client.create_session()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.prompt(session.id, "sleep"), 1.0)
        messages = await client.get_messages(session.id)
    assert sleeper.cancelled == 1
    assert messages[-1].info.finish == "aborted"
    assert [p for m in messages for p in m.parts if is_open_part(p)] == []


@pytest.mark.parametrize(
    "fault", [Fault.hang(), Fault.stall(after_chunks=2)], ids=["no answer", "stream stalls"]
)
async def test_a_provider_that_stops_answering_times_out_and_is_retried(
    fault: Fault, tmp_path: Path
) -> None:
    turns = [Turn(text="never comes", fault=fault), Turn(text="Here it is.")]
    with ScriptedLLMServer(turns) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.providers["openai"] = config.providers["openai"].model_copy(
            update={"read_timeout": 0.5}
        )
        async with OpenCodeAsyncClient(config) as client:
            client.retry = RetryPolicy(base_delay=0.01)
            retries: list[str] = []
            client.events.subscribe(ev.PROVIDER_RETRY, lambda e: retries.append(e.data["error"]))
            session = await client.create_session()
            started = time.monotonic()
            result = await client.prompt(session.id, "answer please")
            took = time.monotonic() - started
    assert result.response == "Here it is."
    assert len(retries) == 1
    assert "timed out" in retries[0]
    assert took < 10


def test_provider_timeouts_default_to_ten_seconds_to_connect_and_two_minutes_per_chunk() -> None:
    from opencode_python import ProviderConfig

    timeout = ProviderConfig(provider_id="openai").http_timeout()
    assert (timeout.connect, timeout.read) == (10.0, 120.0)
