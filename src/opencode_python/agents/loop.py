"""The agent loop: one prompt run to completion in a stored session.

Each step streams one model call into a new assistant message, storing parts and
publishing events as deltas arrive, then runs the step's tool calls concurrently and
feeds their results back. A retried step first deletes what its failed attempt stored,
so the session never holds duplicate or half-written parts.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..context.compaction import step_tokens
from ..context.history import to_chat_messages
from ..core import events as ev
from ..core.errors import (
    BrokenStreamError,
    ProviderError,
)
from ..core.events import EventBus
from ..core.models import (
    Attachment,
    Message,
    MessageError,
    MessageWithParts,
    Part,
    PartTime,
    PermissionRule,
    ReasoningPart,
    Session,
    StepFinishPart,
    StepStartPart,
    TextPart,
    TokenUsage,
    ToolPart,
    ToolState,
    now_ms,
)
from ..providers.base import (
    ChatMessage,
    ChatRequest,
    Finish,
    Provider,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallStart,
    ToolSchema,
)
from ..providers.retry import RetryPolicy
from ..storage.base import Store
from ..tools.doom_loop import canonical_call
from ..tools.executor import CallScope, ToolExecutionManager, ToolOutcome
from ..tools.framework import QuestionCallback, ToolContext
from .agent import Agent
from .delegation import DelegationNode
from .result import AgentResult

Compact = Callable[[list[MessageWithParts]], Awaitable[list[MessageWithParts]]]

MAX_STEPS_NOTICE = (
    "You have reached the maximum number of steps for this run, so tools are disabled now. "
    "Reply with text only: summarise what was done and what is left to do."
)
ABORTED = "The run was aborted."
TEXT_SAVE_INTERVAL = 0.25  # seconds between stores of a part that is still streaming


@dataclass(slots=True)
class _Attempt:
    """What one streaming attempt of a step has stored so far."""

    parts: list[Part] = field(default_factory=list)
    text: TextPart | ReasoningPart | None = None
    last_save: float = 0.0
    tool_parts: dict[str, ToolPart] = field(default_factory=dict)
    calls: list[ToolCall] = field(default_factory=list)
    finish: Finish | None = None


class AISession:
    """Runs prompts for one agent in one stored session. Not reentrant: one run at a time."""

    def __init__(
        self,
        *,
        session: Session,
        agent: Agent,
        provider: Provider,
        model_id: str,
        store: Store,
        bus: EventBus,
        executor: ToolExecutionManager,
        tools: Sequence[ToolSchema] = (),
        system: Sequence[str] = (),
        retry: RetryPolicy | None = None,
        max_steps: int = 50,
        max_output_tokens: int | None = None,
        cost_of: Callable[[TokenUsage], float] = lambda usage: 0.0,
        directory: str = ".",
        rules: Sequence[PermissionRule] = (),
        project_id: str = "",
        ask_user: QuestionCallback | None = None,
        compact: Compact | None = None,
        usable_context: int | None = None,
        delegation: DelegationNode | None = None,
    ) -> None:
        self.session = session
        self.agent = agent
        self.provider = provider
        self.model_id = model_id
        self.store = store
        self.bus = bus
        self.executor = executor
        self.tools = list(tools)
        self.allowed_tools = frozenset(t.name for t in self.tools)
        self.system = list(system)
        self.retry = retry or RetryPolicy()
        self.max_steps = max(1, agent.steps or max_steps)
        self.max_output_tokens = max_output_tokens
        self.cost_of = cost_of
        self.directory = directory
        self.rules = list(rules)
        self.ask_user = ask_user
        self.compact = compact
        self.usable_context = usable_context
        self.project_id = project_id
        self.delegation = delegation
        self._abort = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._result: AgentResult | None = None
        self._step_message: Message | None = None  # the assistant message of the step

    @property
    def model(self) -> str:
        return f"{self.provider.id}/{self.model_id}"

    def abort(self) -> None:
        """Stop the run promptly: the stream and running tools are cancelled and recorded."""
        self._abort.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def charge(self, usage: TokenUsage, cost: float) -> None:
        """Count work done on this run's behalf (a subagent's) in its result and session."""
        if self._result is not None:
            self._result.tokens_used = self._result.tokens_used + usage
            self._result.cost += cost
        await self._add_session_usage(usage, cost)

    async def run(self, message: str, history: list[MessageWithParts] | None = None) -> AgentResult:
        """Store ``message`` as the user's turn and run the agent until it is done.

        ``history`` is what the model sees before the message (default: every stored
        message); ``ContextBuilder`` gives the history since the last compaction.
        """
        self._task = asyncio.current_task()
        started = time.monotonic()
        sid = self.session.id
        result = AgentResult(session_id=sid, agent_name=self.agent.name, model=self.model)
        self._result = result
        await self._publish(ev.RUN_STARTED, {"agent": self.agent.name, "model": self.model})
        await self._status("busy")
        try:
            if history is None:
                history = await self.store.list_messages(sid)
            user = await self._store_user_message(message)
            history.append(user)
            for step in range(1, self.max_steps + 1):
                if self._abort.is_set():  # aborted before the run got going
                    result.error = ABORTED
                    break
                done = await self._step(step, history, user.info.id, result)
                if done:
                    break
        except asyncio.CancelledError:
            await self._close_step()
            if not self._abort.is_set():
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            result.error = ABORTED
        finally:
            self._task = None
            self._result = None
            result.duration = time.monotonic() - started
            result.metadata.update(
                provider=self.provider.id,
                model_id=self.model_id,
                max_steps=self.max_steps,
                tools_offered=sorted(self.allowed_tools),
            )
            await self._status("idle")
            await self._publish(ev.RUN_FINISHED, {"result": result})
        return result

    # --- one step ----------------------------------------------------------------------

    async def _step(
        self, step: int, history: list[MessageWithParts], user_id: str, result: AgentResult
    ) -> bool:
        """Run one model call and its tools. Returns True when the run is over."""
        last = step == self.max_steps
        await self._publish(
            ev.RUN_STEP, {"step": step, "max_steps": self.max_steps, "model": self.model}
        )
        message = Message(
            session_id=self.session.id,
            role="assistant",
            parent_id=user_id,
            agent=self.agent.name,
            provider_id=self.provider.id,
            model_id=self.model_id,
        )
        self._step_message = message
        await self.store.save_message(message)
        await self._publish(ev.MESSAGE_CREATED, {"message": message})
        await self._publish(ev.MESSAGE_UPDATED, {"message": message})
        result.message_ids.append(message.id)
        result.steps = step
        request = self._request(history, last)

        attempt = await self._stream_with_retries(message, request)
        if attempt is None:  # failed for good: the message carries the error
            result.error = message.error.message if message.error else "the model call failed"
            history.append(MessageWithParts(info=message, parts=[]))
            return True

        finish = attempt.finish
        assert finish is not None
        cost = self.cost_of(finish.usage)
        step_finish = StepFinishPart(
            session_id=self.session.id,
            message_id=message.id,
            reason=finish.reason,
            usage=finish.usage,
            cost=cost,
        )
        await self._save_part(step_finish)
        attempt.parts.append(step_finish)
        # Counted before the tools run, so a step aborted during its tools still counts.
        message.finish = finish.reason
        message.usage = finish.usage
        message.cost = cost
        await self._add_session_usage(finish.usage, cost)
        result.tokens_used = result.tokens_used + finish.usage
        result.cost += cost
        if self.delegation is not None:
            self.delegation.tree.add_cost(cost)

        tool_parts = [attempt.tool_parts[c.call_id] for c in attempt.calls]
        if tool_parts:
            earlier = _session_calls(history)
            try:
                async with asyncio.TaskGroup() as group:
                    for index, call in enumerate(attempt.calls):
                        part = attempt.tool_parts[call.call_id]
                        previous = earlier + [
                            canonical_call(c.name, _arguments_of(c)) for c in attempt.calls[:index]
                        ]
                        group.create_task(
                            self._run_tool(message, call, part, last, history, previous)
                        )
            except asyncio.CancelledError:
                await self._mark_aborted(message)
                raise
            result.tools_used.extend(p.tool for p in tool_parts)

        message.time.completed = now_ms()
        await self.store.save_message(message)
        await self._publish(ev.MESSAGE_UPDATED, {"message": message})
        result.parts.extend(attempt.parts)
        texts = [p.text for p in attempt.parts if isinstance(p, TextPart) and p.text]
        if texts:
            result.response = "".join(texts)
        history.append(MessageWithParts(info=message, parts=list(attempt.parts)))
        if (
            self.compact is not None
            and self.usable_context is not None
            and step_tokens(finish.usage) >= self.usable_context
        ):
            history[:] = await self.compact(history)
        if not tool_parts:
            return True
        if last:
            result.error = (
                f"the step limit ({self.max_steps}) was reached while the model still "
                "wanted to call tools; raise max_steps or the agent's steps to let it go on"
            )
            return True
        return False

    def _request(self, history: list[MessageWithParts], last: bool) -> ChatRequest:
        messages = to_chat_messages(history)
        if last and self.tools:
            messages.append(_notice(MAX_STEPS_NOTICE))
        tools = [] if last else self.tools
        options = dict(self.agent.options)
        if not tools:  # APIs refuse a tool_choice without tools, e.g. on the last step
            options.pop("tool_choice", None)
        return ChatRequest(
            model=self.model_id,
            messages=messages,
            system=self.system,
            tools=tools,
            temperature=self.agent.temperature,
            top_p=self.agent.top_p,
            max_output_tokens=self.max_output_tokens,
            options=options,
        )

    async def _stream_with_retries(self, message: Message, request: ChatRequest) -> _Attempt | None:
        """Stream until success; on failure store the error and return None."""
        retries = 0
        attempt = _Attempt()
        try:
            while True:
                attempt = _Attempt()
                try:
                    await self._stream(message, request, attempt)
                    return attempt
                except ProviderError as error:
                    await self._discard(message, attempt)
                    attempt = _Attempt()
                    if not self.retry.should_retry(error, retries):
                        await self._fail_message(message, error, retries)
                        return None
                    retries += 1
                    await self._wait_before_retry(retries, error)
        except asyncio.CancelledError:
            await self._close_aborted(message, attempt)
            raise

    async def _wait_before_retry(self, retries: int, error: ProviderError) -> None:
        delay = self.retry.delay_for(retries - 1, error)
        await self._publish(
            ev.PROVIDER_RETRY,
            {
                "attempt": retries,
                "max_retries": self.retry.max_retries,
                "delay": delay,
                "error": str(error),
                "error_type": type(error).__name__,
                "status_code": error.status_code,
                "model": self.model,
            },
        )
        await self._status("retry", attempt=retries, delay=delay, error=str(error))
        await asyncio.sleep(delay)
        await self._status("busy")

    async def _stream(self, message: Message, request: ChatRequest, attempt: _Attempt) -> None:
        start = StepStartPart(session_id=self.session.id, message_id=message.id)
        await self._save_part(start)
        attempt.parts.append(start)
        async for event in self.provider.stream(request):
            if isinstance(event, TextDelta):
                await self._delta(message, attempt, TextPart, event.text, None)
            elif isinstance(event, ReasoningDelta):
                await self._delta(message, attempt, ReasoningPart, event.text, event.metadata)
            elif isinstance(event, ToolCallStart):
                await self._end_text(attempt)
                await self._tool_part(message, attempt, event.call_id, event.name)
            elif isinstance(event, ToolCall):
                await self._end_text(attempt)
                part = attempt.tool_parts.get(event.call_id)
                if part is None:
                    part = await self._tool_part(message, attempt, event.call_id, event.name)
                part.state.raw_input = event.arguments
                attempt.calls.append(event)
            elif isinstance(event, Finish):
                attempt.finish = event
        await self._end_text(attempt)
        if attempt.finish is None:
            raise BrokenStreamError(
                f"the stream from {self.model} ended without a finish reason",
                provider_id=self.provider.id,
            )
        if attempt.calls and attempt.finish.reason == "stop":
            attempt.finish.reason = "tool_calls"

    async def _delta(
        self,
        message: Message,
        attempt: _Attempt,
        kind: type[TextPart] | type[ReasoningPart],
        text: str,
        metadata: dict[str, Any] | None,
    ) -> None:
        part = attempt.text
        if part is None or type(part) is not kind:
            await self._end_text(attempt)
            part = kind(session_id=self.session.id, message_id=message.id)
            attempt.text = part
            attempt.parts.append(part)
            await self._save_part(part)
            attempt.last_save = time.monotonic()
        if metadata and isinstance(part, ReasoningPart):
            part.metadata.update(metadata)
        if text:
            part.text += text
            await self._publish(
                ev.PART_DELTA,
                {
                    "part_id": part.id,
                    "message_id": message.id,
                    "type": part.type,
                    "field": "text",
                    "delta": text,
                },
            )
            now = time.monotonic()
            if now - attempt.last_save >= TEXT_SAVE_INTERVAL:
                attempt.last_save = now
                await self.store.save_part(part)

    async def _end_text(self, attempt: _Attempt) -> None:
        part = attempt.text
        if part is None:
            return
        attempt.text = None
        part.time.end = now_ms()
        await self._save_part(part)

    async def _tool_part(
        self, message: Message, attempt: _Attempt, call_id: str, name: str
    ) -> ToolPart:
        part = ToolPart(
            session_id=self.session.id,
            message_id=message.id,
            call_id=call_id,
            tool=name,
            state=ToolState(status="pending"),
        )
        attempt.tool_parts[call_id] = part
        attempt.parts.append(part)
        await self._save_part(part)
        return part

    async def _discard(self, message: Message, attempt: _Attempt) -> None:
        """Remove what a failed attempt stored, so a retry starts clean."""
        if not attempt.parts:
            return
        await self.store.delete_parts(message.id, [p.id for p in attempt.parts])
        for part in attempt.parts:
            await self._publish(ev.PART_REMOVED, {"part_id": part.id, "message_id": message.id})

    async def _fail_message(self, message: Message, error: ProviderError, retries: int) -> None:
        text = str(error)
        if retries:
            text = f"{text} (gave up after {retries} {'retry' if retries == 1 else 'retries'})"
        message.error = MessageError(
            name=type(error).__name__, message=text, retryable=error.retryable
        )
        message.finish = "error"
        message.time.completed = now_ms()
        await self.store.save_message(message)
        await self._publish(ev.MESSAGE_UPDATED, {"message": message})

    async def _close_aborted(self, message: Message, attempt: _Attempt) -> None:
        """Leave an aborted step consistent: text kept, unfinished tools marked aborted."""
        await self._end_text(attempt)
        for part in attempt.tool_parts.values():
            if part.state.status in ("pending", "running"):
                _set_error(part, ABORTED)
                await self._save_part(part)
        await self._mark_aborted(message)

    async def _close_step(self) -> None:
        """Mark the step's message aborted if a cancel caught it between stores."""
        message, self._step_message = self._step_message, None
        if message is not None and message.time.completed is None:
            await self._mark_aborted(message)

    async def _mark_aborted(self, message: Message) -> None:
        message.finish = "aborted"
        message.error = MessageError(name="AbortedError", message=ABORTED)
        message.time.completed = now_ms()
        await self.store.save_message(message)
        await self._publish(ev.MESSAGE_UPDATED, {"message": message})

    # --- tools -------------------------------------------------------------------------

    async def _run_tool(
        self,
        message: Message,
        call: ToolCall,
        part: ToolPart,
        last: bool,
        history: list[MessageWithParts],
        previous_calls: list[tuple[str, str]],
    ) -> None:
        state = part.state
        state.time = PartTime()
        if last:
            _set_error(part, "Not run: the step limit was reached, so tools are disabled.")
            await self._save_part(part)
            return

        async def on_metadata(title: str | None, metadata: dict[str, Any]) -> None:
            if title is not None:
                state.title = title
            state.metadata.update(metadata)
            await self._save_part(part)

        async def on_start(args: dict[str, Any]) -> None:
            state.input = args
            state.status = "running"
            await self._save_part(part)
            await self._publish(ev.TOOL_STARTED, {"part": part})

        ctx = ToolContext(
            session_id=self.session.id,
            message_id=message.id,
            agent=self.agent.name,
            abort=self._abort,
            call_id=call.call_id,
            tool=call.name,
            directory=self.directory,
            working_dir=self.directory,
            messages=history,
            store=self.store,
            _on_metadata=on_metadata,
            _on_question=self.ask_user,
        )
        scope = CallScope(
            rules=self.rules,
            project_id=self.project_id,
            offered=self.allowed_tools,
            previous_calls=previous_calls,
        )
        try:
            outcome = await self.executor.execute_call(
                call.name, call.arguments, ctx, scope, on_start=on_start
            )
        except asyncio.CancelledError:
            _set_error(part, ABORTED)
            await self._save_part(part)
            raise
        await self._finish_tool(part, outcome)

    async def _finish_tool(self, part: ToolPart, outcome: ToolOutcome) -> None:
        state = part.state
        if outcome.input and not state.input:
            state.input = outcome.input
        if outcome.status == "completed" and outcome.result is not None:
            state.status = "completed"
            state.output = outcome.result.output
            state.title = outcome.result.title or state.title
            state.metadata.update(outcome.result.metadata)
            state.attachments = [
                Attachment(mime=a.mime, url=a.url, filename=a.filename)
                for a in outcome.result.attachments or ()
            ]
            if state.time is not None:
                state.time.end = now_ms()
            await self._save_part(part)
            await self._publish(ev.TOOL_COMPLETED, {"part": part})
        else:
            _set_error(part, outcome.error or "the tool failed")
            await self._save_part(part)
            await self._publish(ev.TOOL_ERROR, {"part": part, "error": state.error})

    # --- storage and events ------------------------------------------------------------

    async def _store_user_message(self, text: str) -> MessageWithParts:
        message = Message(
            session_id=self.session.id,
            role="user",
            agent=self.agent.name,
            provider_id=self.provider.id,
            model_id=self.model_id,
        )
        part = TextPart(session_id=self.session.id, message_id=message.id, text=text)
        part.time.end = part.time.start
        await self.store.save_message(message)
        await self.store.save_part(part)
        await self._publish(ev.MESSAGE_CREATED, {"message": message})
        await self._publish(ev.MESSAGE_UPDATED, {"message": message})
        await self._publish(ev.PART_UPDATED, {"part": part})
        return MessageWithParts(info=message, parts=[part])

    async def _save_part(self, part: Part) -> None:
        await self.store.save_part(part)
        await self._publish(ev.PART_UPDATED, {"part": part})

    async def _add_session_usage(self, usage: TokenUsage, cost: float) -> None:
        session = await self.store.add_session_usage(self.session.id, usage, cost)
        self.session = session
        await self._publish(ev.SESSION_UPDATED, {"session": session})

    async def _status(self, status: str, **extra: Any) -> None:
        await self._publish(ev.SESSION_STATUS, {"status": status, **extra})

    async def _publish(self, event_type: str, data: dict[str, Any]) -> None:
        await self.bus.publish(event_type, data, session_id=self.session.id)


def _session_calls(history: Sequence[MessageWithParts]) -> list[tuple[str, str]]:
    """Every tool call the session made so far, as the doom-loop check compares them."""
    return [
        canonical_call(p.tool, p.state.input)
        for m in history
        for p in m.parts
        if isinstance(p, ToolPart) and p.state.status in ("completed", "error")
    ]


def _arguments_of(call: ToolCall) -> dict[str, Any]:
    try:
        value = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return {"raw": call.arguments}
    return value if isinstance(value, dict) else {"raw": call.arguments}


def _set_error(part: ToolPart, error: str) -> None:
    state = part.state
    state.status = "error"
    state.error = error
    if state.time is None:
        state.time = PartTime()
    state.time.end = now_ms()


def _notice(text: str) -> ChatMessage:
    return ChatMessage("user", [TextBlock(text)])
