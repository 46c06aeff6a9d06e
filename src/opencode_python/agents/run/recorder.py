"""``RunRecorder``: what a run's steps produce, turned into stored rows and bus events.

Events are published at once. Rows are batched into a few transactions: when a run
starts, when a tool starts (so a crash shows it running), at most every 250 ms while
text streams or a tool reports progress, and at the end of each step, where the
message, its parts, its usage and the session's totals commit together, so message
usage and session usage can never disagree. Usage is charged here and nowhere else.

Only the write before a tool runs is waited for. The others are handed to the store
and left to commit while the run goes on (the next model call does not wait for the
disk); the store runs writes in order, and the next flush waits for the one before
it, so an error still surfaces and the run's last write is always awaited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from ...core import events as ev
from ...core.events import EventBus
from ...core.models import (
    Message,
    MessageWithParts,
    Part,
    Session,
    TokenUsage,
    ToolExecution,
    ToolPart,
)
from ...core.unfinished import Ending, close_message, close_part
from ...storage.contract import Store, UsageCharge, WriteBatch
from ...tools.tracker import execution_of
from ..delegation import DelegationTree
from .state import RunState

FLUSH_INTERVAL = 0.25
"""Seconds between stores of parts that are still changing (streamed text, progress)."""


class RunRecorder:
    """Stores and publishes one session's run (or one side call's usage)."""

    def __init__(self, store: Store, bus: EventBus, session_id: str, agent: str) -> None:
        self.store = store
        self.bus = bus
        self.session_id = session_id
        self.agent = agent
        self._messages: dict[str, Message] = {}
        self._parts: dict[str, Part] = {}
        self._removed: list[str] = []
        self._executions: list[ToolExecution] = []
        self._charges: list[UsageCharge] = []
        self._stored: set[str] = set()  # part ids already written
        self._last_flush = time.monotonic()
        self._lock = asyncio.Lock()
        self._writing: asyncio.Task[dict[str, Session]] | None = None

    # --- events --------------------------------------------------------------------------

    async def publish(self, event_type: str, data: dict[str, Any]) -> None:
        await self.bus.publish(event_type, data, session_id=self.session_id)

    async def status(self, status: str, **extra: Any) -> None:
        await self.publish(ev.SESSION_STATUS, {"status": status, **extra})

    # --- rows, queued ----------------------------------------------------------------------

    async def message_started(self, message: MessageWithParts) -> None:
        self._messages[message.info.id] = message.info
        for part in message.parts:
            self._parts[part.id] = part
        await self.publish(ev.MESSAGE_CREATED, {"message": message.info})
        await self.publish(ev.MESSAGE_UPDATED, {"message": message.info})
        for part in message.parts:
            await self.publish(ev.PART_UPDATED, {"part": part})

    async def message_updated(self, message: Message) -> None:
        self._messages[message.id] = message
        await self.publish(ev.MESSAGE_UPDATED, {"message": message})

    async def part_updated(self, part: Part) -> None:
        self._parts[part.id] = part
        await self.publish(ev.PART_UPDATED, {"part": part})

    async def text_delta(self, part: Part, field: str, delta: str) -> None:
        """A piece of streamed text: published now, stored with the next batch."""
        self._parts[part.id] = part
        await self.publish(
            ev.PART_DELTA,
            {
                "part_id": part.id,
                "message_id": part.message_id,
                "type": part.type,
                "field": field,
                "delta": delta,
            },
        )
        await self.flush_if_due()

    async def progress(self, part: ToolPart) -> None:
        """A running tool reported progress (a title, metadata)."""
        await self.part_updated(part)
        await self.flush_if_due()

    async def parts_removed(self, parts: Iterable[Part]) -> None:
        """Take back parts a failed attempt made, so a retry starts clean."""
        for part in parts:
            self._parts.pop(part.id, None)
            if part.id in self._stored:
                self._removed.append(part.id)
                self._stored.discard(part.id)
            await self.publish(ev.PART_REMOVED, {"part_id": part.id, "message_id": part.message_id})

    async def tool_started(self, part: ToolPart) -> None:
        """A call passed its checks and runs next: stored first, so a crash shows it
        running; ``tool.started`` goes out once it is, as the tool begins."""
        self._parts[part.id] = part
        await self.publish(ev.PART_UPDATED, {"part": part})
        await self.flush()
        await self.publish(ev.TOOL_STARTED, {"part": part})

    async def tool_finished(self, part: ToolPart) -> None:
        await self.part_updated(part)
        if part.state.status == "completed":
            await self.publish(ev.TOOL_COMPLETED, {"part": part})
        else:
            await self.publish(ev.TOOL_ERROR, {"part": part, "error": part.state.error})

    def nested_call(self, record: ToolExecution) -> None:
        """A call a tool made through ``ctx.call_tool``: it has no part, only its record."""
        self._executions.append(record)

    def charge(
        self,
        usage: TokenUsage,
        cost: float,
        *,
        state: RunState | None = None,
        message: Message | None = None,
        tree: DelegationTree | None = None,
    ) -> None:
        """The one place usage is counted: added to the message (if any), the session's
        totals and the run's (if any) together, and to the delegation budget."""
        if message is not None:
            message.usage = message.usage + usage
            message.cost += cost
            self._messages[message.id] = message
        if state is not None:
            state.usage = state.usage + usage
            state.cost += cost
        if tree is not None:
            tree.add_cost(cost)
        self._charges.append(UsageCharge(self.session_id, usage, cost))

    # --- closing ---------------------------------------------------------------------------

    async def close_open(self, message: MessageWithParts, ending: Ending, at_ms: int) -> None:
        """Finish what a stopped step left open: text kept, tool calls ended, the message
        marked ``ending``. Stored with the next flush."""
        for part in message.parts:
            if close_part(part, ending, at_ms):
                await self.part_updated(part)
        if message.info.time.completed is None:
            close_message(message.info, ending, at_ms)
            await self.message_updated(message.info)

    # --- writing ---------------------------------------------------------------------------

    async def flush_if_due(self) -> None:
        if time.monotonic() - self._last_flush >= FLUSH_INTERVAL:
            await self.flush(wait=False)

    async def flush(self, *, wait: bool = True) -> None:
        """Write everything queued in one transaction; with ``wait``, until it commits
        (and the new session totals are published), else while the caller goes on.

        A caller cancelled while the write runs does not undo it: the store finishes
        the transaction, and later flushes queue behind it.
        """
        async with self._lock:
            await self._settle()
            if not (
                self._messages or self._parts or self._removed or self._executions or self._charges
            ):
                return
            batch = self._take()
            self._last_flush = time.monotonic()
            self._writing = asyncio.ensure_future(self.store.write(batch))
            if wait:
                await self._settle()

    async def _settle(self) -> None:
        """Wait for the write in flight, if any, and publish the totals it returned."""
        writing, self._writing = self._writing, None
        if writing is None:
            return
        sessions = await writing
        for session in sessions.values():
            await self.bus.publish(ev.SESSION_UPDATED, {"session": session}, session_id=session.id)

    def _take(self) -> WriteBatch:
        parts = list(self._parts.values())
        executions = self._executions + [
            execution_of(p, self.agent)
            for p in parts
            if isinstance(p, ToolPart) and p.state.status != "pending"
        ]
        batch = WriteBatch(
            messages=list(self._messages.values()),
            parts=parts,
            removed_parts=self._removed,
            executions=executions,
            charges=self._charges,
        )
        self._stored.update(p.id for p in parts)
        self._messages, self._parts = {}, {}
        self._removed, self._executions, self._charges = [], [], []
        return batch
