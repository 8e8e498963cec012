"""Places live sessions on realtime workers with free capacity.

A worker declares its capacity; ``acquire`` picks the least-loaded worker with a free
slot and returns a lease that frees the slot however the session ends. Embedded mode
registers one in-process worker; distributed mode registers remote workers through
the same interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from dalston.realtime_sdk.decoder import StreamDecoder


class NoCapacity(Exception):
    """Every worker is full."""


@dataclass
class RealtimeWorker:
    id: str
    capacity: int
    decoder: StreamDecoder
    host: str = "embedded"
    sessions: set[str] = field(default_factory=set)

    @property
    def active(self) -> int:
        return len(self.sessions)

    @property
    def free(self) -> int:
        return self.capacity - self.active


@dataclass(frozen=True)
class Lease:
    session_id: str
    worker: RealtimeWorker


class SessionRouter:
    def __init__(self) -> None:
        self.workers: dict[str, RealtimeWorker] = {}
        self._lock = asyncio.Lock()

    def register(self, worker: RealtimeWorker) -> None:
        self.workers[worker.id] = worker

    def unregister(self, worker_id: str) -> None:
        self.workers.pop(worker_id, None)

    @property
    def capacity(self) -> int:
        return sum(w.capacity for w in self.workers.values())

    @property
    def active(self) -> int:
        return sum(w.active for w in self.workers.values())

    @asynccontextmanager
    async def acquire(self, session_id: str) -> AsyncIterator[Lease]:
        async with self._lock:
            candidates = [w for w in self.workers.values() if w.free > 0]
            if not candidates:
                raise NoCapacity(
                    f"all {self.capacity} realtime session slots are in use"
                )
            worker = min(candidates, key=lambda w: (w.active / w.capacity, w.id))
            worker.sessions.add(session_id)
        try:
            yield Lease(session_id, worker)
        finally:
            # Runs on every exit path: normal end, error, disconnect, cancellation.
            worker.sessions.discard(session_id)
