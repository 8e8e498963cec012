"""A job's original audio: ``GET /v1/audio/transcriptions/{id}/audio``.

The web console plays it beside the transcript. It streams the upload exactly as
it was stored, so the browser decodes it itself.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, JSONResponse

from dalston.errors import InvalidRequest, NotFound
from dalston.gateway.deps import CanRead, RuntimeDep
from dalston.storage import LocalArtifactStore

router = APIRouter(prefix="/v1/audio/transcriptions", tags=["jobs"])

# Containers that ``mimetypes`` does not know everywhere.
_MEDIA_TYPES = {
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".oga": "audio/ogg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".webm": "audio/webm",
}


def media_type(key: str) -> str:
    suffix = PurePosixPath(key).suffix.lower()
    guessed = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0]
    return guessed or "application/octet-stream"


@router.get(
    "/{job_id}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/*": {}}, "description": "The upload"}},
)
async def job_audio(
    job_id: str,
    runtime: RuntimeDep,
    principal: CanRead,
    presigned: Annotated[
        bool,
        Query(description="S3 storage: answer {url, expires_in} to fetch it directly"),
    ] = False,
    expires_in: Annotated[int, Query(ge=60, le=7 * 24 * 3600)] = 3600,
) -> Response:
    """The job's original upload, as stored (404 once its audio is gone)."""
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    key = view.job.audio_key
    gone = NotFound(f"The audio of job {job_id} is no longer stored.", param="id")
    if not key:
        raise gone
    name = PurePosixPath(key).name
    storage = runtime.storage
    if presigned:
        sign = getattr(storage, "presigned_url", None)
        if sign is None:
            raise InvalidRequest(
                "Presigned URLs need S3 storage; this server stores files locally.",
                param="presigned",
            )
        if not await storage.exists(key):
            raise gone
        url = await sign(key, expires_in)
        return JSONResponse({"url": url, "expires_in": expires_in})
    try:
        if isinstance(storage, LocalArtifactStore):
            async with storage.local_path(key) as path:
                return FileResponse(
                    path,
                    media_type=media_type(key),
                    filename=name,
                    content_disposition_type="inline",
                )
        data = await storage.get_bytes(key)
    except KeyError:
        raise gone from None
    return Response(
        data,
        media_type=media_type(key),
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
