"""A job's audio: ``GET /v1/audio/transcriptions/{id}/audio`` (the upload),
``.../audio/redacted`` (PII spans silenced or beeped, when redaction ran), and
``DELETE .../audio`` (drop every stored copy of the audio, keep the transcript).

The web console plays it beside the transcript. It streams the file exactly as
it was stored, so the browser decodes it itself.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse, JSONResponse

from dalston.errors import Conflict, InvalidRequest, NotFound
from dalston.gateway.deps import AuditDep, CanRead, CanWrite, RuntimeDep
from dalston.runtime import Runtime
from dalston.storage import LocalArtifactStore
from dalston.storage.base import job_prefix

# Written by the redact stage (engines/audio_redact), relative to the job prefix.
REDACTED_AUDIO = "audio/redacted.wav"

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


# Both audio routes: a presigned S3 URL instead of the bytes, valid this long.
Presigned = Annotated[
    bool, Query(description="S3 storage: answer {url, expires_in} to fetch it directly")
]
ExpiresIn = Annotated[int, Query(ge=60, le=7 * 24 * 3600)]


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
    presigned: Presigned = False,
    expires_in: ExpiresIn = 3600,
) -> Response:
    """The job's original upload, as stored (404 once its audio is gone)."""
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    gone = NotFound(f"The audio of job {job_id} is no longer stored.", param="id")
    return await _serve(view.job.audio_key, runtime, gone, presigned, expires_in)


@router.get(
    "/{job_id}/audio/redacted",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "Redacted audio"}},
)
async def job_redacted_audio(
    job_id: str,
    runtime: RuntimeDep,
    principal: CanRead,
    presigned: Presigned = False,
    expires_in: ExpiresIn = 3600,
) -> Response:
    """The upload with its PII spans silenced or beeped (``redact_pii_audio``):
    WAV at the original sample rate and channels. 404 when redaction did not run,
    409 while the job is unfinished."""
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    if view.transcript is None:
        if view.job.params.get("redact_pii_audio"):
            raise Conflict(
                f"Job {job_id} is {view.job.status}; redacted audio exists once "
                "it has completed."
            )
        raise NotFound(f"Job {job_id} did not ask for redact_pii_audio.", param="id")
    pii = view.transcript.pii
    if pii is None or not pii.redacted_audio:
        raise NotFound(f"Job {job_id} did not ask for redact_pii_audio.", param="id")
    gone = NotFound(
        f"The redacted audio of job {job_id} is no longer stored.", param="id"
    )
    key = job_prefix(job_id) + REDACTED_AUDIO
    return await _serve(key, runtime, gone, presigned, expires_in)


@router.delete("/{job_id}/audio", status_code=status.HTTP_204_NO_CONTENT)
async def delete_job_audio(
    job_id: str, runtime: RuntimeDep, principal: CanWrite, audit: AuditDep
) -> Response:
    """Delete the job's stored audio (the upload, the prepared and the redacted
    copies); the job and its transcript stay. 409 while the job is unfinished."""
    await runtime.jobs.delete_audio(tenant_id=principal.tenant_id, job_id=job_id)
    await audit("job.audio_deleted", "job", job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _serve(
    key: str | None,
    runtime: Runtime,
    gone: NotFound,
    presigned: bool,
    expires_in: int,
) -> Response:
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
