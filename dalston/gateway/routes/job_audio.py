"""A job's original audio: ``GET /v1/audio/transcriptions/{id}/audio``.

The web console plays it beside the transcript. It streams the upload exactly as
it was stored, so the browser decodes it itself.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from dalston.errors import NotFound
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
async def job_audio(job_id: str, runtime: RuntimeDep, principal: CanRead) -> Response:
    """The job's original upload, as stored (404 once its audio is gone)."""
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    key = view.job.audio_key
    gone = NotFound(f"The audio of job {job_id} is no longer stored.", param="id")
    if not key:
        raise gone
    name = PurePosixPath(key).name
    storage = runtime.storage
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
