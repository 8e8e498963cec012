"""A live session's record does not outlive the process holding its stream.

A record is "active" while its stream runs. When the process holding it died
(kill -9, a lost host) or could not store the session's end (a full disk), the
record stayed "active" for good: listed as streaming, and refused deletion
(409 "still streaming"). Now the holder stamps its records every
``heartbeat_s``; one left unstamped is ended as ``failed`` with its own retention
(``SessionRecords.end_abandoned``), and an embedded server, alone on its
database, ends them all at start.
"""

from __future__ import annotations

import asyncio
import errno
import json
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from dalston.db.migrate import upgrade_to_head
from dalston.db.models import RealtimeSession
from dalston.db.session import create_engine, create_session_factory
from dalston.realtime_sdk.events import Final
from dalston.services.realtime_sessions import ABANDONED, SessionRecords
from dalston.storage.local import LocalArtifactStore
from tests.audio_fixtures import JFK
from tests.conftest import fresh_database
from tests.realtime_client import pcm16
from tests.server import ServerProcess

# --- a killed server ---------------------------------------------------------------


async def _open_stream(server: ServerProcess, query: str) -> tuple[Any, str]:
    """A native stream with a second of audio sent: the socket and its session."""
    url = f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream?{query}"
    ws = await websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {server.admin_key}"}
    )
    begin = json.loads(await ws.recv())
    assert begin["type"] == "session.begin", begin
    await ws.send(pcm16(JFK)[: 32000 * 2])
    return ws, str(begin["session_id"])


def test_sessions_of_a_killed_server_are_ended_at_restart(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env={"DALSTON_REALTIME_CAPACITY": "2"})
    server.start()

    async def two_streams() -> tuple[str, str]:
        kept, kept_id = await _open_stream(server, "")
        unkept, unkept_id = await _open_stream(server, "retention=0")
        await asyncio.sleep(0.5)
        server.stop(signal.SIGKILL)  # no close, no record stored
        for ws in (kept, unkept):
            ws.transport.abort()
        return kept_id, unkept_id

    try:
        with server.client() as client:
            assert client.get("/v1/realtime/sessions").json()["sessions"] == []
        kept_id, unkept_id = asyncio.run(two_streams())
        server.start()
        with server.client() as client:
            kept = client.get(f"/v1/realtime/sessions/{kept_id}")
            assert kept.status_code == 200, kept.text
            record = kept.json()
            assert record["status"] == "failed", record
            assert record["error"] == ABANDONED
            assert record["ended_at"] is not None
            assert record["ended_at"] >= record["started_at"]
            # Asked for no record: none is left.
            gone = client.get(f"/v1/realtime/sessions/{unkept_id}")
            assert gone.status_code == 404, gone.text
            # Deletable now (it was 409 "still streaming" for good).
            deleted = client.delete(f"/v1/realtime/sessions/{kept_id}")
            assert deleted.status_code == 204, deleted.text
        assert "ended 2 live session(s) of the last run" in server.log()
    finally:
        server.stop()


# --- processes sharing a database ----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'dalston.db'}"
        return
    with fresh_database() as url:
        yield url


def _records(engine: AsyncEngine, root: Path, **timing: float) -> SessionRecords:
    return SessionRecords(
        sessions=create_session_factory(engine),
        storage=LocalArtifactStore(root),
        **timing,
    )


async def _open(records: SessionRecords, session_id: str, **kw: Any) -> None:
    await records.open(
        session_id=session_id,
        tenant_id="default",
        protocol="native",
        model="whisper-tiny.en",
        language=None,
        worker_id="w",
        params={},
        **kw,
    )


async def _row(engine: AsyncEngine, session_id: str) -> RealtimeSession | None:
    async with create_session_factory(engine)() as db:
        return await db.get(RealtimeSession, session_id)


def test_a_record_nobody_stamps_is_ended_by_another_process(
    database: str, tmp_path: Path
) -> None:
    """Gateway A holds one stream and stamps it; gateway B held three and died;
    a sweep (any orchestrator) ends B's and leaves A's."""

    async def scenario() -> None:
        engine = create_engine(database)
        try:
            await upgrade_to_head(engine)
            alive = _records(engine, tmp_path / "a", abandoned_after_s=0.6)
            dead = _records(engine, tmp_path / "b")
            sweeper = _records(engine, tmp_path / "c", abandoned_after_s=0.6)
            await _open(alive, "live")
            await _open(dead, "kept")
            await _open(dead, "unkept", retention_days=0)
            await _open(dead, "week", retention_days=7)
            assert await sweeper.end_abandoned() == 0  # all freshly stamped
            opened = time.time()
            await asyncio.sleep(0.4)
            await alive.heartbeat()  # A lives on; B says nothing more
            await asyncio.sleep(0.4)
            assert await sweeper.end_abandoned() == 3
            assert await sweeper.end_abandoned() == 0

            live = await _row(engine, "live")
            assert live is not None and live.status == "active"
            assert await _row(engine, "unkept") is None
            for session_id in ("kept", "week"):
                row = await _row(engine, session_id)
                assert row is not None and row.status == "failed"
                assert row.error == ABANDONED
                assert row.ended_at is not None
                # Ended when last heard of, not when swept.
                assert abs(row.ended_at.timestamp() - opened) < 0.3
            kept, week = await _row(engine, "kept"), await _row(engine, "week")
            assert kept is not None and kept.purge_after is None
            assert week is not None and week.ended_at is not None
            assert week.purge_after == week.ended_at + timedelta(days=7)

            # A process's own record is never its sweep's, even with its beat late.
            await asyncio.sleep(0.8)
            assert await alive.end_abandoned() == 0
            # The stream ends normally: its own status stands.
            final = Final(
                text="hello",
                start=0.0,
                end=1.0,
                language="en",
                language_probability=None,
                confidence=None,
            )
            await alive.close(
                "live",
                status="completed",
                audio_seconds=1.0,
                finals=[final],
                model="whisper-tiny.en",
            )
            live = await _row(engine, "live")
            assert live is not None and live.status == "completed"
            assert live.transcript == "hello"
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_a_session_whose_end_could_not_be_stored_is_ended_later(
    tmp_path: Path,
) -> None:
    """A full disk at the session's end: the record stays "active" only until
    the sweep, no longer for good."""

    async def scenario() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dalston.db'}")
        try:
            await upgrade_to_head(engine)
            records = _records(engine, tmp_path / "a", abandoned_after_s=0.3)

            async def full(key: str, data: bytes) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")

            records.storage.put_bytes = full  # type: ignore[method-assign]
            await _open(records, "s")
            with pytest.raises(OSError):
                await records.close(
                    "s",
                    status="completed",
                    audio_seconds=1.0,
                    finals=[],
                    model="whisper-tiny.en",
                )
            await records.heartbeat()  # no longer this process's to stamp
            row = await _row(engine, "s")
            assert row is not None and row.status == "active"
            await asyncio.sleep(0.4)
            assert await records.end_abandoned() == 1
            row = await _row(engine, "s")
            assert row is not None and row.status == "failed"
        finally:
            await engine.dispose()

    asyncio.run(scenario())
