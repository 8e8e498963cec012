"""Model discovery: ``/v1/models``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from dalston.catalog import ModelEntry
from dalston.dialects.native.schemas import ModelInfo, ModelList
from dalston.errors import InvalidRequest, NotFound
from dalston.gateway.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/v1/models", tags=["models"])


def _info(entry: ModelEntry) -> ModelInfo:
    return ModelInfo(
        id=entry.id,
        engine_id=entry.engine_id,
        stage=entry.stage,
        status=entry.status.value,
        languages=list(entry.languages) if entry.languages else None,
        word_timestamps=entry.word_timestamps,
        size_bytes=entry.size_bytes,
        supports_cpu=entry.supports_cpu,
        supports_gpu=entry.supports_gpu,
        source=entry.source.value,
        description=entry.description,
    )


@router.get("", response_model=ModelList)
async def list_models(runtime: RuntimeDep, _: PrincipalDep) -> ModelList:
    entries = await asyncio.to_thread(runtime.catalog.entries)
    return ModelList(data=[_info(e) for e in entries])


@router.get("/{model_id:path}", response_model=ModelInfo)
async def get_model(model_id: str, runtime: RuntimeDep, _: PrincipalDep) -> ModelInfo:
    try:
        entry = await asyncio.to_thread(runtime.catalog.get, model_id)
    except InvalidRequest as exc:
        raise NotFound(exc.message, param="model_id") from None
    return _info(entry)
