"""OpenAI ephemeral keys for browsers: ``POST /v1/realtime/transcription_sessions``
(beta) and ``POST /v1/realtime/client_secrets`` (GA).

A server holding a real API key mints a short-lived secret and hands it to a
client, which opens ``WS /v1/realtime?intent=transcription`` with it as
``Authorization: Bearer <secret>`` or, from a browser, as the subprotocol
``openai-insecure-api-key.<secret>`` beside ``realtime`` (the server selects
``realtime``).

Decisions:

- **The secret is a single-use token** (``dalston.auth.tokens``, ``tk_``):
  it carries only the ``realtime`` scope (and only if the caller's key has
  it), belongs to the caller's tenant, and opens one WebSocket: a second
  connection with it is refused. Revoking the key recalls the secrets it
  minted that are still unused (``consume_token`` checks the key).
- **Lifetime**: the beta endpoint's secrets live 60 s, as upstream documents;
  GA ``expires_after.seconds`` is 10..7200 (default 600), anchored at creation.
- **Session configuration** sent with the request is checked (transcription
  sessions only; known audio formats) and echoed in upstream's shapes; the
  WebSocket session itself starts from the defaults and is configured by the
  client's ``transcription_session.update`` / ``session.update``, as every
  official client sends right after connecting.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends

from dalston.auth import Principal, Scope
from dalston.auth.tokens import issue_token
from dalston.errors import InvalidRequest
from dalston.gateway.deps import RuntimeDep, require

router = APIRouter(prefix="/v1/realtime", tags=["openai"])

CanStream = Depends(require(Scope.REALTIME))
BETA_TTL_S = 60
GA_TTL_S = (10, 600, 7200)  # min, default, max
_BETA_FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")
_GA_FORMATS = ("audio/pcm", "audio/pcmu", "audio/pcma")


def _object(body: dict[str, Any], name: str, param: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{param} must be an object.", param=param)
    return value


async def _mint(
    runtime: RuntimeDep, principal: Principal, ttl_s: int
) -> tuple[str, int]:
    async with runtime.sessions() as session, session.begin():
        secret, row = await issue_token(
            session,
            principal=principal,
            purpose="openai_client_secret",
            scopes=frozenset({Scope.REALTIME}),
            ttl_s=ttl_s,
        )
    expires: datetime = row.expires_at
    return secret, int(expires.timestamp())


@router.post("/transcription_sessions")
async def create_transcription_session(
    runtime: RuntimeDep,
    principal: Principal = CanStream,
    body: dict[str, Any] = Body(default_factory=dict),
) -> dict[str, Any]:
    """Beta: a transcription session's configuration and its ephemeral key."""
    audio_format = body.get("input_audio_format") or "pcm16"
    if audio_format not in _BETA_FORMATS:
        raise InvalidRequest(
            "input_audio_format must be one of " + ", ".join(_BETA_FORMATS),
            param="input_audio_format",
        )
    transcription = _object(
        body, "input_audio_transcription", "input_audio_transcription"
    )
    secret, expires_at = await _mint(runtime, principal, BETA_TTL_S)
    return {
        "client_secret": {"value": secret, "expires_at": expires_at},
        "input_audio_format": audio_format,
        "input_audio_transcription": {
            "model": transcription.get("model") or "whisper-1",
            "language": transcription.get("language"),
            "prompt": transcription.get("prompt"),
        },
        "modalities": ["text"],
        "turn_detection": body.get("turn_detection"),
    }


@router.post("/client_secrets")
async def create_client_secret(
    runtime: RuntimeDep,
    principal: Principal = CanStream,
    body: dict[str, Any] = Body(default_factory=dict),
) -> dict[str, Any]:
    """GA: an ephemeral key with the transcription session it is for."""
    low, default, high = GA_TTL_S
    expires_after = _object(body, "expires_after", "expires_after")
    anchor = expires_after.get("anchor", "created_at")
    if anchor != "created_at":
        raise InvalidRequest(
            "expires_after.anchor must be created_at.", param="expires_after.anchor"
        )
    seconds = expires_after.get("seconds", default)
    if not isinstance(seconds, int) or not low <= seconds <= high:
        raise InvalidRequest(
            f"expires_after.seconds must be a whole number within {low}..{high}.",
            param="expires_after.seconds",
        )
    session = _object(body, "session", "session")
    if session.get("type", "transcription") != "transcription":
        raise InvalidRequest(
            "This server only runs transcription sessions (session.type "
            "'transcription').",
            param="session.type",
        )
    audio = _object(session, "audio", "session.audio")
    audio_input = _object(audio, "input", "session.audio.input")
    audio_format = _object(audio_input, "format", "session.audio.input.format")
    if audio_format.get("type", "audio/pcm") not in _GA_FORMATS:
        raise InvalidRequest(
            "session.audio.input.format.type must be one of " + ", ".join(_GA_FORMATS),
            param="session.audio.input.format.type",
        )
    secret, expires_at = await _mint(runtime, principal, seconds)
    transcription = _object(
        audio_input, "transcription", "session.audio.input.transcription"
    )
    return {
        "value": secret,
        "expires_at": expires_at,
        "session": {
            "id": f"sess_{uuid.uuid4().hex}",
            "object": "realtime.transcription_session",
            "type": "transcription",
            "expires_at": expires_at,
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000, **audio_format},
                    "transcription": {
                        "model": transcription.get("model") or "whisper-1",
                        "language": transcription.get("language"),
                        "prompt": transcription.get("prompt"),
                    },
                    "turn_detection": audio_input.get("turn_detection"),
                    "noise_reduction": audio_input.get("noise_reduction"),
                }
            },
            "include": session.get("include") or [],
        },
    }
