"""Native batch jobs: ``/v1/audio/transcriptions``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from dalston.errors import Conflict, InvalidRequest
from dalston.gateway.deps import CanRead, CanWrite, RuntimeDep
from dalston.gateway.schemas import (
    JobCreated,
    JobList,
    JobResponse,
    JobSummary,
    StageInfo,
)
from dalston.orchestrator import JobStatus
from dalston.services.jobs import AudioSource, JobRequest, JobView, stage_timings
from dalston.transcript.export import CueOptions, ExportFormat, render

router = APIRouter(prefix="/v1/audio/transcriptions", tags=["jobs"])

# Native fields whose stages are not built yet: refused clearly, never ignored.
_NOT_YET = {
    "pii_detection": ("false", "PII detection"),
    "redact_pii_audio": ("false", "audio redaction"),
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=JobCreated)
async def create_job(
    runtime: RuntimeDep,
    principal: CanWrite,
    file: Annotated[UploadFile | None, File(description="Audio or video file")] = None,
    audio_url: Annotated[str | None, Form()] = None,
    model: Annotated[str | None, Form()] = None,
    language: Annotated[str | None, Form()] = None,
    timestamps_granularity: Annotated[str, Form()] = "word",
    vocabulary: Annotated[str | None, Form(description="JSON array of terms")] = None,
    name: Annotated[str | None, Form(max_length=255)] = None,
    speaker_detection: Annotated[str | None, Form()] = None,
    pii_detection: Annotated[str | None, Form()] = None,
    redact_pii_audio: Annotated[str | None, Form()] = None,
) -> JobCreated:
    for field, value in (
        ("pii_detection", pii_detection),
        ("redact_pii_audio", redact_pii_audio),
    ):
        default, engine = _NOT_YET[field]
        if value is not None and value.strip().lower() not in (default, ""):
            raise InvalidRequest(
                f"{field}={value!r} needs the {engine} stage, whose engine is not "
                "installed on this server.",
                param=field,
            )
    request = JobRequest(
        model=model or None,
        language=language or None,
        timestamps_granularity=timestamps_granularity,
        vocabulary=_parse_vocabulary(vocabulary),
        display_name=name,
        speaker_detection=(speaker_detection or "none").strip().lower(),
    )
    source = AudioSource(
        upload=file.file if file is not None else None,
        filename=file.filename if file is not None else None,
        url=audio_url or None,
    )
    job = await runtime.jobs.submit(
        tenant_id=principal.tenant_id, request=request, source=source
    )
    return JobCreated(
        id=job.id,
        status=job.status,
        display_name=job.display_name,
        model=job.model,
        created_at=job.created_at,
    )


@router.get("", response_model=JobList)
async def list_jobs(
    runtime: RuntimeDep,
    principal: CanRead,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> JobList:
    rows, next_cursor, has_more = await runtime.jobs.list(
        tenant_id=principal.tenant_id,
        status=status_filter,
        since=since,
        limit=limit,
        cursor=cursor,
    )
    return JobList(
        jobs=[
            JobSummary(
                id=j.id,
                status=j.status,
                display_name=j.display_name,
                model=j.model,
                created_at=j.created_at,
                completed_at=j.completed_at,
                audio_duration_seconds=j.audio_duration_s,
                language_code=j.language_code,
                error=j.error,
            )
            for j in rows
        ],
        cursor=next_cursor,
        has_more=has_more,
    )


@router.get("/{job_id}", response_model=JobResponse, response_model_exclude_none=False)
async def get_job(job_id: str, runtime: RuntimeDep, principal: CanRead) -> JobResponse:
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    return _job_response(view)


@router.post("/{job_id}/cancel", response_model=JobResponse)
async def cancel_job(
    job_id: str, runtime: RuntimeDep, principal: CanWrite
) -> JobResponse:
    await runtime.jobs.cancel(tenant_id=principal.tenant_id, job_id=job_id)
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    return _job_response(view)


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_job(job_id: str, runtime: RuntimeDep, principal: CanWrite) -> Response:
    await runtime.jobs.delete(tenant_id=principal.tenant_id, job_id=job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{job_id}/export/{fmt}")
async def export_job(
    job_id: str,
    fmt: ExportFormat,
    runtime: RuntimeDep,
    principal: CanRead,
    include_speakers: bool = False,
    max_line_length: Annotated[int, Query(ge=10, le=200)] = 42,
    max_lines: Annotated[int, Query(ge=1, le=10)] = 2,
) -> Response:
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    if view.transcript is None:
        raise Conflict(
            f"Job {job_id} is {view.job.status}; export needs a completed job."
        )
    body = render(
        view.transcript,
        fmt,
        CueOptions(
            max_line_length=max_line_length,
            max_lines=max_lines,
            include_speakers=include_speakers,
        ),
    )
    return Response(
        content=body,
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{job_id}.{fmt.value}"'},
    )


def _parse_vocabulary(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return ()
    try:
        terms = json.loads(raw)
    except json.JSONDecodeError:
        # Also accept a plain comma-separated list.
        return tuple(t.strip() for t in raw.split(",") if t.strip())
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise InvalidRequest(
            "vocabulary must be a JSON array of strings.", param="vocabulary"
        )
    return tuple(terms)


def _job_response(view: JobView) -> JobResponse:
    job, transcript = view.job, view.transcript
    response = JobResponse(
        id=job.id,
        status=job.status,
        display_name=job.display_name,
        model=job.model,
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        error=job.error,
        stages=[StageInfo.model_validate(s) for s in stage_timings(job.tasks)],
        parameters=dict(job.params),
        audio_duration_seconds=job.audio_duration_s,
        language_code=job.language_code,
    )
    if transcript is not None:
        response.language_probability = transcript.language_probability
        response.text = transcript.text
        response.segments = transcript.segments
        response.speakers = transcript.speakers
        if job.params.get("timestamps_granularity", "word") == "word":
            response.words = transcript.words
    return response
