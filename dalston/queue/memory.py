"""In-process queue for embedded mode: bounded asyncio queues, one per engine."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from dalston.queue.base import TaskEvent, TaskMessage


class InProcessQueue:
    def __init__(self, max_size: int = 10_000) -> None:
        self._max_size = max_size
        self._tasks: defaultdict[str, asyncio.Queue[TaskMessage]] = defaultdict(
            lambda: asyncio.Queue(maxsize=self._max_size)
        )
        self._events: asyncio.Queue[TaskEvent] = asyncio.Queue(maxsize=max_size)
        self._cancelled: set[str] = set()

    async def put_task(self, message: TaskMessage) -> None:
        await self._tasks[message.engine_id].put(message)

    async def get_task(self, engine_id: str, timeout: float) -> TaskMessage | None:
        queue = self._tasks[engine_id]
        if timeout <= 0:
            try:
                return queue.get_nowait()
            except asyncio.QueueEmpty:
                return None
        try:
            async with asyncio.timeout(timeout):
                return await queue.get()
        except TimeoutError:
            return None

    async def ack_task(self, message: TaskMessage) -> None:
        """No-op: a message taken from an in-process queue is never redelivered."""

    async def put_event(self, event: TaskEvent) -> None:
        await self._events.put(event)

    async def get_event(self, timeout: float) -> TaskEvent | None:
        try:
            async with asyncio.timeout(timeout):
                return await self._events.get()
        except TimeoutError:
            return None

    async def extend_task(self, message: TaskMessage) -> bool:
        return True  # nothing is ever reclaimed in-process

    async def take_orphaned_tasks(self, limit: int = 100) -> list[TaskMessage]:
        return []  # workers die only with the process, and their tasks with it

    async def ack_event(self, event: TaskEvent) -> None:
        """No-op, as for ``ack_task``."""

    async def cancel_job(self, job_id: str) -> None:
        self._cancelled.add(job_id)

    async def is_job_cancelled(self, job_id: str) -> bool:
        return job_id in self._cancelled

    def depth(self, engine_id: str) -> int:
        return self._tasks[engine_id].qsize()
