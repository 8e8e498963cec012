"""Native realtime protocol: ``WS /v1/audio/transcriptions/stream``.

Binary frames carry audio; JSON frames carry control: ``config``, ``commit`` (or
``flush``), ``clear``, ``end``. Events: ``session.begin``, ``vad.speech_start``,
``transcript.partial``, ``transcript.final``, ``vad.speech_end``, ``warning``,
``session.end``, ``error``.

``warning`` (processing lag) is ours: the original Dalston SDK reports any type
it does not know as an error. Such clients are known by the ``api_key`` query
parameter that only that SDK sends (it is never used to authenticate: the same
SDK sends the key as a header too); they get no ``warning`` unless they ask
with ``warnings=true``, and any client can turn them off with ``warnings=false``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket

from dalston.errors import InvalidRequest
from dalston.gateway import stream_params as params
from dalston.gateway.stream import (
    Action,
    ClientInput,
    SessionLimits,
    StreamError,
    StreamRequest,
    authenticate,
    refuse,
    run_stream,
)
from dalston.realtime_sdk.audio import AudioFormat, Encoding
from dalston.realtime_sdk.events import (
    Event,
    Final,
    LagWarning,
    Partial,
    SpeechEnded,
    SpeechStarted,
)
from dalston.realtime_sdk.session import (
    CommitStrategy,
    LiveSession,
    SessionConfig,
)
from dalston.runtime import Runtime

router = APIRouter()

MAX_FRAME_BYTES = 1024 * 1024  # about 30 s of 16 kHz s16le: far beyond a live chunk
_CONTROL = {"commit": Action.COMMIT, "flush": Action.COMMIT, "clear": Action.CLEAR}
# Query parameters never stored with the session record.
_SECRETS = frozenset({"token", "api_key"})
_CHANGEABLE = {"language", "vocabulary", "interim_results", "word_timestamps"}


class NativeAdapter:
    name = "native"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.session: LiveSession | None = None
        self.warnings = True

    def begin(
        self, session: LiveSession, limits: SessionLimits
    ) -> list[dict[str, Any]]:
        self.session = session
        cfg = session.config
        return [
            {
                "type": "session.begin",
                "session_id": session.id,
                # How long the session may stay silent, and last (null: no limit).
                "limits": {
                    "idle_timeout_s": limits.idle_timeout_s,
                    "max_session_s": limits.max_session_s,
                },
                "config": {
                    "model": cfg.model,
                    "language": cfg.language or "auto",
                    "encoding": cfg.audio.encoding.value,
                    "sample_rate": cfg.audio.sample_rate,
                    "enable_vad": cfg.commit_strategy is CommitStrategy.VAD,
                    "interim_results": cfg.interim_results,
                    "word_timestamps": cfg.word_timestamps,
                },
            }
        ]

    def parse(self, message: Mapping[str, Any]) -> ClientInput:
        if message.get("bytes") is not None:
            data: bytes = message["bytes"]
            if len(data) > MAX_FRAME_BYTES:
                raise StreamError(
                    "frame_too_large",
                    f"Audio frames are limited to {MAX_FRAME_BYTES} bytes.",
                )
            return ClientInput(audio=data)
        try:
            body = json.loads(message.get("text") or "")
        except json.JSONDecodeError:
            raise StreamError(
                "invalid_json", "Control messages must be JSON."
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise StreamError("invalid_message", 'Expected {"type": ...}.')
        kind = body["type"]
        if kind in _CONTROL:
            return ClientInput(action=_CONTROL[kind])
        if kind == "end":
            return ClientInput(action=Action.END)
        if kind == "config":
            self._reconfigure(body)
            return ClientInput()
        raise StreamError("unknown_message", f"Unknown message type {kind!r}.")

    def _reconfigure(self, body: dict[str, Any]) -> None:
        assert self.session is not None
        changes = {k: v for k, v in body.items() if k != "type"}
        fixed = set(changes) - _CHANGEABLE
        if fixed:
            raise StreamError(
                "invalid_config",
                f"{', '.join(sorted(fixed))} cannot change during a session; "
                "set them as query parameters.",
            )
        updates: dict[str, Any] = {}
        if "language" in changes or "vocabulary" in changes:
            # The session's model stays; the policy checks it against the change.
            cfg = self.session.config
            terms = changes.get("vocabulary", cfg.vocabulary) or ()
            try:
                request, choice = params.transcription(
                    self.runtime,
                    model=cfg.model,
                    language=changes.get("language", cfg.language),
                    vocabulary=[terms] if isinstance(terms, str) else terms,
                )
            except InvalidRequest as exc:
                raise StreamError("invalid_config", exc.message) from None
            updates["language"] = choice.language
            updates["vocabulary"] = request.vocabulary
        for key in ("interim_results", "word_timestamps"):
            if key in changes:
                updates[key] = bool(changes[key])
        self.session.config = dataclasses.replace(self.session.config, **updates)

    async def enrich(self, event: Event, session: LiveSession) -> list[dict[str, Any]]:
        return []

    def render(self, event: Event, session: LiveSession) -> list[dict[str, Any]]:
        if isinstance(event, SpeechStarted):
            return [{"type": "vad.speech_start", "timestamp": event.timestamp}]
        if isinstance(event, SpeechEnded):
            return [{"type": "vad.speech_end", "timestamp": event.timestamp}]
        if isinstance(event, Partial):
            return [
                {
                    "type": "transcript.partial",
                    "text": event.text,
                    "start": event.start,
                    "end": event.end,
                }
            ]
        if isinstance(event, LagWarning):
            if not self.warnings:
                return []
            return [
                {
                    "type": "warning",
                    "code": "processing_lag",
                    "lag_seconds": event.lag_seconds,
                }
            ]
        assert isinstance(event, Final)
        message: dict[str, Any] = {
            "type": "transcript.final",
            "text": event.text,
            "start": event.start,
            "end": event.end,
            "confidence": event.confidence,
            "language": event.language,
        }
        if session.config.word_timestamps:
            message["words"] = [
                {
                    "text": w.text,
                    "start": w.start,
                    "end": w.end,
                    "confidence": round(w.probability, 4),
                }
                for w in event.words
            ]
        return [message]

    def finish(self, session: LiveSession) -> list[dict[str, Any]]:
        return [
            {
                "type": "session.end",
                "session_id": session.id,
                "total_audio_seconds": round(session.received_s, 3),
                "transcript": session.transcript,
                "segments": [
                    {"text": f.text, "start": f.start, "end": f.end}
                    for f in session.finals
                ],
            }
        ]

    def error(self, error: StreamError) -> dict[str, Any]:
        return {
            "type": "error",
            "code": error.code,
            "message": error.message,
            "recoverable": not error.fatal,
        }


def _request(runtime: Runtime, query: dict[str, str]) -> StreamRequest:
    try:
        encoding = Encoding(query.get("encoding") or "pcm_s16le")
    except ValueError:
        raise params.invalid(
            "encoding must be one of " + ", ".join(e.value for e in Encoding)
        ) from None
    rate = int(params.number(query, "sample_rate", 16000, 8000, 48000))
    enable_vad = params.flag(query, "enable_vad", True)
    vocabulary = query.get("vocabulary")
    terms: list[str] = []
    if vocabulary:
        try:
            parsed = json.loads(vocabulary)
        except json.JSONDecodeError:
            parsed = vocabulary.split(",")
        terms = [str(t) for t in parsed] if isinstance(parsed, list) else [vocabulary]
    try:
        request, choice = params.transcription(
            runtime,
            model=query.get("model"),
            language=query.get("language"),
            vocabulary=terms,
            retention_days=query.get("retention") or None,
        )
    except InvalidRequest as exc:
        raise params.refused(exc) from None
    config = SessionConfig(
        model=choice.model,
        language=choice.language,
        audio=AudioFormat(encoding, rate),
        commit_strategy=CommitStrategy.VAD if enable_vad else CommitStrategy.MANUAL,
        interim_results=params.flag(query, "interim_results", True),
        word_timestamps=params.flag(query, "word_timestamps", False),
        vocabulary=request.vocabulary,
        max_lag_s=runtime.settings.realtime_max_lag_s,
        # VAD tuning (also what a gateway passes on to a remote realtime worker).
        vad_threshold=params.number(query, "vad_threshold", 0.5, 0.05, 0.95),
        silence_s=params.number(query, "silence_ms", 500, 100, 5000) / 1000,
        min_speech_s=params.number(query, "min_speech_ms", 100, 20, 2000) / 1000,
        previous_text=query.get("previous_text") or None,
    )
    return StreamRequest(
        config=config,
        store_audio=params.flag(query, "store_audio", False),
        retention_days=request.retention_days,
        params={k: v for k, v in query.items() if k not in _SECRETS},
    )


@router.websocket("/v1/audio/transcriptions/stream")
async def native_stream(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    adapter = NativeAdapter(runtime)
    try:
        principal = await authenticate(websocket, runtime)
        query = dict(websocket.query_params)
        request = _request(runtime, query)
        batch = await params.batch_after(runtime, query, request.config.language)
        request = dataclasses.replace(request, batch=batch)
        adapter.warnings = params.flag(query, "warnings", "api_key" not in query)
    except StreamError as exc:
        await refuse(websocket, adapter, exc)
        return
    except Exception as exc:  # e.g. a bad sample_rate from AudioFormat
        await refuse(websocket, adapter, params.invalid(str(exc)))
        return
    await websocket.accept()
    await run_stream(websocket, runtime, principal, request, adapter)
