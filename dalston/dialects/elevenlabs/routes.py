"""ElevenLabs-compatible speech-to-text (``/v1/speech-to-text*``), single-use
tokens (``/v1/single-use-token/*``) and webhook registration
(``/v1/workspace/webhooks``), wire-compatible with the official SDKs
(``elevenlabs`` Python, ``@elevenlabs/elevenlabs-js``).

Parsing lives in ``dalston.dialects.elevenlabs.request``, response shapes in
``...response``, exports in ``...formats``, webhooks in ``...webhooks``; errors
are rendered in ElevenLabs' shapes by ``gateway.errors``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from dalston.auth import Principal, Scope
from dalston.auth.tokens import issue_token
from dalston.dialects.elevenlabs.request import (
    ScribeRequest,
    parse_enable_logging,
    parse_request,
)
from dalston.dialects.elevenlabs.results import (
    SyncTimeout,
    load_options,
    response_for,
    save_options,
)
from dalston.dialects.elevenlabs.webhooks import ElevenLabsWebhooks, attach
from dalston.errors import Conflict, NotFound, ValidationFailed
from dalston.gateway.deps import (
    AuditDep,
    CanRead,
    CanWrite,
    IdempotencyKey,
    PrincipalDep,
    RuntimeDep,
    require,
)
from dalston.gateway.forms import FormFields
from dalston.orchestrator import JobStatus
from dalston.orchestrator.orchestrator import DIALECT_WEBHOOK
from dalston.runtime import Runtime
from dalston.services.jobs import AudioSource

router = APIRouter(tags=["elevenlabs"])

CanManageWebhooks = Annotated[Principal, Depends(require(Scope.WEBHOOKS))]

_ACCEPTED = "Request accepted. Transcription result will be sent to the webhook."
_TOKEN_SCOPES = {
    "realtime_scribe": frozenset({Scope.REALTIME}),
    "batch_scribe": frozenset({Scope.JOBS_WRITE, Scope.JOBS_READ}),
    # No text-to-speech here: the token is valid but opens nothing.
    "tts_websocket": frozenset[Scope](),
}
_TOKEN_TTL_S = 15 * 60

_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["model_id"],
                    "properties": {
                        "model_id": {"type": "string", "example": "scribe_v1"},
                        "file": {"type": "string", "format": "binary"},
                        "source_url": {"type": "string"},
                        "cloud_storage_url": {"type": "string"},
                        "language_code": {"type": "string"},
                        "tag_audio_events": {"type": "boolean", "default": True},
                        "timestamps_granularity": {
                            "type": "string",
                            "enum": ["none", "word", "character"],
                            "default": "word",
                        },
                        "additional_formats": {"type": "string"},
                        "file_format": {
                            "type": "string",
                            "enum": ["pcm_s16le_16", "other"],
                        },
                        "temperature": {"type": "number"},
                        "seed": {"type": "integer"},
                        "keyterms": {"type": "array", "items": {"type": "string"}},
                        "use_multi_channel": {"type": "boolean"},
                        "multichannel_output_style": {
                            "type": "string",
                            "enum": ["separate", "combined"],
                        },
                        "webhook": {"type": "boolean"},
                        "webhook_id": {"type": "string"},
                        "webhook_metadata": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _webhooks(request: Request, runtime: Runtime) -> ElevenLabsWebhooks:
    """The runtime's webhook registry and renderer (``attach`` at start)."""
    return attach(runtime)


# --- transcription ------------------------------------------------------------------
@router.post(
    "/v1/speech-to-text",
    openapi_extra=_FORM_DOC,
    responses={
        504: {"description": "The transcription did not finish within the wait."}
    },
)
async def convert(
    request: Request,
    runtime: RuntimeDep,
    principal: CanWrite,
    audit: AuditDep,
    enable_logging: Annotated[str | None, Query()] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Transcribe a file or URL; with ``webhook=true`` answer at once (202)."""
    keep = parse_enable_logging(enable_logging)
    async with request.form(max_files=4, max_fields=1200) as form:
        scribe = parse_request(
            FormFields(form, error=ValidationFailed),
            runtime.settings,
            enable_logging=keep,
        )
        webhook, request_id = None, uuid.uuid4().hex
        if scribe.webhook:
            targets = await _webhooks(request, runtime).registry.targets(
                principal.tenant_id, scribe.webhook_id
            )
            webhook = ElevenLabsWebhooks.job_param(
                targets=targets,
                request_id=request_id,
                metadata=scribe.webhook_metadata,
                options=scribe.options,
                formats=scribe.formats,
                purge=not keep,
            )
        job = await runtime.jobs.submit(
            tenant_id=principal.tenant_id,
            request=scribe.job,
            source=AudioSource(
                upload=scribe.upload,
                filename=scribe.filename,
                url=scribe.url,
                raw_pcm_s16le_16k=scribe.raw_pcm,
            ),
            idempotency_key=idempotency_key,
            webhook=webhook,
        )
    await audit("job.created", "job", job.id, {"model": job.model})
    if keep:
        await save_options(runtime.storage, job.id, scribe.options)
    if webhook is not None:
        # A repeat (same Idempotency-Key) answers with the first request's id.
        kept = job.params.get(DIALECT_WEBHOOK) or {}
        return _accepted(_ACCEPTED, kept.get("request_id", request_id), job.id)
    return await _answer(request, runtime, principal, scribe, job.id)


async def _answer(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    scribe: ScribeRequest,
    job_id: str,
) -> JSONResponse:
    tenant = principal.tenant_id
    view = await runtime.jobs.wait(
        tenant_id=tenant, job_id=job_id, timeout=runtime.settings.sync_timeout_s
    )
    if not JobStatus(view.job.status).is_terminal:
        if scribe.enable_logging:
            message = (
                "Transcription is still running; fetch it with GET "
                f"/v1/speech-to-text/transcripts/{job_id}."
            )
            return _accepted(message, uuid.uuid4().hex, job_id)
        # Zero retention: nobody may fetch it later, so stop it and drop it.
        try:
            await runtime.jobs.cancel(tenant_id=tenant, job_id=job_id)
        except Conflict:
            pass
        await runtime.jobs.purge_once_finished(job_id)
        raise SyncTimeout(
            f"Transcription {job_id} did not finish within "
            f"{runtime.settings.sync_timeout_s:g} s and was cancelled "
            "(enable_logging=false keeps nothing to fetch later)."
        )
    try:
        body = response_for(view, scribe.options, scribe.formats)
    finally:
        if not scribe.enable_logging:
            await runtime.jobs.purge(job_id)
    return JSONResponse(body)


def _accepted(message: str, request_id: str, job_id: str) -> JSONResponse:
    return JSONResponse(
        {"message": message, "request_id": request_id, "transcription_id": job_id},
        status_code=202,
    )


# --- transcripts -----------------------------------------------------------------
@router.get("/v1/speech-to-text/transcripts/{transcription_id}")
async def get_transcript(
    transcription_id: str, runtime: RuntimeDep, principal: CanRead
) -> JSONResponse:
    try:
        view = await runtime.jobs.get(
            tenant_id=principal.tenant_id, job_id=transcription_id
        )
    except NotFound:
        raise NotFound("Transcript not found.", param="transcription_id") from None
    options = await load_options(runtime.storage, view.job)
    return JSONResponse(response_for(view, options))


@router.delete("/v1/speech-to-text/transcripts/{transcription_id}")
async def delete_transcript(
    transcription_id: str, runtime: RuntimeDep, principal: CanWrite, audit: AuditDep
) -> JSONResponse:
    try:
        await runtime.jobs.delete(
            tenant_id=principal.tenant_id, job_id=transcription_id
        )
    except NotFound:
        raise NotFound("Transcript not found.", param="transcription_id") from None
    await audit("job.deleted", "job", transcription_id)
    return JSONResponse({})


# --- single-use tokens -------------------------------------------------------------
@router.post("/v1/single-use-token/{token_type}")
async def single_use_token(
    token_type: str, runtime: RuntimeDep, principal: PrincipalDep
) -> JSONResponse:
    scopes = _TOKEN_SCOPES.get(token_type)
    if scopes is None:
        raise ValidationFailed(
            "Input should be 'realtime_scribe', 'batch_scribe' or 'tts_websocket'",
            param="token_type",
            loc=["path", "token_type"],
        )
    async with runtime.sessions() as session, session.begin():
        secret, _ = await issue_token(
            session,
            principal=principal,
            purpose=token_type,
            scopes=scopes,
            ttl_s=_TOKEN_TTL_S,
        )
    return JSONResponse({"token": secret})


# --- webhook registration (the SDKs' client.webhooks) ---------------------------------
class WebhookSettings(BaseModel):
    auth_type: str = "hmac"
    name: str = Field(min_length=1, max_length=200)
    webhook_url: str = Field(min_length=1, max_length=2000)
    request_headers: dict[str, str | None] | None = None


class WebhookCreate(BaseModel):
    settings: WebhookSettings


class WebhookPatch(BaseModel):
    is_disabled: bool
    name: str = Field(min_length=1, max_length=200)
    retry_enabled: bool | None = None
    request_headers: dict[str, str | None] | None = None
    events: list[str] | None = None


def _headers(raw: dict[str, str | None] | None) -> dict[str, str] | None:
    if raw is None:
        return None
    return {k: v for k, v in raw.items() if v is not None}


@router.post("/v1/workspace/webhooks")
async def create_webhook(
    body: WebhookCreate,
    request: Request,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
) -> JSONResponse:
    if body.settings.auth_type != "hmac":
        raise ValidationFailed(
            f"auth_type {body.settings.auth_type!r} is not available; this server "
            "signs webhooks with HMAC only.",
            param="auth_type",
            loc=["body", "settings", "auth_type"],
        )
    webhook_id, secret = await _webhooks(request, runtime).registry.create(
        principal.tenant_id,
        name=body.settings.name,
        url=body.settings.webhook_url,
        headers=_headers(body.settings.request_headers) or {},
    )
    return JSONResponse({"webhook_id": webhook_id, "webhook_secret": secret})


@router.get("/v1/workspace/webhooks")
async def list_webhooks(
    request: Request,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
    include_usages: bool = False,
) -> JSONResponse:
    hooks = await _webhooks(request, runtime).registry.list_public(principal.tenant_id)
    if not include_usages:
        for hook in hooks:
            hook["usage"] = None
    return JSONResponse({"webhooks": hooks})


@router.patch("/v1/workspace/webhooks/{webhook_id}")
async def update_webhook(
    webhook_id: str,
    body: WebhookPatch,
    request: Request,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
) -> JSONResponse:
    changes: dict[str, Any] = body.model_dump(exclude_none=True)
    if body.request_headers is not None:
        changes["request_headers"] = _headers(body.request_headers)
    await _webhooks(request, runtime).registry.update(
        principal.tenant_id, webhook_id, changes
    )
    return JSONResponse({"status": "ok"})


@router.delete("/v1/workspace/webhooks/{webhook_id}")
async def delete_webhook(
    webhook_id: str,
    request: Request,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
) -> JSONResponse:
    await _webhooks(request, runtime).registry.delete(principal.tenant_id, webhook_id)
    return JSONResponse({"status": "ok"})
