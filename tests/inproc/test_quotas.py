"""Rate limits, quotas, key expiry, the audit log and job stats, in process.

- a key over its requests per minute gets 429 + Retry-After on a native, an
  ElevenLabs (its SDK) and an OpenAI (its SDK) route, each in its error shape;
- an expired key gets 401;
- the (N+1)th concurrent job of a tenant is refused (429) and nothing of it is
  stored, while the first N complete;
- every audited action leaves an entry; ``/v1/audit`` is admin only;
- ``/v1/jobs/stats`` counts the tenant's jobs.

The realtime 4429 and the Redis-shared counters: ``test_quota_sessions.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openai
import pytest
from elevenlabs.core.api_error import ApiError

from tests.conftest import fresh_database
from tests.inproc.conftest import (
    DATA,
    InProcess,
    fast_settings,
    inside_one_rate_window,
    running,
)

pytestmark = pytest.mark.asyncio
JFK = DATA / "deepspeech_ldc93s1_8k.wav"


async def _key(inproc: InProcess, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "k")
    body.setdefault("scopes", ["jobs:read", "jobs:write", "realtime"])
    created = await inproc.client.post("/auth/keys", json=body)
    assert created.status_code == 201, created.text
    out: dict[str, Any] = created.json()
    return out


# --- requests per minute ----------------------------------------------------------
async def test_native_429_with_retry_after(inproc: InProcess) -> None:
    key = await _key(inproc, rate_limit=2)
    assert key["rate_limit"] == 2
    await inside_one_rate_window()
    async with inproc.http(key["key"]) as client:
        for _ in range(2):
            assert (await client.get("/auth/me")).status_code == 200
        over = await client.get("/v1/audio/transcriptions")
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 61
    error = over.json()["error"]
    assert error["code"] == "rate_limited" and error["type"] == "rate_limit_error"
    # Another key of the same tenant has its own budget.
    other = await _key(inproc, rate_limit=2)
    async with inproc.http(other["key"]) as client:
        assert (await client.get("/auth/me")).status_code == 200


async def test_openai_sdk_gets_rate_limit_error(inproc: InProcess) -> None:
    key = await _key(inproc, rate_limit=1)
    client = inproc.openai(key=key["key"])
    await inside_one_rate_window()
    first = await client.audio.transcriptions.create(
        model="whisper-1", file=JFK.open("rb")
    )
    assert first.text
    with pytest.raises(openai.RateLimitError) as info:
        await client.audio.transcriptions.create(model="whisper-1", file=JFK.open("rb"))
    assert info.value.status_code == 429
    assert int(info.value.response.headers["retry-after"]) >= 1
    assert info.value.type == "rate_limit_error"
    assert info.value.code == "rate_limited"


async def test_elevenlabs_sdk_gets_its_429(inproc: InProcess) -> None:
    key = await _key(inproc, rate_limit=1)
    client = inproc.elevenlabs(key=key["key"])
    await inside_one_rate_window()
    with pytest.raises(ApiError) as first:
        await client.speech_to_text.transcripts.get("no-such-transcript")
    assert first.value.status_code == 404
    with pytest.raises(ApiError) as over:  # the SDK would retry after Retry-After
        await client.speech_to_text.transcripts.get(
            "no-such-transcript", request_options={"max_retries": 0}
        )
    assert over.value.status_code == 429
    assert over.value.headers is not None
    assert int(over.value.headers["retry-after"]) >= 1
    assert over.value.body == {
        "detail": {
            "status": "too_many_concurrent_requests",
            "message": over.value.body["detail"]["message"],
        }
    }
    assert "requests per minute" in over.value.body["detail"]["message"]


async def test_rate_limit_bounds(inproc: InProcess) -> None:
    for bad in (0, 10001):
        response = await inproc.client.post(
            "/auth/keys", json={"name": "x", "rate_limit": bad}
        )
        assert response.status_code == 422, response.text


async def test_tenant_default_rate_limit(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, rate_limit_requests_per_minute=3)
    async for app in running(settings):
        key = await _key(app)
        await inside_one_rate_window()
        async with app.http(key["key"]) as client:
            codes = [(await client.get("/auth/me")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        # A key's own limit replaces the default.
        own = await _key(app, rate_limit=5)
        await inside_one_rate_window()
        async with app.http(own["key"]) as client:
            codes = [(await client.get("/auth/me")).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]


# --- expiry ------------------------------------------------------------------------
async def test_expired_key_is_401(inproc: InProcess) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    key = await _key(inproc, expires_at=soon.isoformat())
    async with inproc.http(key["key"]) as client:
        assert (await client.get("/auth/me")).status_code == 200
        await asyncio.sleep(1.2)
        gone = await client.get("/auth/me")
        assert (await client.get("/v1/audio/transcriptions")).status_code == 401
    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "unauthenticated"
    with pytest.raises(openai.AuthenticationError):
        await inproc.openai(key=key["key"]).audio.transcriptions.create(
            model="whisper-1", file=JFK.open("rb")
        )


async def test_a_key_cannot_be_minted_already_expired(inproc: InProcess) -> None:
    for past in ("2020-01-01T00:00:00Z", "2020-01-01", "1970-01-01T00:00:00+05:00"):
        response = await inproc.client.post(
            "/auth/keys", json={"name": "old", "expires_at": past}
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == "expires_at"


# --- concurrent jobs ---------------------------------------------------------------
@pytest.fixture
async def two_jobs(tmp_path: Path) -> AsyncIterator[InProcess]:
    async for app in running(fast_settings(tmp_path, rate_limit_concurrent_jobs=2)):
        yield app


async def test_the_third_concurrent_job_is_refused_and_nothing_lost(
    two_jobs: InProcess,
) -> None:
    app = two_jobs
    app.fake.gate = threading.Event()  # hold the first two
    first = await app.submit(JFK)
    second = await app.submit(JFK)
    refused = await app.client.post(
        "/v1/audio/transcriptions/jobs",
        files={"file": (JFK.name, JFK.read_bytes())},
        data={"language": "en"},
    )
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    # Nothing of the refused job: no row, no stored audio.
    listed = (await app.client.get("/v1/audio/transcriptions")).json()["jobs"]
    assert sorted(j["id"] for j in listed) == sorted([first, second])
    assert {k.split("/")[1] for k in app.stored_keys("jobs")} <= {first, second}
    # The OpenAI route is refused the same way, in its SDK's error.
    with pytest.raises(openai.RateLimitError):
        await app.openai().audio.transcriptions.create(
            model="whisper-1", file=JFK.open("rb")
        )
    app.fake.gate.set()
    assert (await app.wait(first))["status"] == "completed"
    assert (await app.wait(second))["status"] == "completed"
    # Finished jobs free the quota.
    third = await app.submit(JFK)
    assert (await app.wait(third))["status"] == "completed"


# --- audit -------------------------------------------------------------------------
async def _events(inproc: InProcess, **query: str) -> list[dict[str, Any]]:
    response = await inproc.client.get("/v1/audit", params=query)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def test_audit_records_each_action(inproc: InProcess) -> None:
    admin_id = (await inproc.client.get("/auth/me")).json()["key_id"]
    key = await _key(inproc, name="audited")
    assert (await inproc.client.delete(f"/auth/keys/{key['id']}")).status_code == 204
    job = await inproc.submit(JFK)
    await inproc.wait(job)
    base = f"/v1/audio/transcriptions/{job}"
    assert (await inproc.client.delete(f"{base}/audio")).status_code == 204
    assert (await inproc.client.delete(base)).status_code == 204
    inproc.fake.gate = threading.Event()
    held = await inproc.submit(JFK)
    assert (
        await inproc.client.post(f"/v1/audio/transcriptions/{held}/cancel")
    ).is_success
    inproc.fake.gate.set()
    records = inproc.runtime.realtime_records
    await records.open(
        session_id="sess-audit",
        tenant_id="default",
        protocol="native",
        model="m",
        language="en",
        worker_id="w",
        params={},
    )
    await records.close(
        "sess-audit", status="completed", audio_seconds=1.0, finals=[], model="m"
    )
    deleted = await inproc.client.delete("/v1/realtime/sessions/sess-audit")
    assert deleted.status_code == 204, deleted.text

    events = await _events(inproc, limit="200")
    seen = {(e["action"], e["resource_id"]) for e in events}
    assert {
        ("key.created", key["id"]),
        ("key.revoked", key["id"]),
        ("job.created", job),
        ("job.audio_deleted", job),
        ("job.deleted", job),
        ("job.created", held),
        ("job.cancelled", held),
        ("session.deleted", "sess-audit"),
    } <= seen
    created = next(e for e in events if e["action"] == "key.created")
    assert created["actor_type"] == "api_key" and created["actor_id"] == admin_id
    assert created["tenant_id"] == "default" and created["resource_type"] == "api_key"
    assert created["detail"]["name"] == "audited"
    assert created["ip_address"] and created["user_agent"]
    # Filters and the cursor.
    only = await _events(inproc, resource_type="job", resource_id=job)
    assert [e["action"] for e in only] == [
        "job.deleted",
        "job.audio_deleted",
        "job.created",
    ]
    assert await _events(inproc, action="job.cancelled", resource_id=held)
    assert await _events(inproc, actor_id="nobody") == []
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert await _events(inproc, since=future) == []
    assert len(await _events(inproc, until=future, limit="200")) == len(events)
    page = (await inproc.client.get("/v1/audit", params={"limit": 2})).json()
    assert len(page["events"]) == 2 and page["has_more"] and page["cursor"]
    nxt = await inproc.client.get(
        "/v1/audit", params={"limit": 2, "cursor": page["cursor"]}
    )
    assert nxt.json()["events"][0]["id"] not in {e["id"] for e in page["events"]}


async def test_webhook_changes_can_be_recorded(inproc: InProcess) -> None:
    from dalston.services.audit import Actor

    actor = Actor(tenant_id="default", key_id="k1", ip_address="10.0.0.1")
    await inproc.runtime.audit.record_webhook_change(
        actor, "created", "wh_1", {"url": "https://example.com/hook"}
    )
    events = await _events(inproc, resource_type="webhook", resource_id="wh_1")
    assert events[0]["action"] == "webhook.created"
    assert events[0]["actor_id"] == "k1"


async def test_audit_is_admin_only_and_tenant_scoped(inproc: InProcess) -> None:
    reader = await _key(inproc, scopes=["jobs:read"])
    async with inproc.http(reader["key"]) as client:
        refused = await client.get("/v1/audit")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    other_admin = await _key(inproc, scopes=["admin"], tenant_id="other-tenant")
    async with inproc.http(other_admin["key"]) as client:
        mine = await client.post("/auth/keys", json={"name": "theirs"})
        assert mine.status_code == 201
        events = (await client.get("/v1/audit")).json()["events"]
    assert events and all(e["tenant_id"] == "other-tenant" for e in events)
    ours = await _events(inproc, limit="200")
    assert all(e["tenant_id"] == "default" for e in ours)


# --- stats -------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Settings overrides: SQLite (the default), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    with fresh_database() as url:
        yield {"database_url": url}


async def test_job_stats(tmp_path: Path, database: dict[str, str]) -> None:
    async for app in running(fast_settings(tmp_path, **database)):
        empty = (await app.client.get("/v1/jobs/stats")).json()
        empty.pop("daily")  # the per-day series: test_usage.py
        assert empty == {
            "running": 0,
            "queued": 0,
            "completed_today": 0,
            "failed_today": 0,
            "audio_seconds_today": 0.0,
        }
        done = [await app.submit(JFK) for _ in range(2)]
        await app.client.post("/auth/keys", json={"name": "audited"})
        audited = (await app.client.get("/v1/audit")).json()["events"]
        assert [e["action"] for e in audited[:3]] == [
            "key.created",
            "job.created",
            "job.created",
        ]
        bodies = [await app.wait(j) for j in done]
        app.fake.error = "broken"
        failed = await app.submit(JFK)
        assert (await app.wait(failed))["status"] == "failed"
        app.fake.error = None
        app.fake.gate = threading.Event()
        held = await app.submit(JFK)
        for _ in range(200):
            stats = (await app.client.get("/v1/jobs/stats")).json()
            if stats["running"] == 1:
                break
            await asyncio.sleep(0.02)
        assert stats["running"] == 1 and stats["queued"] == 0
        assert stats["completed_today"] == 2 and stats["failed_today"] == 1
        seconds = sum(b["audio_duration_seconds"] for b in bodies)
        assert stats["audio_seconds_today"] == pytest.approx(seconds)
        # Another tenant sees none of it.
        other = await _key(app, scopes=["jobs:read"], tenant_id="t2")
        async with app.http(other["key"]) as client:
            theirs = (await client.get("/v1/jobs/stats")).json()
        assert theirs["completed_today"] == 0 and theirs["running"] == 0
        app.fake.gate.set()
        await app.wait(held)


async def test_a_keys_tokens_share_its_rate_limit(inproc: InProcess) -> None:
    key = await _key(inproc, rate_limit=2)
    async with inproc.http(key["key"]) as client:
        minted = await client.post("/auth/tokens", json={"scopes": ["jobs:read"]})
        assert minted.status_code == 201
        token = minted.json()["token"]
        assert (await client.get("/auth/me")).status_code == 200
    async with inproc.http(token) as with_token:
        assert (await with_token.get("/auth/me")).status_code == 429
