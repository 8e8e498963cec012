"""Batch engine workers and their heartbeats: ``GET /v1/engines``."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from pydantic import BaseModel

from dalston.gateway.deps import CanRead, RuntimeDep

router = APIRouter(prefix="/v1", tags=["engines"])


class EngineWorker(BaseModel):
    id: str
    engine_id: str
    stage: str
    status: str
    loaded_models: list[str]
    capacity: int
    active: int
    host: str
    pid: int
    seconds_since_heartbeat: float


class EngineList(BaseModel):
    engines: list[EngineWorker]
    queue_depth: dict[str, int]


@router.get("/engines", response_model=EngineList)
async def list_engines(runtime: RuntimeDep, _: CanRead) -> EngineList:
    workers = await runtime.registry.workers()
    now = time.time()
    depth: dict[str, int] = {}
    for engine_id in sorted({w.engine_id for w in workers}):
        try:
            # depth() is synchronous (a Redis round trip): off the event loop.
            depth[engine_id] = await asyncio.to_thread(runtime.queue.depth, engine_id)
        except Exception:
            depth[engine_id] = -1  # queue unreachable: shown, not fatal
    return EngineList(
        engines=[
            EngineWorker(
                id=w.id,
                engine_id=w.engine_id,
                stage=w.stage,
                status=w.status,
                loaded_models=list(w.loaded_models),
                capacity=w.capacity,
                active=w.active,
                host=w.host,
                pid=w.pid,
                seconds_since_heartbeat=round(max(now - w.last_seen, 0.0), 1)
                if w.last_seen
                else 0.0,
            )
            for w in workers
        ],
        queue_depth=depth,
    )
