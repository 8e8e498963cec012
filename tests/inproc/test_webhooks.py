"""Durable webhooks in process: /v1/webhooks CRUD, Standard Webhooks signatures,
retries with backoff into the deliveries list, a job's own webhook_url, an
endpoint disabled after consecutive failures, the SSRF guard, and the retention
of ended rows."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from dalston.db.models import utcnow
from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess, fast_settings, running

AUDIO = JFK


class Receiver:
    """A local HTTP receiver that answers 500 to its first ``fail`` POSTs."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls: list[tuple[int, dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = 500 if receiver.fail > 0 else 204
                receiver.fail -= 1
                receiver.calls.append((code, dict(self.headers), body))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def delivered(self) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for code, h, b in self.calls if code == 204]

    def close(self) -> None:
        """Stop serving and close the socket (a later POST is refused at once,
        not left hanging in the listen backlog until the sender's timeout)."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.close()


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[InProcess]:
    settings = fast_settings(
        tmp_path,
        webhook_backoff_s=0.05,
        webhook_poll_s=0.05,
        webhook_max_attempts=3,
        webhook_disable_after=2,
        webhook_secret="job-secret",
    )
    async for state in running(settings):
        yield state


async def _until(check: Any, timeout: float = 20) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_hung_receiver_delays_no_other_delivery(
    app: InProcess, receiver: Receiver
) -> None:
    """One endpoint accepts connections and never answers (each send waits for
    the sender's 10 s timeout); another fails twice, then takes the event. Its
    retries go out on their backoff (0.05 s), not after the hung send: each
    send is its own task."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # never accepted: connections sit in the backlog
        port = hung.getsockname()[1]
        for url in (f"http://127.0.0.1:{port}/hook", receiver.url):
            created = await app.client.post(
                "/v1/webhooks", json={"url": url, "events": ["*"]}
            )
            assert created.status_code == 201, created.text
        await app.wait(await app.submit(AUDIO))
        started = asyncio.get_running_loop().time()
        await _until(receiver.delivered, timeout=30)
        took = asyncio.get_running_loop().time() - started
    assert len(receiver.calls) == 3
    assert took < app.runtime.webhook_delivery.timeout_s / 2, took


async def test_crud_signed_delivery_after_failures(
    app: InProcess, receiver: Receiver
) -> None:
    created = await app.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["*"], "description": "mine"},
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["signing_secret"].startswith("whsec_")
    assert hook["enabled"] is True
    got = (await app.client.get(f"/v1/webhooks/{hook['id']}")).json()
    assert "signing_secret" not in got and got["description"] == "mine"
    listed = (await app.client.get("/v1/webhooks")).json()
    assert [w["id"] for w in listed["webhooks"]] == [hook["id"]]

    job_id = await app.submit(AUDIO)
    await app.wait(job_id)
    await _until(receiver.delivered)
    headers, body = receiver.delivered()[0]
    payload = Webhook(hook["signing_secret"]).verify(body, headers)
    assert payload["type"] == "transcription.completed"
    assert payload["object"] == "event" and payload["id"].startswith("evt_")
    assert payload["data"]["transcription_id"] == job_id
    assert payload["data"]["status"] == "completed"
    assert headers["webhook-id"] == payload["id"]

    deliveries = (await app.client.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()
    [row] = deliveries["deliveries"]
    assert row["status"] == "succeeded" and row["attempts"] == 3
    assert row["event_type"] == "transcription.completed"
    assert deliveries["has_more"] is False

    # Manual retry sends it again.
    retried = await app.client.post(
        f"/v1/webhooks/{hook['id']}/deliveries/{row['id']}/retry"
    )
    assert retried.status_code == 202, retried.text
    await _until(lambda: len(receiver.delivered()) == 2)

    rotated = (await app.client.post(f"/v1/webhooks/{hook['id']}/rotate-secret")).json()
    assert rotated["signing_secret"] != hook["signing_secret"]
    patched = await app.client.patch(
        f"/v1/webhooks/{hook['id']}", json={"events": ["transcription.failed"]}
    )
    assert patched.json()["events"] == ["transcription.failed"]
    assert (await app.client.delete(f"/v1/webhooks/{hook['id']}")).status_code == 204
    assert (await app.client.get(f"/v1/webhooks/{hook['id']}")).status_code == 404
    # Every change to the endpoint is in the audit log.
    audit = await app.client.get(
        "/v1/audit", params={"resource_type": "webhook", "resource_id": hook["id"]}
    )
    actions = {e["action"] for e in audit.json()["events"]}
    assert actions == {
        "webhook.created",
        "webhook.secret_rotated",
        "webhook.updated",
        "webhook.deleted",
    }, actions


async def test_job_webhook_url_and_metadata(app: InProcess) -> None:
    receiver = Receiver()
    try:
        job_id = await app.submit(
            AUDIO,
            webhook_url=receiver.url,
            webhook_metadata=json.dumps({"order": 7}),
        )
        await _until(receiver.delivered)
        headers, body = receiver.delivered()[0]
        secret = "whsec_" + __import__("base64").b64encode(b"job-secret").decode()
        payload = Webhook(secret).verify(body, headers)
        assert payload["data"]["transcription_id"] == job_id
        assert payload["data"]["metadata"] == {"order": 7}
    finally:
        receiver.close()


async def test_failing_endpoint_is_disabled(app: InProcess) -> None:
    receiver = Receiver(fail=1000)
    try:
        hook = (
            await app.client.post(
                "/v1/webhooks",
                json={"url": receiver.url, "events": ["transcription.completed"]},
            )
        ).json()
        for _ in range(2):
            await app.wait(await app.submit(AUDIO))

        async def disabled() -> dict[str, Any]:
            return (await app.client.get(f"/v1/webhooks/{hook['id']}")).json()

        deadline = asyncio.get_running_loop().time() + 20
        while (state := await disabled())["enabled"]:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        assert "2 consecutive failed deliveries" in state["disabled_reason"]
        again = await app.client.patch(
            f"/v1/webhooks/{hook['id']}", json={"enabled": True}
        )
        assert again.json()["enabled"] is True
        assert again.json()["disabled_reason"] is None
    finally:
        receiver.close()


async def test_private_urls_refused(tmp_path: Path) -> None:
    async for state in running(fast_settings(tmp_path, allow_private_urls=False)):
        refused = await state.client.post(
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "events": ["*"]},
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] == "url"
        bad = await state.client.post(
            "/v1/webhooks", json={"url": "https://example.com", "events": ["nope"]}
        )
        assert bad.status_code in (400, 422)


async def test_retention_removes_ended_rows_and_keeps_pending_ones(
    app: InProcess,
) -> None:
    slow = Receiver(fail=10**6)  # fails every attempt
    try:
        hook = (
            await app.client.post(
                "/v1/webhooks", json={"url": slow.url, "events": ["*"]}
            )
        ).json()
        job_id = await app.submit(AUDIO)
        await app.wait(job_id)
        await _until(lambda: slow.calls)  # attempted, and still pending
        loop = app.runtime.webhook_delivery
        future = utcnow() + timedelta(days=1)
        listed = f"/v1/webhooks/{hook['id']}/deliveries"
        [row] = (await app.client.get(listed)).json()["deliveries"]
        if row["status"] == "pending":
            assert await loop.cleanup(future) == 0  # nothing ended yet
        ended = await _until_async(  # after its last attempt
            lambda: _status(app, listed), lambda s: s == "failed"
        )
        assert ended == "failed"
        assert await loop.cleanup(utcnow() - timedelta(days=1)) == 0  # too recent
        assert await loop.cleanup(future) == 2  # the delivery and its event
        assert (await app.client.get(listed)).json()["deliveries"] == []
    finally:
        slow.close()


async def _status(app: InProcess, listed: str) -> str:
    [row] = (await app.client.get(listed)).json()["deliveries"]
    return str(row["status"])


async def _until_async(
    get: Callable[[], Awaitable[str]], ok: Callable[[str], bool], timeout: float = 20
) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await get()
        if ok(value):
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_restarted_embedded_server_frees_its_predecessors_leases(
    tmp_path: Path,
) -> None:
    """A delivery claimed by a server that then died stays leased (60 s by
    default) so that no other live sender repeats it. An embedded server holds
    its data directory alone (``db.instance``): at start it frees the leases
    and sends at once."""
    import uuid

    from dalston.db.migrate import upgrade_to_head
    from dalston.db.models import WebhookEndpoint, WebhookEvent
    from dalston.db.session import create_engine, create_session_factory
    from dalston.services.webhook_endpoints import DeliveryLoop, new_secret

    settings = fast_settings(tmp_path, webhook_poll_s=0.05)
    assert settings.webhook_lease_s >= 30
    receiver = Receiver()
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade_to_head(engine)
        sessions = create_session_factory(engine)
        async with sessions() as db, db.begin():
            db.add(
                WebhookEndpoint(
                    id=str(uuid.uuid4()),
                    tenant_id="default",
                    url=receiver.url,
                    events=["*"],
                    secret=new_secret(),
                )
            )
            db.add(
                WebhookEvent(
                    id=f"evt_{uuid.uuid4().hex}",
                    tenant_id="default",
                    type="transcription.completed",
                    data={"transcription_id": "x", "status": "completed"},
                )
            )
        dead = DeliveryLoop(settings=settings, sessions=sessions)
        await dead._dispatch()
        assert len(await dead._claim()) == 1  # ... and that server dies here
        await engine.dispose()

        async for _ in running(settings):
            await _until(receiver.delivered, timeout=10)  # not after the lease
        assert len(receiver.delivered()) == 1
    finally:
        await engine.dispose()
        receiver.close()
