"""Models: ``/v1/models`` (list, one, pull, delete). The rules are
``dalston.services.models``'; these routes translate."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from starlette.convertors import PathConvertor, register_url_convertor

from dalston.dialects.native.schemas import ModelInfo, ModelList, ModelPull
from dalston.gateway.deps import IsOperator, PrincipalDep, RuntimeDep
from dalston.services.models import ModelView

router = APIRouter(prefix="/v1/models", tags=["models"])


class _ModelIdConvertor(PathConvertor):
    """A model id: may hold ``/`` (hub ``org/repo`` ids) but never ends in
    ``/pull``, so ``/v1/models/{id}/pull`` is the pull action alone (other
    methods there get a 405, not a model named ``{id}/pull``)."""

    regex = ".+(?<!/pull)"


register_url_convertor("model_id", _ModelIdConvertor())


def _info(view: ModelView) -> ModelInfo:
    entry = view.entry
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
        loaded=view.loaded,
        downloaded_bytes=view.downloaded_bytes,
        download_progress=view.download_progress,
        error=view.error,
    )


@router.get("", response_model=ModelList)
async def list_models(runtime: RuntimeDep, _: PrincipalDep) -> ModelList:
    return ModelList(data=[_info(v) for v in await runtime.models.list()])


@router.post(
    "/{model_id:path}/pull",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ModelPull,
    responses={
        200: {
            "model": ModelPull,
            "description": "Present already (a package, a local folder, the "
            "cache) or downloading already: nothing started.",
        },
        503: {"description": "The hub cannot be reached (offline)."},
    },
)
async def pull_model(
    model_id: str, runtime: RuntimeDep, _: IsOperator, response: Response
) -> ModelPull:
    """Download a hub model in the background; ``GET /v1/models/{id}`` shows it."""
    outcome = await runtime.models.pull(model_id)
    if not outcome.started:
        response.status_code = status.HTTP_200_OK
    return ModelPull(**_info(outcome.view).model_dump(), message=outcome.message)


@router.get("/{model_id:model_id}", response_model=ModelInfo)
async def get_model(model_id: str, runtime: RuntimeDep, _: PrincipalDep) -> ModelInfo:
    return _info(await runtime.models.describe(model_id))


@router.delete("/{model_id:model_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_model(model_id: str, runtime: RuntimeDep, _: IsOperator) -> Response:
    """Remove a hub model's cached weights."""
    await runtime.models.delete(model_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
