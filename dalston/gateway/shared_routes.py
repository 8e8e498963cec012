"""``POST /v1/audio/transcriptions``: the one path two dialects share.

Native job creation has its own route (``POST /v1/audio/transcriptions/jobs``);
the original Dalston server and OpenAI both post to this shared path, so this
module (part of app assembly, above the dialects) decides which dialect
answers, by one explicit rule (``dalston.dialects.openai.routes.
is_openai_request``):

- OpenAI when the request names an OpenAI model (``whisper-1``,
  ``gpt-4o-transcribe``... or a key of ``DALSTON_OPENAI_MODELS``), carries a
  field only OpenAI has (``response_format``, ``timestamp_granularities[]``,
  ``include[]``, ``chunking_strategy``, ``stream``, ``known_speaker_*``...),
  or comes from an OpenAI SDK (``x-stainless-lang`` header or an ``OpenAI/``
  user agent);
- native otherwise: a 201 with the new job, exactly as the native route.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from dalston.dialects.native.jobs import FORM_OPENAPI, create_native_job
from dalston.dialects.native.schemas import JobCreated
from dalston.dialects.openai.routes import is_openai_request, transcribe
from dalston.gateway.deps import AuditDep, CanWrite, IdempotencyKey, RuntimeDep
from dalston.gateway.forms import FormFields

router = APIRouter(tags=["jobs"])


@router.post(
    "/v1/audio/transcriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=JobCreated,
    openapi_extra=FORM_OPENAPI,
    responses={
        200: {
            "description": "OpenAI dialect (a `model` such as whisper-1): the "
            "transcription in the requested `response_format`.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        },
        504: {"description": "The transcription did not finish within the wait."},
    },
)
async def create_transcription(
    request: Request,
    runtime: RuntimeDep,
    principal: CanWrite,
    audit: AuditDep,
    idempotency_key: IdempotencyKey = None,
) -> JobCreated | Response:
    """A native job (201), or an OpenAI transcription answered synchronously."""
    async with request.form(max_files=4, max_fields=200) as form:
        fields = FormFields(form)
        if is_openai_request(fields, request):
            return await transcribe(
                fields,
                runtime=runtime,
                principal=principal,
                task="transcribe",
                idempotency_key=idempotency_key,
                audit=audit,
            )
        return await create_native_job(
            fields,
            runtime=runtime,
            principal=principal,
            idempotency_key=idempotency_key,
            audit=audit,
        )
