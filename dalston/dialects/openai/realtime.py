"""OpenAI Realtime transcription: ``WS /v1/realtime?intent=transcription``.

A transcription session of OpenAI's Realtime API. Client events:
``transcription_session.update`` (or the GA ``session.update`` with
``session.type = "transcription"``), ``input_audio_buffer.append`` (base64 audio),
``input_audio_buffer.commit``, ``input_audio_buffer.clear``. Server events:
``transcription_session.created`` / ``.updated`` (``session.updated`` for a GA
update), ``input_audio_buffer.speech_started`` / ``speech_stopped`` / ``committed``
/ ``cleared``, ``conversation.item.input_audio_transcription.delta`` and
``.completed``, and ``error``.

Audio is ``pcm16`` at 24 kHz by default, or G.711 ``g711_ulaw`` / ``g711_alaw`` at
8 kHz. ``turn_detection`` ``server_vad`` (the default; ``semantic_vad`` is served
the same way) commits at each pause; ``null`` leaves commits to the client.

Choices:

- Deltas come from the live partials: only words two successive decodes agreed on
  are sent, as they grow (an append-only stream never takes text back); a last
  delta completes the transcript when it extends what was sent. ``completed``
  carries the final decode, which is authoritative.
- With server VAD, ``committed`` follows ``speech_stopped`` at once; a manual commit
  is answered by ``committed`` and ``completed`` together, once decoded.
- The stream ends when the client closes the socket; what was transcribed is
  recorded.
- ``noise_reduction``, ``prefix_padding_ms``, ``include`` and ``delay`` are accepted
  and have no effect; ``logprobs`` are not reported.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket

from dalston.errors import InvalidRequest
from dalston.gateway import stream_params as params
from dalston.gateway.deps import offered_subprotocols
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
from dalston.realtime_sdk.audio import AudioFormat, Encoding
from dalston.realtime_sdk.events import (
    Event,
    Final,
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
from dalston.services.policy import ModelChoice
from dalston.services.request import TranscriptionRequest

router = APIRouter()

MAX_APPEND_CHARS = 15 * 1024 * 1024  # OpenAI's limit for one append event
# Beta format names -> (GA format object, audio format).
FORMATS: dict[str, tuple[dict[str, Any], AudioFormat]] = {
    "pcm16": ({"type": "audio/pcm", "rate": 24000}, AudioFormat(sample_rate=24000)),
    "g711_ulaw": ({"type": "audio/pcmu"}, AudioFormat(Encoding.MULAW, 8000)),
    "g711_alaw": ({"type": "audio/pcma"}, AudioFormat(Encoding.ALAW, 8000)),
}
_GA_FORMATS = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}
_DEFAULT_VAD: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
}
_CLIENT_EVENTS = (
    "transcription_session.update",
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)
# Driver error codes -> (OpenAI error type, code).
_DRIVER_ERRORS = {
    "auth_error": ("invalid_request_error", "invalid_api_key"),
    "forbidden": ("invalid_request_error", "insufficient_permissions"),
    "no_capacity": ("server_error", "session_capacity_exceeded"),
    # OpenAI's answers past a rate limit or its concurrent-session quota.
    "too_many_sessions": ("rate_limit_error", "session_limit_exceeded"),
    "rate_limited": ("rate_limit_error", "rate_limit_exceeded"),
    "processing_lag": ("server_error", "processing_lag"),
    "internal_error": ("server_error", "internal_error"),
    "worker_lost": ("server_error", "worker_lost"),
    "invalid_audio": ("invalid_request_error", "invalid_value"),
    # OpenAI's own answer when a session reaches its maximum duration.
    "session_time_limit": ("invalid_request_error", "session_expired"),
    "idle_timeout": ("invalid_request_error", "session_idle_timeout"),
}


@dataclass
class Problem(StreamError):
    """An OpenAI error event's fields (``param`` and ``event_id`` are the base's)."""

    kind: str = "invalid_request_error"


def _problem(
    code: str, message: str, param: str | None = None, event_id: str | None = None
) -> Problem:
    return Problem(code, message, param=param, event_id=event_id)


def _event_id() -> str:
    return f"event_{uuid.uuid4().hex[:22]}"


def _item_id() -> str:
    return f"item_{uuid.uuid4().hex[:22]}"


@dataclass
class _Settings:
    """The session as the client configured it, in OpenAI's terms."""

    audio_format: str = "pcm16"
    model: str = "whisper-1"
    language: str | None = None
    prompt: str | None = None
    keywords: tuple[str, ...] = ()
    turn_detection: dict[str, Any] | None = dataclasses.field(
        default_factory=lambda: dict(_DEFAULT_VAD)
    )


class OpenAIAdapter:
    name = "openai"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = _Settings()
        self.session: LiveSession | None = None
        self._appended = 0  # bytes appended since the last commit / clear
        self._item: str | None = None  # the utterance being heard
        self._sent = ""  # deltas sent for it
        self._awaiting: str | None = None  # committed by VAD, transcript pending
        self._last_committed: str | None = None
        self.expires_at: float | None = None  # unix time, as OpenAI's session says

    # --- session configuration ---------------------------------------------------
    def begin(
        self, session: LiveSession, limits: SessionLimits
    ) -> list[dict[str, Any]]:
        self.session = session
        self.expires_at = limits.expires_at
        return [
            {
                "type": "transcription_session.created",
                "event_id": _event_id(),
                "session": self._beta_session(),
            }
        ]

    def _beta_session(self) -> dict[str, Any]:
        s = self.settings
        assert self.session is not None
        return {
            "id": f"sess_{self.session.id}",
            "object": "realtime.transcription_session",
            "input_audio_format": s.audio_format,
            "input_audio_transcription": {
                "model": s.model,
                "language": s.language,
                "prompt": s.prompt,
            },
            "turn_detection": s.turn_detection,
            "input_audio_noise_reduction": None,
            "include": [],
            "modalities": ["text"],
            **self._expiry(),
        }

    def _expiry(self) -> dict[str, Any]:
        """OpenAI's session objects say when they expire (the maximum length)."""
        return {} if self.expires_at is None else {"expires_at": int(self.expires_at)}

    def _ga_session(self) -> dict[str, Any]:
        s = self.settings
        assert self.session is not None
        transcription: dict[str, Any] = {
            "model": s.model,
            "language": s.language,
            "prompt": s.prompt,
        }
        if s.keywords:
            transcription["keywords"] = list(s.keywords)
        return {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "id": f"sess_{self.session.id}",
            "audio": {
                "input": {
                    "format": FORMATS[s.audio_format][0],
                    "transcription": transcription,
                    "turn_detection": s.turn_detection,
                    "noise_reduction": None,
                }
            },
            "include": [],
            **self._expiry(),
        }

    def _update(self, body: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        ga = body["type"] == "session.update"
        session = body.get("session")
        if not isinstance(session, dict):
            raise _problem(
                "missing_required_parameter", "session must be an object.", "session"
            )
        if ga:
            if session.get("type", "transcription") != "transcription":
                raise _problem(
                    "invalid_value",
                    "This server only runs transcription sessions "
                    "(session.type 'transcription').",
                    "session.type",
                    event_id,
                )
            audio_input = (session.get("audio") or {}).get("input") or {}
            fields = {
                "format": audio_input.get("format"),
                "transcription": audio_input.get("transcription"),
            }
            if "turn_detection" in audio_input:
                fields["turn_detection"] = audio_input["turn_detection"]
        else:
            fields = {
                "format": session.get("input_audio_format"),
                "transcription": session.get("input_audio_transcription"),
            }
            if "turn_detection" in session:
                fields["turn_detection"] = session["turn_detection"]
        self._apply(fields, ga, event_id)
        if ga:
            return {
                "type": "session.updated",
                "event_id": _event_id(),
                "session": self._ga_session(),
            }
        return {
            "type": "transcription_session.updated",
            "event_id": _event_id(),
            "session": self._beta_session(),
        }

    def _apply(self, fields: dict[str, Any], ga: bool, event_id: str | None) -> None:
        """Check everything first, then change the session (all or nothing)."""
        assert self.session is not None
        new = dataclasses.replace(self.settings)
        prefix = "session.audio.input." if ga else "session."
        if fields["format"] is not None:
            new.audio_format = _format(fields["format"], ga, prefix, event_id)
        transcription = fields["transcription"]
        if transcription is not None:
            if not isinstance(transcription, dict):
                raise _problem(
                    "invalid_type",
                    "transcription settings must be an object.",
                    prefix + ("transcription" if ga else "input_audio_transcription"),
                    event_id,
                )
            if transcription.get("model"):
                new.model = str(transcription["model"])
            if "language" in transcription:
                new.language = (transcription["language"] or "").lower() or None
            if "prompt" in transcription:
                new.prompt = transcription["prompt"] or None
            if "keywords" in transcription:
                new.keywords = tuple(
                    str(k).strip() for k in transcription["keywords"] or () if str(k)
                )
        if "turn_detection" in fields:
            new.turn_detection = _turn_detection(
                fields["turn_detection"], prefix, event_id
            )
        asked, choice = self._transcription(new, event_id)
        vad = new.turn_detection
        cfg = self.session.config
        self.session.set_audio_format(FORMATS[new.audio_format][1])
        self.session.config = dataclasses.replace(
            self.session.config,
            model=choice.model,
            language=choice.language,
            previous_text=new.prompt,
            vocabulary=asked.vocabulary,
            commit_strategy=CommitStrategy.MANUAL
            if vad is None
            else CommitStrategy.VAD,
            vad_threshold=float(vad.get("threshold", 0.5))
            if vad
            else cfg.vad_threshold,
            silence_s=int(vad.get("silence_duration_ms", 500)) / 1000
            if vad
            else cfg.silence_s,
        )
        self.settings = new

    def _transcription(
        self, new: _Settings, event_id: str | None
    ) -> tuple[TranscriptionRequest, ModelChoice]:
        """The request these settings make, and the policy's model choice."""
        mapped = self.runtime.settings.openai_models.get(new.model)
        if mapped is None:
            known = ", ".join(sorted(self.runtime.settings.openai_models))
            raise _problem(
                "invalid_value",
                f"Unknown transcription model {new.model!r}; use one of {known}.",
                "session.input_audio_transcription.model",
                event_id,
            )
        try:
            return params.transcription(
                self.runtime,
                model=mapped,
                language=new.language,
                vocabulary=new.keywords,
            )
        except InvalidRequest as exc:
            field = {"vocabulary": "keywords"}.get(exc.param or "", exc.param)
            raise _problem(
                "invalid_value",
                exc.message,
                f"session.input_audio_transcription.{field}",
                event_id,
            ) from None

    # --- client events -------------------------------------------------------------
    def parse(self, message: Mapping[str, Any]) -> ClientInput:
        if message.get("bytes") is not None:
            raise _problem(
                "invalid_event",
                "Binary frames are not accepted; send JSON events (audio goes "
                "base64 in input_audio_buffer.append).",
            )
        try:
            body = json.loads(message.get("text") or "")
        except json.JSONDecodeError:
            raise _problem(
                "invalid_json", "The event is not valid JSON.", None
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise _problem(
                "missing_required_parameter", "Events need a 'type' string.", "type"
            )
        kind = body["type"]
        event_id = (
            body.get("event_id") if isinstance(body.get("event_id"), str) else None
        )
        if kind == "input_audio_buffer.append":
            audio = _audio(body, event_id)
            self._appended += len(audio)
            return ClientInput(audio=audio, event_id=event_id)
        if kind == "input_audio_buffer.commit":
            # Server VAD commits on its own (``render``); a commit of nothing
            # since then is refused too, as upstream does.
            if self._appended == 0:
                raise _problem(
                    "input_audio_buffer_commit_empty",
                    "Error committing input audio buffer: no audio was appended "
                    "since the last commit.",
                    None,
                    event_id,
                )
            self._appended = 0
            return ClientInput(action=Action.COMMIT)
        if kind == "input_audio_buffer.clear":
            self._appended = 0
            self._item, self._sent = None, ""
            cleared = {"type": "input_audio_buffer.cleared", "event_id": _event_id()}
            return ClientInput(action=Action.CLEAR, replies=(cleared,))
        if kind in ("transcription_session.update", "session.update"):
            try:
                return ClientInput(replies=(self._update(body, event_id),))
            except (AttributeError, TypeError, ValueError) as exc:  # odd JSON types
                raise _problem(
                    "invalid_value", f"Invalid session: {exc}.", "session", event_id
                ) from None
        raise _problem(
            "invalid_value",
            f"Invalid value: {kind!r}. Supported client events: "
            + ", ".join(_CLIENT_EVENTS)
            + ".",
            "type",
            event_id,
        )

    # --- server events -------------------------------------------------------------
    async def enrich(self, event: Event, session: LiveSession) -> list[dict[str, Any]]:
        return []

    def render(self, event: Event, session: LiveSession) -> list[dict[str, Any]]:
        vad = session.config.commit_strategy is CommitStrategy.VAD
        out: list[dict[str, Any]] = []
        if isinstance(event, SpeechStarted | SpeechEnded | Partial) and self._awaiting:
            # The utterance VAD committed decoded to nothing.
            out += self._completed(self._awaiting, "", 0.0)
            self._awaiting = None
        if isinstance(event, SpeechStarted) and vad:
            self._item, self._sent = _item_id(), ""
            out.append(
                {
                    "type": "input_audio_buffer.speech_started",
                    "event_id": _event_id(),
                    "audio_start_ms": round(event.timestamp * 1000),
                    "item_id": self._item,
                }
            )
        elif isinstance(event, SpeechEnded) and vad:
            item = self._current()
            out.append(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "event_id": _event_id(),
                    "audio_end_ms": round(event.timestamp * 1000),
                    "item_id": item,
                }
            )
            out.append(self._committed(item))
            self._awaiting = item
            self._appended = 0  # the buffer went with the commit
        elif isinstance(event, Partial):
            out += self._delta(self._current(), event.stable)
        elif isinstance(event, Final):
            item = self._awaiting or self._current()
            if self._awaiting is None:
                out.append(self._committed(item))
            self._awaiting = None
            out += self._delta(item, event.text)
            out += self._completed(item, event.text, event.end - event.start)
        return out

    def _current(self) -> str:
        if self._item is None:
            self._item, self._sent = _item_id(), ""
        return self._item

    def _committed(self, item: str) -> dict[str, Any]:
        message = {
            "type": "input_audio_buffer.committed",
            "event_id": _event_id(),
            "previous_item_id": self._last_committed,
            "item_id": item,
        }
        self._last_committed = item
        return message

    def _delta(self, item: str, text: str) -> list[dict[str, Any]]:
        """The new end of ``text`` when it extends what this item has sent."""
        if item != self._item or not text.startswith(self._sent):
            return []
        delta = text[len(self._sent) :]
        if not delta.strip():
            return []
        self._sent = text
        return [
            {
                "type": "conversation.item.input_audio_transcription.delta",
                "event_id": _event_id(),
                "item_id": item,
                "content_index": 0,
                "delta": delta,
            }
        ]

    def _completed(self, item: str, text: str, seconds: float) -> list[dict[str, Any]]:
        if item == self._item:
            self._item, self._sent = None, ""
        return [
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "event_id": _event_id(),
                "item_id": item,
                "content_index": 0,
                "transcript": text,
                "usage": {"type": "duration", "seconds": round(max(seconds, 0), 3)},
                "logprobs": None,
            }
        ]

    def finish(self, session: LiveSession) -> list[dict[str, Any]]:
        return []

    def error(self, error: StreamError) -> dict[str, Any]:
        if isinstance(error, Problem):
            kind, code = error.kind, error.code
        else:
            kind, code = _DRIVER_ERRORS.get(
                error.code, ("invalid_request_error", error.code)
            )
        param, event_id = error.param, error.event_id
        return {
            "type": "error",
            "event_id": _event_id(),
            "error": {
                "type": kind,
                "code": code,
                "message": error.message,
                "param": param,
                "event_id": event_id,
            },
        }


def _audio(body: dict[str, Any], event_id: str | None) -> bytes:
    encoded = body.get("audio")
    if not isinstance(encoded, str):
        raise _problem(
            "missing_required_parameter",
            "audio must be a base64 string.",
            "audio",
            event_id,
        )
    if len(encoded) > MAX_APPEND_CHARS:
        raise _problem(
            "invalid_value",
            "An append event may carry at most 15 MiB of audio.",
            "audio",
            event_id,
        )
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _problem(
            "invalid_value", "audio is not valid base64.", "audio", event_id
        ) from None


def _format(raw: Any, ga: bool, prefix: str, event_id: str | None) -> str:
    if ga:
        name = _GA_FORMATS.get(str(raw.get("type"))) if isinstance(raw, dict) else None
        rate = raw.get("rate", 24000) if isinstance(raw, dict) else None
        if name is None or (name == "pcm16" and rate != 24000):
            raise _problem(
                "invalid_value",
                "format must be {type: 'audio/pcm', rate: 24000}, "
                "{type: 'audio/pcmu'} or {type: 'audio/pcma'}.",
                prefix + "format",
                event_id,
            )
        return name
    if raw not in FORMATS:
        raise _problem(
            "invalid_value",
            f"input_audio_format must be one of {', '.join(FORMATS)}.",
            prefix + "input_audio_format",
            event_id,
        )
    return str(raw)


def _turn_detection(
    raw: Any, prefix: str, event_id: str | None
) -> dict[str, Any] | None:
    if raw is None:
        return None
    param = prefix + "turn_detection"
    if not isinstance(raw, dict):
        raise _problem(
            "invalid_type", "turn_detection must be an object or null.", param, event_id
        )
    kind = raw.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise _problem(
            "invalid_value",
            "turn_detection.type must be 'server_vad' or 'semantic_vad'.",
            param + ".type",
            event_id,
        )
    vad = {**_DEFAULT_VAD, **{k: v for k, v in raw.items() if v is not None}}
    vad["type"] = kind
    threshold = vad["threshold"]
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise _problem(
            "invalid_value",
            "threshold must be within 0..1.",
            param + ".threshold",
            event_id,
        )
    silence = vad["silence_duration_ms"]
    if not isinstance(silence, int | float) or not 100 <= silence <= 10_000:
        raise _problem(
            "invalid_value",
            "silence_duration_ms must be within 100..10000.",
            param + ".silence_duration_ms",
            event_id,
        )
    return vad


def _initial(runtime: Runtime, adapter: OpenAIAdapter) -> StreamRequest:
    s = adapter.settings
    vad = s.turn_detection or _DEFAULT_VAD
    config = SessionConfig(
        model=params.transcription(
            runtime, model=runtime.settings.openai_models.get(s.model, "auto")
        )[1].model,
        language=None,
        audio=FORMATS[s.audio_format][1],
        commit_strategy=CommitStrategy.VAD,
        vad_threshold=float(vad["threshold"]),
        silence_s=int(vad["silence_duration_ms"]) / 1000,
        interim_results=True,
        max_lag_s=runtime.settings.realtime_max_lag_s,
    )
    return StreamRequest(
        config=config,
        params={"intent": "transcription"},
        close_ends_stream=True,
    )


@router.websocket("/v1/realtime")
async def openai_realtime(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    adapter = OpenAIAdapter(runtime)
    # Browser clients offer "realtime" beside their key subprotocol and need the
    # server to pick one of what they offered.
    subprotocol = "realtime" if "realtime" in offered_subprotocols(websocket) else None
    try:
        principal = await authenticate(websocket, runtime)
        if websocket.query_params.get("intent") != "transcription":
            raise StreamError(
                "invalid_request",
                "This server runs transcription sessions only: connect with "
                "?intent=transcription.",
            )
        request = _initial(runtime, adapter)
        batch = await params.batch_after(
            runtime, websocket.query_params, request.config.language
        )
        request = dataclasses.replace(request, batch=batch)
    except StreamError as exc:
        exc.fatal = True
        if exc.close is not Close.TOO_MANY_SESSIONS:
            exc.close = Close.POLICY
        await refuse(websocket, adapter, exc, subprotocol)
        return
    await websocket.accept(subprotocol=subprotocol)
    await run_stream(websocket, runtime, principal, request, adapter)
