"""Realtime transcription over ``WS /v1/audio/transcriptions/stream``.

``Dalston.realtime(...)`` returns a ``RealtimeSession`` (a context manager),
``AsyncDalston.realtime(...)`` an ``AsyncRealtimeSession`` (an async one). Both send
binary audio frames and JSON control messages, and yield typed events::

    with client.realtime(language="en") as session:
        for event in session.stream_file("call.wav"):
            if isinstance(event, Final):
                print(event.text)
"""

from __future__ import annotations

import array
import asyncio
import builtins
import contextlib
import json
import sys
import threading
import time
import wave
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from dalston_sdk.errors import (
    AuthenticationError,
    ConnectionError,
    DalstonError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    TimeoutError,
    ValidationError,
    error_class,
)

__all__ = [
    "AsyncRealtimeSession",
    "Error",
    "ErrorEvent",
    "Final",
    "Partial",
    "RealtimeEvent",
    "RealtimeSegment",
    "RealtimeSession",
    "RealtimeWord",
    "SessionBegin",
    "SessionEnd",
    "SpeechEnd",
    "SpeechStart",
    "Warning",
    "WarningEvent",
    "microphone_chunks",
    "parse_event",
    "read_audio",
]

BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_f32le": 4, "mulaw": 1, "alaw": 1}
CHUNK_S = 0.1


# --- events ------------------------------------------------------------------------
class RealtimeEvent(BaseModel):
    """Any server message; the typed ones below subclass it (an unknown ``type``
    from a newer server arrives as this, its fields kept)."""

    model_config = ConfigDict(extra="allow")

    type: str


class RealtimeWord(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    start: float
    end: float
    confidence: float | None = None


class RealtimeSegment(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    start: float
    end: float


class SessionBegin(RealtimeEvent):
    type: Literal["session.begin"] = "session.begin"
    session_id: str
    config: dict[str, Any] = Field(default_factory=dict)


class SpeechStart(RealtimeEvent):
    type: Literal["vad.speech_start"] = "vad.speech_start"
    timestamp: float


class SpeechEnd(RealtimeEvent):
    type: Literal["vad.speech_end"] = "vad.speech_end"
    timestamp: float


class Partial(RealtimeEvent):
    """Interim text of the utterance in progress (it may still change)."""

    type: Literal["transcript.partial"] = "transcript.partial"
    text: str
    start: float
    end: float


class Final(RealtimeEvent):
    """A finished utterance; ``words`` with ``word_timestamps=True``."""

    type: Literal["transcript.final"] = "transcript.final"
    text: str
    start: float
    end: float
    confidence: float | None = None
    language: str | None = None
    words: list[RealtimeWord] | None = None


class WarningEvent(RealtimeEvent):
    """E.g. ``code="processing_lag"`` with ``lag_seconds``."""

    type: Literal["warning"] = "warning"
    code: str
    lag_seconds: float | None = None


class SessionEnd(RealtimeEvent):
    type: Literal["session.end"] = "session.end"
    session_id: str
    total_audio_seconds: float = 0.0
    transcript: str = ""
    segments: list[RealtimeSegment] = Field(default_factory=list)


class ErrorEvent(RealtimeEvent):
    type: Literal["error"] = "error"
    code: str
    message: str = ""
    recoverable: bool = False


# The names of the protocol's events (shadowing builtins only in this module).
Warning = WarningEvent
Error = ErrorEvent

_EVENTS: dict[str, type[RealtimeEvent]] = {
    "session.begin": SessionBegin,
    "vad.speech_start": SpeechStart,
    "vad.speech_end": SpeechEnd,
    "transcript.partial": Partial,
    "transcript.final": Final,
    "warning": WarningEvent,
    "session.end": SessionEnd,
    "error": ErrorEvent,
}


def parse_event(message: str | bytes | Mapping[str, Any]) -> RealtimeEvent:
    """A server message as its typed event."""
    body = json.loads(message) if isinstance(message, (str, bytes)) else message
    if not isinstance(body, Mapping):
        raise DalstonError(f"Unexpected realtime message: {body!r}")
    cls = _EVENTS.get(str(body.get("type")), RealtimeEvent)
    return cls.model_validate(dict(body))


# --- close codes -------------------------------------------------------------------
_CLOSE_ERRORS: dict[int, type[DalstonError]] = {
    4001: AuthenticationError,
    4003: PermissionDeniedError,
    4400: ValidationError,
    4429: RateLimitError,
    4503: ServiceUnavailableError,
}


def close_error(
    code: int | None, reason: str, error: ErrorEvent | None
) -> DalstonError | None:
    """The exception a close code stands for (``None``: a normal close)."""
    if code in (None, 1000, 1001) and error is None:
        return None
    message = (error.message if error else "") or reason or f"closed ({code})"
    err_code = error.code if error else None
    if code in _CLOSE_ERRORS:
        return _CLOSE_ERRORS[code](message, code=err_code, status_code=code)
    if code == 4010:
        return DalstonError(message, code=err_code or "lag_exceeded", status_code=code)
    if code in (None, 1000, 1001):
        return DalstonError(message, code=err_code)
    if code == 1006:  # no close frame: the connection dropped
        return ConnectionError(f"The realtime connection dropped: {message}")
    return ServerError(message, code=err_code, status_code=code)


def handshake_error(exc: Exception) -> DalstonError:
    """A refused WebSocket upgrade (an HTTP status) or an unreachable server."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):
        body = getattr(response, "body", b"") or b""
        message = f"WebSocket upgrade refused: HTTP {status}"
        with contextlib.suppress(ValueError, UnicodeDecodeError, AttributeError):
            parsed = json.loads(body)
            message = parsed["error"]["message"]
        return error_class(status)(message, status_code=status)
    if isinstance(exc, builtins.TimeoutError):
        return TimeoutError(f"Opening the realtime session timed out: {exc}")
    return ConnectionError(f"Could not open the realtime session: {exc}")


def realtime_params(
    *,
    model: str | None,
    language: str | None,
    sample_rate: int,
    encoding: str,
    enable_vad: bool | None,
    interim_results: bool | None,
    word_timestamps: bool | None,
    vocabulary: Iterable[str] | None,
    retention: int | None,
    store_audio: bool | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if encoding not in BYTES_PER_SAMPLE:
        raise ValueError(f"encoding must be one of {', '.join(BYTES_PER_SAMPLE)}")
    params: dict[str, Any] = {
        "model": model,
        "language": language,
        "sample_rate": sample_rate,
        "encoding": encoding,
        "enable_vad": enable_vad,
        "interim_results": interim_results,
        "word_timestamps": word_timestamps,
        "vocabulary": list(vocabulary) if vocabulary is not None else None,
        "retention": retention,
        "store_audio": store_audio,
        **(extra or {}),
    }
    return {k: v for k, v in params.items() if v is not None}


# --- audio -------------------------------------------------------------------------
def read_audio(path: str | Path) -> tuple[bytes, int | None]:
    """A file's audio for streaming: a 16-bit PCM WAV as mono ``pcm_s16le`` and
    its sample rate; any other file as raw bytes (``None``: the session's own
    format is assumed)."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return path.read_bytes(), None
    with wave.open(str(path), "rb") as wav:
        width, channels, rate = (
            wav.getsampwidth(),
            wav.getnchannels(),
            wav.getframerate(),
        )
        frames = wav.readframes(wav.getnframes())
    if width != 2:
        raise ValueError(
            f"{path}: only 16-bit PCM WAV is supported (got {width * 8}-bit)"
        )
    if channels > 1:
        samples = array.array("h")
        samples.frombytes(frames)
        if sys.byteorder == "big":
            samples.byteswap()
        mono = array.array(
            "h",
            (
                sum(samples[i : i + channels]) // channels
                for i in range(0, len(samples), channels)
            ),
        )
        if sys.byteorder == "big":
            mono.byteswap()
        frames = mono.tobytes()
    return frames, rate


def _chunks(data: bytes, step: int) -> Iterator[bytes]:
    for i in range(0, len(data), step):
        yield data[i : i + step]


def microphone_chunks(
    sample_rate: int = 16000, chunk_ms: int = 100, device: int | str | None = None
) -> Iterator[bytes]:
    """Live ``pcm_s16le`` mono chunks from a microphone (``pip install
    'dalston-sdk[mic]'``: needs ``sounddevice`` and PortAudio). Stops when the
    consumer stops iterating."""
    try:
        import sounddevice  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except (ImportError, OSError) as exc:
        raise ImportError(
            "Microphone input needs sounddevice: pip install 'dalston-sdk[mic]'"
        ) from exc
    import queue

    chunks: queue.Queue[bytes] = queue.Queue()

    def _callback(indata: Any, frames: int, t: Any, status: Any) -> None:
        chunks.put(bytes(indata))

    with sounddevice.RawInputStream(
        samplerate=sample_rate,
        blocksize=int(sample_rate * chunk_ms / 1000),
        device=device,
        channels=1,
        dtype="int16",
        callback=_callback,
    ):
        while True:
            yield chunks.get()


class _Base:
    """What both sessions share: the URL, the format and the event bookkeeping."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        sample_rate: int,
        encoding: str,
        open_timeout: float | None,
        token_source: Any = None,
    ) -> None:
        self.url = url
        # Mints a single-use token for the URL at open (instead of the key header).
        self.token_source = token_source
        self.headers = dict(headers)
        self.sample_rate = sample_rate
        self.encoding = encoding
        self.open_timeout = open_timeout
        self.session_id: str | None = None
        self.begin: SessionBegin | None = None
        self.end_event: SessionEnd | None = None
        self.finals: list[Final] = []
        self._pending: list[RealtimeEvent] = []
        self._last_error: ErrorEvent | None = None
        self._ws: Any = None  # the websockets connection, once open

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * BYTES_PER_SAMPLE[self.encoding]

    @property
    def transcript(self) -> str:
        """The server's transcript once the session ended, else the finals so far."""
        if self.end_event is not None:
            return self.end_event.transcript
        return " ".join(f.text.strip() for f in self.finals if f.text.strip())

    def _audio_of(self, path: str | Path) -> bytes:
        data, rate = read_audio(path)
        if rate is not None:
            if self.encoding != "pcm_s16le":
                raise ValueError(
                    f"{path} is 16-bit PCM WAV: open the session with "
                    "encoding='pcm_s16le'."
                )
            if rate != self.sample_rate:
                raise ValueError(
                    f"{path} is {rate} Hz but the session expects "
                    f"{self.sample_rate} Hz: open it with sample_rate={rate}."
                )
        return data

    def _chunk_bytes(self, chunk_s: float) -> int:
        step = max(int(self.bytes_per_second * chunk_s), 1)
        width = BYTES_PER_SAMPLE[self.encoding]
        return max(step - step % width, width)

    def _note(self, event: RealtimeEvent) -> None:
        if isinstance(event, SessionBegin):
            self.begin = event
            self.session_id = event.session_id
        elif isinstance(event, Final):
            self.finals.append(event)
        elif isinstance(event, SessionEnd):
            self.end_event = event
        elif isinstance(event, ErrorEvent):
            self._last_error = event

    def _url_with(self, token: str | None) -> str:
        if token is None:
            return self.url
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}{urlencode({'token': token})}"

    def _closed_error(self) -> DalstonError | None:
        """What the socket's close means (a fatal ``error`` event explains it)."""
        ws = self._ws
        code = getattr(ws, "close_code", None)
        reason = getattr(ws, "close_reason", "") or ""
        fatal = self._last_error
        if fatal is not None and fatal.recoverable:
            fatal = None
        return close_error(code, reason, fatal)

    @staticmethod
    def _control(kind: str, **fields: Any) -> str:
        return json.dumps({"type": kind, **fields})


class RealtimeSession(_Base):
    """A synchronous realtime session (``websockets.sync``). Opened on ``with``;
    ``send_audio``/``commit``/``end`` send, iterating yields events until the
    server ends the session. ``stream_file`` and ``stream`` do both at once (the
    audio is sent from a thread)."""

    # --- lifecycle ---------------------------------------------------------
    def open(self) -> RealtimeSession:
        from websockets.sync.client import connect

        token = self.token_source() if self.token_source is not None else None
        try:
            ws = connect(
                self._url_with(token),
                additional_headers=self.headers,
                open_timeout=self.open_timeout,
                max_size=None,
            )
            # Entered as a context manager (websockets >= 17.1 warns otherwise);
            # ``close()`` ends it.
            self._ws = ws.__enter__()
        except Exception as exc:
            raise handshake_error(exc) from exc
        try:
            first = self._recv(self.open_timeout)
        except builtins.TimeoutError as exc:
            self._ws.close()
            raise TimeoutError("No session.begin from the server.") from exc
        if first is None:
            raise self._closed_error() or ConnectionError("Session closed at once.")
        if isinstance(first, ErrorEvent) and not first.recoverable:
            with contextlib.suppress(builtins.TimeoutError):
                self._recv(5.0)  # the close that follows
            self._ws.close()
            raise self._closed_error() or DalstonError(first.message, code=first.code)
        self._pending.append(first)
        return self

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()

    def __enter__(self) -> RealtimeSession:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending -------------------------------------------------------------
    def send_audio(self, data: bytes) -> None:
        self._ws.send(bytes(data))

    def commit(self) -> None:
        """End the current utterance now (a final follows); with
        ``enable_vad=False`` this is how finals happen."""
        self._ws.send(self._control("commit"))

    def clear(self) -> None:
        """Drop the audio buffered since the last final."""
        self._ws.send(self._control("clear"))

    def configure(self, **changes: Any) -> None:
        """Change ``language``, ``vocabulary``, ``interim_results`` or
        ``word_timestamps`` mid-session."""
        self._ws.send(self._control("config", **changes))

    def end(self) -> None:
        """No more audio: the server finishes, sends ``session.end`` and closes."""
        self._ws.send(self._control("end"))

    # --- receiving ------------------------------------------------------------
    def _recv(self, timeout: float | None = None) -> RealtimeEvent | None:
        from websockets.exceptions import ConnectionClosed

        try:
            raw = self._ws.recv(timeout=timeout)
        except ConnectionClosed:
            return None
        event = parse_event(raw)
        self._note(event)
        return event

    def __iter__(self) -> Iterator[RealtimeEvent]:
        return self.events()

    def events(self) -> Iterator[RealtimeEvent]:
        """Events until the session ends; a close with an error code raises
        (after its ``error`` event)."""
        while self._pending:
            yield self._pending.pop(0)
        while True:
            event = self._recv()
            if event is None:
                error = self._closed_error()
                if error is not None and self.end_event is None:
                    raise error
                return
            yield event
            if isinstance(event, SessionEnd):
                return

    def stream(
        self,
        chunks: Iterable[bytes],
        *,
        realtime: bool = False,
        end: bool = True,
    ) -> Iterator[RealtimeEvent]:
        """Send ``chunks`` (audio in the session's format; with ``realtime``,
        paced to the audio's duration) and yield the events meanwhile; ``end``
        then ends the session."""
        failure: list[BaseException] = []
        stop = threading.Event()

        def _send() -> None:
            try:
                started = time.monotonic()
                sent = 0
                for chunk in chunks:
                    if stop.is_set():
                        return
                    self.send_audio(chunk)
                    sent += len(chunk)
                    if realtime:
                        ahead = (
                            started + sent / self.bytes_per_second - time.monotonic()
                        )
                        if ahead > 0:
                            time.sleep(ahead)
                if end and not stop.is_set():
                    self.end()
            except BaseException as exc:  # reported to the reader below
                failure.append(exc)

        sender = threading.Thread(target=_send, name="dalston-sdk-sender", daemon=True)
        sender.start()
        try:
            yield from self.events()
        finally:
            stop.set()
            sender.join(timeout=5)
        if failure and self.end_event is None:
            raise failure[0]

    def stream_file(
        self,
        path: str | Path,
        *,
        realtime: bool = True,
        chunk_s: float = CHUNK_S,
        end: bool = True,
    ) -> Iterator[RealtimeEvent]:
        """Stream a 16-bit PCM WAV (or a raw file in the session's format), at
        real-time pace unless ``realtime=False`` (as fast as the socket takes it;
        a server that falls behind warns and may end the session)."""
        data = self._audio_of(path)
        step = self._chunk_bytes(chunk_s)
        return self.stream(_chunks(data, step), realtime=realtime, end=end)


class AsyncRealtimeSession(_Base):
    """The asyncio session: ``async with``, ``await send_audio(...)``, ``async for
    event in session``; ``stream_file``/``stream`` send from a task."""

    async def open(self) -> AsyncRealtimeSession:
        from websockets.asyncio.client import connect

        token = await self.token_source() if self.token_source is not None else None
        try:
            self._ws = await connect(
                self._url_with(token),
                additional_headers=self.headers,
                open_timeout=self.open_timeout,
                max_size=None,
            )
        except Exception as exc:
            raise handshake_error(exc) from exc
        try:
            first = await asyncio.wait_for(self._recv(), self.open_timeout)
        except builtins.TimeoutError as exc:
            await self._ws.close()
            raise TimeoutError("No session.begin from the server.") from exc
        if first is None:
            raise self._closed_error() or ConnectionError("Session closed at once.")
        if isinstance(first, ErrorEvent) and not first.recoverable:
            with contextlib.suppress(builtins.TimeoutError):
                await asyncio.wait_for(self._recv(), 5.0)
            await self._ws.close()
            raise self._closed_error() or DalstonError(first.message, code=first.code)
        self._pending.append(first)
        return self

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> AsyncRealtimeSession:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send_audio(self, data: bytes) -> None:
        await self._ws.send(bytes(data))

    async def commit(self) -> None:
        await self._ws.send(self._control("commit"))

    async def clear(self) -> None:
        await self._ws.send(self._control("clear"))

    async def configure(self, **changes: Any) -> None:
        await self._ws.send(self._control("config", **changes))

    async def end(self) -> None:
        await self._ws.send(self._control("end"))

    async def _recv(self) -> RealtimeEvent | None:
        from websockets.exceptions import ConnectionClosed

        try:
            raw = await self._ws.recv()
        except ConnectionClosed:
            return None
        event = parse_event(raw)
        self._note(event)
        return event

    def __aiter__(self) -> AsyncIterator[RealtimeEvent]:
        return self.events()

    async def events(self) -> AsyncIterator[RealtimeEvent]:
        while self._pending:
            yield self._pending.pop(0)
        while True:
            event = await self._recv()
            if event is None:
                error = self._closed_error()
                if error is not None and self.end_event is None:
                    raise error
                return
            yield event
            if isinstance(event, SessionEnd):
                return

    async def stream(
        self,
        chunks: Iterable[bytes] | AsyncIterable[bytes],
        *,
        realtime: bool = False,
        end: bool = True,
    ) -> AsyncIterator[RealtimeEvent]:
        async def _send() -> None:
            started = time.monotonic()
            sent = 0
            if isinstance(chunks, AsyncIterable):
                source: AsyncIterator[bytes] = chunks.__aiter__()
            else:
                source = _aiter(chunks)
            async for chunk in source:
                await self.send_audio(chunk)
                sent += len(chunk)
                if realtime:
                    ahead = started + sent / self.bytes_per_second - time.monotonic()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                else:
                    await asyncio.sleep(0)
            if end:
                await self.end()

        sender = asyncio.ensure_future(_send())
        try:
            async for event in self.events():
                yield event
        finally:
            if not sender.done():
                sender.cancel()
            (failure,) = await asyncio.gather(sender, return_exceptions=True)
        if isinstance(failure, Exception) and self.end_event is None:
            raise failure

    def stream_file(
        self,
        path: str | Path,
        *,
        realtime: bool = True,
        chunk_s: float = CHUNK_S,
        end: bool = True,
    ) -> AsyncIterator[RealtimeEvent]:
        data = self._audio_of(path)
        step = self._chunk_bytes(chunk_s)
        return self.stream(list(_chunks(data, step)), realtime=realtime, end=end)


async def _aiter(items: Iterable[bytes]) -> AsyncIterator[bytes]:
    """A sync iterable as an async one: a sequence directly, anything else (a
    generator may block, e.g. a microphone) advanced in a worker thread."""
    if isinstance(items, Sequence):
        for item in items:
            yield item
        return
    iterator = iter(items)
    done = object()
    while True:
        item = await asyncio.to_thread(next, iterator, done)
        if item is done:
            return
        yield cast(bytes, item)
