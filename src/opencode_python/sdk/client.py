"""``OpenCodeAsyncClient``: the one place that wires store, bus, providers, tools and loop."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ..agents.agent import Agent
from ..agents.loop import AISession
from ..agents.result import AgentResult
from ..context.system_prompt import DEFAULT_PROMPT, environment_block
from ..core import events as ev
from ..core.errors import ConfigError, OpenCodeError
from ..core.events import Event, EventBus
from ..core.models import (
    Approval,
    MessageWithParts,
    PermissionRule,
    Session,
    TokenUsage,
    ToolExecution,
)
from ..core.version import VERSION
from ..permissions.filter import ToolPermissionFilter
from ..permissions.gate import Approver, PermissionGate
from ..permissions.rules import from_config
from ..providers.base import Provider
from ..providers.catalog import ModelInfo, cost_of
from ..providers.config import ProviderConfig
from ..providers.registry import ProviderRegistry
from ..providers.retry import RetryPolicy
from ..storage.base import Store
from ..storage.paths import database_path
from ..storage.project import ProjectInfo
from ..storage.sqlite import SQLiteStore
from ..storage.store import SessionStorage
from ..tools.builtin import default_tools
from ..tools.executor import ToolExecutionManager
from ..tools.framework import QuestionCallback, Tool, ToolRegistry
from .callbacks import CallbackHub, NotificationCallback, ProgressCallback
from .config import SDKConfig
from .io import IOHandler

# Used when no model is configured: the first provider whose key is in the environment.
ENV_DEFAULT_MODELS = (
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"),
    ("OPENAI_API_KEY", "openai/gpt-4.1-mini"),
)

PERMISSION_ENV = "OPENCODE_PERMISSION"

BUILD_AGENT = Agent(
    name="build",
    description="The default agent: works on the user's request with every allowed tool.",
    mode="primary",
    native=True,
)


class OpenCodeAsyncClient:
    """An agent engine for one project: sessions, providers, tools, runs and events.

    Works with no arguments: storage goes to the platform data dir, the project is the
    current directory. Use it as ``async with OpenCodeAsyncClient(config) as client``
    or call ``close()`` when done.
    """

    def __init__(self, config: SDKConfig | None = None, *, store: Store | None = None) -> None:
        self.config = config or SDKConfig()
        self.events = EventBus()
        self.providers = ProviderRegistry()
        for provider_config in self.config.providers.values():
            self.providers.register(provider_config)
        self.tools = ToolRegistry()
        self.retry = RetryPolicy(max_retries=self.config.max_retries)
        self.permissions = PermissionGate(
            config_rules=[*self.config.permission, *_env_permission()],
            auto_confirm=self.config.auto_confirm,
        )
        self.executor = ToolExecutionManager(
            self.tools, timeout=self.config.tool_timeout, permissions=self.permissions
        )
        self._question_handler: QuestionCallback | None = None
        self._callbacks = CallbackHub(
            self.events,
            progress=self.config.enable_progress,
            notifications=self.config.enable_notifications,
        )
        self._store = store
        self._owns_store = store is None
        self._storage: SessionStorage | None = None
        self._project: ProjectInfo | None = None
        self._open_lock = asyncio.Lock()
        self._runs: dict[str, AISession] = {}
        self._closed = False

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> OpenCodeAsyncClient:
        await self._ready()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Abort running prompts, close providers and the store. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for run in list(self._runs.values()):
            run.abort()
        await self.providers.aclose()
        if self._store is not None and self._owns_store:
            await self._store.close()

    async def _ready(self) -> SessionStorage:
        if self._closed:
            raise OpenCodeError("this client is closed; create a new OpenCodeAsyncClient")
        if self._storage is not None:
            return self._storage
        async with self._open_lock:
            if self._storage is None:
                db_path = await asyncio.to_thread(database_path, self.config.storage_path)
                if self._store is None:
                    self._store = SQLiteStore(db_path)
                await self._store.open()
                await self._register_builtins()
                self.permissions.store = self._store
                self.executor.tracker.store = self._store
                self.executor.output_dir = db_path.parent / "tool-output"
                storage = SessionStorage(
                    store=self._store, project_dir=self.config.resolved_project_dir
                )
                self._project = await storage.project()
                self._storage = storage
        return self._storage

    async def _register_builtins(self) -> None:
        chosen = self.config.builtin_tools
        if chosen is False:
            return
        for builtin in default_tools(None if chosen is True else chosen):
            if builtin.id not in self.tools:  # an app's own tool of that id wins
                await self.tools.register(builtin, source="builtin")

    @property
    def store(self) -> Store:
        """The store this client persists to (opened on first use)."""
        if self._store is None:
            raise OpenCodeError("the store opens on first use; await any client method first")
        return self._store

    # --- registration ------------------------------------------------------------------

    async def register_tool(
        self, tool: Tool, tool_id: str | None = None, *, replace: bool = False
    ) -> str:
        """Offer ``tool`` to the agents of this client; returns the id it was registered as."""
        return await self.tools.register(tool, tool_id, replace=replace)

    def register_provider(self, provider: ProviderConfig | Provider | str, **settings: Any) -> None:
        """Add a provider: a ``ProviderConfig``, a ready ``Provider`` object, or an id
        with settings (``register_provider("groq", api_key=..., base_url=...)``)."""
        if isinstance(provider, str):
            provider = ProviderConfig(provider_id=provider, **settings)
        elif settings:
            raise ConfigError("settings go with a provider id, not with a config or provider")
        self.providers.register(provider)

    def on_permission(self, approver: Approver) -> None:
        """Let ``approver(request)`` answer ``ask`` rules: ``"once"``, ``"always"``,
        ``"reject"``, or a ``PermissionReply`` carrying a message for the model."""
        self.permissions.approver = approver

    def set_io_handler(self, io: IOHandler) -> None:
        """Let one object answer for the user: permission asks and questions."""
        self.on_permission(io.confirm_permission)
        self.on_question(io.ask_questions)

    def on_question(self, handler: QuestionCallback) -> None:
        """Let ``handler(questions)`` answer the ``question`` tool: one answer each."""
        self._question_handler = handler

    async def list_approvals(self, agent: str | None = None) -> list[Approval]:
        """The ``always`` approvals stored for this project (optionally one agent's)."""
        await self._ready()
        assert self._project is not None
        return await self.store.list_approvals(self._project.id, agent=agent)

    async def revoke_approval(self, agent: str, permission: str, pattern: str) -> bool:
        """Take back an ``always`` approval; False when there was none."""
        await self._ready()
        assert self._project is not None
        return await self.permissions.revoke(self._project.id, agent, permission, pattern)

    async def get_execution_history(
        self, session_id: str, limit: int = 100, *, tool: str | None = None
    ) -> list[ToolExecution]:
        """The session's most recent tool executions, oldest first."""
        await self._ready()
        return await self.executor.tracker.history(session_id, tool=tool, limit=limit)

    def on_progress(self, callback: ProgressCallback) -> None:
        """Call ``callback(current, message)`` at each step and tool of a run."""
        self._callbacks.add_progress(callback)

    def on_notification(self, callback: NotificationCallback) -> None:
        """Call ``callback(notification)`` on retries, tool failures and finished runs."""
        self._callbacks.add_notification(callback)

    # --- sessions ----------------------------------------------------------------------

    async def create_session(self, title: str | None = None, version: str | None = None) -> Session:
        storage = await self._ready()
        session = await storage.create_session(title or "", version=version or VERSION)
        await self.events.publish(ev.SESSION_CREATED, {"session": session}, session_id=session.id)
        return session

    async def get_session(self, session_id: str) -> Session:
        return await (await self._ready()).get_session(session_id)

    async def list_sessions(self, *, all_projects: bool = False) -> list[Session]:
        """Sessions of this project, newest first (``all_projects=True`` for every one)."""
        storage = await self._ready()
        project_id = None if all_projects else (await storage.project()).id
        return await storage.list_sessions(project_id=project_id)

    async def rename_session(self, session_id: str, title: str) -> Session:
        session = await (await self._ready()).rename_session(session_id, title)
        await self.events.publish(ev.SESSION_UPDATED, {"session": session}, session_id=session_id)
        return session

    async def delete_session(self, session_id: str) -> None:
        """Delete a session with its messages and parts (aborting a run on it first)."""
        run = self._runs.get(session_id)
        if run is not None:
            run.abort()
        await (await self._ready()).delete_session(session_id)
        await self.events.publish(
            ev.SESSION_DELETED, {"session_id": session_id}, session_id=session_id
        )

    async def add_message(
        self, session_id: str, role: Literal["user", "assistant"], content: str
    ) -> str:
        """Store a message without running the model; returns its id."""
        return await (await self._ready()).add_message(
            session_id=session_id, role=role, content=content
        )

    async def get_messages(self, session_id: str) -> list[MessageWithParts]:
        return await (await self._ready()).get_messages(session_id)

    async def export_session(self, session_id: str) -> dict[str, Any]:
        return await (await self._ready()).export_session(session_id)

    async def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        return await (await self._ready()).import_session(data, overwrite=overwrite)

    # --- runs --------------------------------------------------------------------------

    def resolve_model(self, model: str | None = None, agent: Agent | None = None) -> str:
        """The ``provider/model`` a run will use: argument, agent, config, environment."""
        name = model or (agent.model if agent else None) or self.config.model
        if name:
            return name
        default = self.providers.default_model
        if default:
            return default
        for env_var, env_model in ENV_DEFAULT_MODELS:
            if os.environ.get(env_var):
                return env_model
        raise ConfigError(
            "no model is configured: pass model='provider/model' (e.g. 'openai/gpt-4.1-mini'), "
            "set SDKConfig(model=...), or set OPENAI_API_KEY or ANTHROPIC_API_KEY"
        )

    async def prompt(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | None = None,
    ) -> AgentResult:
        """Run ``message`` in the session until the agent is done; returns the result.

        Failures of the model call are in ``result.error`` (the session keeps what was
        stored); configuration mistakes raise before anything is stored.
        """
        runner = await self._runner(session_id, model, agent)
        self._runs[session_id] = runner
        try:
            return await runner.run(message)
        finally:
            self._runs.pop(session_id, None)

    async def stream(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | None = None,
    ) -> AsyncIterator[Event | AgentResult]:
        """Run like ``prompt`` and yield each event of the run as it happens, then the result."""
        runner = await self._runner(session_id, model, agent)
        queue: asyncio.Queue[Event | None] = asyncio.Queue()

        def forward(event: Event) -> None:
            if event.session_id == session_id:
                queue.put_nowait(event)

        unsubscribe = self.events.subscribe("*", forward)
        self._runs[session_id] = runner
        task = asyncio.create_task(runner.run(message))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (item := await queue.get()) is not None:
                yield item
            yield task.result()
        finally:
            unsubscribe()
            self._runs.pop(session_id, None)
            if not task.done():
                runner.abort()
                await asyncio.wait({task})

    def abort(self, session_id: str) -> bool:
        """Abort the run in progress on ``session_id``; returns False when none is running."""
        run = self._runs.get(session_id)
        if run is None:
            return False
        run.abort()
        return True

    async def _runner(self, session_id: str, model: str | None, agent: Agent | None) -> AISession:
        await self._ready()
        if session_id in self._runs:
            raise OpenCodeError(
                f"session {session_id} already has a run in progress; "
                "wait for it to finish or call abort() first"
            )
        session = await self.get_session(session_id)
        agent = agent or BUILD_AGENT
        provider, info = self.providers.resolve_model(self.resolve_model(model, agent))
        project = self._project
        assert project is not None
        directory = Path(session.directory or project.directory)
        system = [
            agent.prompt or DEFAULT_PROMPT,
            environment_block(directory, is_git_repo=project.vcs == "git"),
        ]
        rules = self.permissions.rules_for(
            project_id=project.id,
            agent=agent.name,
            agent_rules=agent.permission,
            session_rules=session.permission,
        )
        return AISession(
            session=session,
            agent=agent,
            provider=provider,
            model_id=info.model_id,
            store=self.store,
            bus=self.events,
            executor=self.executor,
            tools=self.tools.schemas(ToolPermissionFilter(rules).is_visible),
            system=system,
            retry=self.retry,
            max_steps=self.config.max_steps,
            max_output_tokens=info.max_output,
            cost_of=_pricing(info),
            directory=str(directory),
            rules=rules,
            project_id=project.id,
            ask_user=self._question_handler,
        )


def _env_permission() -> list[PermissionRule]:
    """Rules from ``OPENCODE_PERMISSION`` (JSON, as in OpenCode), applied after config."""
    raw = os.environ.get(PERMISSION_ENV)
    if not raw:
        return []
    try:
        return from_config(json.loads(raw))
    except (json.JSONDecodeError, ConfigError) as exc:
        raise ConfigError(
            f"{PERMISSION_ENV} must hold permission rules as JSON, e.g. "
            f'\'{{"bash": "ask"}}\': {exc}'
        ) from None


def _pricing(info: ModelInfo) -> Any:
    def cost(usage: TokenUsage) -> float:
        return cost_of(info, usage)

    return cost
