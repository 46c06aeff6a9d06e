"""``OpenCodeAsyncClient``: the one place that wires store, bus, providers, tools and loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from ..agents.agent import Agent
from ..agents.builtin import DEFAULT_AGENT
from ..agents.delegation import DelegationLimits
from ..agents.manager import AgentManager, AgentRun
from ..agents.markdown import agent_dirs, mode_dirs
from ..agents.models import LOCAL_DEFAULT_MODEL, ModelChooser
from ..agents.orchestrator import AgentOrchestrator
from ..agents.registry import AgentRegistry
from ..agents.result import AgentResult
from ..agents.runtime import AgentRuntime, RuntimeSettings
from ..agents.task import AgentTask
from ..agents.task_tool import TaskTool
from ..commands import Command, CommandError, expand_command, load_commands
from ..config.files import OpenCodeFileConfig, load_config
from ..config.paths import config_dirs, user_config_dir
from ..context.builder import ContextBuilder
from ..core import events as ev
from ..core.errors import ConfigError, NotFoundError, OpenCodeError
from ..core.events import Event, EventBus
from ..core.ids import new_id
from ..core.models import (
    Approval,
    MemoryEntry,
    MessageWithParts,
    PermissionRule,
    Session,
    ToolExecution,
    now_ms,
)
from ..core.tasks import TaskScope
from ..core.version import VERSION
from ..mcp.config import MCPServerConfig, parse_servers
from ..mcp.manager import MCPManager
from ..memory.embedders import APIEmbedder, LocalEmbedder, MemoryEmbedder, default_embedder
from ..memory.manager import MemoryManager
from ..memory.summarizer import MemorySummarizer
from ..memory.tools import MemorySearchTool, MemoryStoreTool
from ..permissions.gate import Approver, PermissionGate
from ..permissions.rules import from_config, from_tools
from ..providers.base import Provider
from ..providers.catalog import cost_of
from ..providers.config import ProviderConfig
from ..providers.profile import OutputMode
from ..providers.registry import ProviderRegistry
from ..providers.retry import RetryPolicy
from ..providers.wire_options import split_wire_options
from ..skills.loader import SkillLoader
from ..skills.tool import SkillTool
from ..storage.contract import Store
from ..storage.paths import database_path
from ..storage.project import ProjectInfo
from ..storage.store import SessionStorage
from ..tools.executor import ToolExecutionManager
from ..tools.framework import QuestionCallback, Tool, ToolRegistry
from ..tools.tracker import ToolExecutionTracker
from .callbacks import CallbackHub, NotificationCallback, ProgressCallback
from .config import SDKConfig
from .io import IOHandler
from .lifecycle import Hook, SessionLifecycle

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["LOCAL_DEFAULT_MODEL", "OpenCodeAsyncClient"]

log = logging.getLogger(__name__)

PERMISSION_ENV = "OPENCODE_PERMISSION"
T = TypeVar("T")


class OpenCodeAsyncClient:
    """An agent engine for one project: sessions, providers, tools, runs and events.

    Works with no arguments: storage goes to the platform data dir, the project is the
    current directory. Use it as ``async with OpenCodeAsyncClient(config) as client``
    or call ``close()`` when done. A client that is never closed still lets the process
    exit with everything it stored committed.
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
        self.models = ModelChooser(
            self.providers, configured=self.config.model, small=self.config.small_model
        )
        self._tasks = TaskScope()
        self._callbacks = CallbackHub(
            self.events,
            progress=self.config.enable_progress,
            notifications=self.config.enable_notifications,
        )
        self.agents = AgentRegistry()
        self.mcp = MCPManager(self.tools)
        """The MCP servers whose tools the agents get (``SDKConfig.mcp``, ``mcp`` in
        opencode.json, ``add_mcp_server``); started on the first run."""
        for name, server in self.config.mcp.items():
            self.mcp.add_server(name, server)
        self.manager = AgentManager(self.events)
        self.lifecycle = SessionLifecycle(self.events)
        self._store = store
        self._owns_store = store is None
        self._storage: SessionStorage | None = None
        self._project: ProjectInfo | None = None
        self._runtime: AgentRuntime | None = None
        self._orchestrator: AgentOrchestrator | None = None
        self._memory: MemoryManager | None = None
        self._history = ToolExecutionTracker()
        self._open_lock = asyncio.Lock()
        self._closed = False
        self._default_agent: str | None = None
        self._worktree: Path | None = None
        self.file_config: OpenCodeFileConfig | None = None
        """The merged ``opencode.json`` files as loaded on open (None before); what is
        set in code (``config``) wins over it where both say."""
        self.commands: dict[str, Command] = {}
        """The custom commands by name (``.opencode/command/*.md``, ``command`` in
        opencode.json), loaded on open; see ``run_command``."""
        self.command_errors: list[CommandError] = []

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
        """Stop what runs (runs end as aborted, their open parts finished), then close
        the providers, then the store. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._tasks.aclose()
        await self.mcp.close()
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
                await self._open_or_undo()
        assert self._storage is not None
        return self._storage

    async def _open_or_undo(self) -> None:
        """Open, or leave nothing open: a broken config must not leave the store open."""
        try:
            await self._open()
        except BaseException:
            if self._store is not None and self._owns_store:
                await self._store.close()
                self._store = None
            raise

    async def _open(self) -> None:
        """Open the store and load the project's configuration, agents and skills."""
        db_path = await asyncio.to_thread(database_path, self.config.storage_path)
        if self._store is None:
            from ..storage.sqlite import SQLiteStore  # the embedded default, loaded on open

            self._store = SQLiteStore(db_path)
        await self._store.open()
        await self._recover(self._store)
        storage = SessionStorage(store=self._store, project_dir=self.config.resolved_project_dir)
        project = await storage.project()
        worktree = Path(project.worktree) if project.worktree else None
        user_dir = user_config_dir()
        loaded = await asyncio.to_thread(
            load_config, self.config.resolved_project_dir, worktree=worktree, user_dir=user_dir
        )
        self._apply_file_config(loaded.config)
        self.permissions.store = self._store
        self._history.store = self._store
        self.executor.output_dir = db_path.parent / "tool-output"
        self.agents.store = self._store
        await self.agents.load()
        await self.agents.load_definitions(loaded.config.agent, "opencode.json")
        project_dir = self.config.resolved_project_dir
        await self.agents.load_markdown(
            agent_dirs(project_dir, user_dir, worktree=worktree),
            modes=mode_dirs(project_dir, user_dir, worktree=worktree),
        )
        self.file_config = loaded.config
        self._default_agent = loaded.config.default_agent
        self._worktree = worktree
        from_file = parse_servers(loaded.config.mcp, "opencode.json")
        for name, server in from_file.items():
            if name not in self.config.mcp:  # a server set in code wins
                self.mcp.add_server(name, server)
        self.commands, command_errors = await asyncio.to_thread(
            load_commands,
            config_dirs(project_dir, worktree, user_dir=user_dir),
            loaded.config.command,
        )
        self.command_errors = command_errors
        skills = SkillLoader(
            self.config.resolved_project_dir,
            worktree=worktree,
            user_dir=user_dir,
            extra_paths=[Path(p) for p in loaded.config.skills],
        )
        await asyncio.to_thread(skills.discover_skills)
        self.skills = skills
        self._memory = MemoryManager(
            self._store,
            project_id=project.id,
            embedder=self._embedder(),
            summarizer=_summarizer_factory(self.models, self.agents, self.providers),
            retention=self.config.memory_retention,
        )
        context = ContextBuilder(
            store=self._store,
            project=project,
            tools=self.tools,
            skills=skills,
            instructions=loaded.config.instructions,
            user_dir=user_dir,
        )
        self._runtime = AgentRuntime(
            store=self._store,
            bus=self.events,
            providers=self.providers,
            executor=self.executor,
            permissions=self.permissions,
            agents=self.agents,
            context=context,
            manager=self.manager,
            settings=RuntimeSettings(
                max_steps=self.config.max_steps,
                generate_titles=self.config.generate_titles,
                delegation=self.config.delegation,
            ),
            models=self.models,
            retry=self.retry,
            tasks=self._tasks,
            memory=self._memory,
            tool_source=self.mcp,
        )
        self._orchestrator = AgentOrchestrator(self._runtime)
        await self._register_builtins(skills, self._memory, self._orchestrator)
        self._project = project
        self._storage = storage

    @staticmethod
    async def _recover(store: Store) -> None:
        """Close, as interrupted, what processes that died left unfinished."""
        recovery = await store.recover_interrupted()
        if recovery.messages or recovery.parts:
            sessions = {m.session_id for m in recovery.messages} | {
                p.session_id for p in recovery.parts
            }
            log.warning(
                "closed %d message(s) and %d part(s) in %d session(s) that a stopped "
                "process left unfinished, as interrupted",
                len(recovery.messages),
                len(recovery.parts),
                len(sessions),
            )

    def _apply_file_config(self, file_config: OpenCodeFileConfig) -> None:
        """opencode.json under SDKConfig: a field set in code wins over the file."""
        self.models.configured = self.config.model or file_config.model
        self.models.small = self.config.small_model or file_config.small_model
        enabled, disabled = file_config.enabled_providers, set(file_config.disabled_providers)
        for provider_id, settings in file_config.provider.items():
            if provider_id in disabled or (enabled is not None and provider_id not in enabled):
                continue
            if provider_id not in self.config.providers:
                wire, kept = split_wire_options(settings.get("options", {}))
                config = {**settings, "options": wire, "metadata": kept}
                self.providers.register(ProviderConfig(provider_id=provider_id, **config))
        file_rules = from_config(file_config.permission) if file_config.permission else []
        self.permissions.config_rules = [
            *from_tools(file_config.tools, "opencode.json: tools"),  # permission wins
            *file_rules,
            *self.config.permission,
            *_env_permission(),
        ]

    async def _register_builtins(
        self, skills: SkillLoader, memory: MemoryManager, orchestrator: AgentOrchestrator
    ) -> None:
        chosen = self.config.builtin_tools
        if chosen is False:
            return
        from ..tools.builtin import default_tools  # loaded on open, not with the package

        extra: list[Tool] = [
            SkillTool(skills),
            MemorySearchTool(memory),
            MemoryStoreTool(memory),
            TaskTool(orchestrator, self.agents),
        ]
        wanted = None if chosen is True else [t for t in chosen if t not in {e.id for e in extra}]
        tools: list[Tool] = default_tools(wanted)
        tools += [t for t in extra if chosen is True or t.id in chosen]
        for builtin in tools:
            if builtin.id not in self.tools:  # an app's own tool of that id wins
                await self.tools.register(builtin, source="builtin")

    def _embedder(self) -> MemoryEmbedder | None:
        """The configured memory embedder: ``auto`` (local if installed), ``none``,
        ``local``, or ``provider/model`` for an OpenAI-compatible embeddings API."""
        choice = self.config.memory_embedder
        if choice == "none":
            return None
        if choice == "auto":
            return default_embedder()
        if choice == "local":
            return LocalEmbedder()
        provider_id, _, model = choice.partition("/")
        settings = self.config.providers.get(provider_id) or ProviderConfig(provider_id=provider_id)
        return APIEmbedder(settings, model)

    @property
    def memory(self) -> MemoryManager:
        """The project's long-term memory (available once the client has opened)."""
        if self._memory is None:
            raise OpenCodeError("memory opens with the client; use `async with` or await a method")
        return self._memory

    async def store_memory(
        self, session_id: str | None, content: str, metadata: dict[str, Any] | None = None
    ) -> str:
        """Remember ``content`` for this session (use ``memory.store_memory`` for scopes)."""
        await self._ready()
        return await self.memory.store_memory(session_id, content, metadata)

    async def search_memory(
        self, session_id: str | None, query: str, limit: int = 10
    ) -> list[MemoryEntry]:
        """Memories visible from the session that best match ``query``, best first."""
        await self._ready()
        return await self.memory.search_memory(session_id, query, limit)

    @property
    def orchestrator(self) -> AgentOrchestrator:
        """Delegation: run agents as subagents in child sessions, alone or in parallel
        (available once the client has opened)."""
        if self._orchestrator is None:
            raise OpenCodeError(
                "the orchestrator opens with the client; use `async with` or await a method"
            )
        return self._orchestrator

    async def delegate_task(
        self,
        from_agent: str,
        to_agent_name: str,
        task: str | AgentTask,
        session_id: str,
        *,
        description: str = "",
        tool_ids: list[str] | None = None,
        skill_names: list[str] | None = None,
        options: dict[str, Any] | None = None,
        limits: DelegationLimits | None = None,
        output_type: Any = None,
    ) -> AgentResult:
        """Have ``to_agent_name`` do ``task`` in a child session of ``session_id``
        (``orchestrator.delegate_task``); with ``output_type`` its ``result.output`` is a
        validated value of that type."""
        await self._ready()
        return await self.orchestrator.delegate_task(
            from_agent,
            to_agent_name,
            task,
            session_id,
            description=description,
            tool_ids=tool_ids,
            skill_names=skill_names,
            options=options,
            limits=limits,
            output_type=output_type,
        )

    async def run_parallel_agents(
        self,
        tasks: list[AgentTask],
        session_id: str,
        *,
        max_concurrency: int = 4,
        from_agent: str = DEFAULT_AGENT,
        limits: DelegationLimits | None = None,
    ) -> list[AgentResult]:
        """Run ``tasks`` as child sessions of ``session_id``, ``max_concurrency`` at a
        time; results in the order of ``tasks`` (``orchestrator.run_parallel_agents``).
        A task's ``output_type`` makes its ``result.output`` a validated value."""
        await self._ready()
        return await self.orchestrator.run_parallel_agents(
            tasks,
            session_id,
            max_concurrency=max_concurrency,
            from_agent=from_agent,
            limits=limits,
        )

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
        self.executor.ask_user = handler

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
        return await self._history.history(session_id, tool=tool, limit=limit)

    def on_progress(self, callback: ProgressCallback) -> None:
        """Call ``callback(current, message)`` at each step and tool of a run."""
        self._callbacks.add_progress(callback)

    def on_notification(self, callback: NotificationCallback) -> None:
        """Call ``callback(notification)`` on retries, tool failures and finished runs."""
        self._callbacks.add_notification(callback)

    # --- sessions ----------------------------------------------------------------------

    async def create_session(
        self, title: str | None = None, version: str | None = None, *, parent_id: str | None = None
    ) -> Session:
        """A new session in this project (a child of ``parent_id``, when given)."""
        storage = await self._ready()
        session = await storage.create_session(
            title or "", version=version or VERSION, parent_id=parent_id
        )
        await self.events.publish(ev.SESSION_CREATED, {"session": session}, session_id=session.id)
        return session

    async def fork_session(self, session_id: str, message_id: str | None = None) -> Session:
        """A new session that copies ``session_id``'s messages up to and including
        ``message_id`` (all of them when None), to go on from there another way."""
        session = await (await self._ready()).fork_session(session_id, up_to=message_id)
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
        storage = await self._ready()
        self.abort(session_id)
        assert self._runtime is not None
        async with self._runtime.session_lock(session_id):  # the aborted run ends first
            await storage.delete_session(session_id)
        await self.events.publish(
            ev.SESSION_DELETED, {"session_id": session_id}, session_id=session_id
        )

    async def add_message(
        self, session_id: str, role: Literal["user", "assistant"], content: str
    ) -> str:
        """Store a message without running the model; returns its id."""
        storage = await self._ready()
        message_id = await storage.add_message(session_id=session_id, role=role, content=content)
        stored = await self.store.get_message(session_id, message_id)
        await self.events.publish(
            ev.MESSAGE_CREATED, {"message": stored.info}, session_id=session_id
        )
        return message_id

    async def get_messages(self, session_id: str) -> list[MessageWithParts]:
        return await (await self._ready()).get_messages(session_id)

    async def export_session(self, session_id: str) -> dict[str, Any]:
        return await (await self._ready()).export_session(session_id)

    async def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        return await (await self._ready()).import_session(data, overwrite=overwrite)

    # --- runs --------------------------------------------------------------------------

    def resolve_model(self, model: str | None = None, agent: Agent | None = None) -> str:
        """The ``provider/model`` a run will use: argument, agent, config, opencode.json,
        the default provider's model, a provider key in the environment, and last the
        local model (``local/smollm2-135m``, offline; needs the ``local`` extra)."""
        return self.models.resolve(model, agent)

    async def _ready_runtime(self) -> AgentRuntime:
        await self._ready()
        assert self._runtime is not None
        return self._runtime

    @overload
    async def prompt(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | str | None = None,
        wait: bool = True,
        output_type: type[T],
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult[T]: ...

    @overload
    async def prompt(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | str | None = None,
        wait: bool = True,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult[Any]: ...

    async def prompt(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | str | None = None,
        wait: bool = True,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult[Any]:
        """Run ``message`` with ``agent`` (default: build) until it is done.

        One run per session at a time: this waits for a run already in progress on the
        session, or with ``wait=False`` raises ``SessionBusyError``. Failures of the
        model call are in ``result.error`` (the session keeps what was stored);
        configuration mistakes raise before anything is stored.

        With ``output_type`` (docs/output.md) the answer is validated as that type
        and ``result.output`` holds it; ``output_mode`` picks how the model is asked
        (default: what the model supports best) and ``output_retries`` how often an
        invalid answer goes back to be fixed (default 2) before
        ``OutputValidationError`` is raised.
        """
        runtime = await self._ready_runtime()
        return await self._tasks.run(
            runtime.execute_agent(
                agent or self.default_agent(),
                session_id,
                message,
                model=model,
                wait=wait,
                output_type=output_type,
                output_mode=output_mode,
                output_retries=output_retries,
            )
        )

    def add_mcp_server(self, name: str, server: MCPServerConfig | dict[str, Any]) -> None:
        """Use the tools of the MCP server ``server`` (``{"type": "local", "command":
        [...]}`` or ``{"type": "remote", "url": ...}``) as ``<name>_<tool>``; it starts
        on the next run, or with ``connect_mcp``."""
        config = parse_servers({name: server}, "add_mcp_server")[name]
        self.mcp.add_server(name, config)

    async def connect_mcp(self) -> dict[str, str | None]:
        """Start every enabled MCP server now and register its tools; returns each
        server's failure (None for those that are up). Runs start them anyway."""
        await self._ready()
        return await self.mcp.connect()

    async def mcp_server(self, **options: Any) -> MCPServer:
        """This client's agents (and, with ``tools=True``, its registered tools) as an
        MCP server for embedding in an app (``sdk.mcp_server.agent_server``)."""
        from .mcp_server import agent_server

        return await agent_server(self, **options)

    async def get_command(self, name: str) -> Command:
        """The custom command ``name``. Raises ``NotFoundError`` listing the commands."""
        await self._ready()
        command = self.commands.get(name)
        if command is None:
            known = ", ".join(sorted(self.commands)) or "none"
            raise NotFoundError(
                f"no command named {name!r} (commands: {known}); add one as "
                f".opencode/command/{name}.md or under 'command' in opencode.json"
            )
        return command

    async def run_command(
        self,
        session_id: str,
        name: str,
        arguments: str = "",
        *,
        agent: str | None = None,
        model: str | None = None,
    ) -> AgentResult:
        """Run the custom command ``name`` with ``arguments`` (docs/commands.md), as
        OpenCode's ``/name arguments``: its template filled in, its shell segments run,
        its ``@file``s attached, then sent with its agent and model (``agent``/``model``
        here win). A command marked ``subtask`` (or whose agent is a subagent) runs as a
        task in a child session of ``session_id``."""
        command = await self.get_command(name)
        expanded = await expand_command(
            command,
            arguments,
            project_dir=self.config.resolved_project_dir,
            worktree=self._worktree,
        )
        agent_name = agent or expanded.agent or self.default_agent()
        chosen_model = model or expanded.model
        subtask = expanded.subtask is True or (
            expanded.subtask is None and self.agents.get(agent_name).mode == "subagent"
        )
        if subtask:
            return await self.delegate_task(
                self.default_agent(),
                agent_name,
                expanded.text,
                session_id,
                description=command.description or name,
                options={"model": chosen_model} if chosen_model else None,
            )
        return await self.prompt(session_id, expanded.text, agent=agent_name, model=chosen_model)

    def default_agent(self) -> str:
        """The agent a prompt without one runs: ``default_agent`` of ``opencode.json``
        (a primary agent that is not hidden, as OpenCode requires), else build.
        Raises ``ConfigError`` when the file names one that cannot be the default."""
        name = self._default_agent
        if name is None:
            return DEFAULT_AGENT
        primary = [a.name for a in self.agents.list("primary")]
        try:
            agent = self.agents.get(name)
        except NotFoundError:
            problem = "is not an agent"
        else:
            if agent.hidden:
                problem = "is hidden"
            elif agent.mode == "subagent":
                problem = "is a subagent"
            else:
                return name
        raise ConfigError(
            f"opencode.json: default_agent {name!r} {problem}; name a primary agent "
            f"({', '.join(primary)}) or pass agent= to choose one for this run"
        )

    @overload
    async def execute_agent(
        self,
        agent_name: str,
        session_id: str,
        user_message: str,
        options: dict[str, Any] | None = None,
        *,
        output_type: type[T],
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult[T]: ...

    @overload
    async def execute_agent(
        self,
        agent_name: str,
        session_id: str,
        user_message: str,
        options: dict[str, Any] | None = None,
        *,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult[Any]: ...

    async def execute_agent(
        self,
        agent_name: str,
        session_id: str,
        user_message: str,
        options: dict[str, Any] | None = None,
        *,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult[Any]:
        """Run a registered agent in a stored session. ``options`` may set model,
        temperature, top_p, steps or prompt for this run; other keys are provider
        options. ``output_type`` and the rest are as for ``prompt``."""
        runtime = await self._ready_runtime()
        return await self._tasks.run(
            runtime.execute_agent(
                agent_name,
                session_id,
                user_message,
                options=options,
                output_type=output_type,
                output_mode=output_mode,
                output_retries=output_retries,
            )
        )

    @overload
    def stream(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | str | None = None,
        output_type: type[T],
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AsyncIterator[Event | AgentResult[T]]: ...

    @overload
    def stream(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | str | None = None,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AsyncIterator[Event | AgentResult[Any]]: ...

    async def stream(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        agent: Agent | str | None = None,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AsyncIterator[Event | AgentResult[Any]]:
        """Run like ``prompt`` and yield each event of the run as it happens, then the
        result. Leaving the loop early aborts the run. With ``output_type``, events of
        type ``output.partial`` carry the answer so far as it streams
        (``event.partial``); the result holds the validated one."""
        runtime = await self._ready_runtime()
        run_id = new_id("task")
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        sessions = {session_id}  # the run's own, and its subagents' as they start
        mine = False  # a run already on the session is not ours: skip its events

        def forward(event: Event) -> None:
            nonlocal mine
            if event.session_id not in sessions:
                return
            if event.type == ev.RUN_STARTED and event.session_id == session_id:
                mine = event.data.get("run_id") == run_id
            if mine:
                if event.type == ev.TASK_STARTED:
                    sessions.add(event.data["child_session_id"])
                queue.put_nowait(event)
            if event.type == ev.RUN_FINISHED and event.data.get("run_id") == run_id:
                mine = False

        unsubscribe = self.events.subscribe("*", forward)
        task = self._tasks.spawn(
            runtime.execute_agent(
                agent or self.default_agent(),
                session_id,
                message,
                model=model,
                run_id=run_id,
                output_type=output_type,
                output_mode=output_mode,
                output_retries=output_retries,
            )
        )
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (item := await queue.get()) is not None:
                yield item
            yield task.result()
        finally:
            unsubscribe()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})

    def abort(self, session_id: str) -> bool:
        """Abort the run in progress on ``session_id`` and the subagents it started;
        returns False when nothing was running."""
        if self._runtime is None or self._orchestrator is None:
            return False
        stopped = self._orchestrator.cancel_all(session_id)
        return self._runtime.abort(session_id) or stopped > 0

    async def compact_session(self, session_id: str, *, model: str | None = None) -> bool:
        """Summarise the session's history now (the summary replaces older turns)."""
        runtime = await self._ready_runtime()
        return await self._tasks.run(runtime.compact_session(session_id, model=model))

    async def archive_session(self, session_id: str) -> Session:
        """Mark a session archived (kept, but done with)."""
        storage = await self._ready()
        session = await storage.get_session(session_id)
        session.time.archived = now_ms()
        await self.store.update_session(session)
        await self.events.publish(ev.SESSION_ARCHIVED, {"session": session}, session_id=session_id)
        return session

    # --- agents ------------------------------------------------------------------------

    async def register_agent(self, agent: Agent) -> Agent:
        """Add (or override by name) an agent; it is stored and survives a restart."""
        await self._ready()
        return await self.agents.register(agent)

    async def get_agent(self, name: str) -> Agent:
        await self._ready()
        return self.agents.get(name)

    async def list_agents(self, mode: Literal["primary", "subagent"] | None = None) -> list[Agent]:
        """Visible agents; ``mode="subagent"`` lists those other agents may delegate to."""
        await self._ready()
        return self.agents.list(mode)

    async def remove_agent(self, name: str) -> None:
        """Remove an agent of yours (a built-in it overrode comes back)."""
        await self._ready()
        await self.agents.remove(name)

    def list_running_agents(self) -> list[AgentRun]:
        """Agents executing right now, with their state."""
        return self.manager.running()

    # --- project -----------------------------------------------------------------------

    async def project(self) -> ProjectInfo:
        """The project this client works on: its id (which its sessions carry), the
        directory, and the git worktree root (the directory itself outside git)."""
        return await (await self._ready()).project()

    # --- lifecycle hooks ---------------------------------------------------------------

    def on_session_created(self, hook: Hook) -> None:
        self.lifecycle.add("on_session_created", hook)

    def on_session_updated(self, hook: Hook) -> None:
        self.lifecycle.add("on_session_updated", hook)

    def on_message_added(self, hook: Hook) -> None:
        self.lifecycle.add("on_message_added", hook)

    def on_session_archived(self, hook: Hook) -> None:
        self.lifecycle.add("on_session_archived", hook)

    def on_session_compacted(self, hook: Hook) -> None:
        self.lifecycle.add("on_session_compacted", hook)


def _summarizer_factory(
    models: ModelChooser, agents: AgentRegistry, providers: ProviderRegistry
) -> Callable[[], MemorySummarizer]:
    """Summaries and facts use the small model if one is set, else the default (built
    when first needed, so a model registered after opening is used)."""

    def summarizer() -> MemorySummarizer:
        provider, info = providers.resolve_model(models.small_model())
        prompt = agents.get("summary").prompt or ""
        return MemorySummarizer(
            provider, info.model_id, prompt, cost_of=lambda usage: cost_of(info, usage)
        )

    return summarizer


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
