"""A live session served by a remote realtime worker (distributed mode).

The gateway keeps the client's protocol; the worker runs the streaming session and
speaks the native protocol back to the gateway. ``RemoteSession`` has the interface
of ``StreamingSession``, so the driver and every protocol adapter use it unchanged:
audio is decoded to 16 kHz s16le here and forwarded; native events come back as
session events. It connects on first use, so settings sent right after the socket
opens (OpenAI's session.update) still reach the worker in the query string.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import numpy as np
import websockets

from dalston.realtime_sdk.audio import TARGET_RATE, AudioDecoder, AudioFormat
from dalston.realtime_sdk.events import (
    Event,
    Final,
    LagWarning,
    Partial,
    SpeechEnded,
    SpeechStarted,
    WordTiming,
)
from dalston.realtime_sdk.session import CommitStrategy, LagExceeded, SessionConfig

# What a native ``config`` message may change once audio flows.
_LIVE_FIELDS = ("language", "vocabulary", "interim_results", "word_timestamps")


# The gateway pings its worker: a worker whose host vanished (no FIN, no RST)
# is known lost within PING_INTERVAL_S + PING_TIMEOUT_S.
PING_INTERVAL_S = 0.5
PING_TIMEOUT_S = 1.0


class RemoteWorkerError(Exception):
    pass


class RemoteSession:
    def __init__(
        self,
        config: SessionConfig,
        url: str,
        token: str,
        session_id: str | None = None,
    ) -> None:
        self.id = session_id or str(uuid.uuid4())
        self._config = config
        self.url = url
        self.token = token
        self.events: asyncio.Queue[Event | None] = asyncio.Queue()
        self.finals: list[Final] = []
        self.recorder: Callable[[np.ndarray], None] | None = None
        self._decoder = AudioDecoder(config.audio)
        self._outbox: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self._received = 0
        self._connected = asyncio.Event()
        self._lag_s = 0.0
        self._partial: Partial | None = None
        # The worker's own id for the session (its session.begin): the record it
        # keeps, which the gateway removes if the worker dies holding it.
        self.remote_session_id: str | None = None

    # --- the StreamingSession interface -----------------------------------------
    @property
    def config(self) -> SessionConfig:
        return self._config

    @config.setter
    def config(self, new: SessionConfig) -> None:
        old, self._config = self._config, new
        if not self._connected.is_set():
            return  # applied when the connection opens
        changes = {
            f: getattr(new, f)
            for f in _LIVE_FIELDS
            if getattr(old, f) != getattr(new, f)
        }
        if changes:
            changes["vocabulary"] = list(changes.get("vocabulary", new.vocabulary))
            self._outbox.put_nowait(json.dumps({"type": "config", **changes}))

    @property
    def received_s(self) -> float:
        return self._received / TARGET_RATE

    @property
    def lag_s(self) -> float:
        return self._lag_s

    @property
    def transcript(self) -> str:
        return " ".join(f.text for f in self.finals)

    def set_audio_format(self, audio: AudioFormat) -> None:
        if audio != self._config.audio:
            self._config = dataclasses.replace(self._config, audio=audio)
            self._decoder = AudioDecoder(audio)

    def push_audio(self, data: bytes) -> None:
        samples = self._decoder.decode(data)
        if not len(samples):
            return
        self._received += len(samples)
        if self.recorder is not None:
            self.recorder(samples)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        self._outbox.put_nowait(pcm)

    def commit(self) -> None:
        self._outbox.put_nowait(json.dumps({"type": "commit"}))

    def clear(self) -> None:
        self._outbox.put_nowait(json.dumps({"type": "clear"}))

    def end(self) -> None:
        self._outbox.put_nowait(json.dumps({"type": "end"}))

    async def run(self) -> None:
        """Connect when there is something to send; pump both ways until the end.

        A worker that dies (its socket closes without ``session.end``) or goes
        silent (no pong within ``PING_TIMEOUT_S``: a cut network closes nothing)
        ends the session at once with ``RemoteWorkerError``, after a final for
        the words already heard (the last partial's text) where there is one."""
        first = await self._outbox.get()
        try:
            async with websockets.connect(
                self._worker_url(),
                max_size=None,
                open_timeout=10,
                ping_interval=PING_INTERVAL_S,
                ping_timeout=PING_TIMEOUT_S,
            ) as ws:
                self._connected.set()
                sender = asyncio.create_task(self._send(ws, first))
                try:
                    await self._read(ws)
                finally:
                    sender.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await sender
        except (OSError, websockets.InvalidHandshake) as exc:
            raise RemoteWorkerError(f"realtime worker unreachable: {exc}") from exc
        except websockets.ConnectionClosed as exc:
            await self._flush_heard()
            await self.events.put(None)  # the driver's sender ends after the final
            raise RemoteWorkerError(
                "The realtime worker serving this session was lost "
                f"({exc.__class__.__name__}); start a new session to go on."
            ) from exc
        await self.events.put(None)

    async def _flush_heard(self) -> None:
        """The words of the utterance in progress, as its final."""
        partial, self._partial = self._partial, None
        if partial is None or not partial.text.strip():
            return
        final = Final(
            text=partial.text,
            start=partial.start,
            end=partial.end,
            language=self._config.language,
            language_probability=None,
            confidence=None,
            words=(),
        )
        self.finals.append(final)
        await self.events.put(final)

    # --- wire ----------------------------------------------------------------------
    def _worker_url(self) -> str:
        cfg = self._config
        query: dict[str, Any] = {
            "token": self.token,
            "model": cfg.model,
            "language": cfg.language or "auto",
            "encoding": "pcm_s16le",
            "sample_rate": TARGET_RATE,
            "enable_vad": str(cfg.commit_strategy is CommitStrategy.VAD).lower(),
            "interim_results": str(cfg.interim_results).lower(),
            "word_timestamps": str(cfg.word_timestamps).lower(),
            "vad_threshold": cfg.vad_threshold,
            "silence_ms": int(cfg.silence_s * 1000),
            "min_speech_ms": int(cfg.min_speech_s * 1000),
            "retention": 0,  # the gateway keeps the record, not the worker
        }
        if cfg.vocabulary:
            query["vocabulary"] = json.dumps(list(cfg.vocabulary))
        if cfg.previous_text:
            query["previous_text"] = cfg.previous_text
        return f"{self.url}/v1/audio/transcriptions/stream?{urlencode(query)}"

    async def _send(self, ws: Any, first: bytes | str | None) -> None:
        item = first
        while item is not None:
            await ws.send(item)
            item = await self._outbox.get()

    async def _read(self, ws: Any) -> None:
        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "session.end":
                return
            if kind == "session.begin":
                self.remote_session_id = message.get("session_id")
                continue
            if kind == "error":
                if message.get("code") in _TIME_LIMITS:
                    # The worker's own clock ran out just before the gateway's
                    # (which ends the client's session with its own close).
                    return
                if message.get("code") == "processing_lag":
                    raise LagExceeded(self._lag_s)
                if not message.get("recoverable", False):
                    raise RemoteWorkerError(message.get("message", "worker error"))
                continue
            event = _event(message)
            if isinstance(event, LagWarning):
                self._lag_s = event.lag_seconds
            if isinstance(event, Partial):
                self._partial = event
            if isinstance(event, Final):
                self._partial = None
                if event.text:
                    self.finals.append(event)
            if event is not None:
                await self.events.put(event)


# The worker's session limits (gateway.stream.SessionExpired codes).
_TIME_LIMITS = frozenset({"idle_timeout", "session_time_limit"})


def _event(message: dict[str, Any]) -> Event | None:
    kind = message.get("type")
    if kind == "vad.speech_start":
        return SpeechStarted(message["timestamp"])
    if kind == "vad.speech_end":
        return SpeechEnded(message["timestamp"])
    if kind == "transcript.partial":
        return Partial(message["text"], message["start"], message["end"])
    if kind == "warning":
        return LagWarning(message.get("lag_seconds", 0.0))
    if kind == "transcript.final":
        return Final(
            text=message["text"],
            start=message["start"],
            end=message["end"],
            language=message.get("language"),
            language_probability=None,
            confidence=message.get("confidence"),
            words=tuple(
                WordTiming(w["text"], w["start"], w["end"], w.get("confidence") or 0.0)
                for w in message.get("words") or []
            ),
        )
    return None
