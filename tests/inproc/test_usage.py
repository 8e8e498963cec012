"""What the console's dashboard reads, in process: ``/v1/jobs/stats``'s per-day
series (jobs, audio seconds, RTFx, failures per UTC day) and ``/v1/queue``, the
board of tasks running, queued and waiting (admin only, tenant-scoped)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from dalston.db.models import Job
from tests.conftest import fresh_database
from tests.inproc.conftest import DATA, InProcess, fast_settings, running

pytestmark = pytest.mark.asyncio
CLIP = DATA / "deepspeech_ldc93s1_8k.wav"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    with fresh_database() as url:
        yield {"database_url": url}


async def _key(app: InProcess, **body: Any) -> str:
    body.setdefault("name", "k")
    created = await app.client.post("/auth/keys", json=body)
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def _seconds(body: dict[str, Any]) -> float:
    started = datetime.fromisoformat(body["started_at"])
    completed = datetime.fromisoformat(body["completed_at"])
    return (completed - started).total_seconds()


async def test_stats_has_one_entry_per_day_with_rtfx_and_failures(
    tmp_path: Path, database: dict[str, str]
) -> None:
    async for app in running(fast_settings(tmp_path, **database)):
        empty = (await app.client.get("/v1/jobs/stats", params={"days": 3})).json()
        today = datetime.now(UTC).date()
        assert [d["date"] for d in empty["daily"]] == [
            (today - timedelta(days=n)).isoformat() for n in (2, 1, 0)
        ]
        assert all(
            d["completed"] == d["failed"] == 0 and d["rtfx"] is None
            for d in empty["daily"]
        )
        bodies = [await app.wait(await app.submit(CLIP)) for _ in range(3)]
        app.fake.error = "broken"
        failed = await app.submit(CLIP)
        assert (await app.wait(failed))["status"] == "failed"
        app.fake.error = None
        # One completed job finished yesterday (as far as the database knows).
        moved = bodies.pop()
        yesterday = datetime.now(UTC) - timedelta(days=1)
        async with app.runtime.sessions() as session, session.begin():
            await session.execute(
                update(Job)
                .where(Job.id == moved["id"])
                .values(
                    started_at=yesterday - timedelta(seconds=_seconds(moved)),
                    completed_at=yesterday,
                )
            )
        stats = (await app.client.get("/v1/jobs/stats", params={"days": 7})).json()
        daily = stats["daily"]
        assert len(daily) == 7 and daily[-1]["date"] == today.isoformat()
        now = daily[-1]
        assert now["completed"] == 2 and now["failed"] == 1
        audio = sum(b["audio_duration_seconds"] for b in bodies)
        assert now["audio_seconds"] == pytest.approx(audio, abs=1e-3)
        ran = sum(_seconds(b) for b in bodies)
        assert now["processing_seconds"] == pytest.approx(ran, abs=1e-2)
        assert now["rtfx"] == pytest.approx(audio / ran, rel=0.05)
        before = daily[-2]
        assert before["date"] == yesterday.date().isoformat()
        assert before["completed"] == 1 and before["failed"] == 0
        assert before["audio_seconds"] == pytest.approx(
            moved["audio_duration_seconds"], abs=1e-3
        )
        assert all(d["completed"] == 0 for d in daily[:-2])
        # The day totals agree with the "today" counters.
        assert stats["completed_today"] == 2 and stats["failed_today"] == 1
        # Another tenant's series is empty.
        other = await _key(app, scopes=["jobs:read"], tenant_id="t2")
        async with app.http(other) as client:
            theirs = (await client.get("/v1/jobs/stats")).json()["daily"]
        assert len(theirs) == 14 and not any(d["completed"] for d in theirs)


@pytest.mark.parametrize("days", ["0", "91", "week"])
async def test_stats_days_out_of_range_is_a_clear_422(
    inproc: InProcess, days: str
) -> None:
    response = await inproc.client.get("/v1/jobs/stats", params={"days": days})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["param"] == "days"


async def _board(client: Any) -> dict[str, Any]:
    response = await client.get("/v1/queue")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_queue_board_lists_running_and_waiting_tasks(inproc: InProcess) -> None:
    inproc.fake.gate = threading.Event()
    jobs = [await inproc.submit(CLIP, name=f"held-{n}") for n in range(2)]
    board: dict[str, Any] = {}
    running: list[dict[str, Any]] = []
    # Until both held jobs' transcribe tasks are past waiting (the second job's
    # prepare may still run when the first transcription starts) and one runs.
    for _ in range(500):
        board = await _board(inproc.client)
        running = [
            t
            for t in board["tasks"]
            if t["job_id"] in jobs and t["stage"] == "transcribe"
        ]
        states = {t["status"] for t in running}
        if len(running) == 2 and "running" in states and "waiting" not in states:
            break
        await asyncio.sleep(0.02)
    running.sort(key=lambda t: t["status"] != "running")
    assert running and running[0]["status"] == "running", running
    first = running[0]
    assert first["job_name"] in ("held-0", "held-1")
    assert first["running_s"] is not None and first["running_s"] >= 0
    assert first["waited_s"] is not None and first["waited_s"] >= 0
    # Running first, then queued, then waiting.
    order = {"running": 0, "queued": 1, "waiting": 2}
    ranks = [order[t["status"]] for t in board["tasks"]]
    assert ranks == sorted(ranks)
    # Both held jobs' transcribe tasks are on the board (running or queued).
    assert {t["job_id"] for t in running} == set(jobs)
    assert all(t["status"] in ("running", "queued") for t in running)
    counts = board["by_engine"][first["engine_id"]]
    assert counts["running"] + counts["queued"] == len(running)
    assert sum(sum(c.values()) for c in board["by_engine"].values()) == len(
        board["tasks"]
    )
    # Not for a key without admin, nor for another tenant's admin.
    reader = await _key(inproc, scopes=["jobs:read"])
    async with inproc.http(reader) as client:
        refused = await client.get("/v1/queue")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    theirs = await _key(inproc, scopes=["admin"], tenant_id="t-board")
    async with inproc.http(theirs) as client:
        assert (await _board(client))["tasks"] == []
    inproc.fake.gate.set()
    for job_id in jobs:
        assert (await inproc.wait(job_id))["status"] == "completed"
    after = await _board(inproc.client)
    assert not [t for t in after["tasks"] if t["job_id"] in jobs]


async def test_day_usage_rtfx_needs_timed_jobs() -> None:
    from dalston.services.usage import DayUsage

    day = DayUsage(date(2026, 1, 1), completed=1, audio_seconds=30.0)
    assert day.rtfx is None
    day.timed_audio_seconds, day.processing_seconds = 30.0, 3.0
    assert day.as_dict()["rtfx"] == 10.0
