"""``model_step``: one model call, streamed into the step's assistant message.

A failed attempt takes back the parts it made before the step is retried, so the
session never holds duplicate or half-written parts.
"""

from __future__ import annotations

from typing import Any

from ...context.compaction import step_tokens
from ...context.history import to_chat_messages
from ...core import events as ev
from ...core.errors import BrokenStreamError, ProviderError, ToolArgumentsError
from ...core.models import (
    Message,
    MessageError,
    MessageWithParts,
    Part,
    ReasoningPart,
    StepFinishPart,
    StepStartPart,
    TextPart,
    TokenUsage,
    ToolPart,
    ToolState,
    now_ms,
)
from ...providers.base import (
    ChatMessage,
    ChatRequest,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallStart,
)
from ...tools.executor import decode_arguments
from ..output import FINAL_TOOL, NOTHING, OutputPlan
from .deps import RunDeps
from .outcome import (
    Aborted,
    CallModel,
    CheckAnswer,
    Compact,
    Done,
    NextStep,
    PendingCall,
    Retry,
    RunTools,
    StepLimit,
)
from .recorder import RunRecorder
from .state import RunState

MAX_STEPS_NOTICE = (
    "You have reached the maximum number of steps for this run, so tools are disabled now. "
    "Reply with text only: summarise what was done and what is left to do."
)


async def model_step(state: RunState, deps: RunDeps, recorder: RunRecorder) -> NextStep:
    """Stream one model call. Next: the call's tools, the end of the run, or a retry."""
    if deps.abort.is_set():
        return Aborted()
    if state.current is None:
        await _begin_step(state, deps, recorder)
    current = state.current
    assert current is not None
    last = state.step >= deps.max_steps
    stream = _StepStream(current, recorder, deps.output)
    try:
        await stream.start()
        async for event in deps.provider.stream(build_request(state, deps, last)):
            await stream.feed(event)
        finish = await stream.end(deps)
    except ProviderError as error:
        await stream.discard()
        if deps.retry.should_retry(error, state.attempt):
            state.attempt += 1
            return Retry(error, state.attempt, deps.retry.delay_for(state.attempt - 1, error))
        return await _fail(state, recorder, error)
    cost = deps.cost_of(finish.usage)
    step_finish = StepFinishPart(
        session_id=state.session_id,
        message_id=current.info.id,
        reason=finish.reason,
        usage=finish.usage,
        cost=cost,
    )
    current.parts.append(step_finish)
    await recorder.part_updated(step_finish)
    current.info.finish = finish.reason
    recorder.charge(
        finish.usage, cost, state=state, message=current.info, tree=deps.delegation.tree
    )
    texts = [p.text for p in current.parts if isinstance(p, TextPart) and p.text]
    if texts:
        state.response = "".join(texts)
    if stream.calls:
        return RunTools(tuple(stream.calls))
    if deps.output is not None:
        return CheckAnswer("".join(texts), finish.usage)
    await finish_step(state, recorder)
    return compact_or(deps, finish.usage, Done())


async def finish_step(state: RunState, recorder: RunRecorder) -> None:
    """Complete the step's message and store the step in one transaction (the next
    model call does not wait for it; the run's end does)."""
    current = state.current
    assert current is not None
    current.info.time.completed = now_ms()
    await recorder.message_updated(current.info)
    await recorder.flush(wait=False)
    state.parts.extend(current.parts)
    state.end_step()


def compact_or(
    deps: RunDeps, usage: TokenUsage, then: CallModel | Done | StepLimit
) -> CallModel | Done | StepLimit | Compact:
    """``then``, after compacting if the step filled the usable context."""
    if (
        deps.compact is not None
        and deps.usable_context is not None
        and step_tokens(usage) >= deps.usable_context
    ):
        return Compact(then)
    return then


def build_request(state: RunState, deps: RunDeps, last: bool) -> ChatRequest:
    """The request for this step; the last step goes without tools, told why. A run
    with an output type asks for its answer as its plan says."""
    plan = deps.output
    messages = to_chat_messages(state.history)
    if last and (deps.tools or plan is not None):
        notice = MAX_STEPS_NOTICE if plan is None else plan.last_step_notice()
        messages.append(ChatMessage("user", [TextBlock(notice)]))
    tools = [] if last else list(deps.tools)
    options = dict(deps.agent.options)
    if not tools:  # APIs refuse a tool_choice without tools, e.g. on the last step
        options.pop("tool_choice", None)
    request = ChatRequest(
        model=deps.model_id,
        messages=messages,
        system=list(deps.system),
        tools=tools,
        temperature=deps.agent.temperature,
        top_p=deps.agent.top_p,
        max_output_tokens=deps.max_output_tokens,
        options=options,
    )
    if plan is not None:
        plan.shape(request, last=last)
    return request


async def _begin_step(state: RunState, deps: RunDeps, recorder: RunRecorder) -> None:
    state.step += 1
    message = Message(
        session_id=state.session_id,
        role="assistant",
        parent_id=state.user_message_id,
        agent=deps.agent.name,
        provider_id=deps.provider.id,
        model_id=deps.model_id,
    )
    state.current = MessageWithParts(info=message, parts=[])
    state.message_ids.append(message.id)
    await recorder.publish(
        ev.RUN_STEP, {"step": state.step, "max_steps": deps.max_steps, "model": deps.model}
    )
    await recorder.message_started(state.current)
    if state.step == 1:  # the user's message and the run's start, stored at once
        await recorder.flush(wait=False)


async def _fail(state: RunState, recorder: RunRecorder, error: ProviderError) -> Done:
    """The step failed for good: the message carries the error; the run ends."""
    current = state.current
    assert current is not None
    text = str(error)
    if state.attempt:
        retries = "retry" if state.attempt == 1 else "retries"
        text = f"{text} (gave up after {state.attempt} {retries})"
    current.info.error = MessageError(
        name=type(error).__name__, message=text, retryable=error.retryable
    )
    current.info.finish = "error"
    await finish_step(state, recorder)
    return Done(error=text)


class _StepStream:
    """One streaming attempt: the parts it made so far and the calls it collected."""

    def __init__(
        self, message: MessageWithParts, recorder: RunRecorder, output: OutputPlan | None
    ) -> None:
        self.message = message
        self.recorder = recorder
        self.output = output
        self.answer: dict[str, str] = {}  # the structured answer so far, by where it streams
        self.partial: Any = NOTHING
        self.made: list[Part] = []
        self.text: TextPart | ReasoningPart | None = None
        self.tool_parts: dict[str, ToolPart] = {}
        self.calls: list[PendingCall] = []
        self.finish: Finish | None = None

    def _add(self, part: Part) -> None:
        self.made.append(part)
        self.message.parts.append(part)

    async def start(self) -> None:
        info = self.message.info
        part = StepStartPart(session_id=info.session_id, message_id=info.id)
        self._add(part)
        await self.recorder.part_updated(part)

    async def feed(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            await self._delta(TextPart, event.text, None)
            if self.output is not None and self.output.mode != "tool":
                await self._grow("", event.text)
        elif isinstance(event, ToolCallDelta):
            part = self.tool_parts.get(event.call_id)
            if self.output is not None and part is not None and part.tool == FINAL_TOOL:
                await self._grow(event.call_id, event.text)
        elif isinstance(event, ReasoningDelta):
            await self._delta(ReasoningPart, event.text, event.metadata)
        elif isinstance(event, ToolCallStart):
            await self._end_text()
            await self._tool_part(event.call_id, event.name)
        elif isinstance(event, ToolCall):
            await self._end_text()
            part = self.tool_parts.get(event.call_id)
            if part is None:
                part = await self._tool_part(event.call_id, event.name)
            args: dict[str, Any] | ToolArgumentsError
            try:
                args = decode_arguments(event.name, event.arguments)
            except ToolArgumentsError as exc:
                args = exc
            part.state.raw_input = event.arguments
            if isinstance(args, dict):
                part.state.input = args
            self.calls.append(PendingCall(event, part, args))
        elif isinstance(event, Finish):
            self.finish = event

    async def _grow(self, where: str, text: str) -> None:
        """Publish the structured answer so far when a piece changed it."""
        assert self.output is not None
        so_far = self.answer[where] = self.answer.get(where, "") + text
        partial = self.output.spec.partial(so_far)
        if partial is NOTHING or partial == self.partial:
            return
        self.partial = partial
        await self.recorder.publish(
            ev.OUTPUT_PARTIAL, {"partial": partial, "message_id": self.message.info.id}
        )

    async def end(self, deps: RunDeps) -> Finish:
        """Close the open text; the stream must have said how it finished."""
        await self._end_text()
        if self.finish is None:
            raise BrokenStreamError(
                f"the stream from {deps.model} ended without a finish reason",
                provider_id=deps.provider.id,
            )
        if self.calls and self.finish.reason == "stop":
            self.finish.reason = "tool_calls"
        return self.finish

    async def discard(self) -> None:
        """Take back what this attempt made, so a retry starts clean."""
        made = {id(p) for p in self.made}
        self.message.parts[:] = [p for p in self.message.parts if id(p) not in made]
        await self.recorder.parts_removed(self.made)
        self.made, self.text, self.calls = [], None, []
        self.answer, self.partial = {}, NOTHING

    async def _delta(
        self,
        kind: type[TextPart] | type[ReasoningPart],
        text: str,
        metadata: dict[str, Any] | None,
    ) -> None:
        part = self.text
        if part is None or type(part) is not kind:
            await self._end_text()
            info = self.message.info
            part = kind(session_id=info.session_id, message_id=info.id)
            self.text = part
            self._add(part)
            await self.recorder.part_updated(part)
        if metadata and isinstance(part, ReasoningPart):
            part.metadata.update(metadata)
        if text:
            part.text += text
            await self.recorder.text_delta(part, "text", text)

    async def _end_text(self) -> None:
        part = self.text
        if part is None:
            return
        self.text = None
        part.time.end = now_ms()
        await self.recorder.part_updated(part)

    async def _tool_part(self, call_id: str, name: str) -> ToolPart:
        info = self.message.info
        part = ToolPart(
            session_id=info.session_id,
            message_id=info.id,
            call_id=call_id,
            tool=name,
            state=ToolState(status="pending"),
        )
        self.tool_parts[call_id] = part
        self._add(part)
        await self.recorder.part_updated(part)
        return part
