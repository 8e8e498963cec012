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
import contextlib
import errno
import io
import json
import signal
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from dalston.db.migrate import upgrade_to_head
from dalston.db.models import RealtimeSession
from dalston.db.session import create_engine, create_session_factory
from dalston.eval.scoring import wer
from dalston.realtime_sdk.events import Final
from dalston.services.realtime_sessions import ABANDONED, SessionRecords
from dalston.storage.local import LocalArtifactStore
from tests.audio_fixtures import JFK
from tests.conftest import fresh_database
from tests.realtime_client import pcm16
from tests.server import ServerProcess, wait_for_job

# --- a killed server ---------------------------------------------------------------


async def _open_stream(server: ServerProcess, query: str) -> tuple[Any, str]:
    """A native stream: the socket and its session id."""
    url = f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream?{query}"
    ws = await websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {server.admin_key}"}
    )
    begin = json.loads(await ws.recv())
    assert begin["type"] == "session.begin", begin
    return ws, str(begin["session_id"])


async def _speak(ws: Any, audio: bytes, finals: list[str]) -> asyncio.Task[None]:
    """Send ``audio`` at twice real time; the task that keeps the finals' texts
    (it reads until the socket goes)."""

    async def read() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "transcript.final":
                    finals.append(message["text"].strip())

    reader = asyncio.create_task(read())
    step = 3200  # 0.1 s
    for i in range(0, len(audio), step):
        await ws.send(audio[i : i + step])
        await asyncio.sleep(0.05)
    for _ in range(100):  # the last utterance's final
        if finals:
            break
        await asyncio.sleep(0.1)
    return reader


def test_sessions_of_a_killed_server_are_ended_at_restart(tmp_path: Path) -> None:
    """kill -9 with four streams open: after the restart the kept one is failed
    with the finals saved before the kill and the audio it had received (it
    asked to keep its audio: spooled as it arrived); the one asked to keep no
    record has none, nor any audio left on disk; the two hybrid ones
    (``batch_after``, one with no record) have their batch jobs, made from the
    audio they had sent."""
    server = ServerProcess(
        tmp_path / "data",
        env={"DALSTON_REALTIME_CAPACITY": "4", "DALSTON_REALTIME_HEARTBEAT_S": "0.5"},
    )
    server.start()
    heard: list[str] = []

    async def four_streams() -> tuple[str, ...]:
        kept, kept_id = await _open_stream(server, "store_audio=true")
        unkept, unkept_id = await _open_stream(server, "retention=0&store_audio=true")
        hybrid, hybrid_id = await _open_stream(server, "batch_after=true")
        unrecorded, unrecorded_id = await _open_stream(
            server, "batch_after=true&retention=0&batch_model=whisper-base"
        )
        reader, *_ = await asyncio.gather(
            _speak(kept, pcm16(JFK), heard),
            _speak(hybrid, pcm16(JFK), []),
            _speak(unrecorded, pcm16(JFK), []),
        )
        await unkept.send(pcm16(JFK)[:64000])
        await asyncio.sleep(1.5)  # a heartbeat or more since the last final
        server.stop(signal.SIGKILL)  # no close, no end stored
        for ws in (kept, unkept, hybrid, unrecorded):
            ws.transport.abort()
        await asyncio.wait_for(reader, 5)
        return kept_id, unkept_id, hybrid_id, unrecorded_id

    try:
        kept_id, unkept_id, hybrid_id, unrecorded_id = asyncio.run(four_streams())
        assert heard, "no final before the kill"
        server.start()
        with server.client() as client:
            kept = client.get(f"/v1/realtime/sessions/{kept_id}")
            assert kept.status_code == 200, kept.text
            record = kept.json()
            assert record["status"] == "failed", record
            assert record["error"] == ABANDONED
            assert record["ended_at"] is not None
            assert record["ended_at"] >= record["started_at"]
            # What was saved is what the client was told, up to the last
            # heartbeat (at least the first final, heard 1.5 s before the kill).
            saved = record["transcript"]
            assert saved and saved.startswith(heard[0]), (saved, heard)
            assert " ".join(heard).startswith(saved), (saved, heard)
            assert record["audio_seconds"] > 2
            stored = client.get(f"/v1/realtime/sessions/{kept_id}/transcript")
            assert stored.status_code == 200, stored.text
            assert stored.json()["text"] == saved
            # The audio received before the kill: all that was sent (JFK and
            # 1.5 s of silence, at twice real time, 1.5 s before the kill).
            assert record["has_audio"] is True, record
            audio = client.get(f"/v1/realtime/sessions/{kept_id}/audio")
            assert audio.status_code == 200, audio.text
            with wave.open(io.BytesIO(audio.content)) as wav:
                assert wav.getframerate() == 16000
                seconds = wav.getnframes() / 16000
                samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
            sent = np.frombuffer(pcm16(JFK), "<i2")
            assert seconds == pytest.approx(sent.size / 16000, abs=0.3), seconds
            sent = sent[: samples.size]
            assert np.abs(samples.astype(int) - sent).max() <= 1  # the same audio
            assert not list((tmp_path / "data" / "spool" / "sessions").glob("*"))
            # Asked for no record: none is left.
            gone = client.get(f"/v1/realtime/sessions/{unkept_id}")
            assert gone.status_code == 404, gone.text
            # Deletable now (it was 409 "still streaming" for good).
            deleted = client.delete(f"/v1/realtime/sessions/{kept_id}")
            assert deleted.status_code == 204, deleted.text
            # The hybrid sessions' batch jobs: one linked from its record, the
            # other (no record) found by its name; each transcribes all of JFK.
            hybrid = client.get(f"/v1/realtime/sessions/{hybrid_id}").json()
            assert hybrid["status"] == "failed", hybrid
            assert hybrid["has_audio"] is False, hybrid  # not asked to keep it
            assert hybrid["batch_job_id"], hybrid
            listed = client.get("/v1/audio/transcriptions", params={"limit": 10})
            names = {j["display_name"]: j["id"] for j in listed.json()["jobs"]}
            assert set(names) == {f"session {hybrid_id}", f"session {unrecorded_id}"}
            assert names[f"session {hybrid_id}"] == hybrid["batch_job_id"]
            reference = JFK.with_suffix(".txt").read_text()
            for job_id in names.values():
                job = wait_for_job(client, job_id)
                assert job["status"] == "completed", job
                assert wer([reference], [job["text"]]) <= 0.1, job["text"]
        log = server.log_path.read_text()
        assert "ended 4 live session(s) of the last run" in log
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


def _final(text: str, at: float) -> Final:
    return Final(
        text=text,
        start=at,
        end=at + 1.0,
        language="en",
        language_probability=None,
        confidence=None,
    )


@dataclass
class _Stream:
    """What a live session shows its record: its finals and audio so far."""

    finals: list[Final] = field(default_factory=list)
    received_s: float = 0.0


def test_a_record_nobody_stamps_is_ended_by_another_process(
    database: str, tmp_path: Path
) -> None:
    """Gateway A holds one stream and stamps it; gateway B held three and died;
    a sweep (any orchestrator) ends B's with what B saved, and leaves A's."""

    async def scenario() -> None:
        engine = create_engine(database)
        try:
            await upgrade_to_head(engine)
            storage = tmp_path / "artifacts"  # one store, as the processes share
            alive = _records(engine, storage, abandoned_after_s=0.6)
            dead = _records(engine, storage)
            sweeper = _records(engine, storage, abandoned_after_s=0.6)
            live, kept = _Stream([_final("one", 0)], 1.0), _Stream()
            await _open(alive, "live", stream=live)
            await _open(dead, "kept", stream=kept)
            await _open(dead, "unkept", retention_days=0, stream=_Stream())
            await _open(dead, "week", retention_days=7)
            assert await sweeper.end_abandoned() == 0  # all freshly stamped
            kept.finals.append(_final("said before", 0))
            kept.received_s = 2.0
            await dead.heartbeat()  # B's last: it saves what it has
            last_heard = time.time()
            kept.finals.append(_final("and after", 2))  # never saved: B dies
            await asyncio.sleep(0.4)
            await alive.heartbeat()  # A lives on; B says nothing more
            await asyncio.sleep(0.4)
            assert await sweeper.end_abandoned() == 3
            assert await sweeper.end_abandoned() == 0

            row = await _row(engine, "live")
            assert row is not None and row.status == "active"
            assert await _row(engine, "unkept") is None
            for session_id in ("kept", "week"):
                row = await _row(engine, session_id)
                assert row is not None and row.status == "failed"
                assert row.error == ABANDONED
                assert row.ended_at is not None
                # Ended when last heard of, not when swept.
                assert abs(row.ended_at.timestamp() - last_heard) < 0.3
            kept_row, week = await _row(engine, "kept"), await _row(engine, "week")
            assert kept_row is not None and kept_row.purge_after is None
            assert kept_row.transcript == "said before"
            assert kept_row.audio_seconds == 2.0
            transcript = await sweeper.transcript(
                tenant_id="default", session_id="kept"
            )
            assert [s.text for s in transcript.segments] == ["said before"]
            assert week is not None and week.ended_at is not None
            assert week.purge_after == week.ended_at + timedelta(days=7)
            assert week.transcript is None  # nothing said, nothing saved

            # A process's own record is never its sweep's, even with its beat late.
            await asyncio.sleep(0.8)
            assert await alive.end_abandoned() == 0
            # The stream ends while a heartbeat saves it: the whole end stands.
            live.finals.append(_final("two", 1))
            everything = [*live.finals, _final("three", 2)]
            await asyncio.gather(
                alive.heartbeat(),
                alive.close(
                    "live",
                    status="completed",
                    audio_seconds=3.0,
                    finals=everything,
                    model="whisper-tiny.en",
                ),
            )
            await alive.heartbeat()  # closed: nothing more of it is saved
            row = await _row(engine, "live")
            assert row is not None and row.status == "completed"
            assert row.transcript == "one two three"
            transcript = await alive.transcript(tenant_id="default", session_id="live")
            assert transcript.text == "one two three"
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


class _GatedStore(LocalArtifactStore):
    """A local store whose next write waits until the test lets it finish."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def put_bytes(self, key: str, data: bytes) -> None:
        if not self.release.is_set():
            self.entered.set()
            await self.release.wait()
        await super().put_bytes(key, data)


@pytest.mark.parametrize("first", ["heartbeat", "close"])
def test_a_save_and_the_close_never_write_over_each_other(
    tmp_path: Path, first: str
) -> None:
    """Whichever starts writing first, the record ends with the close's whole
    transcript, never the heartbeat's older part of it."""

    async def scenario() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dalston.db'}")
        try:
            await upgrade_to_head(engine)
            records = _records(engine, tmp_path / "artifacts")
            store = _GatedStore(tmp_path / "artifacts")
            records.storage = store
            stream = _Stream([_final("one", 0)], 1.0)
            await _open(records, "s", stream=stream)
            everything = [*stream.finals, _final("two", 1)]
            close = lambda: records.close(  # noqa: E731
                "s",
                status="completed",
                audio_seconds=2.0,
                finals=everything,
                model="whisper-tiny.en",
            )
            early = asyncio.create_task(
                records.heartbeat() if first == "heartbeat" else close()
            )
            await asyncio.wait_for(store.entered.wait(), 5)  # writing, held up
            late = asyncio.create_task(
                close() if first == "heartbeat" else records.heartbeat()
            )
            await asyncio.sleep(0.2)
            store.release.set()
            await asyncio.gather(early, late)
            row = await _row(engine, "s")
            assert row is not None and row.status == "completed"
            assert row.transcript == "one two"
            saved = await records.transcript(tenant_id="default", session_id="s")
            assert saved.text == "one two"
        finally:
            await engine.dispose()

    asyncio.run(scenario())


@dataclass
class _Job:
    id: str


@dataclass
class _Jobs:
    """The job service as ``rescue_spooled`` sees it (the unit under test is
    when it submits; the kill -9 test above runs real jobs): fails ``failing``
    times with a transient error, then accepts."""

    failing: int = 0
    submitted: list[tuple[str, str, float]] = field(default_factory=list)

    async def submit(
        self, *, tenant_id: str, request: Any, source: Any, **kw: Any
    ) -> _Job:
        if self.failing:
            self.failing -= 1
            raise ConnectionError("database away")
        with wave.open(source.upload) as wav:
            seconds = wav.getnframes() / wav.getframerate()
        self.submitted.append((tenant_id, kw["idempotency_key"], seconds))
        return _Job(f"job-{len(self.submitted)}")


def test_a_hybrid_sessions_spooled_audio_is_submitted_once_it_can_be(
    database: str, tmp_path: Path
) -> None:
    """A killed process's hybrid session: its spooled audio stays while the
    batch submit fails (a database away), is submitted on a later rescue and
    linked from the record, then dropped; a purpose file whose audio was never
    written is dropped too."""
    from dalston.services.request import TranscriptionRequest

    async def scenario() -> None:
        engine = create_engine(database)
        try:
            await upgrade_to_head(engine)
            jobs = _Jobs(failing=1)
            records = SessionRecords(
                sessions=create_session_factory(engine),
                storage=LocalArtifactStore(tmp_path / "artifacts"),
                spool=tmp_path / "spool",
                jobs=jobs,  # type: ignore[arg-type]
            )
            await _open(records, "hybrid")
            path = records.recording_path(
                "hybrid",
                store=False,
                batch=TranscriptionRequest(language="en"),
                tenant_id="default",
            )
            assert path is not None
            with wave.open(str(path), "wb") as writer:
                writer.setnchannels(1)
                writer.setsampwidth(2)
                writer.setframerate(16000)
                writer.writeframes(b"\1\0" * 32000)
            records.held.clear()  # the process that held it is gone
            records.recording_path("never", store=True)  # killed before a frame
            assert await records.end_abandoned(every_active=True) == 1
            assert await records.rescue_spooled(every=True) == 0  # submit failed
            assert path.exists() and not jobs.submitted
            assert await records.rescue_spooled(every=True) == 1
            assert jobs.submitted == [("default", "session-hybrid", 2.0)]
            row = await _row(engine, "hybrid")
            assert row is not None and row.batch_job_id == "job-1"
            assert row.audio_key is None  # not asked to keep the audio
            assert not list((tmp_path / "spool").iterdir())
        finally:
            await engine.dispose()

    asyncio.run(scenario())
