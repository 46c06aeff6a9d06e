"""``AgentRuntime``: runs any registered agent in a real stored session.

One path for every run (``client.prompt`` included): resolve the agent and its model,
evaluate its rules, build its context (tools it may use, skills, instructions,
history since the last compaction), run the loop with compaction on overflow, and name
a new session with the title agent, its cost counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..context.builder import AgentContext, ContextBuilder
from ..context.compaction import Compactor, estimate_tokens, usable_context
from ..core import events as ev
from ..core.errors import OpenCodeError
from ..core.events import EventBus
from ..core.models import (
    MemoryEntry,
    MessageWithParts,
    PermissionRule,
    Session,
    TokenUsage,
    now_ms,
)
from ..memory.manager import MemoryManager
from ..permissions.gate import PermissionGate
from ..providers.base import ChatMessage, ChatRequest, Provider, TextBlock
from ..providers.catalog import ModelInfo, cost_of
from ..providers.complete import complete_text
from ..providers.registry import ProviderRegistry
from ..providers.retry import RetryPolicy
from ..storage.base import Store
from ..storage.store import has_default_title
from ..tools.executor import ToolExecutionManager
from ..tools.framework import QuestionCallback
from .agent import Agent
from .delegation import DelegationLimits, DelegationNode, DelegationTree
from .loop import AISession
from .manager import AgentManager
from .registry import AgentRegistry
from .result import AgentResult

log = logging.getLogger(__name__)

MEMORIES_PER_RUN = 5
AGENT_FIELDS = {"model", "temperature", "top_p", "steps", "prompt"}
TITLE_MAX = 60


@dataclass(slots=True)
class RuntimeSettings:
    """The client settings a run reads, resolved once per client."""

    max_steps: int = 50
    small_model: str | None = None
    generate_titles: bool = False
    delegation: DelegationLimits = field(default_factory=DelegationLimits)


class AgentRuntime:
    """Executes agents; one run per session at a time."""

    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        providers: ProviderRegistry,
        executor: ToolExecutionManager,
        permissions: PermissionGate,
        agents: AgentRegistry,
        context: ContextBuilder,
        manager: AgentManager,
        settings: RuntimeSettings,
        resolve_model: Callable[[str | None, Agent | None], str],
        retry: Callable[[], RetryPolicy],
        ask_user: Callable[[], QuestionCallback | None],
        memory: MemoryManager | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.providers = providers
        self.executor = executor
        self.permissions = permissions
        self.agents = agents
        self.context = context
        self.manager = manager
        self.settings = settings
        self.resolve_model = resolve_model
        self.retry = retry
        self.ask_user = ask_user
        self.memory = memory
        self._runs: dict[str, AISession] = {}

    # --- runs --------------------------------------------------------------------------

    async def prepare(
        self,
        agent: str | Agent,
        session_id: str,
        *,
        model: str | None = None,
        options: dict[str, Any] | None = None,
        user_message: str = "",
        delegation: DelegationNode | None = None,
        extra_rules: Sequence[PermissionRule] = (),
        only_tools: Collection[str] | None = None,
    ) -> tuple[AISession, AgentContext]:
        """Everything a run needs, checked before anything is stored.

        The memories most relevant to ``user_message`` go into the system prompt. A
        subagent's run gets its place in the delegation tree (``delegation``), whose
        inherited deny rules come last so they win; ``extra_rules`` come before them and
        ``only_tools`` narrows the tools offered. Without ``delegation`` the run is the
        root of a new tree under the client's delegation limits.
        """
        if session_id in self._runs:
            raise OpenCodeError(
                f"session {session_id} already has a run in progress; "
                "wait for it to finish or call abort() first"
            )
        chosen = _with_options(self.agents.get(agent) if isinstance(agent, str) else agent, options)
        session = await self.store.get_session(session_id)
        model_name = self.resolve_model(model, chosen)
        provider, info = self.providers.resolve_model(model_name)
        node = delegation or DelegationNode(DelegationTree(self.settings.delegation))
        rules = [
            *self.permissions.rules_for(
                project_id=session.project_id,
                agent=chosen.name,
                agent_rules=chosen.permission,
                session_rules=session.permission,
            ),
            *extra_rules,
            *node.inherited,
        ]
        if node.depth >= node.tree.limits.max_depth:  # may not delegate any deeper
            rules.append(PermissionRule(permission="task", pattern="*", action="deny"))
        memories: list[MemoryEntry] = []
        if self.memory is not None and user_message.strip():
            memories = await self.memory.search_memory(
                session.id, user_message, limit=MEMORIES_PER_RUN, agent=chosen.name
            )
        context = await self.context.build_agent_context(
            session, chosen, model=model_name, rules=rules, memories=memories
        )
        if only_tools is not None:
            context.tools = [t for t in context.tools if t.name in only_tools]
        runner = AISession(
            session=session,
            agent=chosen,
            provider=provider,
            model_id=info.model_id,
            store=self.store,
            bus=self.bus,
            executor=self.executor,
            tools=context.tools,
            system=[context.system_prompt],
            retry=self.retry(),
            max_steps=self.settings.max_steps,
            max_output_tokens=info.max_output,
            cost_of=lambda usage: cost_of(info, usage),
            directory=session.directory,
            rules=rules,
            project_id=session.project_id,
            ask_user=self.ask_user(),
            compact=self._compaction_hook(session, provider, info),
            usable_context=usable_context(info.context_window, info.max_output),
            delegation=node,
        )
        return runner, context

    async def execute_agent(
        self,
        agent: str | Agent,
        session_id: str,
        user_message: str,
        *,
        model: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> AgentResult:
        """Run ``agent`` on ``user_message`` in the stored session until it is done."""
        runner, context = await self.prepare(
            agent, session_id, model=model, options=options, user_message=user_message
        )
        return await self.run(runner, context, user_message)

    async def run(self, runner: AISession, context: AgentContext, user_message: str) -> AgentResult:
        """Run a prepared session, tracked by the manager, titling a new session."""
        session_id = runner.session.id
        started_ms = now_ms()
        self._runs[session_id] = runner
        tracked = await self.manager.start(runner.agent.name, session_id)
        title = None
        if (
            self.settings.generate_titles
            and not context.messages
            and has_default_title(runner.session)
        ):
            title = asyncio.create_task(self._title(runner.session, user_message))
        try:
            await self.manager.set_state(tracked, "ready")
            await self.manager.set_state(tracked, "executing")
            result = await runner.run(user_message, list(context.messages))
        except BaseException as exc:
            await self.manager.set_state(tracked, "error", str(exc) or type(exc).__name__)
            if title is not None:
                title.cancel()
            raise
        finally:
            self._runs.pop(session_id, None)
        if title is not None:
            await asyncio.wait({title})
        if runner.agent.remember and not result.error:
            await self._remember(runner, started_ms)
        await self.manager.set_state(tracked, "error" if result.error else "finished", result.error)
        return result

    def active_run(self, session_id: str) -> AISession | None:
        """The run in progress on ``session_id``, if any."""
        return self._runs.get(session_id)

    def abort(self, session_id: str) -> bool:
        run = self._runs.get(session_id)
        if run is None:
            return False
        run.abort()
        return True

    def abort_all(self) -> None:
        for run in list(self._runs.values()):
            run.abort()

    # --- compaction --------------------------------------------------------------------

    def _compactor(self, provider: Provider, info: ModelInfo) -> Compactor:
        prompt = self.agents.get("compaction").prompt or ""
        return Compactor(
            store=self.store,
            bus=self.bus,
            provider=provider,
            model_id=info.model_id,
            prompt=prompt,
        )

    def _compaction_hook(
        self, session: Session, provider: Provider, info: ModelInfo
    ) -> Callable[[list[MessageWithParts]], Any]:
        limit = usable_context(info.context_window, info.max_output)

        async def compact(history: list[MessageWithParts]) -> list[MessageWithParts]:
            compactor = self._compactor(provider, info)
            if await compactor.prune(history) and limit and estimate_tokens(history) < limit:
                return history
            new_history, usage = await compactor.summarize(session, history)
            await self._charge(session.id, usage, cost_of(info, usage))
            return new_history

        return compact

    async def compact_session(self, session_id: str, *, model: str | None = None) -> bool:
        """Summarise a session now; returns False when there is nothing to compact."""
        session = await self.store.get_session(session_id)
        messages = await self.store.list_messages(session_id)
        if not messages:
            return False
        provider, info = self.providers.resolve_model(self.resolve_model(model, None))
        compactor = self._compactor(provider, info)
        await compactor.prune(messages)
        _, usage = await compactor.summarize(session, messages, auto=False)
        await self._charge(session_id, usage, cost_of(info, usage))
        return True

    async def _remember(self, runner: AISession, since_ms: int) -> None:
        """Keep the facts of this run worth remembering (agents with ``remember=True``)."""
        if self.memory is None:
            return
        session_id = runner.session.id
        messages = [
            m for m in await self.store.list_messages(session_id) if m.info.time.created >= since_ms
        ]
        try:
            _, usage, cost = await self.memory.remember_facts(
                session_id, messages, agent=runner.agent.name
            )
        except Exception:
            log.warning("could not extract facts from session %s", session_id, exc_info=True)
            return
        await self._charge(session_id, usage, cost)

    # --- titles ------------------------------------------------------------------------

    async def _title(self, session: Session, user_message: str) -> None:
        """Name a new session from its first message with the title agent (best effort)."""
        try:
            name = self.settings.small_model or self.resolve_model(None, None)
            provider, info = self.providers.resolve_model(name)
            prompt = self.agents.get("title").prompt or ""
            request = ChatRequest(
                model=info.model_id,
                system=[prompt],
                messages=[ChatMessage("user", [TextBlock(user_message)])],
                max_output_tokens=64,
            )
            text, usage = await complete_text(provider, request)
            title = text.strip().strip("\"'").splitlines()[0][:TITLE_MAX] if text.strip() else ""
            await self._charge(session.id, usage, cost_of(info, usage))
            current = await self.store.get_session(session.id)
            if title and has_default_title(current):
                current.title = title
                await self.store.update_session(current)
                await self.bus.publish(
                    ev.SESSION_UPDATED, {"session": current}, session_id=session.id
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not generate a title for session %s", session.id, exc_info=True)

    async def _charge(self, session_id: str, usage: TokenUsage, cost: float) -> None:
        """Count a side call (title, compaction) in the session's totals."""
        session = await self.store.add_session_usage(session_id, usage, cost)
        await self.bus.publish(ev.SESSION_UPDATED, {"session": session}, session_id=session_id)


def _with_options(agent: Agent, options: dict[str, Any] | None) -> Agent:
    """The agent with per-run options: known fields replace, the rest are provider options."""
    if not options:
        return agent
    fields = {k: v for k, v in options.items() if k in AGENT_FIELDS}
    extra = {k: v for k, v in options.items() if k not in AGENT_FIELDS}
    return agent.model_copy(update={**fields, "options": {**agent.options, **extra}})
