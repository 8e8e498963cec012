"""OpenAI-compatible transcription and translation (``/v1/audio/*``).

Stub: the full dialect lands with the compatibility work.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from dalston.auth import Principal
from dalston.errors import InvalidRequest
from dalston.gateway.forms import FormFields
from dalston.runtime import Runtime

router = APIRouter(tags=["openai"])

# Requests naming one of these models, or any OpenAI-only field, are OpenAI-style.
OPENAI_MODELS = frozenset(
    {
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-4o-transcribe-diarize",
        "gpt-transcribe",
    }
)
_OPENAI_FIELDS = ("response_format", "stream", "prompt", "temperature")


def is_openai_request(fields: FormFields) -> bool:
    form = fields.form
    if any(name in form for name in _OPENAI_FIELDS):
        return True
    if any("[" in name for name in form):
        return True
    model = form.get("model")
    return isinstance(model, str) and model.strip() in OPENAI_MODELS


async def transcribe(
    fields: FormFields,
    *,
    runtime: Runtime,
    principal: Principal,
    task: Literal["transcribe", "translate"],
) -> Response:
    raise InvalidRequest("OpenAI-style requests are not supported yet.")
