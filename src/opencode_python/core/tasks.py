"""``TaskScope``: the tasks a client owns (runs, titles, subagents), ended together.

Structured like a TaskGroup: ``aclose()`` cancels every task and waits for them. Not
an ``asyncio.TaskGroup`` itself, for two reasons: a TaskGroup must live inside one
task for the client's whole life, and it cancels every sibling when one task fails,
while one failing run must never stop another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import OpenCodeError

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskScope:
    """Starts tasks, tracks them until they end, and cancels what is left on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Start ``coro`` as a task of this scope. A failure nobody awaits is logged."""
        if self._closed:
            coro.close()
            raise OpenCodeError("this client is closed; create a new OpenCodeAsyncClient")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` in the scope and wait for it. If the caller is cancelled, the
        task is cancelled too and the caller waits for it to clean up."""
        task = self.spawn(coro)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.wait({task})
            raise

    async def aclose(self) -> None:
        """Cancel every task and wait until all have ended. Later spawns are refused."""
        self._closed = True
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Read here so asyncio does not warn; whoever awaits the task sees it too.
            log.debug("task %s ended with %r", task.get_name(), task.exception())
