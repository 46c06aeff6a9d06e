"""``AgentRuntime``: runs any registered agent in a real stored session.

One path for every run (``client.prompt`` included): take the session's run lock,
close what a dead process left unfinished, resolve the agent and its model, evaluate
its rules, build its context (tools it may use, skills, instructions, history since
the last compaction), run the steps with compaction on overflow, and name a new
session with the title agent, its cost counted. The runtime is given values, never
callbacks into the client, so it holds no reference back to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..context.builder import AgentContext, ContextBuilder
from ..context.compaction import Compacted, Compactor, estimate_tokens, usable_context
from ..core import events as ev
from ..core.errors import ConfigError, OutputValidationError, SessionBusyError
from ..core.events import EventBus
from ..core.models import (
    MemoryEntry,
    MessageWithParts,
    PermissionRule,
    Session,
    TokenUsage,
    now_ms,
)
from ..core.tasks import TaskScope
from ..memory.manager import MemoryManager
from ..permissions.gate import PermissionGate
from ..providers.base import ChatMessage, ChatRequest, Provider, TextBlock, ToolSchema
from ..providers.catalog import ModelInfo, cost_of
from ..providers.complete import complete_text
from ..providers.profile import OutputMode, profile_of
from ..providers.registry import ProviderRegistry
from ..providers.retry import RetryPolicy
from ..storage.contract import Store
from ..storage.store import has_default_title
from ..tools.executor import ToolExecutionManager
from .agent import Agent
from .builtin import permission_layers
from .delegation import DelegationLimits, DelegationNode, DelegationTree
from .manager import AgentManager
from .models import ModelChooser
from .output import FINAL_TOOL, plan_output
from .registry import AgentRegistry
from .result import AgentResult
from .run.deps import RunDeps
from .run.handle import AISession
from .run.recorder import RunRecorder

log = logging.getLogger(__name__)

MEMORIES_PER_RUN = 5
AGENT_FIELDS = {"model", "temperature", "top_p", "steps", "prompt"}
TITLE_MAX = 60


@dataclass(slots=True)
class RuntimeSettings:
    """The client settings a run reads, resolved once per client."""

    max_steps: int = 50
    generate_titles: bool = False
    delegation: DelegationLimits = field(default_factory=DelegationLimits)


class ToolSource(Protocol):
    """Tools that come and go (MCP servers'): made ready before a run, and asked before
    each model call whether they changed; also reads the resources an agent is given."""

    async def ensure_connected(self) -> None: ...

    def changed(self) -> bool: ...

    async def resource_context(self, refs: Sequence[str]) -> list[str]: ...


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
        models: ModelChooser,
        retry: RetryPolicy,
        tasks: TaskScope,
        memory: MemoryManager | None = None,
        tool_source: ToolSource | None = None,
    ) -> None:
        self.store = store
        self.tool_source = tool_source
        self.bus = bus
        self.providers = providers
        self.executor = executor
        self.permissions = permissions
        self.agents = agents
        self.context = context
        self.manager = manager
        self.settings = settings
        self.models = models
        self.retry = retry
        self.tasks = tasks
        self.memory = memory
        self._runs: dict[str, AISession] = {}
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    # --- one run per session -------------------------------------------------------------

    @asynccontextmanager
    async def session_lock(self, session_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold ``session_id`` for one run; a second run waits its turn, or with
        ``wait=False`` raises ``SessionBusyError``."""
        lock, users = self._locks.setdefault(session_id, (asyncio.Lock(), [0]))
        if lock.locked() and not wait:
            raise SessionBusyError(
                f"session {session_id} already has a run in progress; wait for it "
                "(prompt(..., wait=True), the default) or call abort() first"
            )
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[session_id]

    async def recover(self, session_id: str) -> None:
        """Close, as interrupted, what a dead process (or a broken run of this one) left
        unfinished in the session, before a new run reads its history."""
        recovery = await self.store.recover_interrupted(session_id=session_id, include_own=True)
        if not (recovery.messages or recovery.parts):
            return
        log.warning(
            "session %s: closed %d message(s) and %d part(s) a stopped process left "
            "unfinished, as interrupted",
            session_id,
            len(recovery.messages),
            len(recovery.parts),
        )
        for message in recovery.messages:
            await self.bus.publish(ev.MESSAGE_UPDATED, {"message": message}, session_id=session_id)
        for part in recovery.parts:
            await self.bus.publish(ev.PART_UPDATED, {"part": part}, session_id=session_id)

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
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> tuple[AISession, AgentContext]:
        """Everything a run needs, checked before anything is stored.

        The memories most relevant to ``user_message`` go into the system prompt. A
        subagent's run gets its place in the delegation tree (``delegation``), whose
        ceilings (the delegating runs' rules) it can never exceed; ``extra_rules`` come
        after its own and ``only_tools`` narrows the tools offered. Without
        ``delegation`` the run is the root of a new tree under the client's limits.
        ``output_type``, ``output_mode`` and ``output_retries`` override the agent's.
        """
        chosen = _with_options(self.agents.get(agent) if isinstance(agent, str) else agent, options)
        session = await self.store.get_session(session_id)
        model_name = self.models.resolve(model, chosen)
        provider, info = self.providers.resolve_model(model_name)
        output = plan_output(
            chosen.output_type if output_type is None else output_type,
            mode=output_mode or chosen.output_mode,
            retries=chosen.output_retries if output_retries is None else output_retries,
            profile=profile_of(provider, info.model_id),
        )
        node = delegation or DelegationNode(DelegationTree(self.settings.delegation))
        shipped, own = permission_layers(chosen)
        rules = [
            *self.permissions.rules_for(
                project_id=session.project_id,
                agent=chosen.name,
                agent_defaults=shipped,
                agent_rules=own,
                session_rules=session.permission,
            ),
            *extra_rules,
        ]
        if node.depth >= node.tree.limits.max_depth:  # may not delegate any deeper
            rules.append(PermissionRule(permission="task", pattern="*", action="deny"))
        memories: list[MemoryEntry] = []
        if self.memory is not None and user_message.strip():
            memories = await self.memory.search_memory(
                session.id, user_message, limit=MEMORIES_PER_RUN, agent=chosen.name
            )
        source = self.tool_source
        if source is not None:
            await source.ensure_connected()

        async def agent_context() -> AgentContext:
            built = await self.context.build_agent_context(
                session,
                chosen,
                model=model_name,
                rules=rules,
                memories=memories,
                ceilings=node.ceilings,
            )
            if only_tools is not None:
                built.tools = [t for t in built.tools if t.name in only_tools]
            return built

        async def refresh_tools() -> tuple[ToolSchema, ...] | None:
            """The agent's tools again, when a server's list changed since."""
            if source is None or not source.changed():
                return None
            await source.ensure_connected()
            return tuple((await agent_context()).tools)

        context = await agent_context()
        if (
            output is not None
            and output.mode == "tool"
            and FINAL_TOOL in {t.name for t in context.tools}
        ):
            raise ConfigError(
                f"agent {chosen.name!r} is offered a tool named {FINAL_TOOL!r}, the name "
                "structured output's final-answer tool takes; rename that tool, or use "
                "output_mode='native' or 'prompted'"
            )
        resources = await source.resource_context(chosen.resources) if source else []
        deps = RunDeps(
            session=session,
            agent=chosen,
            provider=provider,
            model_id=info.model_id,
            executor=self.executor,
            delegation=node,
            tools=tuple(context.tools),
            system=(context.system_prompt, *resources),
            rules=tuple(rules),
            retry=self.retry,
            max_steps=max(1, chosen.steps or self.settings.max_steps),
            max_output_tokens=info.max_output,
            cost_of=lambda usage: cost_of(info, usage),
            usable_context=usable_context(info.context_window, info.max_output),
            compact=_Compaction(self._compactor(provider, info), session, info),
            refresh_tools=refresh_tools if source is not None else None,
            output=output,
        )
        return AISession(deps, self.store, self.bus), context

    async def execute_agent(
        self,
        agent: str | Agent,
        session_id: str,
        user_message: str,
        *,
        model: str | None = None,
        options: dict[str, Any] | None = None,
        wait: bool = True,
        run_id: str | None = None,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
    ) -> AgentResult:
        """Run ``agent`` on ``user_message`` in the stored session until it is done,
        after any run already in progress on it (or, with ``wait=False``, not at all).
        ``run_id`` names the run in its ``run.started`` and ``run.finished`` events.

        Raises ``OutputValidationError`` when the answers did not validate as the
        output type after every retry (the session keeps each attempt).
        """
        async with self.session_lock(session_id, wait=wait):
            await self.recover(session_id)
            runner, context = await self.prepare(
                agent,
                session_id,
                model=model,
                options=options,
                user_message=user_message,
                output_type=output_type,
                output_mode=output_mode,
                output_retries=output_retries,
            )
            if run_id is not None:
                runner.run_id = run_id
            result = await self.run(runner, context, user_message)
        failure = runner.output_failure
        if failure is not None:
            raw, errors = failure
            raise OutputValidationError(
                f"{result.error}. The last answer was: {raw[:500]}",
                raw=raw,
                errors=errors,
                result=result,
            )
        return result

    async def run(self, runner: AISession, context: AgentContext, user_message: str) -> AgentResult:
        """Run a prepared session (its lock held), tracked by the manager, titling a
        new session."""
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
            title = self.tasks.spawn(self._title(runner.session, user_message))
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

    # --- compaction --------------------------------------------------------------------

    def _compactor(self, provider: Provider, info: ModelInfo) -> Compactor:
        prompt = self.agents.get("compaction").prompt or ""
        return Compactor(provider=provider, model_id=info.model_id, prompt=prompt)

    async def compact_session(self, session_id: str, *, model: str | None = None) -> bool:
        """Summarise a session now; returns False when there is nothing to compact."""
        async with self.session_lock(session_id):
            session = await self.store.get_session(session_id)
            messages = await self.store.list_messages(session_id)
            if not messages:
                return False
            provider, info = self.providers.resolve_model(self.models.resolve(model, None))
            compactor = self._compactor(provider, info)
            pruned = compactor.prune(messages)
            compacted = await compactor.summarize(session, messages, auto=False)
            recorder = RunRecorder(self.store, self.bus, session_id, "compaction")
            for part in pruned:
                await recorder.part_updated(part)
            for message in compacted.added:
                await recorder.message_started(message)
            recorder.charge(
                compacted.usage, cost_of(info, compacted.usage), message=compacted.summary
            )
            await recorder.flush()
            await recorder.publish(
                ev.SESSION_COMPACTED,
                {"session": session, "summary": compacted.summary_text, "keep_from": None},
            )
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
        await charge_session(self.store, self.bus, session_id, usage, cost)

    # --- titles ------------------------------------------------------------------------

    async def _title(self, session: Session, user_message: str) -> None:
        """Name a new session from its first message with the title agent (best effort)."""
        try:
            provider, info = self.providers.resolve_model(self.models.small_model())
            prompt = self.agents.get("title").prompt or ""
            request = ChatRequest(
                model=info.model_id,
                system=[prompt],
                messages=[ChatMessage("user", [TextBlock(user_message)])],
                max_output_tokens=64,
            )
            text, usage = await complete_text(provider, request)
            title = text.strip().strip("\"'").splitlines()[0][:TITLE_MAX] if text.strip() else ""
            await charge_session(self.store, self.bus, session.id, usage, cost_of(info, usage))
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


async def charge_session(
    store: Store, bus: EventBus, session_id: str, usage: TokenUsage, cost: float
) -> None:
    """Count a side call (title, facts, a subagent run from code) in a session's totals."""
    recorder = RunRecorder(store, bus, session_id, "")
    recorder.charge(usage, cost)
    await recorder.flush()


@dataclass(slots=True)
class _Compaction:
    """The run's compaction: prune first; summarise only if pruning was not enough."""

    compactor: Compactor
    session: Session
    info: ModelInfo

    async def __call__(self, history: Sequence[MessageWithParts]) -> Compacted:
        pruned = self.compactor.prune(history)
        limit = usable_context(self.info.context_window, self.info.max_output)
        if pruned and limit and estimate_tokens(history) < limit:
            return Compacted(history=list(history), pruned=pruned)
        compacted = await self.compactor.summarize(self.session, history)
        compacted.pruned = pruned
        compacted.cost = cost_of(self.info, compacted.usage)
        return compacted


def _with_options(agent: Agent, options: dict[str, Any] | None) -> Agent:
    """The agent with per-run options: known fields replace, the rest are provider options."""
    if not options:
        return agent
    fields = {k: v for k, v in options.items() if k in AGENT_FIELDS}
    extra = {k: v for k, v in options.items() if k not in AGENT_FIELDS}
    return agent.model_copy(update={**fields, "options": {**agent.options, **extra}})
