"""Realtime session quotas (close 4429 in each dialect), expired keys on
WebSockets, and the counters shared through Redis by two app instances (two
gateways over one PostgreSQL database and one Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dalston.auth import ALL_SCOPES, Principal, Scope
from dalston.auth.tokens import issue_token
from dalston.errors import RateLimited
from dalston.gateway.app import create_app
from dalston.runtime import Runtime
from dalston.services.limits import Limits
from tests.conftest import fresh_database, require_service
from tests.inproc.conftest import (
    admin_key,
    fast_settings,
    inside_one_rate_window,
    running,
    talk,
)
from tests.inproc.fake_engine import FakeTranscriber

NATIVE = "/v1/audio/transcriptions/stream"
OPENAI = "/v1/realtime?intent=transcription"
ELEVENLABS = "/v1/speech-to-text/realtime"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _opens(client: TestClient, path: str, headers: dict[str, str]) -> None:
    """A session begins; then the client ends it and waits for the close (a
    client that just leaves races the server's shutdown of the session)."""
    with client.websocket_connect(path, headers=headers) as ws:
        assert ws.receive_json()["type"] == "session.begin"
        _end(ws)


def _end(ws: Any) -> None:
    ws.send_json({"type": "end"})
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            ws.receive_json()


# --- realtime: the (N+1)th session closes 4429 -----------------------------------
@pytest.fixture(scope="module")
def one_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = fast_settings(
        tmp_path_factory.mktemp("quota-rt"),
        realtime_capacity=2,
        rate_limit_concurrent_sessions=1,
    )
    app = create_app(settings, engine_classes=[FakeTranscriber])
    with TestClient(app) as client:
        yield client


def test_second_session_of_a_tenant_closes_4429(one_session: TestClient) -> None:
    auth = {"Authorization": f"Bearer {admin_key(one_session)}"}
    with one_session.websocket_connect(NATIVE, headers=auth) as first:
        assert first.receive_json()["type"] == "session.begin"
        msgs, code = talk(one_session, NATIVE, auth)
        assert code == 4429
        assert msgs[0]["type"] == "error" and msgs[0]["code"] == "too_many_sessions"
        assert not msgs[0]["recoverable"]
        msgs, code = talk(one_session, OPENAI, auth)
        assert code == 4429
        assert msgs[0]["type"] == "error"
        assert msgs[0]["error"]["type"] == "rate_limit_error"
        assert msgs[0]["error"]["code"] == "session_limit_exceeded"
        msgs, code = talk(
            one_session,
            f"{ELEVENLABS}?model_id=scribe_v2_realtime&audio_format=pcm_16000",
            auth,
        )
        assert code == 4429
        assert msgs[0]["message_type"] == "rate_limited"
        # Another tenant has its own quota.
        other = one_session.post(
            "/auth/keys",
            json={"name": "o", "scopes": ["realtime"], "tenant_id": "rt-other"},
            headers=auth,
        ).json()["key"]
        _opens(one_session, NATIVE, {"Authorization": f"Bearer {other}"})
        _end(first)
    # The first session ended: its slot is free again.
    _opens(one_session, NATIVE, auth)


def test_a_session_relayed_to_a_worker_takes_no_second_slot(
    one_session: TestClient,
) -> None:
    """A gateway relays a session to a realtime worker with a token of purpose
    ``realtime_worker``: the worker neither counts it again nor rate-limits it."""
    runtime: Runtime = one_session.app.state.runtime  # type: ignore[attr-defined]
    auth = {"Authorization": f"Bearer {admin_key(one_session)}"}

    async def relay_token() -> str:
        async with runtime.sessions() as db, db.begin():
            me = Principal(key_id=None, tenant_id="default", scopes=ALL_SCOPES)
            token, _ = await issue_token(
                db,
                principal=me,
                purpose="realtime_worker",
                scopes=frozenset({Scope.REALTIME}),
            )
        return token

    with one_session.websocket_connect(NATIVE, headers=auth) as first:
        assert first.receive_json()["type"] == "session.begin"
        token = one_session.portal.call(relay_token)  # type: ignore[union-attr]
        _opens(one_session, f"{NATIVE}?token={token}", {})
        _end(first)


def test_expired_key_is_refused_on_websockets(one_session: TestClient) -> None:
    auth = {"Authorization": f"Bearer {admin_key(one_session)}"}
    # A key cannot be minted already expired: one that expires in a second.
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    expired = one_session.post(
        "/auth/keys",
        json={"name": "old", "scopes": ["realtime"], "expires_at": soon},
        headers=auth,
    ).json()["key"]
    time.sleep(1.2)
    old = {"Authorization": f"Bearer {expired}"}
    assert talk(one_session, NATIVE, old)[1] == 4001
    got, code = talk(one_session, OPENAI, old)
    assert code == 1008 and got[0]["error"]["code"] == "invalid_api_key"
    got, code = talk(
        one_session,
        f"{ELEVENLABS}?model_id=scribe_v2_realtime&audio_format=pcm_16000",
        old,
    )
    assert code == 1008 and got[0]["message_type"] == "auth_error"
    # A single-use token minted before its key expired dies with the key.
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    brief = one_session.post(
        "/auth/keys",
        json={"name": "brief", "scopes": ["realtime"], "expires_at": soon},
        headers=auth,
    ).json()["key"]
    token = one_session.post(
        "/auth/tokens",
        json={"scopes": ["realtime"]},
        headers={"Authorization": f"Bearer {brief}"},
    ).json()["token"]
    time.sleep(1.2)
    assert talk(one_session, f"{NATIVE}?token={token}", {})[1] == 4001


# --- Redis: counters shared by every gateway ---------------------------------------
@pytest.fixture
def shared_database() -> Iterator[str]:
    require_service("Redis", "127.0.0.1", 6379)
    with fresh_database() as url:
        yield url


async def test_two_apps_share_counters_through_redis(
    tmp_path: Path, shared_database: str
) -> None:
    prefix = f"dalston-test-{uuid.uuid4().hex[:8]}"
    common = {
        "database_url": shared_database,
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "rate_limit_concurrent_sessions": 1,
    }
    async for one in running(fast_settings(tmp_path / "a", **common)):
        async for two in running(fast_settings(tmp_path / "b", **common)):
            created = await one.client.post(
                "/auth/keys", json={"name": "shared", "rate_limit": 4}
            )
            secret = created.json()["key"]
            await inside_one_rate_window()
            async with one.http(secret) as a, two.http(secret) as b:
                codes = [
                    (await client.get("/auth/me")).status_code
                    for client in (a, b, a, b)
                ]
                assert codes == [200] * 4
                over = await b.get("/auth/me")
                assert over.status_code == 429 and "Retry-After" in over.headers
                assert (await a.get("/auth/me")).status_code == 429
            # One live session of the tenant on the first gateway fills its quota
            # on the second.
            async with one.runtime.limits.session_slot("default"):
                with pytest.raises(RateLimited):
                    async with two.runtime.limits.session_slot("default"):
                        pass
            async with two.runtime.limits.session_slot("default"):
                pass


async def test_a_crashed_gateways_session_leases_expire(tmp_path: Path) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    settings = fast_settings(
        tmp_path,
        redis_url=REDIS_URL,
        redis_prefix=f"dalston-test-{uuid.uuid4().hex[:8]}",
        rate_limit_concurrent_sessions=2,
    )
    crashed = Limits(settings=settings, sessions=None, lease_ttl_s=0.6)  # type: ignore[arg-type]
    alive = Limits(settings=settings, sessions=None, lease_ttl_s=0.6)  # type: ignore[arg-type]
    try:
        # The crashed gateway took two slots and never gave them back.
        assert await crashed._acquire("t", "lost-1", 2)
        assert await crashed._acquire("t", "lost-2", 2)
        with pytest.raises(RateLimited):
            async with alive.session_slot("t"):
                pass
        await asyncio.sleep(0.8)
        # A live session's lease is renewed while it runs: it outlasts the TTL.
        async with alive.session_slot("t"):
            await asyncio.sleep(1.0)
            async with alive.session_slot("t"):
                pass
            assert not await crashed._acquire("t", "late", 1)
    finally:
        await crashed.aclose()
        await alive.aclose()
