"""Batch engine workers and their heartbeats: ``GET /v1/engines``.

Each entry also carries what the original Dalston clients read: ``name``,
``loaded_model`` and ``capabilities`` (``languages``, ``supports_word_timestamps``,
``supports_native_streaming``, ``max_audio_duration_s``, ``max_concurrency``),
and the list its ``total``."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from pydantic import BaseModel

from dalston.gateway.deps import CanRead, RuntimeDep

router = APIRouter(prefix="/v1", tags=["engines"])


class EngineCapabilitiesInfo(BaseModel):
    languages: list[str] | None  # None: any language
    supports_word_timestamps: bool
    supports_native_streaming: bool
    max_audio_duration_s: float | None = None  # None: no engine limit
    max_concurrency: int


class EngineWorker(BaseModel):
    id: str
    engine_id: str
    name: str
    loaded_model: str | None
    stage: str
    status: str
    loaded_models: list[str]
    capacity: int
    active: int
    host: str
    pid: int
    seconds_since_heartbeat: float
    capabilities: EngineCapabilitiesInfo


class EngineList(BaseModel):
    engines: list[EngineWorker]
    total: int
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
                name=w.engine_id,
                loaded_model=w.loaded_models[0] if w.loaded_models else None,
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
                capabilities=EngineCapabilitiesInfo(
                    languages=list(w.languages) if w.languages is not None else None,
                    supports_word_timestamps=w.word_timestamps,
                    supports_native_streaming=w.streaming,
                    max_concurrency=w.capacity,
                ),
            )
            for w in workers
        ],
        total=len(workers),
        queue_depth=depth,
    )
