"""Engine workers announce themselves here with heartbeats; ``GET /v1/engines``
reads it. In-process for embedded mode, Redis keys with a TTL for distributed mode
(a worker that stops heartbeating disappears on its own)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields
from typing import Protocol


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    engine_id: str
    stage: str
    host: str
    pid: int
    capacity: int
    active: int
    status: str  # loading | ready | stopping
    loaded_models: tuple[str, ...] = ()
    last_seen: float = 0.0
    url: str | None = None  # realtime workers: where the gateway connects
    # What the engine declares (EngineCapabilities), for GET /v1/engines.
    languages: tuple[str, ...] | None = None  # None: any
    word_timestamps: bool = False
    streaming: bool = False  # realtime workers


class WorkerRegistry(Protocol):
    async def heartbeat(self, info: WorkerInfo) -> None: ...

    async def remove(self, worker_id: str) -> None: ...

    async def workers(self) -> list[WorkerInfo]: ...


class InProcessRegistry:
    def __init__(self) -> None:
        self._workers: dict[str, WorkerInfo] = {}

    async def heartbeat(self, info: WorkerInfo) -> None:
        self._workers[info.id] = info

    async def remove(self, worker_id: str) -> None:
        self._workers.pop(worker_id, None)

    async def workers(self) -> list[WorkerInfo]:
        return sorted(self._workers.values(), key=lambda w: (w.engine_id, w.id))


class RedisRegistry:
    def __init__(
        self, url: str, *, prefix: str = "dalston", ttl_s: float = 15.0
    ) -> None:
        import redis.asyncio as aioredis

        # Timeouts, so a hung server fails a heartbeat instead of blocking it.
        self._redis = aioredis.Redis.from_url(
            url, decode_responses=True, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        self._prefix = f"{prefix}:workers:"
        self._ttl_ms = int(ttl_s * 1000)

    async def heartbeat(self, info: WorkerInfo) -> None:
        body = json.dumps({**asdict(info), "last_seen": time.time()})
        await self._redis.set(self._prefix + info.id, body, px=self._ttl_ms)

    async def remove(self, worker_id: str) -> None:
        await self._redis.delete(self._prefix + worker_id)

    async def workers(self) -> list[WorkerInfo]:
        found = []
        async for key in self._redis.scan_iter(match=self._prefix + "*", count=200):
            raw = await self._redis.get(key)
            if raw:
                data = json.loads(raw)
                data["loaded_models"] = tuple(data.get("loaded_models") or ())
                if data.get("languages") is not None:
                    data["languages"] = tuple(data["languages"])
                # A worker of another version may announce fields this one lacks.
                known = {f.name for f in fields(WorkerInfo)}
                found.append(
                    WorkerInfo(**{k: v for k, v in data.items() if k in known})
                )
        return sorted(found, key=lambda w: (w.engine_id, w.id))

    async def aclose(self) -> None:
        await self._redis.aclose()
