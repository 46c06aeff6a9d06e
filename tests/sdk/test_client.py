"""The SDK client as an app uses it: config, sessions, callbacks, the sync mirror."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

import opencode_python
from opencode_python import (
    ConfigError,
    NotFoundError,
    Notification,
    OpenCodeAsyncClient,
    OpenCodeError,
    OpenCodeSyncClient,
    SDKConfig,
)
from opencode_python.core import events as ev
from opencode_python.core.events import Event
from opencode_python.testing import (
    Fault,
    ScriptedLLMServer,
    ScriptedProvider,
    ScriptedToolCall,
    Turn,
)

from ..conftest import ClientFactory, scripted_config
from ..tools_for_tests import AddTool


async def test_a_client_with_no_arguments_stores_in_the_platform_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with OpenCodeAsyncClient() as client:
        session = await client.create_session(title="first")
        assert [s.id for s in await client.list_sessions()] == [session.id]
    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert (data_home / "opencode-python" / "opencode.db").is_file()
    assert session.directory == str(tmp_path.resolve())
    assert session.version == opencode_python.__version__


def test_config_as_dict_never_shows_keys_and_rejects_bad_values(tmp_path: Path) -> None:
    config = SDKConfig(
        storage_path=tmp_path,
        model="openai/gpt-4.1-mini",
        providers={"openai": {"api_key": "sk-secret-123", "base_url": "http://127.0.0.1:9/v1"}},
    )
    shown = json.dumps(config.as_dict())
    assert "sk-secret-123" not in shown
    assert "sk-secret-123" not in repr(config)
    assert config.as_dict()["providers"]["openai"]["base_url"] == "http://127.0.0.1:9/v1"
    assert config.as_dict()["project_dir"] == str(Path.cwd().resolve())
    with pytest.raises(ValidationError, match="provider/model"):
        SDKConfig(model="gpt-4.1-mini")
    with pytest.raises(ValidationError):
        SDKConfig(max_steps=0)
    with pytest.raises(ValidationError):
        SDKConfig(unknown_field=1)  # type: ignore[call-arg]


async def test_with_no_model_and_no_key_the_default_is_the_local_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with OpenCodeAsyncClient(
        SDKConfig(storage_path=tmp_path, project_dir=tmp_path)
    ) as client:
        assert client.resolve_model() == "local/smollm2-135m"
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert client.resolve_model() == "openai/gpt-4.1-mini"
        session = await client.create_session()
        with pytest.raises(NotFoundError, match="nowhere"):
            await client.prompt(session.id, "hello", model="nowhere/model")
        with pytest.raises(NotFoundError, match="ses_missing"):
            await client.prompt("ses_missing", "hello", model="openai/gpt-4.1-mini")
        assert len(await client.get_messages(session.id)) == 0


async def test_sessions_are_listed_renamed_exported_imported_and_deleted(
    make_client: ClientFactory,
) -> None:
    with ScriptedLLMServer([Turn(text="hi")]) as server:
        client = make_client(server)
        seen: list[str] = []
        client.events.subscribe("session.*", lambda e: seen.append(e.type))
        first = await client.create_session(title="one")
        second = await client.create_session(title="two")
        await client.prompt(first.id, "hello")
        await client.add_message(second.id, "user", "a note")
        renamed = await client.rename_session(second.id, "renamed")
        listed = [s.id for s in await client.list_sessions()]
        exported = await client.export_session(first.id)
        await client.delete_session(first.id)
        with pytest.raises(NotFoundError):
            await client.get_session(first.id)
        restored = await client.import_session(exported)
        messages = await client.get_messages(restored.id)
    assert renamed.title == "renamed"
    assert set(listed) == {first.id, second.id}
    assert restored.id == first.id
    assert [m.text for m in messages] == ["hello", "hi"]
    assert await client.export_session(first.id) == exported
    assert seen[:2] == [ev.SESSION_CREATED, ev.SESSION_CREATED]
    assert ev.SESSION_DELETED in seen
    assert ev.SESSION_UPDATED in seen


async def test_progress_and_notification_callbacks_fire_for_steps_retries_and_the_end(
    make_client: ClientFactory,
) -> None:
    turns = [
        Turn(fault=Fault.status(429, retry_after=0.01)),
        Turn(tool_calls=[ScriptedToolCall("add", {"a": 1, "b": 2})]),
        Turn(text="3"),
    ]
    with ScriptedLLMServer(turns) as server:
        client = make_client(server)
        await client.register_tool(AddTool())
        progress: list[tuple[int, str]] = []
        notes: list[Notification] = []

        async def on_note(note: Notification) -> None:
            notes.append(note)

        client.on_progress(lambda current, message: progress.append((current, message)))
        client.on_notification(on_note)
        session = await client.create_session()
        result = await client.prompt(session.id, "add")
    assert result.error is None
    steps = [current for current, message in progress if message.startswith("step")]
    assert steps == [1, 2]
    assert any("running tool add" in message for _, message in progress)
    assert [n.level for n in notes] == ["warning", "info"]
    assert "retry 1 of 4" in notes[0].message
    assert notes[1].title == "Run finished"


async def test_callbacks_are_off_when_disabled_in_config(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="quiet")]) as server:
        config = scripted_config(server, "openai", tmp_path)
        config.enable_progress = False
        config.enable_notifications = False
        async with OpenCodeAsyncClient(config) as client:
            calls: list[object] = []
            client.on_progress(lambda current, message: calls.append(message))
            client.on_notification(calls.append)
            session = await client.create_session()
            await client.prompt(session.id, "hi")
    assert calls == []


async def test_an_in_process_provider_object_can_be_registered(tmp_path: Path) -> None:
    provider = ScriptedProvider([Turn(text="from memory")], id="mem")
    async with OpenCodeAsyncClient(
        SDKConfig(storage_path=tmp_path, project_dir=tmp_path)
    ) as client:
        client.register_provider(provider)
        session = await client.create_session()
        result = await client.prompt(session.id, "hi", model="mem/any-model")
    assert result.response == "from memory"
    assert result.model == "mem/any-model"
    assert result.cost == 0


def test_sync_client_mirrors_the_async_one(tmp_path: Path) -> None:
    turns = [Turn(tool_calls=[ScriptedToolCall("add", {"a": 20, "b": 22})]), Turn(text="42")]
    with (
        ScriptedLLMServer(turns) as server,
        OpenCodeSyncClient(scripted_config(server, "openai", tmp_path)) as client,
    ):
        client.register_tool(AddTool())
        session = client.create_session(title="sync")
        items = list(client.stream(session.id, "add"))
        assert items[-1].response == "42"  # type: ignore[union-attr]
        assert any(isinstance(i, Event) and i.type == ev.TOOL_COMPLETED for i in items)
        assert [m.info.role for m in client.get_messages(session.id)] == [
            "user",
            "assistant",
            "assistant",
        ]
        assert client.list_sessions()[0].id == session.id
        assert not client.abort(session.id)


async def test_sync_client_works_inside_a_running_event_loop(tmp_path: Path) -> None:
    """As in a Jupyter cell: blocking calls from code that already runs a loop."""
    with ScriptedLLMServer([Turn(text="from a notebook")]) as server:
        client = OpenCodeSyncClient(scripted_config(server, "openai", tmp_path))
        try:
            session = client.create_session()
            result = client.prompt(session.id, "hi")
        finally:
            client.close()
    assert result.response == "from a notebook"


async def test_a_closed_client_says_so(tmp_path: Path) -> None:
    client = OpenCodeAsyncClient(SDKConfig(storage_path=tmp_path, project_dir=tmp_path))
    await client.create_session()
    await client.close()
    await client.close()
    with pytest.raises(OpenCodeError, match="this client is closed"):
        await client.list_sessions()


def test_opencode_permission_env_must_be_valid_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_PERMISSION", "{bash: ask")
    with pytest.raises(ConfigError, match="OPENCODE_PERMISSION must hold permission rules"):
        OpenCodeAsyncClient()
    monkeypatch.setenv("OPENCODE_PERMISSION", '{"bash": "sometimes"}')
    with pytest.raises(ConfigError, match="'allow', 'ask', 'deny'"):
        OpenCodeAsyncClient()


async def test_an_io_handler_answers_permissions_and_questions(tmp_path: Path) -> None:
    from opencode_python.permissions import PermissionReply, PermissionRequest
    from opencode_python.tools import Question

    class ScriptedUser:
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def confirm_permission(self, request: PermissionRequest) -> PermissionReply:
            self.seen.append(f"permission {request.permission}")
            return PermissionReply("reject", "not now")

        async def ask_questions(self, questions: list[Question]) -> list[str]:
            self.seen.append(f"question {questions[0].question}")
            return ["green"]

    calls = [
        ScriptedToolCall("question", {"questions": [{"question": "Favourite colour?"}]}),
        ScriptedToolCall("bash", {"command": "echo hi"}),
    ]
    with ScriptedLLMServer([Turn(tool_calls=calls), Turn(text="ok")]) as server:
        config = scripted_config(server, "openai", tmp_path, builtin_tools=True)
        config.permission = {"bash": "ask"}
        user = ScriptedUser()
        async with OpenCodeAsyncClient(config) as client:
            client.set_io_handler(user)
            session = await client.create_session()
            await client.prompt(session.id, "go")
        results = dict(server.requests[1].tool_results)
    assert sorted(user.seen) == ["permission bash", "question Favourite colour?"]
    assert "green" in results[calls[0].call_id]
    assert "not now" in results[calls[1].call_id]


def test_sync_client_runs_agents_too(tmp_path: Path) -> None:
    from opencode_python import Agent

    with (
        ScriptedLLMServer([Turn(text="reviewed")]) as server,
        OpenCodeSyncClient(scripted_config(server, "openai", tmp_path)) as client,
    ):
        client.register_agent(Agent(name="reviewer", prompt="Review code."))
        session = client.create_session(title="sync agents")
        result = client.execute_agent("reviewer", session.id, "review")
        assert result.response == "reviewed"
        assert result.metadata["model_id"] == "gpt-4.1-mini"
        assert client.get_agent("reviewer").prompt == "Review code."
        assert client.list_running_agents() == []
        assert client.archive_session(session.id).time.archived is not None


def test_sync_client_runs_a_custom_command(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="done")]) as server:
        config = scripted_config(server, "openai", tmp_path)
        folder = config.resolved_project_dir / ".opencode" / "command"
        folder.mkdir(parents=True)
        (folder / "hello.md").write_text("Say hello to $1.")
        with OpenCodeSyncClient(config) as client:
            session = client.create_session()
            assert client.run_command(session.id, "hello", "Ada").response == "done"
        assert server.requests[0].last_user_text == "Say hello to Ada."
