"""Runs one WebSocket stream for any protocol: authentication, a slot from the
session router, the session's tasks, the record, and a clean close on every path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import anyio
import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from dalston import telemetry
from dalston.auth import Principal, Scope
from dalston.auth.tokens import issue_token
from dalston.errors import (
    RateLimited,
    Unauthenticated,
    is_transient,
    storage_full,
)
from dalston.gateway.deps import resolve_principal
from dalston.realtime_sdk.audio import TARGET_RATE, InvalidAudioFrame
from dalston.realtime_sdk.events import Event
from dalston.realtime_sdk.remote import RemoteSession, RemoteWorkerError
from dalston.realtime_sdk.router import NoCapacity
from dalston.realtime_sdk.session import (
    LagExceeded,
    LiveSession,
    SessionConfig,
    StreamingSession,
)
from dalston.runtime import Runtime
from dalston.services.request import TranscriptionRequest

log = logging.getLogger(__name__)


# 1000: normal closure; 1005: the client's close frame carried no status code.
_NORMAL_CLIENT_CLOSES = frozenset({1000, 1005})


class Close(int, Enum):
    NORMAL = 1000
    POLICY = 1008
    BAD_CREDENTIALS = 4001
    MISSING_SCOPE = 4003
    LAG_EXCEEDED = 4010
    INVALID_PARAMETERS = 4400
    TOO_MANY_SESSIONS = 4429
    NO_CAPACITY = 4503
    IDLE_TIMEOUT = 4408  # nothing received for DALSTON_REALTIME_IDLE_TIMEOUT_S
    SESSION_TOO_LONG = 4413  # past DALSTON_REALTIME_MAX_SESSION_S
    TRY_AGAIN = 1013  # RFC 6455 "Try Again Later": the worker was lost


@dataclass
class StreamError(Exception):
    """A protocol-level error: sent to the client, then the socket closes if fatal."""

    code: str
    message: str
    fatal: bool = False
    close: Close = Close.INVALID_PARAMETERS
    # The request field at fault, and the client event answered (protocols whose
    # error events name them, as OpenAI's do).
    param: str | None = None
    event_id: str | None = None

    def __str__(self) -> str:
        return self.message


class SessionExpired(StreamError):
    """The session ran out of time: idle too long, or past its maximum length.
    The words heard so far are flushed to the client before the close."""


@dataclass(frozen=True)
class SessionLimits:
    """How long a session may stay silent, and last; announced to the client at
    the start in its protocol's own way (``Adapter.begin``)."""

    idle_timeout_s: float | None
    max_session_s: float | None
    started_at: float  # wall clock (time.time()), for announcing the expiry

    @classmethod
    def of(cls, idle_timeout_s: float, max_session_s: float) -> SessionLimits:
        return cls(idle_timeout_s or None, max_session_s or None, time.time())

    @property
    def expires_at(self) -> float | None:
        if self.max_session_s is None:
            return None
        return self.started_at + self.max_session_s


NO_LIMITS = SessionLimits(None, None, 0.0)


class ClientLeft(WebSocketDisconnect):
    """The client's side of the socket closed: with a close frame (the ASGI
    server passes its ``reason``, possibly empty) or by vanishing (the connection
    dropped: uvicorn still says 1005 then, but with no ``reason``)."""

    def __init__(self, code: int, handshake: bool) -> None:
        super().__init__(code)
        self.handshake = handshake

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> ClientLeft:
        return cls(int(message.get("code", 1005)), message.get("reason") is not None)

    @property
    def closed_normally(self) -> bool:
        return self.handshake and self.code in _NORMAL_CLIENT_CLOSES


class Action(Enum):
    NONE = "none"
    COMMIT = "commit"
    CLEAR = "clear"
    END = "end"


@dataclass(frozen=True)
class ClientInput:
    audio: bytes = b""
    action: Action = Action.NONE
    # Messages answering the client's message at once (acknowledgements).
    replies: tuple[dict[str, Any], ...] = ()
    # The client's id of the event carrying the audio, for an error about it.
    event_id: str | None = None


@dataclass(frozen=True)
class StreamRequest:
    config: SessionConfig
    store_audio: bool = False
    retention_days: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # For protocols without an "end" message: a normal close by the client (1000,
    # or no status) is how a stream ends, so the session is recorded as completed.
    close_ends_stream: bool = False
    # Hybrid sessions: the batch job run on the session's audio once it ends.
    batch: TranscriptionRequest | None = None


class Adapter(Protocol):
    """The wire format of one protocol."""

    name: str

    def begin(
        self, session: LiveSession, limits: SessionLimits
    ) -> list[dict[str, Any]]: ...

    def parse(self, message: Mapping[str, Any]) -> ClientInput:
        """A received ASGI message (text or bytes) -> audio and/or an action."""
        ...

    def render(self, event: Event, session: LiveSession) -> list[dict[str, Any]]: ...

    async def enrich(self, event: Event, session: LiveSession) -> list[dict[str, Any]]:
        """Messages that need work off the event loop (entity detection), sent
        right after ``render``'s."""
        ...

    def finish(self, session: LiveSession) -> list[dict[str, Any]]: ...

    def error(self, error: StreamError) -> dict[str, Any]: ...


async def authenticate(websocket: WebSocket, runtime: Runtime) -> Principal:
    """The HTTP authentication (``gateway.deps.resolve_principal``), with its
    refusals as stream errors and close codes, and the ``realtime`` scope."""
    try:
        principal = await resolve_principal(websocket, runtime)
    except Unauthenticated as exc:
        raise StreamError(
            "auth_error",
            f"{exc.message} Send an API key header or a single-use token.",
            fatal=True,
            close=Close.BAD_CREDENTIALS,
        ) from None
    except RateLimited as exc:
        raise StreamError(
            "rate_limited", exc.message, fatal=True, close=Close.TOO_MANY_SESSIONS
        ) from None
    if not principal.allows(Scope.REALTIME):
        raise StreamError(
            "forbidden",
            "This key lacks the 'realtime' scope.",
            fatal=True,
            close=Close.MISSING_SCOPE,
        )
    return principal


async def refuse(
    websocket: WebSocket,
    adapter: Adapter,
    error: StreamError,
    subprotocol: str | None = None,
) -> None:
    """Report an error on a socket that may not be accepted yet, then close."""
    if websocket.application_state == WebSocketState.CONNECTING:
        await websocket.accept(subprotocol=subprotocol)
    with contextlib.suppress(Exception):
        await websocket.send_json(adapter.error(error))
        await websocket.close(code=int(error.close), reason=error.message[:120])


async def run_stream(
    websocket: WebSocket,
    runtime: Runtime,
    principal: Principal,
    request: StreamRequest,
    adapter: Adapter,
) -> None:
    """Serve one accepted socket until the client ends it, leaves, or fails.

    The session holds one of its tenant's session slots (``services.limits``)
    while it runs; with none free it is closed 4429 before it starts."""
    slot = runtime.limits.session_slot(
        principal.tenant_id, counted=not principal.relayed
    )
    try:
        await slot.__aenter__()
    except RateLimited as exc:
        await refuse(
            websocket,
            adapter,
            StreamError(
                "too_many_sessions",
                exc.message,
                fatal=True,
                close=Close.TOO_MANY_SESSIONS,
            ),
        )
        return
    try:
        await _run_stream(websocket, runtime, principal, request, adapter)
    finally:
        await slot.__aexit__(None, None, None)


async def _run_stream(
    websocket: WebSocket,
    runtime: Runtime,
    principal: Principal,
    request: StreamRequest,
    adapter: Adapter,
) -> None:
    session_id = None
    try:
        lease_cm = runtime.router.acquire(str(_new_id()))
        lease = await lease_cm.__aenter__()
    except NoCapacity as exc:
        await refuse(
            websocket,
            adapter,
            StreamError("no_capacity", str(exc), fatal=True, close=Close.NO_CAPACITY),
        )
        return
    try:
        session_id = lease.session_id
        telemetry.SESSION_ID.set(session_id)  # this socket's task: its log lines
        worker = lease.worker
        session: StreamingSession | RemoteSession
        if worker.decoder is not None:
            session = StreamingSession(request.config, worker.decoder, session_id)
        else:
            assert worker.url is not None
            # The worker checks this like any client: a token only it can spend.
            async with runtime.sessions() as db, db.begin():
                token, _ = await issue_token(
                    db,
                    principal=principal,
                    purpose="realtime_worker",
                    scopes=frozenset({Scope.REALTIME}),
                    ttl_s=60,
                )
            session = RemoteSession(request.config, worker.url, token, session_id)
        try:
            await runtime.realtime_records.open(
                session_id=session_id,
                tenant_id=principal.tenant_id,
                protocol=adapter.name,
                model=request.config.model,
                language=request.config.language,
                worker_id=worker.id,
                params=request.params,
                retention_days=request.retention_days,
                stream=session,
            )
        except Exception as exc:
            full = storage_full(exc)
            if not (full or is_transient(exc)):
                raise
            # No record, no session: the client hears why and may try again.
            log.error("realtime session %s not opened: %r", session_id, exc)
            reason = (
                "The server has no space left to record a session"
                if full
                else "A service Dalston depends on is unreachable"
            )
            await refuse(
                websocket,
                adapter,
                StreamError(
                    "unavailable",
                    f"{reason}; try again later.",
                    fatal=True,
                    close=Close.TRY_AGAIN,
                ),
            )
            return
        limits = SessionLimits.of(
            runtime.settings.realtime_idle_timeout_s,
            runtime.settings.realtime_max_session_s,
        )
        await _serve(
            websocket, runtime, session, request, adapter, limits, principal.tenant_id
        )
    finally:
        await lease_cm.__aexit__(None, None, None)


async def _serve(
    websocket: WebSocket,
    runtime: Runtime,
    session: LiveSession,
    request: StreamRequest,
    adapter: Adapter,
    limits: SessionLimits = NO_LIMITS,
    tenant_id: str | None = None,
) -> None:
    store = request.store_audio and request.retention_days != 0
    # Audio to keep is spooled where a restart finds it (SessionRecords).
    recording = (
        _Recording(
            runtime.realtime_records.recording_path(
                session.id, store=store, batch=request.batch, tenant_id=tenant_id
            )
        )
        if store or request.batch is not None
        else None
    )
    if recording is not None:
        session.recorder = recording.write
    status, error_text = "completed", None
    processor = asyncio.create_task(session.run(), name=f"rt-{session.id}")
    sender = asyncio.create_task(_forward(websocket, session, adapter))
    # A remote worker lost while the client is quiet: tell the client at once,
    # not when it next sends (the receive loop only sees it then).
    lost: list[RemoteWorkerError] = []
    watcher = asyncio.create_task(
        _watch_worker(websocket, runtime, session, adapter, processor, sender, lost)
    )
    try:
        for message in adapter.begin(session, limits):
            await websocket.send_json(message)
        await _receive(websocket, session, adapter, processor, limits)
        # The client ended the stream: finish the last utterance, flush, say bye.
        await processor
        await sender
        for message in adapter.finish(session):
            await websocket.send_json(message)
        await websocket.close(code=Close.NORMAL)
    except ClientLeft as exc:
        normal = request.close_ends_stream and exc.closed_normally
        status = "completed" if normal else "disconnected"
        if lost:
            status, error_text = "failed", str(lost[0])
    except WebSocketDisconnect:  # a send to a client already gone
        status = "disconnected"
        if lost:
            status, error_text = "failed", str(lost[0])
    except RemoteWorkerError as exc:  # found by the client's next message
        status, error_text = "failed", str(exc)
        await _worker_lost(websocket, runtime, session, adapter, sender, exc)
    except LagExceeded as exc:
        status, error_text = "failed", str(exc)
        await _send_error(
            websocket,
            adapter,
            StreamError(
                "processing_lag", str(exc), fatal=True, close=Close.LAG_EXCEEDED
            ),
        )
    except SessionExpired as exc:
        # Out of time: what was said is flushed to the client, then the close.
        status, error_text = "failed", exc.message
        session.end()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(processor, sender), 15.0)
        await _send_error(websocket, adapter, exc)
    except StreamError as exc:
        status, error_text = "failed", exc.message
        await _send_error(websocket, adapter, exc)
    except Exception as exc:  # a bug must not leak the slot or the record
        log.exception("realtime session %s failed", session.id)
        status, error_text = "failed", f"internal error: {type(exc).__name__}"
        await _send_error(
            websocket,
            adapter,
            StreamError(
                "internal_error", "Internal error.", fatal=True, close=Close.POLICY
            ),
        )
    finally:
        if lost:  # the watcher is reporting the loss: let it finish
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(watcher), 5.0)
        for task in (processor, sender, watcher):
            task.cancel()
        await asyncio.gather(processor, sender, watcher, return_exceptions=True)
        audio_file = recording.close() if recording else None
        done = True  # what the audio was kept for is done: stored, submitted
        try:
            await runtime.realtime_records.close(
                session.id,
                status=status,
                audio_seconds=session.received_s,
                finals=session.finals,
                model=session.config.model,
                error=error_text,
                audio_file=audio_file if store else None,
                retention_days=request.retention_days,
            )
            if request.batch is not None and audio_file is not None:
                done = await _batch_after(
                    runtime, session, request.batch, audio_file, tenant_id
                )
        except Exception as exc:
            done = False
            # The client has had its answer and its close; what could not be
            # stored (a full disk, a database away) is the operator's to see.
            if not (storage_full(exc) or is_transient(exc)):
                raise
            log.error("realtime session %s: its record not stored: %r", session.id, exc)
        finally:
            # Spooled audio not yet done with is left for ``rescue_spooled``.
            if audio_file is not None:
                if audio_file.parent != runtime.realtime_records.spool:
                    audio_file.unlink(missing_ok=True)  # a temporary file
                elif done:
                    runtime.realtime_records.drop_spooled(session.id)


async def _batch_after(
    runtime: Runtime,
    session: LiveSession,
    batch: TranscriptionRequest,
    audio_file: Path,
    tenant_id: str | None,
) -> bool:
    """A hybrid session's audio, submitted as a batch job and linked from the
    session's record. A failure is logged (the session's own record stands);
    False when it may succeed later (the spooled audio is then rescued)."""
    if tenant_id is None:
        return True
    try:
        await runtime.realtime_records.submit_batch(
            session.id, tenant_id, batch, audio_file
        )
    except Exception:
        log.exception("the batch job of session %s could not be made", session.id)
        return False
    return True


async def _receive(
    websocket: WebSocket,
    session: LiveSession,
    adapter: Adapter,
    processor: asyncio.Task[None],
    limits: SessionLimits = NO_LIMITS,
) -> None:
    clock = asyncio.get_running_loop().time
    ends = None if limits.max_session_s is None else clock() + limits.max_session_s
    while True:
        message = await _next_message(websocket, limits, ends, clock)
        if message["type"] == "websocket.disconnect":
            raise ClientLeft.of(message)
        if processor.done():
            processor.result()  # re-raise what stopped it
        try:
            received = adapter.parse(message)
        except StreamError as exc:
            if exc.fatal:
                raise
            await websocket.send_json(adapter.error(exc))
            continue
        if received.audio:
            try:
                session.push_audio(received.audio)
            except InvalidAudioFrame as exc:
                await websocket.send_json(
                    adapter.error(
                        StreamError(
                            "invalid_audio",
                            exc.message,
                            param=exc.param,
                            event_id=received.event_id,
                        )
                    )
                )
        if received.action is Action.COMMIT:
            session.commit()
        elif received.action is Action.CLEAR:
            session.clear()
        for reply in received.replies:
            await websocket.send_json(reply)
        if received.action is Action.END:
            session.end()
            return


async def _next_message(
    websocket: WebSocket,
    limits: SessionLimits,
    ends: float | None,
    clock: Any,
) -> Mapping[str, Any]:
    """The client's next message, or SessionExpired when the session stayed
    silent too long or reached its maximum length first."""
    waits = [limits.idle_timeout_s] if limits.idle_timeout_s else []
    if ends is not None:
        waits.append(max(0.0, ends - clock()))
    if not waits:
        return await websocket.receive()
    # An anyio cancel scope, not asyncio.wait_for: the ASGI server (and Starlette's
    # test client) cancel the app through anyio scopes, which wait_for's own
    # cancellation of the receive would confuse (the app's task then ends in a
    # stray CancelledError when the client leaves).
    with anyio.move_on_after(min(waits)):
        return await websocket.receive()
    if ends is not None and clock() >= ends - 0.01:
        raise SessionExpired(
            "session_time_limit",
            f"The session reached its maximum length of {limits.max_session_s:.0f} "
            "s; start a new one to go on.",
            fatal=True,
            close=Close.SESSION_TOO_LONG,
        )
    raise SessionExpired(
        "idle_timeout",
        f"No audio or message for {limits.idle_timeout_s:.0f} s: the session is "
        "closed to free its slot.",
        fatal=True,
        close=Close.IDLE_TIMEOUT,
    )


async def _watch_worker(
    websocket: WebSocket,
    runtime: Runtime,
    session: LiveSession,
    adapter: Adapter,
    processor: asyncio.Task[None],
    sender: asyncio.Task[None],
    lost: list[RemoteWorkerError],
) -> None:
    """When the session's processing stops because its remote worker was lost,
    end the client's session right away (the receive loop then sees the close)."""
    await asyncio.wait({processor})
    if processor.cancelled() or not isinstance(
        processor.exception(), RemoteWorkerError
    ):
        return
    error = processor.exception()
    assert isinstance(error, RemoteWorkerError)
    lost.append(error)
    await _worker_lost(websocket, runtime, session, adapter, sender, error)


async def _worker_lost(
    websocket: WebSocket,
    runtime: Runtime,
    session: LiveSession,
    adapter: Adapter,
    sender: asyncio.Task[None],
    exc: RemoteWorkerError,
) -> None:
    """Send the words heard so far, then a retryable error, and close; remove the
    dead worker's own record of the session."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(sender), 1.0)
    await _send_error(
        websocket,
        adapter,
        StreamError("worker_lost", str(exc), fatal=True, close=Close.TRY_AGAIN),
    )
    if isinstance(session, RemoteSession) and session.remote_session_id:
        # The worker keeps no record once a session ends (retention 0); killed,
        # it would leave this one active for good.
        with contextlib.suppress(Exception):
            await runtime.realtime_records.close(
                session.remote_session_id,
                status="failed",
                audio_seconds=0.0,
                finals=[],
                model=session.config.model,
                error=str(exc),
                retention_days=0,
            )


async def _forward(
    websocket: WebSocket, session: LiveSession, adapter: Adapter
) -> None:
    while (event := await session.events.get()) is not None:
        for message in adapter.render(event, session):
            await websocket.send_json(message)
        for message in await adapter.enrich(event, session):
            await websocket.send_json(message)


async def _send_error(
    websocket: WebSocket, adapter: Adapter, error: StreamError
) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(Exception):
        await websocket.send_json(adapter.error(error))
        await websocket.close(code=int(error.close), reason=error.message[:120])


class _Recording:
    """The session's 16 kHz audio, written to a WAV (``path``, else a temporary
    file) as it arrives."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            handle = tempfile.NamedTemporaryFile(suffix=".wav", delete=False)
            handle.close()
            path = Path(handle.name)
        self.path = path
        self._wave = wave.open(str(self.path), "wb")
        self._wave.setnchannels(1)
        self._wave.setsampwidth(2)
        self._wave.setframerate(TARGET_RATE)

    def write(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
        self._wave.writeframes(pcm.tobytes())

    def close(self) -> Path:
        self._wave.close()
        return self.path


def _new_id() -> str:
    import uuid

    return str(uuid.uuid4())
