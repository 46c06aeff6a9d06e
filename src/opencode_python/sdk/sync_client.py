"""``OpenCodeSyncClient``: the async client for plain scripts and notebooks.

It runs the async client on an event loop in a background thread, so it works the
same in a script and inside code that already runs a loop (a Jupyter cell), without an
``asyncio.run`` per call. Callbacks and event handlers run on that thread.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

from ..agents.agent import Agent
from ..agents.builtin import DEFAULT_AGENT
from ..agents.delegation import DelegationLimits
from ..agents.manager import AgentRun
from ..agents.result import AgentResult
from ..agents.task import AgentTask, TaskStatus
from ..core.events import Event, EventBus
from ..core.models import Approval, MemoryEntry, MessageWithParts, Session, ToolExecution
from ..memory.manager import MemoryManager
from ..permissions.gate import Approver
from ..providers.base import Provider
from ..providers.config import ProviderConfig
from ..providers.profile import OutputMode
from ..tools.framework import QuestionCallback, Tool
from .callbacks import NotificationCallback, ProgressCallback
from .client import OpenCodeAsyncClient
from .config import SDKConfig
from .io import IOHandler
from .lifecycle import Hook

T = TypeVar("T")
_DONE = object()


class OpenCodeSyncClient:
    """The same API as ``OpenCodeAsyncClient``, with blocking methods."""

    def __init__(self, config: SDKConfig | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="opencode-python-loop", daemon=True
        )
        self._thread.start()
        self.client = OpenCodeAsyncClient(config)
        self._closed = False

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("this client is closed; create a new OpenCodeSyncClient")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def config(self) -> SDKConfig:
        return self.client.config

    @property
    def events(self) -> EventBus:
        return self.client.events

    def __enter__(self) -> OpenCodeSyncClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the async client and stop the background loop. Safe to call twice."""
        if self._closed:
            return
        self._run(self.client.close())
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def register_tool(
        self, tool: Tool, tool_id: str | None = None, *, replace: bool = False
    ) -> str:
        return self._run(self.client.register_tool(tool, tool_id, replace=replace))

    def register_provider(self, provider: ProviderConfig | Provider | str, **settings: Any) -> None:
        self.client.register_provider(provider, **settings)

    def on_permission(self, approver: Approver) -> None:
        """``approver`` runs on the client's background thread."""
        self.client.on_permission(approver)

    def set_io_handler(self, io: IOHandler) -> None:
        """``io``'s methods run on the client's background thread."""
        self.client.set_io_handler(io)

    def on_question(self, handler: QuestionCallback) -> None:
        """``handler`` runs on the client's background thread."""
        self.client.on_question(handler)

    def list_approvals(self, agent: str | None = None) -> list[Approval]:
        return self._run(self.client.list_approvals(agent))

    def revoke_approval(self, agent: str, permission: str, pattern: str) -> bool:
        return self._run(self.client.revoke_approval(agent, permission, pattern))

    def get_execution_history(
        self, session_id: str, limit: int = 100, *, tool: str | None = None
    ) -> list[ToolExecution]:
        return self._run(self.client.get_execution_history(session_id, limit, tool=tool))

    def on_progress(self, callback: ProgressCallback) -> None:
        self.client.on_progress(callback)

    def on_notification(self, callback: NotificationCallback) -> None:
        self.client.on_notification(callback)

    def create_session(
        self, title: str | None = None, version: str | None = None, *, parent_id: str | None = None
    ) -> Session:
        return self._run(self.client.create_session(title, version, parent_id=parent_id))

    def fork_session(self, session_id: str, message_id: str | None = None) -> Session:
        return self._run(self.client.fork_session(session_id, message_id))

    def get_session(self, session_id: str) -> Session:
        return self._run(self.client.get_session(session_id))

    def list_sessions(self, *, all_projects: bool = False) -> list[Session]:
        return self._run(self.client.list_sessions(all_projects=all_projects))

    def rename_session(self, session_id: str, title: str) -> Session:
        return self._run(self.client.rename_session(session_id, title))

    def delete_session(self, session_id: str) -> None:
        self._run(self.client.delete_session(session_id))

    def add_message(self, session_id: str, role: Literal["user", "assistant"], content: str) -> str:
        return self._run(self.client.add_message(session_id, role, content))

    def get_messages(self, session_id: str) -> list[MessageWithParts]:
        return self._run(self.client.get_messages(session_id))

    def export_session(self, session_id: str) -> dict[str, Any]:
        return self._run(self.client.export_session(session_id))

    def import_session(self, data: dict[str, Any], *, overwrite: bool = False) -> Session:
        return self._run(self.client.import_session(data, overwrite=overwrite))

    @overload
    def prompt(
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
    def prompt(
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

    def prompt(
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
        return self._run(
            self.client.prompt(
                session_id,
                message,
                model=model,
                agent=agent,
                wait=wait,
                output_type=output_type,
                output_mode=output_mode,
                output_retries=output_retries,
            )
        )

    def run_command(
        self,
        session_id: str,
        name: str,
        arguments: str = "",
        *,
        agent: str | None = None,
        model: str | None = None,
    ) -> AgentResult:
        """Run a custom command (``OpenCodeAsyncClient.run_command``)."""
        return self._run(
            self.client.run_command(session_id, name, arguments, agent=agent, model=model)
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
    ) -> Iterator[Event | AgentResult[T]]: ...

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
    ) -> Iterator[Event | AgentResult[Any]]: ...

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
    ) -> Iterator[Event | AgentResult[Any]]:
        """Yield the run's events as they happen, then the result."""
        items: queue.Queue[Any] = queue.Queue()
        events = self.client.stream(
            session_id,
            message,
            model=model,
            agent=agent,
            output_type=output_type,
            output_mode=output_mode,
            output_retries=output_retries,
        )

        async def pump() -> None:
            try:
                async for item in events:
                    items.put(item)
            except BaseException as exc:
                items.put(exc)
            finally:
                items.put(_DONE)

        future = asyncio.run_coroutine_threadsafe(pump(), self._loop)
        try:
            while (item := items.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not future.done():
                self.abort(session_id)
                future.result()

    @property
    def memory(self) -> MemoryManager:
        """The async memory manager (its methods must run on the client's loop; prefer
        ``store_memory`` and ``search_memory`` here)."""
        return self.client.memory

    def store_memory(
        self, session_id: str | None, content: str, metadata: dict[str, Any] | None = None
    ) -> str:
        return self._run(self.client.store_memory(session_id, content, metadata))

    def search_memory(
        self, session_id: str | None, query: str, limit: int = 10
    ) -> list[MemoryEntry]:
        return self._run(self.client.search_memory(session_id, query, limit))

    def execute_agent(
        self,
        agent_name: str,
        session_id: str,
        user_message: str,
        options: dict[str, Any] | None = None,
        *,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult:
        return self._run(
            self.client.execute_agent(
                agent_name,
                session_id,
                user_message,
                options,
                output_type=output_type,
                output_mode=output_mode,
                output_retries=output_retries,
            )
        )

    def delegate_task(
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
        return self._run(
            self.client.delegate_task(
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
        )

    def run_parallel_agents(
        self,
        tasks: list[AgentTask],
        session_id: str,
        *,
        max_concurrency: int = 4,
        from_agent: str = DEFAULT_AGENT,
        limits: DelegationLimits | None = None,
    ) -> list[AgentResult]:
        return self._run(
            self.client.run_parallel_agents(
                tasks,
                session_id,
                max_concurrency=max_concurrency,
                from_agent=from_agent,
                limits=limits,
            )
        )

    def list_tasks(
        self, *, session_id: str | None = None, status: TaskStatus | None = None
    ) -> list[AgentTask]:
        """Delegated tasks, as ``client.orchestrator.list_tasks``."""

        async def on_loop() -> list[AgentTask]:
            await self.client._ready()
            return self.client.orchestrator.list_tasks(session_id=session_id, status=status)

        return self._run(on_loop())

    def cancel_task(self, task_id: str) -> bool:
        """Stop a running delegated task; False when it is not running."""

        async def on_loop() -> bool:
            await self.client._ready()
            return self.client.orchestrator.cancel(task_id)

        return self._run(on_loop())

    def register_agent(self, agent: Agent) -> Agent:
        return self._run(self.client.register_agent(agent))

    def get_agent(self, name: str) -> Agent:
        return self._run(self.client.get_agent(name))

    def list_agents(self, mode: Literal["primary", "subagent"] | None = None) -> list[Agent]:
        return self._run(self.client.list_agents(mode))

    def remove_agent(self, name: str) -> None:
        self._run(self.client.remove_agent(name))

    def list_running_agents(self) -> list[AgentRun]:
        return self.client.list_running_agents()

    def compact_session(self, session_id: str, *, model: str | None = None) -> bool:
        return self._run(self.client.compact_session(session_id, model=model))

    def archive_session(self, session_id: str) -> Session:
        return self._run(self.client.archive_session(session_id))

    def on_session_created(self, hook: Hook) -> None:
        self.client.on_session_created(hook)

    def on_session_updated(self, hook: Hook) -> None:
        self.client.on_session_updated(hook)

    def on_message_added(self, hook: Hook) -> None:
        self.client.on_message_added(hook)

    def on_session_archived(self, hook: Hook) -> None:
        self.client.on_session_archived(hook)

    def on_session_compacted(self, hook: Hook) -> None:
        self.client.on_session_compacted(hook)

    def abort(self, session_id: str) -> bool:
        """Abort the run in progress on ``session_id``; False when none is running."""

        async def abort_on_loop() -> bool:
            return self.client.abort(session_id)

        return self._run(abort_on_loop())
