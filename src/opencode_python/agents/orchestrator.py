"""``AgentOrchestrator``: one agent hands work to others, alone or several in parallel.

Each task runs a subagent in a real child session (``parent_id`` set) through the same
runtime as any run. The child inherits its parent's deny rules, sits one level deeper
in the parent's delegation tree (whose budgets of agents, wall time and cost it
shares), and its usage and cost are added to the parent's run and session. A child
that fails, or is stopped by a budget, gives an error result; it never raises into the
parent. Cancelling the parent cancels its children.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..context.builder import AgentContext
from ..core import events as ev
from ..core.errors import NotFoundError, OpenCodeError, PermissionDeniedError
from ..core.models import PermissionRule, Session, TokenUsage, now_ms
from ..core.unfinished import ABORTED
from ..core.version import VERSION
from ..permissions.rules import evaluate
from .agent import Agent
from .builtin import DEFAULT_AGENT, permission_layers
from .delegation import DelegationLimits, DelegationNode, DelegationTree
from .result import AgentResult
from .run.handle import AISession
from .runtime import AgentRuntime, charge_session
from .task import AgentTask, TaskStatus

log = logging.getLogger(__name__)

#: Finished tasks kept for ``status``/``results``; older ones are forgotten.
TASK_HISTORY = 1000
CANCELLED_BY_APP = "the task was cancelled"
TITLE_WORDS = 8


@dataclass(slots=True)
class Delegator:
    """The side that hands work out: its session, agent, rules and place in the tree.

    ``runner`` is its run in progress, if the work is delegated from inside one (the
    ``task`` tool); children's usage then counts in that run's result too.
    """

    session: Session
    agent: str
    rules: list[PermissionRule]
    node: DelegationNode
    model: str | None = None
    runner: AISession | None = None

    async def charge(self, runtime: AgentRuntime, usage: TokenUsage, cost: float) -> None:
        """Add a child's usage to this side's run (if any) and session."""
        if self.runner is not None:
            self.runner.charge(usage, cost)
            return
        await charge_session(runtime.store, runtime.bus, self.session.id, usage, cost)


class AgentOrchestrator:
    """Runs ``AgentTask``s in child sessions and keeps track of them (``client.orchestrator``)."""

    def __init__(self, runtime: AgentRuntime) -> None:
        self.runtime = runtime
        self._tasks: dict[str, AgentTask] = {}
        self._running: dict[str, AISession] = {}
        self._cancelled: dict[str, str] = {}

    # --- delegating --------------------------------------------------------------------

    async def delegate_task(
        self,
        from_agent: str,
        to_agent_name: str,
        task: str | AgentTask,
        session_id: str,
        *,
        description: str = "",
        tool_ids: Sequence[str] | None = None,
        skill_names: Sequence[str] | None = None,
        options: dict[str, object] | None = None,
        limits: DelegationLimits | None = None,
        output_type: Any = None,
    ) -> AgentResult:
        """Have ``to_agent_name`` do ``task`` (a prompt or an ``AgentTask``) for
        ``from_agent`` in a new child session of ``session_id``, and return its result.

        Raises before anything runs when an agent is unknown or ``from_agent``'s rules
        deny delegating to ``to_agent_name``; a failing child is an error result (one
        whose answers never validated as ``output_type`` too).
        ``limits`` replace the client's delegation limits when this call is a root.
        """
        if isinstance(task, AgentTask):
            spec = task.model_copy(update={"agent_name": to_agent_name})
        else:
            spec = AgentTask(
                agent_name=to_agent_name,
                prompt=task,
                description=description,
                tool_ids=list(tool_ids) if tool_ids is not None else None,
                skill_names=list(skill_names) if skill_names is not None else None,
                options=dict(options or {}),
                output_type=output_type,
            )
        delegator = await self._delegator(session_id, from_agent, limits)
        await self._admit(spec, delegator)
        return await self.run_task(spec, delegator)

    async def run_parallel_agents(
        self,
        tasks: Sequence[AgentTask],
        session_id: str,
        *,
        max_concurrency: int = 4,
        from_agent: str = DEFAULT_AGENT,
        limits: DelegationLimits | None = None,
    ) -> list[AgentResult]:
        """Run ``tasks`` as children of ``session_id``, at most ``max_concurrency`` at a
        time, and return their results in the order of ``tasks``.

        Every task is checked before any runs. The tasks share one delegation tree, so
        the limits' budgets count across all of them.
        """
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        delegator = await self._delegator(session_id, from_agent, limits)
        specs = [task.model_copy() for task in tasks]
        for spec in specs:
            await self._admit(spec, delegator)
        gate = asyncio.Semaphore(max_concurrency)

        async def one(spec: AgentTask) -> AgentResult:
            async with gate:
                return await self.run_task(spec, delegator)

        async with asyncio.TaskGroup() as group:
            running = [group.create_task(one(spec)) for spec in specs]
        return [task.result() for task in running]

    # --- tracking ----------------------------------------------------------------------

    def get_task(self, task_id: str) -> AgentTask:
        """The task as it stands now. Raises ``NotFoundError`` for an unknown id."""
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id!r} (it is unknown or long finished)")
        return task

    def status(self, task_id: str) -> TaskStatus:
        return self.get_task(task_id).status

    def list_tasks(
        self, *, session_id: str | None = None, status: TaskStatus | None = None
    ) -> list[AgentTask]:
        """Tasks delegated from ``session_id`` (all sessions if None), oldest first."""
        return [
            task
            for task in self._tasks.values()
            if (session_id is None or task.parent_id == session_id)
            and (status is None or task.status == status)
        ]

    def results(self, session_id: str | None = None) -> dict[str, AgentResult]:
        """The results of finished tasks (delegated from ``session_id``), by task id."""
        return {
            task.task_id: task.result
            for task in self.list_tasks(session_id=session_id)
            if task.result is not None
        }

    def cancel(self, task_id: str) -> bool:
        """Stop a running task (its own subagents with it); False when it is not running."""
        runner = self._running.get(task_id)
        if runner is None:
            return False
        self._cancelled[task_id] = CANCELLED_BY_APP
        runner.abort()
        return True

    def cancel_all(self, session_id: str | None = None) -> int:
        """Stop the running tasks delegated from ``session_id`` (all if None); how many."""
        return sum(
            self.cancel(task.task_id)
            for task in self.list_tasks(session_id=session_id, status="running")
        )

    # --- running -----------------------------------------------------------------------

    async def delegator_for_run(self, session_id: str) -> Delegator:
        """The run in progress on ``session_id`` as a delegator (for the ``task`` tool)."""
        runner = self.runtime.active_run(session_id)
        if runner is None:
            raise OpenCodeError(
                f"no run is in progress on session {session_id}; subagents are started "
                "from a run, or with client.orchestrator.delegate_task(...)"
            )
        return self._from_runner(runner)

    async def run_task(
        self,
        spec: AgentTask,
        delegator: Delegator,
        *,
        on_session: Callable[[str], Awaitable[None]] | None = None,
    ) -> AgentResult:
        """Run one admitted task to its end; never raises but for cancellation.
        ``on_session`` hears the child session's id as soon as it exists."""
        spec.parent_id = delegator.session.id
        spec.from_agent = delegator.agent
        self._remember(spec)
        tree = delegator.node.tree
        refusal = tree.admit(delegator.node.depth + 1)
        if refusal is not None:
            result = AgentResult(
                session_id=spec.session_id or "",
                agent_name=spec.agent_name,
                error=f"Not started: {refusal}",
            )
            await self._finish(spec, "cancelled", result)
            return result
        try:
            agent = self.runtime.agents.get(spec.agent_name)
            session = await self._child_session(spec, delegator, agent)
        except (OpenCodeError, ValueError) as exc:
            return await self._failed(spec, str(exc))
        spec.session_id = session.id
        if on_session is not None:
            await on_session(session.id)
        async with self.runtime.session_lock(session.id):
            await self.runtime.recover(session.id)
            try:
                runner, context = await self._prepare(spec, delegator, agent, session)
            except (OpenCodeError, ValueError) as exc:
                return await self._failed(spec, str(exc))
            return await self._run_child(spec, delegator, runner, context)

    async def _run_child(
        self, spec: AgentTask, delegator: Delegator, runner: AISession, context: AgentContext
    ) -> AgentResult:
        tree = delegator.node.tree
        tree.start(spec.task_id, runner.abort)
        self._running[spec.task_id] = runner
        spec.status = "running"
        await self._publish(ev.TASK_STARTED, spec)
        child = self.runtime.tasks.spawn(self.runtime.run(runner, context, spec.prompt))
        try:
            try:
                result = await asyncio.shield(child)
            except asyncio.CancelledError:
                self._cancelled.setdefault(spec.task_id, "the delegating run was cancelled")
                runner.abort()
                await asyncio.wait({child})
                await self._settle(spec, delegator, child)
                raise
            except Exception as exc:  # the child's run broke; the parent goes on
                log.warning("subagent task %s failed", spec.task_id, exc_info=True)
                result = AgentResult(
                    session_id=runner.session.id,
                    agent_name=spec.agent_name,
                    error=f"{type(exc).__name__}: {exc}",
                )
            return await self._conclude(spec, delegator, result)
        finally:
            tree.finish(spec.task_id)
            self._running.pop(spec.task_id, None)
            self._cancelled.pop(spec.task_id, None)

    async def _failed(self, spec: AgentTask, error: str) -> AgentResult:
        result = AgentResult(
            session_id=spec.session_id or "", agent_name=spec.agent_name, error=error
        )
        await self._finish(spec, "failed", result)
        return result

    async def _settle(
        self, spec: AgentTask, delegator: Delegator, child: asyncio.Task[AgentResult]
    ) -> None:
        """Record a task whose delegating run was cancelled, with what the child did."""
        if child.cancelled() or child.exception() is not None:
            result = AgentResult(
                session_id=spec.session_id or "", agent_name=spec.agent_name, error=ABORTED
            )
        else:
            result = child.result()
        await self._conclude(spec, delegator, result)

    async def _conclude(
        self, spec: AgentTask, delegator: Delegator, result: AgentResult
    ) -> AgentResult:
        """Classify the child's result, roll its usage up to the parent, publish."""
        status: TaskStatus = "completed"
        if result.error is not None:
            status = "failed"
            if result.error == ABORTED:
                status = "cancelled"
                reason = delegator.node.tree.stopped or self._cancelled.get(spec.task_id)
                result.error = f"Stopped: {reason or CANCELLED_BY_APP}"
        await delegator.charge(self.runtime, result.tokens_used, result.cost)
        await self._finish(spec, status, result)
        return result

    async def _prepare(
        self, spec: AgentTask, delegator: Delegator, agent: Agent, session: Session
    ) -> tuple[AISession, AgentContext]:
        model = None if agent.model or "model" in spec.options else delegator.model
        return await self.runtime.prepare(
            agent,
            session.id,
            model=model,
            options=spec.options or None,
            user_message=spec.prompt,
            delegation=delegator.node.child(delegator.rules),
            extra_rules=_skill_rules(spec.skill_names),
            only_tools=spec.tool_ids,
            output_type=spec.output_type,
        )

    async def _child_session(self, spec: AgentTask, delegator: Delegator, agent: Agent) -> Session:
        """The session the task runs in: the one it resumes, or a new child."""
        store = self.runtime.store
        if spec.session_id is not None:
            return await store.get_session(spec.session_id)
        label = spec.description or " ".join(spec.prompt.split()[:TITLE_WORDS])
        session = await store.create_session(
            Session(
                project_id=delegator.session.project_id,
                directory=delegator.session.directory,
                parent_id=delegator.session.id,
                title=f"{label} (@{agent.name} subagent)",
                version=VERSION,
            )
        )
        await self.runtime.bus.publish(
            ev.SESSION_CREATED, {"session": session}, session_id=session.id
        )
        return session

    # --- checks ------------------------------------------------------------------------

    async def _delegator(
        self, session_id: str, from_agent: str, limits: DelegationLimits | None
    ) -> Delegator:
        """The delegating side for an API call: the run in progress on the session when
        there is one (its tree and rules), else a new root under ``limits``."""
        runner = self.runtime.active_run(session_id)
        if runner is not None and runner.agent.name == from_agent:
            return self._from_runner(runner)
        session = await self.runtime.store.get_session(session_id)
        agent = self.runtime.agents.get(from_agent)
        shipped, own = permission_layers(agent)
        rules = self.runtime.permissions.rules_for(
            project_id=session.project_id,
            agent=agent.name,
            agent_defaults=shipped,
            agent_rules=own,
            session_rules=session.permission,
        )
        tree = DelegationTree(limits or self.runtime.settings.delegation)
        return Delegator(session, agent.name, rules, DelegationNode(tree), agent.model)

    def _from_runner(self, runner: AISession) -> Delegator:
        deps = runner.deps
        return Delegator(
            deps.session, deps.agent.name, list(deps.rules), deps.delegation, deps.model, runner
        )

    async def _admit(self, spec: AgentTask, delegator: Delegator) -> None:
        """Refuse, before anything runs, a task naming an unknown agent or session, or
        one the delegating agent's rules deny."""
        agent = self.runtime.agents.get(spec.agent_name)
        rule = evaluate("task", agent.name, delegator.rules)
        if rule.action == "deny":
            raise PermissionDeniedError(
                f"agent {delegator.agent!r} may not delegate to {agent.name!r} "
                f"(rule task {rule.pattern!r} deny)"
            )
        await self.check_resume(spec, delegator.session.id)

    async def check_resume(self, spec: AgentTask, parent_id: str) -> None:
        """A task that resumes a session must name a child of the delegating session."""
        if spec.session_id is None:
            return
        session = await self.runtime.store.get_session(spec.session_id)
        if session.parent_id != parent_id:
            raise NotFoundError(
                f"session {spec.session_id} is not a subagent session of {parent_id}; "
                "to resume a subagent, pass the task_id its earlier result gave"
            )

    # --- bookkeeping -------------------------------------------------------------------

    def _remember(self, spec: AgentTask) -> None:
        self._tasks[spec.task_id] = spec
        if len(self._tasks) > TASK_HISTORY:
            for task_id in [t.task_id for t in self._tasks.values() if t.done][:100]:
                del self._tasks[task_id]

    async def _finish(self, spec: AgentTask, status: TaskStatus, result: AgentResult) -> None:
        spec.status = status
        spec.result = result
        spec.error = result.error
        spec.finished = now_ms()
        event = {
            "completed": ev.TASK_COMPLETED,
            "failed": ev.TASK_FAILED,
            "cancelled": ev.TASK_CANCELLED,
        }[status]
        await self._publish(event, spec)

    async def _publish(self, event_type: str, spec: AgentTask) -> None:
        await self.runtime.bus.publish(
            event_type,
            {
                "task": spec.model_copy(),
                "task_id": spec.task_id,
                "agent": spec.agent_name,
                "from_agent": spec.from_agent,
                "parent_session_id": spec.parent_id,
                "child_session_id": spec.session_id,
                "error": spec.error,
            },
            session_id=spec.parent_id,
        )


def _skill_rules(names: Sequence[str] | None) -> list[PermissionRule]:
    """Rules that let a child load only the named skills."""
    if names is None:
        return []
    return [
        PermissionRule(permission="skill", pattern="*", action="deny"),
        *(PermissionRule(permission="skill", pattern=name, action="allow") for name in names),
    ]
