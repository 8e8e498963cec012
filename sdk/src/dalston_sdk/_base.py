"""What the sync and async clients share: configuration, request building, error
mapping and the retry policy. The clients only send and sleep."""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlencode

import httpx

from dalston_sdk._version import __version__
from dalston_sdk.errors import (
    ConnectionError,
    DalstonError,
    RateLimitError,
    ServiceUnavailableError,
    TimeoutError,
    error_class,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
MAX_RETRY_AFTER_S = 60.0
JOBS = "/v1/audio/transcriptions"
CREATE_JOB = f"{JOBS}/jobs"  # the unambiguous native route (never OpenAI's)

FileInput = str | os.PathLike[str] | bytes | IO[bytes]
ProgressCallback = Callable[[int, int | None], None]
ExportFormat = Literal["srt", "vtt", "txt", "json"]
TimestampsGranularity = Literal["none", "segment", "word"]
SpeakerDetection = Literal["none", "diarize", "per_channel"]
PiiRedactionMode = Literal["silence", "beep"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass
class Request:
    """One HTTP call, before it is sent (a retry sends it again)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # A connection error is retried only when sending twice is harmless.
    idempotent: bool | None = None
    # Before each attempt (e.g. rewind an upload).
    before_send: Callable[[], None] | None = None

    @property
    def retry_on_network_error(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in _IDEMPOTENT or "Idempotency-Key" in self.headers

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"headers": self.headers}
        if self.params:
            out["params"] = {k: v for k, v in self.params.items() if v is not None}
        if self.json is not None:
            out["json"] = self.json
        if self.data is not None:
            out["data"] = self.data
        if self.files is not None:
            out["files"] = self.files
        return out


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def raise_for_response(response: httpx.Response) -> None:
    """The native error shape as an exception; nothing for a 2xx/3xx."""
    if response.status_code < 400:
        return
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        body = response.text
    code: str | None = None
    param: str | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        detail = body.get("detail")
        if isinstance(error, dict):
            code = _str(error.get("code")) or _str(error.get("type"))
            message = _str(error.get("message")) or message
            param = _str(error.get("param"))
        elif isinstance(detail, dict):  # other dialects' shape, just in case
            code = _str(detail.get("status"))
            message = _str(detail.get("message")) or message
        elif isinstance(detail, str):
            message = detail
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    cls = error_class(response.status_code)
    kwargs: dict[str, Any] = {
        "status_code": response.status_code,
        "code": code,
        "param": param,
        "body": body,
        "request_id": response.headers.get("x-request-id"),
    }
    if cls in (RateLimitError, ServiceUnavailableError):
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    raise cls(message, **kwargs)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def network_error(exc: httpx.TransportError) -> DalstonError:
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError(f"Request timed out: {exc}")
    return ConnectionError(f"Could not reach the server: {exc}")


class RetryPolicy:
    """Retries on 429 and 503 (any method: the server did nothing) and, for
    idempotent requests, on network errors; ``Retry-After`` is honoured (capped),
    otherwise exponential backoff with jitter."""

    def __init__(
        self,
        max_retries: int = DEFAULT_MAX_RETRIES,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
    ) -> None:
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay

    def backoff(self, attempt: int) -> float:
        delay = min(self.base_delay * 2.0**attempt, self.max_delay)
        return float(delay * (0.75 + random.random() / 2))

    def delay_for_response(
        self, response: httpx.Response, attempt: int
    ) -> float | None:
        """Seconds to wait before retrying, or ``None``: do not retry."""
        if attempt >= self.max_retries or response.status_code not in (429, 503):
            return None
        after = parse_retry_after(response.headers.get("retry-after"))
        if after is not None:
            return min(after, MAX_RETRY_AFTER_S)
        return self.backoff(attempt)

    def delay_for_error(self, request: Request, attempt: int) -> float | None:
        if attempt >= self.max_retries or not request.retry_on_network_error:
            return None
        return self.backoff(attempt)


class _ProgressFile:
    """A file object that reports how much of it has been read (uploaded); a
    rewind (a retried upload) starts the count again."""

    def __init__(
        self, raw: IO[bytes], total: int | None, callback: ProgressCallback
    ) -> None:
        self._raw = raw
        self._seekable = raw.seekable()
        self._start = raw.tell() if self._seekable else 0
        self._sent = 0
        self._total = total
        self._callback = callback
        self.name = getattr(raw, "name", "audio")

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if chunk:
            self._sent += len(chunk)
            self._callback(self._sent, self._total)
        return chunk

    def tell(self) -> int:
        return self._sent

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            offset += self._start
        self._sent = self._raw.seek(offset, whence) - self._start
        return self._sent

    def seekable(self) -> bool:
        return self._seekable

    def close(self) -> None:
        self._raw.close()


def _size(raw: IO[bytes]) -> int | None:
    try:
        here = raw.tell()
        end = raw.seek(0, os.SEEK_END)
        raw.seek(here)
        return end - here
    except (OSError, ValueError, AttributeError):
        return None


@dataclass
class Upload:
    """The ``file`` part of a transcription: its name and a stream to read."""

    filename: str
    stream: IO[bytes]
    owned: bool  # opened here, so closed here

    def close(self) -> None:
        if self.owned:
            self.stream.close()


def open_upload(
    file: FileInput, filename: str | None, progress: ProgressCallback | None
) -> Upload:
    import io

    owned = False
    if isinstance(file, (bytes, bytearray, memoryview)):
        stream: IO[bytes] = io.BytesIO(bytes(file))
        name = filename or "audio"
        owned = True
    elif isinstance(file, (str, os.PathLike)):
        path = Path(file)
        stream = path.open("rb")
        name = filename or path.name
        owned = True
    else:
        stream = file
        name = filename or Path(str(getattr(file, "name", "audio"))).name
    if progress is not None:
        stream = _ProgressFile(stream, _size(stream), progress)  # type: ignore[assignment]
    return Upload(filename=name, stream=stream, owned=owned)


def create_job_request(
    form: dict[str, Any], upload: Upload | None, idempotency_key: str | None
) -> Request:
    """``POST`` of a native job: multipart always (text parts only for a URL)."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    if upload is None:
        files: dict[str, Any] = {k: (None, v) for k, v in form.items()}
        return Request("POST", CREATE_JOB, files=files, headers=headers)
    files = {"file": (upload.filename, upload.stream)}
    return Request("POST", CREATE_JOB, data=form, files=files, headers=headers)


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def transcription_form(
    *,
    audio_url: str | None,
    model: str | None,
    language: str | None,
    name: str | None,
    vocabulary: Iterable[str] | None,
    timestamps_granularity: str | None,
    speaker_detection: str | None,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
    pii_detection: bool | None,
    pii_entity_types: Iterable[str] | None,
    redact_pii_audio: bool | None,
    pii_redaction_mode: str | None,
    retention: int | None,
    webhook_url: str | None,
    webhook_metadata: Mapping[str, Any] | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The multipart fields of a native job; only those set are sent (the server
    refuses fields it does not know, so an unset one never reaches it)."""
    form: dict[str, Any] = {
        "audio_url": audio_url,
        "model": model,
        "language": language,
        "name": name,
        "vocabulary": json.dumps(list(vocabulary)) if vocabulary is not None else None,
        "timestamps_granularity": timestamps_granularity,
        "speaker_detection": speaker_detection,
        "num_speakers": num_speakers,
        "min_speakers": min_speakers,
        "max_speakers": max_speakers,
        "pii_detection": _flag(pii_detection),
        "pii_entity_types": (
            ",".join(pii_entity_types) if pii_entity_types is not None else None
        ),
        "redact_pii_audio": _flag(redact_pii_audio),
        "pii_redaction_mode": pii_redaction_mode,
        "retention": retention,
        "webhook_url": webhook_url,
        "webhook_metadata": (
            json.dumps(dict(webhook_metadata)) if webhook_metadata is not None else None
        ),
        **(extra or {}),
    }
    out: dict[str, Any] = {}
    for key, value in form.items():
        if value is None:
            continue
        out[key] = _flag(value) if isinstance(value, bool) else str(value)
    return out


class BaseClient:
    """Configuration and the pieces of every call; ``Dalston`` and ``AsyncDalston``
    add the sending."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = (
            base_url or os.environ.get("DALSTON_SERVER") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.api_key = (
            api_key if api_key is not None else os.environ.get("DALSTON_API_KEY")
        )
        self.timeout = timeout
        self.retry = RetryPolicy(max_retries)
        self._extra_headers = dict(headers or {})

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    def default_headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": f"dalston-sdk-python/{__version__}",
            "Accept": "application/json",
            **self._extra_headers,
        }
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def ws_url(self, path: str, params: Mapping[str, Any]) -> str:
        base = self.base_url
        if base.startswith("https://"):
            base = "wss://" + base[len("https://") :]
        elif base.startswith("http://"):
            base = "ws://" + base[len("http://") :]
        query = {k: _query_value(v) for k, v in params.items() if v is not None}
        return f"{base}{path}" + (f"?{urlencode(query)}" if query else "")

    # --- request builders (shared by both clients) ----------------------------
    @staticmethod
    def export_request(
        job_id: str,
        fmt: str,
        include_speakers: bool | None,
        max_line_length: int | None,
        max_lines: int | None,
        prefix: str = JOBS,
    ) -> Request:
        return Request(
            "GET",
            f"{prefix}/{job_id}/export/{fmt}",
            params={
                "include_speakers": _flag(include_speakers),
                "max_line_length": max_line_length,
                "max_lines": max_lines,
            },
            headers={"Accept": "*/*"},
        )

    @staticmethod
    def list_jobs_request(
        status: str | None, since: Any, limit: int | None, cursor: str | None
    ) -> Request:
        return Request(
            "GET",
            JOBS,
            params={
                "status": status,
                "since": since.isoformat() if hasattr(since, "isoformat") else since,
                "limit": limit,
                "cursor": cursor,
            },
        )

    @staticmethod
    def create_key_body(
        name: str,
        scopes: Iterable[str] | None,
        rate_limit: int | None,
        expires_at: Any,
        tenant_id: str | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if rate_limit is not None:
            body["rate_limit"] = rate_limit
        if expires_at is not None:
            body["expires_at"] = (
                expires_at.isoformat()
                if hasattr(expires_at, "isoformat")
                else expires_at
            )
        if tenant_id is not None:
            body["tenant_id"] = tenant_id
        return body

    @staticmethod
    def webhook_body(
        url: str | None,
        events: Iterable[str] | None,
        description: str | None,
        enabled: bool | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if url is not None:
            body["url"] = url
        if events is not None:
            body["events"] = list(events)
        if description is not None:
            body["description"] = description
        if enabled is not None:
            body["enabled"] = enabled
        return body


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return str(value)


def webhooks_of(body: Any) -> list[Any]:
    """``GET /v1/webhooks``: a bare list, or the list under a known key."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("webhooks", "endpoints", "data"):
            if isinstance(body.get(key), list):
                return list(body[key])
    return []


def poll_delays(initial: float = 0.25, factor: float = 1.5, cap: float = 2.0) -> Any:
    """The waits between polls of a job: growing from ``initial`` to ``cap``."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * factor, cap)


# The longest one request asks the server to hold it for a job to finish.
LONG_POLL_S = 20.0


class JobWaiter:
    """The requests of waiting for a job, shared by both clients.

    Each ``GET`` asks the server to answer once the job is finished (``?wait=``,
    a long poll) and at the latest after ``LONG_POLL_S``, the time left, or half
    the client's read timeout, whichever is least; the job is seen finished the
    moment it is, with one request per ``LONG_POLL_S``. A server that answers
    sooner with the job still running does not hold requests (an older one), so
    the waiter polls it instead, with backoff from ``poll_interval`` to
    ``max_poll_interval``; so it does with a read timeout under 2 s."""

    def __init__(
        self,
        job_id: str,
        timeout: float | None,
        read_timeout: float | None,
        poll_interval: float,
        max_poll_interval: float,
    ) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.hold = LONG_POLL_S
        if read_timeout is not None:
            self.hold = min(self.hold, read_timeout / 2)
        self.long_poll = self.hold >= 1.0
        self._delays = poll_delays(poll_interval, cap=max_poll_interval)
        self._asked = 0.0

    def next_wait(self) -> float:
        """The ``wait`` of the next ``get_job`` (0: answer at once)."""
        asked = 0.0
        if self.long_poll:
            asked = self.hold
            if self.deadline is not None:
                asked = min(asked, self.deadline - time.monotonic())
        self._asked = max(round(asked, 1), 0.0)
        return self._asked

    def delay(self, job_status: str, took: float) -> float:
        """Seconds to sleep before the next request, the job still ``job_status``
        after a request that took ``took`` s; ``TimeoutError`` once time is up."""
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError(
                f"Job {self.job_id} still {job_status} after {self.timeout} s."
            )
        if self._asked > 0:
            if took >= self._asked / 2:
                return 0.0  # held as asked: ask again at once
            self.long_poll = False  # answered early, still running: not held
        delay = next(self._delays)
        return delay if left is None else min(delay, left)
