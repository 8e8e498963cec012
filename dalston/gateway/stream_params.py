"""Query-parameter parsing shared by the realtime protocols.

Model, language, vocabulary and retention of a stream are a
``TranscriptionRequest`` and the policy's choice, exactly as for batch jobs
(:func:`transcription`); this module only reads query values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalston.errors import InvalidRequest
from dalston.gateway.stream import Close, StreamError
from dalston.runtime import Runtime
from dalston.services import policy
from dalston.services.policy import ModelChoice
from dalston.services.request import TranscriptionRequest

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def invalid(message: str) -> StreamError:
    return StreamError(
        "invalid_request", message, fatal=True, close=Close.INVALID_PARAMETERS
    )


def flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise invalid(f"{name} must be true or false, not {raw!r}.")


def number(
    query: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise invalid(f"{name} must be a number, not {raw!r}.") from None
    if not low <= value <= high:
        raise invalid(f"{name} must be within {low}..{high}.")
    return value


def transcription(
    runtime: Runtime, names: Mapping[str, str] | None = None, **values: Any
) -> tuple[TranscriptionRequest, ModelChoice]:
    """A stream's request and the policy's model choice, as batch jobs get them.

    Refusals are ``InvalidRequest`` naming the protocol's field (``names``);
    each adapter sends them as its protocol's error.
    """
    request = TranscriptionRequest.build(names, **values)
    try:
        choice = policy.choose(request, runtime.settings, runtime.catalog)
    except InvalidRequest as exc:
        param = (names or {}).get(exc.param or "", exc.param)
        raise InvalidRequest(exc.message, param=param) from None
    return request, choice


def refused(exc: InvalidRequest) -> StreamError:
    """A request refusal as the shared realtime ``invalid_request`` error."""
    return invalid(exc.message)


# Hybrid sessions: `batch_after=true` sends the session's audio through the batch
# pipeline when it ends; `batch_<field>` sets that job's fields (the batch API's
# names), e.g. batch_model, batch_speaker_detection=diarize, batch_pii_detection.
BATCH_FIELDS = {
    "model": "batch_model",
    "language": "batch_language",
    "timestamps_granularity": "batch_timestamps_granularity",
    "word_alignment": "batch_word_alignment",
    "speaker_detection": "batch_speaker_detection",
    "num_speakers": "batch_num_speakers",
    "min_speakers": "batch_min_speakers",
    "max_speakers": "batch_max_speakers",
    "pii_detection": "batch_pii_detection",
    "pii_entity_types": "batch_pii_entity_types",
    "redact_pii_audio": "batch_redact_pii_audio",
    "pii_redaction_mode": "batch_pii_redaction_mode",
    "retention_days": "batch_retention",
}


async def batch_after(
    runtime: Runtime, query: Mapping[str, str], language: str | None
) -> TranscriptionRequest | None:
    """The batch job a hybrid session asks for (None without ``batch_after``),
    checked now as a job submit would be (model, language, live engines), so a
    bad request is refused before the session starts, not after it ends."""
    if not flag(query, "batch_after", False):
        return None
    values: dict[str, Any] = {
        field: query.get(name) or None for field, name in BATCH_FIELDS.items()
    }
    if values["language"] is None:
        values["language"] = language
    if values["pii_entity_types"]:
        values["pii_entity_types"] = [
            t.strip() for t in str(values["pii_entity_types"]).split(",") if t.strip()
        ]
    try:
        request = TranscriptionRequest.build(
            {k: v for k, v in BATCH_FIELDS.items()}, **values
        )
        await runtime.jobs.plan(request)
    except InvalidRequest as exc:
        raise refused(exc) from None
    return request
