"""The SDK without a server: its exports, error mapping, retry policy, webhook
verification, event parsing and audio reading."""

from __future__ import annotations

import inspect
import io
import json
import time
import wave
from datetime import UTC
from pathlib import Path
from typing import Any

import dalston_sdk
import httpx
import pytest
from dalston_sdk import (
    AsyncDalston,
    AuthenticationError,
    ConflictError,
    Dalston,
    DalstonError,
    Final,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    SessionBegin,
    UnsupportedMediaError,
    ValidationError,
    WebhookVerificationError,
    parse_event,
    read_audio,
    sign_webhook,
    verify_webhook,
)
from dalston_sdk import ConnectionError as SdkConnectionError

SDK_SRC = Path(dalston_sdk.__file__).resolve().parent


# --- exports ------------------------------------------------------------------
def test_every_name_in_all_imports() -> None:
    for name in dalston_sdk.__all__:
        assert getattr(dalston_sdk, name) is not None, name
    namespace: dict[str, Any] = {}
    exec("from dalston_sdk import *", namespace)
    assert set(dalston_sdk.__all__) <= set(namespace)


def test_every_public_name_is_in_all() -> None:
    modules = {"errors", "models", "realtime", "webhooks", "client", "async_client"}
    public = {
        name
        for name in vars(dalston_sdk)
        if not name.startswith("_") and name not in modules
    }
    assert public == set(dalston_sdk.__all__) - {"__version__"}
    assert len(dalston_sdk.__all__) == len(set(dalston_sdk.__all__))


def test_the_sdk_never_imports_the_server() -> None:
    for source in SDK_SRC.rglob("*.py"):
        text = source.read_text()
        assert "import dalston\n" not in text and "from dalston." not in text, source
        assert "from dalston import" not in text, source


def test_clients_have_the_same_methods() -> None:
    def methods(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(fn)
            for name, fn in vars(cls).items()
            if callable(fn) and not name.startswith("__")
        }

    sync, aio = methods(Dalston), methods(AsyncDalston)
    assert set(sync) == set(aio)
    for name, signature in sync.items():
        assert list(signature.parameters) == list(aio[name].parameters), name
    for name, fn in vars(AsyncDalston).items():
        if name in ("realtime", "__init__") or name.startswith("iter_"):
            continue
        if callable(fn) and not name.startswith("__"):
            assert inspect.iscoroutinefunction(fn), name


# --- error mapping ------------------------------------------------------------
def _client(handler: Any, **kwargs: Any) -> Dalston:
    return Dalston(
        "http://dalston.test",
        api_key="dk_test",
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def _error(status: int, code: str = "x", headers: dict[str, str] | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": code, "message": f"m{status}", "param": "file"}}
        return httpx.Response(status, json=body, headers=headers)

    return handler


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (415, UnsupportedMediaError),
        (422, ValidationError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServiceUnavailableError),
    ],
)
def test_statuses_map_to_exceptions(status: int, cls: type[DalstonError]) -> None:
    with _client(_error(status, headers={"Retry-After": "0"}), max_retries=0) as c:
        with pytest.raises(cls) as caught:
            c.get_job("j")
    assert type(caught.value) is cls
    assert caught.value.status_code == status
    assert caught.value.message == f"m{status}"
    assert caught.value.code == "x" and caught.value.param == "file"


def test_auth_header_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"tenant_id": "t", "scopes": ["admin"]})

    with _client(handler) as c:
        assert c.me().tenant_id == "t"
    assert seen[0].headers["authorization"] == "Bearer dk_test"
    assert seen[0].headers["user-agent"].startswith("dalston-sdk-python/")


def test_network_errors_become_connection_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(handler, max_retries=1) as c:
        c.retry.base_delay = 0.001
        with pytest.raises(SdkConnectionError) as caught:
            c.list_models()
    assert isinstance(caught.value, ConnectionError)  # the builtin too


# --- retries ------------------------------------------------------------------
class _Flaky:
    """Answers 429 (Retry-After) ``failures`` times, then 200."""

    def __init__(self, failures: int, status: int = 429, after: str = "0.2") -> None:
        self.failures = failures
        self.status = status
        self.after = after
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(time.monotonic())
        if len(self.times) <= self.failures:
            return httpx.Response(
                self.status,
                json={"error": {"code": "rate_limited", "message": "slow down"}},
                headers={"Retry-After": self.after},
            )
        return httpx.Response(200, json={"object": "list", "data": [{"id": "m"}]})


def test_retries_429_honouring_retry_after() -> None:
    flaky = _Flaky(2)
    with _client(flaky) as c:
        assert [m.id for m in c.list_models()] == ["m"]
    assert len(flaky.times) == 3
    gaps = [b - a for a, b in zip(flaky.times, flaky.times[1:], strict=False)]
    assert all(0.19 <= gap < 1.0 for gap in gaps), gaps


def test_gives_up_after_max_retries_with_retry_after() -> None:
    flaky = _Flaky(5, after="0.01")
    with _client(flaky, max_retries=1) as c:
        with pytest.raises(RateLimitError) as caught:
            c.list_models()
    assert len(flaky.times) == 2
    assert caught.value.retry_after == pytest.approx(0.01)


def test_no_retries_when_max_retries_is_zero() -> None:
    flaky = _Flaky(1, status=503, after="0")
    with _client(flaky, max_retries=0) as c, pytest.raises(ServiceUnavailableError):
        c.list_models()
    assert len(flaky.times) == 1


def test_post_without_idempotency_key_is_not_retried_on_network_errors() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("reset", request=request)

    with _client(handler) as c:
        c.retry.base_delay = 0.001
        with pytest.raises(SdkConnectionError):
            c.transcribe(b"RIFF....", wait=False)
        assert calls == ["POST"]
        calls.clear()
        with pytest.raises(SdkConnectionError):
            c.transcribe(b"RIFF....", wait=False, idempotency_key="k1")
        assert calls == ["POST"] * 3


async def test_async_client_retries_429() -> None:
    flaky = _Flaky(1, after="0.05")
    async with AsyncDalston(
        "http://dalston.test", api_key="k", transport=httpx.MockTransport(flaky)
    ) as c:
        models = await c.list_models()
    assert [m.id for m in models] == ["m"] and len(flaky.times) == 2


# --- the transcription request ------------------------------------------------
def test_transcribe_sends_only_the_fields_set() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201, json={"id": "j1", "status": "pending", "display_name": None}
        )

    progress: list[tuple[int, int | None]] = []
    with _client(handler) as c:
        job = c.transcribe(
            io.BytesIO(b"x" * 200_000),
            filename="a.wav",
            wait=False,
            language="en",
            vocabulary=["Dalston", "Quilter"],
            pii_detection=True,
            pii_entity_types=["PERSON", "EMAIL_ADDRESS"],
            webhook_metadata={"order": 7},
            retention=0,
            idempotency_key="idem-1",
            on_upload_progress=lambda sent, total: progress.append((sent, total)),
        )
    assert job.id == "j1" and job.status == "pending"
    request = seen[0]
    assert request.url.path == "/v1/audio/transcriptions/jobs"
    assert request.headers["idempotency-key"] == "idem-1"
    body = request.content.decode("latin-1")
    for name, value in [
        ("language", "en"),
        ("vocabulary", '["Dalston", "Quilter"]'),
        ("pii_detection", "true"),
        ("pii_entity_types", "PERSON,EMAIL_ADDRESS"),
        ("webhook_metadata", '{"order": 7}'),
        ("retention", "0"),
    ]:
        assert f'name="{name}"\r\n\r\n{value}\r\n' in body, name
    assert 'name="model"' not in body and 'name="speaker_detection"' not in body
    assert 'filename="a.wav"' in body
    assert progress and progress[-1] == (200_000, 200_000)


def test_a_rate_limited_upload_is_sent_again_whole() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        if len(bodies) == 1:
            error = {"error": {"code": "rate_limited", "message": "later"}}
            return httpx.Response(429, json=error, headers={"Retry-After": "0"})
        return httpx.Response(201, json={"id": "j3", "status": "pending"})

    progress: list[int] = []
    audio = io.BytesIO(b"0123456789" * 10_000)
    audio.seek(10)  # uploads from where the object stands
    with _client(handler) as c:
        job = c.transcribe(
            audio, wait=False, on_upload_progress=lambda s, t: progress.append(s)
        )
    assert job.id == "j3" and len(bodies) == 2  # a new boundary each time
    assert [b.count(b"0123456789") for b in bodies] == [9_999, 9_999]
    assert progress[-1] == 99_990 and progress.count(99_990) == 2


def test_transcribe_from_url_is_multipart_without_a_file() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "j2", "status": "pending"})

    with _client(handler) as c:
        c.transcribe(audio_url="https://example.com/a.mp3", wait=False)
        with pytest.raises(ValueError):
            c.transcribe(wait=False)
    assert seen[0].headers["content-type"].startswith("multipart/form-data")
    assert b"https://example.com/a.mp3" in seen[0].content


# --- waiting for a job ---------------------------------------------------------
class _JobServer:
    """A job that is running for ``running`` answers, then completed; with
    ``holds``, a running answer takes the ``wait`` the request asked for."""

    def __init__(self, running: int, holds: bool) -> None:
        self.running = running
        self.holds = holds
        self.asked: list[float | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        wait = request.url.params.get("wait")
        self.asked.append(None if wait is None else float(wait))
        status = "running" if len(self.asked) <= self.running else "completed"
        if status == "running" and wait is not None and self.holds:
            time.sleep(float(wait))
        return httpx.Response(200, json={"id": "j1", "status": status})


def _waiting_client(server: _JobServer, timeout: float) -> tuple[Dalston, list[float]]:
    client = _client(server, timeout=timeout)
    sleeps: list[float] = []
    client._sleep = sleeps.append  # type: ignore[method-assign]
    return client, sleeps


def test_wait_asks_the_server_to_hold_each_request() -> None:
    server = _JobServer(running=2, holds=True)
    client, sleeps = _waiting_client(server, timeout=2.0)  # holds up to 1 s
    with client:
        assert client.wait("j1").status == "completed"
    assert server.asked == [1.0, 1.0, 1.0] and sleeps == []


def test_wait_polls_a_server_that_does_not_hold() -> None:
    """An older server answers at once: the SDK falls back to polling."""
    server = _JobServer(running=3, holds=False)
    client, sleeps = _waiting_client(server, timeout=60.0)
    with client:
        assert client.wait("j1", poll_interval=0.25).status == "completed"
    assert server.asked == [20.0, None, None, None]
    assert sleeps == [0.25, 0.375, 0.5625]


def test_wait_polls_when_the_read_timeout_is_too_short_to_hold() -> None:
    server = _JobServer(running=1, holds=True)
    client, sleeps = _waiting_client(server, timeout=1.5)
    with client:
        assert client.wait("j1").status == "completed"
    assert server.asked == [None, None] and sleeps == [0.25]


def test_wait_gives_up_after_its_timeout() -> None:
    server = _JobServer(running=100, holds=True)
    client, _ = _waiting_client(server, timeout=2.0)
    started = time.monotonic()
    with client, pytest.raises(dalston_sdk.TimeoutError):
        client.wait("j1", timeout=1.5)
    assert time.monotonic() - started < 3
    assert server.asked[0] == 1.0 and server.asked[-1] is not None
    assert server.asked[-1] <= 0.6


# --- webhooks -----------------------------------------------------------------
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PAYLOAD = {
    "object": "event",
    "id": "evt_1",
    "type": "transcription.completed",
    "created_at": "2026-12-05T09:00:00Z",
    "data": {"transcription_id": "j1", "status": "completed"},
}


def test_verify_webhook_accepts_what_standardwebhooks_signs() -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks")
    body = json.dumps(PAYLOAD)
    now = int(time.time())
    from datetime import datetime

    signature = standardwebhooks.Webhook(SECRET).sign(
        "msg_1", datetime.fromtimestamp(now, tz=UTC), body
    )
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(now),
        "Webhook-Signature": f"v1,bm90LWl0 {signature}",  # several: one matches
    }
    assert verify_webhook(body.encode(), headers, SECRET) == PAYLOAD
    # And the library accepts what sign_webhook produces.
    ours = sign_webhook(body, SECRET, "msg_2")
    standardwebhooks.Webhook(SECRET).verify(body, ours)


@pytest.mark.parametrize("tamper", ["body", "signature", "id", "old", "future", "v2"])
def test_verify_webhook_refuses_tampering(tamper: str) -> None:
    body = json.dumps(PAYLOAD).encode()
    headers = sign_webhook(body, SECRET, "msg_1")
    if tamper == "body":
        body = body.replace(b"completed", b"failed", 1)
    elif tamper == "signature":
        headers["webhook-signature"] = "v1," + "A" * 44
    elif tamper == "id":
        headers["webhook-id"] = "msg_2"
    elif tamper == "old":
        headers = sign_webhook(body, SECRET, "msg_1", int(time.time()) - 301)
    elif tamper == "future":
        headers = sign_webhook(body, SECRET, "msg_1", int(time.time()) + 301)
    elif tamper == "v2":
        signature = headers["webhook-signature"]
        headers["webhook-signature"] = signature.replace("v1,", "v2,")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, SECRET)


def test_verify_webhook_needs_its_headers() -> None:
    with pytest.raises(WebhookVerificationError, match="webhook-signature"):
        verify_webhook(b"{}", {"webhook-id": "a", "webhook-timestamp": "1"}, SECRET)


async def test_fastapi_dependency() -> None:
    from dalston_sdk import webhook_dependency
    from fastapi import Depends, FastAPI

    app = FastAPI()
    verified = webhook_dependency(SECRET)

    @app.post("/hook")
    async def hook(event: dict[str, Any] = Depends(verified)) -> dict[str, Any]:
        return {"got": event["id"]}

    body = json.dumps(PAYLOAD).encode()
    headers = sign_webhook(body, SECRET, "msg_1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://h") as http:
        ok = await http.post("/hook", content=body, headers=headers)
        bad = await http.post("/hook", content=body + b" ", headers=headers)
    assert ok.status_code == 200 and ok.json() == {"got": "evt_1"}
    assert bad.status_code == 400


# --- realtime pieces ----------------------------------------------------------
def test_parse_event() -> None:
    begin = parse_event('{"type": "session.begin", "session_id": "s", "config": {}}')
    assert isinstance(begin, SessionBegin) and begin.session_id == "s"
    final = parse_event(
        {
            "type": "transcript.final",
            "text": "hi",
            "start": 0,
            "end": 1,
            "confidence": 0.9,
            "language": "en",
            "words": [{"text": "hi", "start": 0, "end": 1, "confidence": 0.9}],
            "new_field": 1,
        }
    )
    assert isinstance(final, Final) and final.words and final.words[0].text == "hi"
    unknown = parse_event({"type": "something.new", "x": 1})
    assert type(unknown) is dalston_sdk.RealtimeEvent
    assert unknown.type == "something.new"
    assert dalston_sdk.realtime.Warning is dalston_sdk.WarningEvent


@pytest.mark.parametrize(
    ("code", "recoverable", "cls"),
    [
        (4001, False, AuthenticationError),
        (4003, False, PermissionDeniedError),
        (4400, False, ValidationError),
        (4429, False, RateLimitError),
        (4503, False, ServiceUnavailableError),
        (1011, False, ServerError),
        (1006, False, SdkConnectionError),
        (1000, True, None),
    ],
)
def test_close_codes(code: int, recoverable: bool, cls: type | None) -> None:
    from dalston_sdk.realtime import ErrorEvent, close_error

    event = ErrorEvent(code="x", message="why", recoverable=recoverable)
    error = close_error(code, "", None if recoverable else event)
    if cls is None:
        assert error is None
    else:
        assert type(error) is cls and error.message.endswith("why")


def test_read_audio_downmixes_stereo_wav(tmp_path: Path) -> None:
    import array

    path = tmp_path / "s.wav"
    frames = array.array("h", [100, 300, -100, -300]).tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(frames)
    data, rate = read_audio(path)
    assert rate == 8000
    assert array.array("h", data).tolist() == [200, -200]
    raw = tmp_path / "a.pcm"
    raw.write_bytes(b"\x01\x02")
    assert read_audio(raw) == (b"\x01\x02", None)
