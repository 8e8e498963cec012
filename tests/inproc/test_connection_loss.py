"""Lost and hung connections: the loops of a process survive them, and ``/ready``
says what really works, within its timeout.

The app is the in-process one (fake transcriber), on SQLite and a local folder; the
Redis tests put its queue and worker registry on a real Redis (a key prefix of
their own) and ``CLIENT KILL`` this process's connections mid-run.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from dalston.orchestrator.orchestrator import transcript_key
from tests.conftest import require_service
from tests.faults import closed_port, kill_own_redis_connections, silent_server
from tests.inproc.conftest import DATA, InProcess, fast_settings, running

REDIS_URL = "redis://127.0.0.1:6379/0"
CLIP = DATA / "deepspeech_ldc93s1_8k.wav"


@pytest.fixture
async def on_redis(tmp_path: Path) -> AsyncIterator[InProcess]:
    """The app with its queue and registry on Redis."""
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"dalston-test-{uuid.uuid4().hex[:8]}"
    settings = fast_settings(tmp_path, redis_url=REDIS_URL, redis_prefix=prefix)
    async for app in running(settings):
        yield app
    client = aioredis.Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _ready(app: InProcess) -> tuple[int, dict[str, bool], float]:
    started = time.monotonic()
    async with asyncio.timeout(10):
        response = await app.client.get("/ready")
    checks: dict[str, bool] = response.json()["checks"]
    return response.status_code, checks, time.monotonic() - started


async def test_loops_keep_going_when_redis_drops_their_connections(
    on_redis: InProcess,
) -> None:
    first = await on_redis.wait(await on_redis.submit(CLIP))
    assert first["status"] == "completed"
    assert kill_own_redis_connections(REDIS_URL) > 0
    job_ids = []
    for _ in range(3):
        job_ids.append(await on_redis.submit(CLIP))
        await asyncio.sleep(0.3)  # the loops are blocked in reads again: kill them
        await asyncio.to_thread(kill_own_redis_connections, REDIS_URL)
    for job_id in job_ids:
        job = await on_redis.wait(job_id, timeout=30)
        assert job["status"] == "completed", job
    # Every loop is back (those that met the last kill after a backoff).
    deadline = time.monotonic() + 5
    while (await _ready(on_redis))[0] != 200:
        assert time.monotonic() < deadline, (await _ready(on_redis))[1]
        await asyncio.sleep(0.1)
    runtime = on_redis.runtime
    assert runtime.orchestrator.health.ok
    assert all(runner.health.ok for runner in runtime.runners)


async def test_ready_is_503_once_a_loop_has_stopped(inproc_own: InProcess) -> None:
    status, checks, _ = await _ready(inproc_own)
    assert status == 200 and checks["orchestrator"], checks
    (loop,) = [t for t in asyncio.all_tasks() if t.get_name() == "orchestrator"]
    loop.cancel()  # the loop ends while the process stays up
    await asyncio.gather(loop, return_exceptions=True)
    status, checks, _ = await _ready(inproc_own)
    assert status == 503 and checks["orchestrator"] is False, checks
    assert checks["database"] and checks["storage"] and checks["queue"]


@pytest.fixture
async def inproc_own(tmp_path: Path) -> AsyncIterator[InProcess]:
    async for app in running(fast_settings(tmp_path)):
        yield app


async def test_ready_is_503_within_its_timeout_when_redis_hangs(
    tmp_path: Path,
) -> None:
    with silent_server() as port:
        url = f"redis://127.0.0.1:{port}/0"
        async for app in running(fast_settings(tmp_path, redis_url=url)):
            status, checks, took = await _ready(app)
            assert status == 503 and checks["queue"] is False, checks
            assert checks["database"] and checks["storage"]
            assert took < 4, took


async def test_ready_is_503_when_redis_is_unreachable(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    async for app in running(fast_settings(tmp_path, redis_url=url)):
        status, checks, took = await _ready(app)
        assert status == 503 and checks["queue"] is False, checks
        assert took < 4, took
        # The loops keep trying, and say so.
        await asyncio.sleep(0.5)
        status, checks, _ = await _ready(app)
        assert checks["orchestrator"] is False and checks["engines"] is False


async def test_ready_is_503_within_its_timeout_when_s3_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with silent_server() as port:
        endpoint = f"http://127.0.0.1:{port}"
        async for app in running(fast_settings(tmp_path, s3_endpoint_url=endpoint)):
            status, checks, took = await _ready(app)
            assert status == 503 and checks["storage"] is False, checks
            assert checks["database"] and checks["queue"]
            assert took < 4, took


async def test_a_completed_job_whose_transcript_is_gone_is_a_clear_404(
    inproc_own: InProcess,
) -> None:
    job = await inproc_own.wait(await inproc_own.submit(CLIP))
    assert job["status"] == "completed"
    stored = inproc_own.runtime.settings.artifacts_dir / transcript_key(job["id"])
    os.remove(stored)
    for path in ("", "/export/srt"):
        response = await inproc_own.client.get(
            f"/v1/audio/transcriptions/{job['id']}{path}"
        )
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["code"] == "transcript_missing"
        assert "no longer stored" in error["message"]


async def test_a_stopped_engine_loop_is_not_ready_in_its_heartbeat(
    inproc_own: InProcess,
) -> None:
    (loop,) = [t for t in asyncio.all_tasks() if t.get_name() == "engine audio-prepare"]
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    deadline = time.monotonic() + 8  # the next heartbeat (every 5 s) says so
    while True:
        engines = (await inproc_own.client.get("/v1/engines")).json()["engines"]
        status = {e["engine_id"]: e["status"] for e in engines}
        if status.get("audio-prepare") == "stopped":
            break
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)
    assert status["faster-whisper"] == "ready"
    code, checks, _ = await _ready(inproc_own)
    assert code == 503 and checks["engines"] is False, checks
