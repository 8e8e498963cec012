"""Places live sessions on realtime workers with free capacity.

A worker declares its capacity; ``acquire`` picks the least-loaded worker with a free
slot and returns a lease that frees the slot however the session ends. Embedded mode
registers one in-process worker; distributed mode registers remote workers through
the same interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from dalston.realtime_sdk.decoder import StreamDecoder


class NoCapacity(Exception):
    """Every worker is full."""


@dataclass
class RealtimeWorker:
    id: str
    capacity: int
    decoder: StreamDecoder | None  # None: a remote worker, reached at ``url``
    host: str = "embedded"
    sessions: set[str] = field(default_factory=set)
    url: str | None = None
    # Sessions the worker reported in its last heartbeat (remote workers).
    reported_active: int = 0
    models: tuple[str, ...] = ()

    @property
    def active(self) -> int:
        return max(len(self.sessions), self.reported_active)

    @property
    def free(self) -> int:
        return self.capacity - self.active


@dataclass(frozen=True)
class Lease:
    session_id: str
    worker: RealtimeWorker


RemoteSource = Callable[[], Awaitable[list[RealtimeWorker]]]


class SessionRouter:
    def __init__(self, remote: RemoteSource | None = None) -> None:
        self.workers: dict[str, RealtimeWorker] = {}
        self.remote = remote
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

    async def refresh(self) -> None:
        """Merge the remote workers' latest heartbeats (distributed mode)."""
        if self.remote is None:
            return
        seen = {w.id: w for w in await self.remote()}
        for worker_id in [w.id for w in self.workers.values() if w.url]:
            if worker_id not in seen:
                self.workers.pop(worker_id)  # stopped heartbeating: gone
        for worker_id, fresh in seen.items():
            known = self.workers.get(worker_id)
            if known is None:
                self.workers[worker_id] = fresh
            else:
                known.capacity = fresh.capacity
                known.reported_active = fresh.reported_active
                known.models = fresh.models

    @asynccontextmanager
    async def acquire(self, session_id: str) -> AsyncIterator[Lease]:
        try:
            await self.refresh()
        except Exception:  # the registry is down: local workers still serve
            pass
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
