"""ElevenLabs realtime speech-to-text: ``WS /v1/speech-to-text/realtime``.

The wire format of ElevenLabs' Scribe realtime API (the official SDKs connect with
``base_url`` pointed here). Client frames are JSON ``input_audio_chunk`` messages with
base64 audio; ``commit: true`` commits. Server messages: ``session_started`` first,
then ``partial_transcript``, ``committed_transcript`` and (``include_timestamps``)
``committed_transcript_with_timestamps``, and with ``entity_detection`` (categories
or types, as in batch) ``committed_transcript_entities`` after each commit, offsets
into that commit's text; errors are ``{"message_type": <type>,
"error": <text>}`` with ElevenLabs' error types.

Choices where ElevenLabs' behaviour is not documented:

- ``model_id``: looked up in ``settings.elevenlabs_models``, then without its
  ``_realtime`` suffix (``scribe_v2_realtime`` -> ``scribe_v2``); any other
  ``scribe*`` id means ``auto`` so that new ElevenLabs model names keep working.
  What ``auto`` is, is ``dalston.services.policy``'s choice, as for every
  dialect: the English-only default only for ``language_code=en``/``eng``.
- Parameters, features and values this server does not have are refused before the
  session starts: ``invalid_request`` then close 1008, no ``session_started``.
  Authentication failures: ``auth_error`` then close 1008.
- A malformed message, a bad chunk (``input_error``) or an oversize chunk
  (``chunk_size_exceeded``) is reported and dropped; the session goes on.
- ``min_silence_duration_ms`` is checked and echoed but has no effect of its own:
  ``vad_silence_threshold_secs`` is the silence that ends an utterance.
- ``language_code`` in transcripts is ISO 639-3 (``eng``) as in ElevenLabs' batch
  API; with ``include_language_detection`` it is also added to
  ``committed_transcript``.
- The stream ends when the client closes the socket (there is no end message):
  what was committed is recorded; uncommitted audio is dropped.
- ``enable_logging=false``: nothing of the session is kept once it ends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.datastructures import QueryParams

from dalston.dialects.elevenlabs.request import FIELD_NAMES, check_keyterms
from dalston.errors import DalstonError
from dalston.gateway import stream_params as params
from dalston.gateway.stream import (
    Action,
    ClientInput,
    Close,
    SessionLimits,
    StreamError,
    StreamRequest,
    authenticate,
    refuse,
    run_stream,
)
from dalston.pii import resolve_entity_types
from dalston.realtime_sdk import entities
from dalston.realtime_sdk.audio import AudioFormat, Encoding
from dalston.realtime_sdk.events import Event, Final, LagWarning, Partial
from dalston.realtime_sdk.session import (
    CommitStrategy,
    LiveSession,
    SessionConfig,
)
from dalston.runtime import Runtime
from dalston.services.languages import to_iso3, to_whisper

router = APIRouter()

AUDIO_FORMATS: dict[str, AudioFormat] = {
    **{
        f"pcm_{rate}": AudioFormat(Encoding.PCM_S16LE, rate)
        for rate in (8000, 16000, 22050, 24000, 44100, 48000)
    },
    "ulaw_8000": AudioFormat(Encoding.MULAW, 8000),
}
MAX_CHUNK_S = 5.0  # audio in one input_audio_chunk
_REPEATED = {"keyterms", "secondary_languages", "entity_detection", "entity_redaction"}
_UNSUPPORTED = {
    "entity_redaction": "entity redaction",
    "entity_redaction_mode": "entity redaction",
    "transcript_edit": "transcript editing",
    "secondary_languages": "secondary languages",
}
_UNSUPPORTED_FLAGS = {
    "no_verbatim": "non-verbatim transcripts",
    "filter_background_audio": "background audio filtering",
}
# Driver error codes -> ElevenLabs message types.
_ERROR_TYPES = {
    "forbidden": "auth_error",
    "no_capacity": "resource_exhausted",
    "too_many_sessions": "rate_limited",
    "rate_limited": "rate_limited",
    "processing_lag": "queue_overflow",
    "internal_error": "transcriber_error",
    "invalid_audio": "input_error",
    "worker_lost": "transcriber_error",
    "idle_timeout": "insufficient_audio_activity",
    "session_time_limit": "session_time_limit_exceeded",
}
_ERROR_NAMES = {
    "insufficient_audio_activity",
    "session_time_limit_exceeded",
    "auth_error",
    "invalid_request",
    "input_error",
    "chunk_size_exceeded",
    "queue_overflow",
    "resource_exhausted",
    "transcriber_error",
    "rate_limited",
}


@dataclass(frozen=True)
class Options:
    """What the query asked for beyond the session config (for rendering)."""

    model_id: str
    audio_format: str
    language_code: str | None = None
    include_timestamps: bool = False
    include_language_detection: bool = False
    enable_logging: bool = True
    min_silence_duration_ms: int = 100
    keyterms: tuple[str, ...] = ()
    # entity_detection, as entity types: committed_transcript_entities after finals.
    entity_types: tuple[str, ...] = ()


class ElevenLabsAdapter:
    name = "elevenlabs"

    def __init__(self, options: Options | None = None) -> None:
        self.options = options
        self.session: LiveSession | None = None
        self._heard_audio = False
        self._warm_up: asyncio.Future[None] | None = None

    def begin(
        self, session: LiveSession, limits: SessionLimits
    ) -> list[dict[str, Any]]:
        assert self.options is not None
        self.session = session
        cfg, opts = session.config, self.options
        if opts.entity_types:  # load the detector while the first words arrive
            self._warm_up = asyncio.ensure_future(entities.warm_up())
        strategy = cfg.commit_strategy.value
        return [
            {
                "message_type": "session_started",
                "session_id": session.id,
                "config": {
                    "sample_rate": cfg.audio.sample_rate,
                    "audio_format": opts.audio_format,
                    "language_code": opts.language_code,
                    "commit_strategy": strategy,
                    "vad_commit_strategy": strategy,
                    "vad_silence_threshold_secs": cfg.silence_s,
                    "vad_threshold": cfg.vad_threshold,
                    "min_speech_duration_ms": round(cfg.min_speech_s * 1000),
                    "min_silence_duration_ms": opts.min_silence_duration_ms,
                    "model_id": opts.model_id,
                    "enable_logging": opts.enable_logging,
                    "include_timestamps": opts.include_timestamps,
                    "include_language_detection": opts.include_language_detection,
                    "keyterms": list(opts.keyterms),
                    "no_verbatim": False,
                    # Dalston's session limits (the SDKs pass config through).
                    "inactivity_timeout_secs": limits.idle_timeout_s,
                    "max_session_duration_secs": limits.max_session_s,
                },
            }
        ]

    def parse(self, message: Mapping[str, Any]) -> ClientInput:
        if message.get("bytes") is not None:
            raise _error(
                "invalid_request",
                "Send audio as input_audio_chunk JSON text messages with base64 "
                "audio_base_64.",
            )
        try:
            body = json.loads(message.get("text") or "")
        except json.JSONDecodeError:
            raise _error("invalid_request", "Messages must be JSON.") from None
        if not isinstance(body, dict):
            raise _error("invalid_request", "Expected a JSON object.")
        kind = body.get("message_type", "input_audio_chunk")
        if kind != "input_audio_chunk":
            raise _error(
                "invalid_request",
                f"Unknown message_type {kind!r}; the only client message is "
                "'input_audio_chunk'.",
            )
        if "audio_base_64" not in body and body.get("commit") is not True:
            # Audio sent under another name ({"audio": ...}, another dialect's
            # event) would otherwise be dropped without a word, and the client
            # wait for transcripts that never come.
            raise _error(
                "input_error",
                "An input_audio_chunk carries its audio in audio_base_64 (or is a "
                "commit: true); the message was dropped.",
            )
        audio = self._audio(body)
        commit = body.get("commit", False)
        if not isinstance(commit, bool):
            raise _error("invalid_request", "commit must be true or false.")
        self._previous_text(body.get("previous_text"), audio)
        self._heard_audio = self._heard_audio or bool(audio)
        return ClientInput(audio=audio, action=Action.COMMIT if commit else Action.NONE)

    def _audio(self, body: dict[str, Any]) -> bytes:
        assert self.session is not None
        fmt = self.session.config.audio
        rate = body.get("sample_rate")
        if rate is not None and rate != fmt.sample_rate:
            raise _error(
                "input_error",
                f"sample_rate {rate!r} does not match the session's audio_format "
                f"({fmt.sample_rate} Hz); the chunk was dropped.",
            )
        encoded = body.get("audio_base_64") or ""
        if not isinstance(encoded, str):
            raise _error("invalid_request", "audio_base_64 must be a base64 string.")
        limit = int(MAX_CHUNK_S * fmt.sample_rate * fmt.encoding.sample_width)
        if len(encoded) > (limit + 2) // 3 * 4:
            raise _error(
                "chunk_size_exceeded",
                f"An audio chunk may hold at most {MAX_CHUNK_S:g} s of audio "
                f"({limit} bytes); the chunk was dropped.",
            )
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _error(
                "input_error", "audio_base_64 is not valid base64; chunk dropped."
            ) from None

    def _previous_text(self, text: Any, audio: bytes) -> None:
        if text is None:
            return
        if not isinstance(text, str):
            raise _error("invalid_request", "previous_text must be a string.")
        if self._heard_audio:
            raise _error(
                "input_error",
                "previous_text is only accepted with the first audio chunk; the "
                "chunk was dropped.",
            )
        assert self.session is not None
        if text.strip():
            self.session.config = dataclasses.replace(
                self.session.config, previous_text=text.strip()
            )

    def render(self, event: Event, session: LiveSession) -> list[dict[str, Any]]:
        assert self.options is not None
        if isinstance(event, Partial):
            return [{"message_type": "partial_transcript", "text": event.text}]
        if isinstance(event, LagWarning):
            return [
                {
                    "message_type": "warning",
                    "warning": f"Transcription is {event.lag_seconds:.1f} s behind "
                    "the audio.",
                }
            ]
        if not isinstance(event, Final):
            return []  # speech start / end: not part of this protocol
        language = to_iso3(event.language or session.config.language)
        committed: dict[str, Any] = {
            "message_type": "committed_transcript",
            "text": event.text,
        }
        if self.options.include_language_detection:
            committed["language_code"] = language
        messages = [committed]
        if self.options.include_timestamps:
            messages.append(
                {
                    "message_type": "committed_transcript_with_timestamps",
                    "text": event.text,
                    "language_code": language,
                    "words": _words(event),
                }
            )
        return messages

    async def enrich(self, event: Event, session: LiveSession) -> list[dict[str, Any]]:
        assert self.options is not None
        if not self.options.entity_types or not isinstance(event, Final):
            return []
        if not event.text:
            return []
        found = await entities.find_entities(event.text, self.options.entity_types)
        return [
            {
                "message_type": "committed_transcript_entities",
                "text": event.text,
                "entities": [
                    {
                        "text": e.text,
                        "entity_type": e.entity_type,
                        "start_char": e.start_char,
                        "end_char": e.end_char,
                    }
                    for e in found
                ],
            }
        ]

    def finish(self, session: LiveSession) -> list[dict[str, Any]]:
        return []

    def error(self, error: StreamError) -> dict[str, Any]:
        kind = _ERROR_TYPES.get(error.code, error.code)
        return {
            "message_type": kind if kind in _ERROR_NAMES else "error",
            "error": error.message,
        }


def _error(kind: str, message: str) -> StreamError:
    return StreamError(kind, message, fatal=False)


def _words(final: Final) -> list[dict[str, Any]]:
    """Words with ``spacing`` items between them, as ElevenLabs sends them."""
    words: list[dict[str, Any]] = []
    for i, w in enumerate(final.words):
        if i:
            previous = final.words[i - 1]
            words.append(
                {
                    "text": " ",
                    "start": previous.end,
                    "end": max(w.start, previous.end),
                    "type": "spacing",
                    "logprob": 0.0,
                }
            )
        words.append(
            {
                "text": w.text,
                "start": w.start,
                "end": w.end,
                "type": "word",
                "logprob": round(math.log(min(max(w.probability, 1e-6), 1.0)), 4),
            }
        )
    return words


# --- the connection's query --------------------------------------------------------
def _invalid(message: str) -> StreamError:
    return StreamError("invalid_request", message, fatal=True, close=Close.POLICY)


def _flatten(query: QueryParams) -> dict[str, str]:
    """One value per parameter; a repeated one must repeat the same value."""
    flat: dict[str, str] = {}
    for key in query.keys():
        values = set(query.getlist(key))
        if len(values) > 1 and key not in _REPEATED:
            raise _invalid(f"{key} is given more than once with different values.")
        flat[key] = query.getlist(key)[-1]
    return flat


def _refuse_unsupported(query: QueryParams, flat: dict[str, str]) -> None:
    refused = sorted(
        {
            f"{name} ({feature})"
            for name, feature in _UNSUPPORTED.items()
            if any(v.strip() for v in query.getlist(name))
        }
        | {
            f"{name} ({feature})"
            for name, feature in _UNSUPPORTED_FLAGS.items()
            if params.flag(flat, name, False)
        }
    )
    if refused:
        raise _invalid(
            "This server does not support: " + ", ".join(refused) + ". Remove "
            "these parameters."
        )


def _entity_types(query: QueryParams) -> tuple[str, ...]:
    """``entity_detection`` (repeated, categories or types) -> entity types."""
    raw = [
        part.strip()
        for value in query.getlist("entity_detection")
        for part in value.split(",")
        if part.strip()
    ]
    if not raw:
        return ()
    if not entities.available():
        raise _invalid(
            "entity_detection needs the PII engine (presidio-pii), which is not "
            "installed on this server (pip install 'dalston[pii]')."
        )
    try:
        return resolve_entity_types(raw)
    except ValueError as exc:
        raise _invalid(f"entity_detection: {exc}") from None


def _model(runtime: Runtime, model_id: str) -> str:
    """The Dalston model id (or ``auto``) a realtime ``model_id`` names."""
    models = runtime.settings.elevenlabs_models
    mapped = models.get(model_id)
    if mapped is None and model_id.endswith("_realtime"):
        mapped = models.get(model_id.removesuffix("_realtime"))
    if mapped is None and model_id.startswith("scribe"):
        mapped = "auto"
    if mapped is None:
        known = ", ".join(sorted(f"{m}_realtime" for m in models))
        raise _invalid(f"Unknown model_id {model_id!r}; use one of {known}.")
    return mapped


def parse_query(runtime: Runtime, query: QueryParams) -> tuple[StreamRequest, Options]:
    try:
        flat = _flatten(query)
        _refuse_unsupported(query, flat)
        return _parse(runtime, query, flat)
    except StreamError as exc:  # params' checks: same message, this close code
        raise _invalid(exc.message) from None


def _parse(
    runtime: Runtime, query: QueryParams, flat: dict[str, str]
) -> tuple[StreamRequest, Options]:
    model_id = flat.get("model_id", "").strip()
    if not model_id:
        raise _invalid("model_id is required (e.g. scribe_v2_realtime).")
    audio_format = flat.get("audio_format") or "pcm_16000"
    if audio_format not in AUDIO_FORMATS:
        raise _invalid(
            f"audio_format {audio_format!r} is not one of "
            + ", ".join(AUDIO_FORMATS)
            + "."
        )
    strategy = (flat.get("commit_strategy") or "manual").lower()
    if strategy not in ("manual", "vad"):
        raise _invalid("commit_strategy must be 'manual' or 'vad'.")
    raw_language = (flat.get("language_code") or "").strip()
    language = None
    if raw_language and raw_language.lower() != "auto":
        language = to_whisper(raw_language)
        if language is None:
            raise _invalid(
                f"language_code {raw_language!r} is not an ISO 639-1 / 639-3 code "
                "of a language this server transcribes."
            )
    detect = params.flag(flat, "include_language_detection", False)
    logging_on = params.flag(flat, "enable_logging", True)
    try:
        asked, choice = params.transcription(
            runtime,
            FIELD_NAMES,
            model=_model(runtime, model_id),
            language=language,
            vocabulary=check_keyterms(query.getlist("keyterms")),
        )
    except DalstonError as exc:  # the request model's or the keyterm syntax
        raise _invalid(exc.message) from None
    options = Options(
        model_id=model_id,
        audio_format=audio_format,
        language_code=raw_language or None,
        include_timestamps=params.flag(flat, "include_timestamps", False),
        include_language_detection=detect,
        enable_logging=logging_on,
        min_silence_duration_ms=int(
            params.number(flat, "min_silence_duration_ms", 100, 50, 2000)
        ),
        keyterms=asked.vocabulary,
        entity_types=_entity_types(query),
    )
    config = SessionConfig(
        model=choice.model,
        language=choice.language,
        audio=AUDIO_FORMATS[audio_format],
        commit_strategy=CommitStrategy(strategy),
        vad_threshold=params.number(flat, "vad_threshold", 0.4, 0.1, 0.9),
        silence_s=params.number(flat, "vad_silence_threshold_secs", 1.5, 0.3, 3.0),
        min_speech_s=params.number(flat, "min_speech_duration_ms", 100, 50, 2000)
        / 1000,
        interim_results=True,
        word_timestamps=options.include_timestamps,
        vocabulary=options.keyterms,
        max_lag_s=runtime.settings.realtime_max_lag_s,
    )
    recorded = {
        key: values if len(values := query.getlist(key)) > 1 else values[0]
        for key in query.keys()
        if key != "token"
    }
    request = StreamRequest(
        config=config,
        retention_days=None if logging_on else 0,
        # Zero retention: not even the parameters while the session runs.
        params=recorded if logging_on else {},
        close_ends_stream=True,
    )
    return request, options


@router.websocket("/v1/speech-to-text/realtime")
async def elevenlabs_realtime(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    adapter = ElevenLabsAdapter()
    try:
        principal = await authenticate(websocket, runtime)
    except StreamError as exc:
        error = StreamError("auth_error", exc.message, fatal=True, close=Close.POLICY)
        if exc.code == "rate_limited":  # ElevenLabs' own rate_limited, then 4429
            error = exc
        await refuse(websocket, adapter, error)
        return
    try:
        request, adapter.options = parse_query(runtime, websocket.query_params)
        batch = await params.batch_after(
            runtime, websocket.query_params, request.config.language
        )
        request = dataclasses.replace(request, batch=batch)
    except StreamError as exc:
        await refuse(websocket, adapter, exc)
        return
    except Exception as exc:
        await refuse(websocket, adapter, _invalid(str(exc)))
        return
    await websocket.accept()
    await run_stream(websocket, runtime, principal, request, adapter)
