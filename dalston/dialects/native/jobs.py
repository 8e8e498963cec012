"""Native batch jobs: ``/v1/audio/transcriptions``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from dalston.auth import Principal
from dalston.dialects.native.exports import CueQuery, export_response
from dalston.dialects.native.schemas import (
    JobCreated,
    JobList,
    JobResponse,
    JobSummary,
    JobUpdate,
    PiiInfo,
    RetentionInfo,
    StageInfo,
)
from dalston.errors import Conflict, InvalidRequest, ValidationFailed
from dalston.gateway.deps import (
    Audit,
    AuditDep,
    CanRead,
    CanWrite,
    IdempotencyKey,
    RuntimeDep,
)
from dalston.gateway.forms import FormFields
from dalston.gateway.metrics import JOBS_SUBMITTED
from dalston.orchestrator import JobStatus
from dalston.orchestrator.orchestrator import INTERNAL_PARAMS
from dalston.runtime import Runtime
from dalston.services.jobs import (
    MAX_JOB_WAIT_S,
    AudioSource,
    JobRequest,
    JobView,
    audio_progress,
    stage_timings,
)
from dalston.services.request import form_schema
from dalston.transcript.export import ExportFormat

router = APIRouter(prefix="/v1/audio/transcriptions", tags=["jobs"])


# The form's schema (for /docs) comes from the one request model.
FORM_FIELDS = (
    "model",
    "language",
    "timestamps_granularity",
    "vocabulary",
    "display_name",
    "speaker_detection",
    "num_speakers",
    "min_speakers",
    "max_speakers",
    "word_alignment",
    "pii_detection",
    "pii_entity_types",
    "redact_pii_audio",
    "pii_redaction_mode",
    "entity_redaction_mode",
    "retention_days",
)
FORM_SCHEMA = form_schema(
    FORM_FIELDS,
    extra={
        "file": {"type": "string", "format": "binary"},
        "audio_url": {"type": "string", "description": "http(s) URL to fetch"},
        "webhook_url": {
            "type": "string",
            "description": "http(s) URL told when the job finishes (signed with "
            "WEBHOOK_SECRET)",
        },
        "webhook_metadata": {
            "type": "string",
            "description": "a JSON object, echoed back in the webhook's data",
        },
    },
)
# The multipart body in the OpenAPI schema (the route reads the form itself).
FORM_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": FORM_SCHEMA}},
    }
}


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    response_model=JobCreated,
    openapi_extra=FORM_OPENAPI,
)
async def create_job(
    request: Request,
    runtime: RuntimeDep,
    principal: CanWrite,
    audit: AuditDep,
    idempotency_key: IdempotencyKey = None,
) -> JobCreated:
    """Create a native job (201): the unambiguous native route."""
    async with request.form(max_files=4, max_fields=200) as form:
        return await create_native_job(
            FormFields(form),
            runtime=runtime,
            principal=principal,
            idempotency_key=idempotency_key,
            audit=audit,
        )


# The original Dalston server's lite-mode pipeline profiles. Its SDK and CLI send
# ``lite_profile`` on every submit (``core`` by default); each maps onto the
# fields that ask for the same stages here: ``core`` adds nothing, ``speaker``
# turns diarization on and ``compliance`` PII detection, unless the request
# already asks for them.
LITE_PROFILES: dict[str, dict[str, object]] = {
    "core": {},
    "speaker": {"speaker_detection": "diarize"},
    "compliance": {"pii_detection": True},
}


def _lite_profile(fields: FormFields) -> dict[str, object]:
    name = (fields.text("lite_profile") or "core").strip().lower()
    if name not in LITE_PROFILES:
        raise InvalidRequest(
            f"lite_profile must be one of {', '.join(LITE_PROFILES)}.",
            param="lite_profile",
        )
    return LITE_PROFILES[name]


async def create_native_job(
    fields: FormFields,
    *,
    runtime: Runtime,
    principal: Principal,
    idempotency_key: str | None = None,
    audit: Audit | None = None,
) -> JobCreated:
    profile = _lite_profile(fields)
    speaker_detection = fields.text("speaker_detection")
    if speaker_detection in (None, "none") and "speaker_detection" in profile:
        speaker_detection = str(profile["speaker_detection"])
    job_request = JobRequest.build(
        model=fields.text("model"),
        language=fields.text("language"),
        timestamps_granularity=fields.text("timestamps_granularity"),
        vocabulary=fields.strings("vocabulary"),
        display_name=fields.text("name"),
        speaker_detection=speaker_detection,
        num_speakers=fields.integer("num_speakers"),
        min_speakers=fields.integer("min_speakers"),
        max_speakers=fields.integer("max_speakers"),
        word_alignment=_optional_bool(fields, "word_alignment"),
        pii_detection=fields.boolean("pii_detection")
        or bool(profile.get("pii_detection")),
        pii_entity_types=[
            part.strip()
            for value in fields.strings("pii_entity_types")
            for part in value.split(",")
            if part.strip()
        ],
        redact_pii_audio=fields.boolean("redact_pii_audio"),
        pii_redaction_mode=_lower(fields.text("pii_redaction_mode")),
        entity_redaction_mode=_lower(fields.text("entity_redaction_mode")),
        retention_days=fields.text("retention"),
    )
    upload = fields.file("file")
    source = AudioSource(
        upload=upload.file if upload is not None else None,
        filename=upload.filename if upload is not None else None,
        url=fields.text("audio_url"),
    )
    webhook = await _job_webhook(fields, runtime)
    unknown = fields.unread()
    if unknown:
        raise InvalidRequest(
            f"Unknown field(s): {', '.join(unknown)}.", param=unknown[0]
        )
    job = await runtime.jobs.submit(
        tenant_id=principal.tenant_id,
        request=job_request,
        source=source,
        idempotency_key=idempotency_key,
        webhook=webhook,
    )
    JOBS_SUBMITTED.inc()
    if audit is not None:
        await audit("job.created", "job", job.id, {"model": job.model})
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
async def get_job(
    job_id: str,
    runtime: RuntimeDep,
    principal: CanRead,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_JOB_WAIT_S,
            description="Seconds to wait for the job to finish before answering "
            "(a long poll): the answer comes as soon as it is completed, failed "
            "or cancelled, or as it is then. 0 (the default): at once.",
        ),
    ] = 0.0,
) -> JobResponse:
    if wait > 0:
        view = await runtime.jobs.wait(
            tenant_id=principal.tenant_id, job_id=job_id, timeout=wait
        )
    else:
        view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    response = _job_response(view)
    await runtime.jobs.delivered(view)  # retention=0: purged once finished
    return response


@router.patch("/{job_id}", response_model=JobResponse)
async def update_job(
    job_id: str, body: JobUpdate, runtime: RuntimeDep, principal: CanWrite
) -> JobResponse:
    """Rename a job (its ``display_name``) and/or name its speakers (``speakers``:
    id -> name, kept as ``speakers[].label`` and used by every export)."""
    if body.display_name is None and body.speakers is None:
        raise ValidationFailed(
            "Give display_name, speakers (id -> name) or both.", param="display_name"
        )
    if body.speakers is not None:
        await runtime.jobs.name_speakers(
            tenant_id=principal.tenant_id, job_id=job_id, names=body.speakers
        )
    if body.display_name is not None:
        await runtime.jobs.rename(
            tenant_id=principal.tenant_id,
            job_id=job_id,
            display_name=body.display_name,
        )
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    return _job_response(view)


@router.post("/{job_id}/cancel", response_model=JobResponse)
async def cancel_job(
    job_id: str, runtime: RuntimeDep, principal: CanWrite, audit: AuditDep
) -> JobResponse:
    await runtime.jobs.cancel(tenant_id=principal.tenant_id, job_id=job_id)
    await audit("job.cancelled", "job", job_id)
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    return _job_response(view)


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_job(
    job_id: str, runtime: RuntimeDep, principal: CanWrite, audit: AuditDep
) -> Response:
    await runtime.jobs.delete(tenant_id=principal.tenant_id, job_id=job_id)
    await audit("job.deleted", "job", job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{job_id}/export/{fmt}")
async def export_job(
    job_id: str,
    fmt: ExportFormat,
    runtime: RuntimeDep,
    principal: CanRead,
    options: CueQuery,
) -> Response:
    view = await runtime.jobs.get(tenant_id=principal.tenant_id, job_id=job_id)
    if view.transcript is None:
        raise Conflict(
            f"Job {job_id} is {view.job.status}; export needs a completed job."
        )
    response = export_response(view.transcript, fmt, options, job_id)
    await runtime.jobs.delivered(view)
    return response


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


async def _job_webhook(fields: FormFields, runtime: Runtime) -> dict[str, Any]:
    """The job's own ``webhook_url`` (checked by the SSRF guard now, and again
    at delivery) and ``webhook_metadata`` (a JSON object)."""
    url = fields.text("webhook_url")
    raw_metadata = fields.text("webhook_metadata")
    out: dict[str, Any] = {}
    if url:
        await runtime.webhook_endpoints.check_url(url, param="webhook_url")
        out["webhook_url"] = url
    if raw_metadata:
        try:
            metadata = json.loads(raw_metadata)
        except ValueError as exc:
            raise InvalidRequest(
                "webhook_metadata must be a JSON object.", param="webhook_metadata"
            ) from exc
        if not isinstance(metadata, dict) or len(raw_metadata) > 16_000:
            raise InvalidRequest(
                "webhook_metadata must be a JSON object (16 kB at most).",
                param="webhook_metadata",
            )
        out["webhook_metadata"] = metadata
    return out


def _optional_bool(fields: FormFields, name: str) -> bool | None:
    return None if fields.text(name) is None else fields.boolean(name)


def _retention_info(view: JobView) -> RetentionInfo:
    days = view.job.retention_days
    if days is None:
        return RetentionInfo(mode="keep")
    if days == 0:
        return RetentionInfo(mode="after_delivery")
    return RetentionInfo(mode="days", days=days, purge_after=view.job.purge_after)


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
        progress=audio_progress(job),
        parameters={k: v for k, v in job.params.items() if k not in INTERNAL_PARAMS},
        audio_duration_seconds=job.audio_duration_s,
        audio_stored=job.audio_key is not None,
        language_code=job.language_code,
        retention=_retention_info(view),
    )
    if transcript is not None:
        response.language_probability = transcript.language_probability
        response.text = transcript.text
        response.segments = transcript.segments
        response.speakers = transcript.speakers
        if job.params.get("timestamps_granularity", "word") in ("word", "character"):
            response.words = transcript.words
        if transcript.pii is not None:
            response.pii = PiiInfo.of(transcript.pii, transcript.entities)
        response.entities = transcript.entities
        response.redacted_text = transcript.redacted_text
        response.warnings = transcript.metadata.warnings or None
    return response
