"""Records of live sessions: opened when a stream starts, closed with its transcript
(and its audio, when the client asked to keep it), listed, fetched, deleted, and
purged after their retention.

A session's finals are stored as a ``Transcript`` (``sessions/{id}/transcript.json``),
the same currency as a job's, so sessions export as srt/vtt/txt/json through the
same renderer. Its language is the one most finals were decoded in, with the
probability of the detection that chose it (none when the client fixed it).
Records stored before this (``{text, segments}``) are read into the same shape.

A record is "active" while the process holding the stream lives. That process
stamps the records it holds every ``heartbeat_s`` (``heartbeat``) and stores the
finals so far of those that have new ones, so a crash loses at most that much of
the transcript. A record nobody has stamped for ``abandoned_after_s`` belongs to a
process that died (kill -9, a lost host, an end that could not be stored) and is
ended as ``failed`` (``end_abandoned``) with what was stored, so it is listed
truthfully and can be deleted. An embedded server, alone on its database, ends
every "active" record it finds at start.

A session asked to keep its audio, or to make a batch job of it (hybrid,
``batch_after``), writes it to ``spool`` (a WAV per session, on the disk of the
process serving the stream) as it arrives, beside what it is for (``<id>.json``:
stored with the record, the batch job's request); the close stores it and submits
the job. The audio of a session its process never closed is stored with the
ended record, and its batch job submitted (``rescue_spooled``), by the next
process to serve streams from that spool: the embedded server at its restart.
A session's batch job is submitted under the idempotency key ``session-<id>``,
so a close cut short after its submit does not make a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import wave
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dalston.db.models import RealtimeSession, utcnow
from dalston.errors import Conflict, InvalidRequest, NotFound
from dalston.realtime_sdk.events import Final
from dalston.services.jobs import (
    AudioSource,
    JobService,
    decode_cursor,
    encode_cursor,
)
from dalston.services.request import TranscriptionRequest
from dalston.storage.base import ArtifactStore
from dalston.transcript import Segment, Transcript, TranscriptMetadata, Word

log = logging.getLogger(__name__)

# Less audio than this is not worth a batch job.
MIN_BATCH_AUDIO_S = 0.5

ABANDONED = (
    "The server handling this session stopped before the session ended; the "
    "transcript holds what was saved until then."
)


class StreamProgress(Protocol):
    """What a live stream has produced so far (a local or remote session)."""

    @property
    def finals(self) -> list[Final]: ...

    @property
    def received_s(self) -> float: ...


@dataclass
class _Held:
    """A record this process opened and has not closed."""

    stream: StreamProgress | None
    model: str
    keep: bool  # retention is not 0: the transcript may be stored
    saved: int = 0  # finals stored so far
    # A checkpoint and the close never write the same record at once.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def session_prefix(session_id: str) -> str:
    return f"sessions/{session_id}/"


class SessionRecords:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        storage: ArtifactStore,
        heartbeat_s: float = 30.0,  # Settings.realtime_heartbeat_s
        abandoned_after_s: float = 150.0,  # five beats missed
        spool: Path | None = None,
        jobs: JobService | None = None,
    ) -> None:
        self.sessions = sessions
        self.storage = storage
        self.spool = spool
        self.jobs = jobs  # hybrid sessions' batch jobs, when rescued
        self.heartbeat_s = heartbeat_s
        self.abandoned_after_s = abandoned_after_s
        # The records this process opened and has not closed: what it stamps.
        self.held: dict[str, _Held] = {}

    async def open(
        self,
        *,
        session_id: str,
        tenant_id: str,
        protocol: str,
        model: str,
        language: str | None,
        worker_id: str,
        params: dict[str, Any],
        retention_days: int | None = None,
        stream: StreamProgress | None = None,
    ) -> None:
        """The record of a stream that starts; ``stream``: its finals so far,
        saved with each heartbeat."""
        now = utcnow()
        async with self.sessions() as db, db.begin():
            db.add(
                RealtimeSession(
                    id=session_id,
                    tenant_id=tenant_id,
                    protocol=protocol,
                    model=model,
                    language=language,
                    status="active",
                    worker_id=worker_id,
                    params=params,
                    started_at=now,
                    seen_at=now,
                    retention_days=retention_days,
                )
            )
        self.held[session_id] = _Held(stream, model, keep=retention_days != 0)

    async def close(
        self,
        session_id: str,
        *,
        status: str,
        audio_seconds: float,
        finals: list[Final],
        model: str,
        error: str | None = None,
        audio_file: Path | None = None,
        retention_days: int | None = None,
    ) -> None:
        """Store the transcript (and audio), or nothing when retention is 0.

        The record is no longer this process's to stamp, stored or not: one that
        could not be stored is ended by ``end_abandoned`` in time.
        """
        held = self.held.pop(session_id, None)
        async with held.lock if held else contextlib.nullcontext():
            transcript = session_transcript(finals, model=model, duration=audio_seconds)
            text = transcript.text
            transcript_key = audio_key = None
            if retention_days != 0:
                transcript_key = f"{session_prefix(session_id)}transcript.json"
                await self.storage.put_bytes(
                    transcript_key, transcript.model_dump_json().encode()
                )
                if audio_file is not None:
                    audio_key = f"{session_prefix(session_id)}audio.wav"
                    await self.storage.put_path(audio_key, audio_file)
            async with self.sessions() as db, db.begin():
                row = await db.get(RealtimeSession, session_id)
                if row is None:
                    return
                row.status = status
                row.ended_at = utcnow()
                row.audio_seconds = round(audio_seconds, 3)
                row.error = error
                if retention_days == 0:
                    await db.delete(row)
                    return
                row.transcript = text
                row.transcript_key = transcript_key
                row.audio_key = audio_key
                if retention_days is not None and retention_days > 0:
                    row.purge_after = row.ended_at + timedelta(days=retention_days)

    def recording_path(
        self,
        session_id: str,
        *,
        store: bool = True,
        batch: TranscriptionRequest | None = None,
        tenant_id: str | None = None,
    ) -> Path | None:
        """Where a session writes the audio it keeps as it arrives (None: no
        spool, a temporary file), with what it is for: ``store`` with the
        record, ``batch`` (a hybrid session's job, for ``tenant_id``)."""
        if self.spool is None:
            return None
        self.spool.mkdir(parents=True, exist_ok=True)
        purpose = _Purpose(store=store, tenant_id=tenant_id, batch=batch)
        (self.spool / f"{session_id}.json").write_text(purpose.model_dump_json())
        return self.spool / f"{session_id}.wav"

    def drop_spooled(self, session_id: str) -> None:
        """A closed session's spooled audio, stored and submitted."""
        if self.spool is not None:
            for suffix in (".wav", ".json"):
                (self.spool / f"{session_id}{suffix}").unlink(missing_ok=True)

    async def submit_batch(
        self,
        session_id: str,
        tenant_id: str,
        request: TranscriptionRequest,
        audio_file: Path,
    ) -> str | None:
        """A hybrid session's batch job on its audio, linked from its record
        (the same job for the same session: idempotency key ``session-<id>``);
        None for less than ``MIN_BATCH_AUDIO_S`` of audio, or a request the
        job service refuses (logged: it would never succeed). Other failures
        (a database away) raise: the spooled audio is then tried again."""
        if self.jobs is None or _wav_seconds(audio_file) < MIN_BATCH_AUDIO_S:
            return None
        name = request.display_name or f"session {session_id}"
        try:
            with audio_file.open("rb") as audio:
                job = await self.jobs.submit(
                    tenant_id=tenant_id,
                    request=request.model_copy(update={"display_name": name}),
                    source=AudioSource(
                        upload=audio, filename=f"session-{session_id}.wav"
                    ),
                    idempotency_key=f"session-{session_id}",
                )
        except (InvalidRequest, Conflict) as exc:
            log.error("session %s: its batch job was refused: %s", session_id, exc)
            return None
        await self.link_batch_job(session_id, job.id)
        log.info("session %s: batch job %s submitted", session_id, job.id)
        return job.id

    async def rescue_spooled(self, *, every: bool = False) -> int:
        """Store the spooled audio of sessions ended without their process's
        close (``end_abandoned``) with their records and submit their batch
        jobs, and drop spooled audio nothing wants. A file is left while its
        record is active, and, unless ``every`` (no other process writes to this
        spool), while it was written to within ``abandoned_after_s``. Returns
        how many sessions' audio was stored or submitted."""
        if self.spool is None or not self.spool.is_dir():
            return 0
        rescued = 0
        stale = time.time() - self.abandoned_after_s
        for path in sorted(self.spool.glob("*.wav")):
            session_id = path.stem
            try:
                if session_id in self.held or (
                    not every and path.stat().st_mtime > stale
                ):
                    continue
            except FileNotFoundError:
                continue  # closed meanwhile
            async with self.sessions() as db:
                row = await db.get(RealtimeSession, session_id)
            if row is not None and row.status == "active":
                continue  # still streaming somewhere, or not yet ended
            purpose = _Purpose.read(path.with_suffix(".json"))
            try:
                rescued += await self._rescue(session_id, path, row, purpose)
            except Exception as exc:  # a full disk: tried again next time
                log.warning("session %s: audio not rescued: %r", session_id, exc)
                continue
            self.drop_spooled(session_id)
        for path in self.spool.glob("*.json"):  # written, then killed at once
            try:
                if not path.with_suffix(".wav").exists() and (
                    every or path.stat().st_mtime < stale
                ):
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
        return rescued

    async def _rescue(
        self,
        session_id: str,
        path: Path,
        row: RealtimeSession | None,
        purpose: _Purpose,
    ) -> int:
        """What ``rescue_spooled`` does with one spooled WAV whose writer was
        killed (its header may not count all its frames); 1 when it kept it."""
        store = purpose.store and row is not None and row.audio_key is None
        batch = purpose.batch is not None and (row is None or not row.batch_job_id)
        if not (store or batch):
            return 0
        whole = await asyncio.to_thread(_finished_wav, path)
        if whole is None:
            return 0
        try:
            if store:
                await self._store_spooled(session_id, whole)
            tenant_id = purpose.tenant_id or (row.tenant_id if row else None)
            if batch and purpose.batch is not None and tenant_id is not None:
                await self.submit_batch(session_id, tenant_id, purpose.batch, whole)
        finally:
            whole.unlink(missing_ok=True)
        return 1

    async def _store_spooled(self, session_id: str, whole: Path) -> None:
        key = f"{session_prefix(session_id)}audio.wav"
        await self.storage.put_path(key, whole)
        async with self.sessions() as db, db.begin():
            await db.execute(
                update(RealtimeSession)
                .where(
                    RealtimeSession.id == session_id,
                    RealtimeSession.status != "active",
                )
                .values(audio_key=key)
            )

    async def heartbeat(self) -> None:
        """Stamp the records this process holds (their streams still run), then
        save the finals of those with new ones."""
        held = list(self.held)
        for first in range(0, len(held), 500):  # bounded IN lists
            async with self.sessions() as db, db.begin():
                await db.execute(
                    update(RealtimeSession)
                    .where(
                        RealtimeSession.id.in_(held[first : first + 500]),
                        RealtimeSession.status == "active",
                    )
                    .values(seen_at=utcnow())
                )
        for session_id, record in list(self.held.items()):
            try:
                await self._checkpoint(session_id, record)
            except Exception as exc:
                # Tried again next beat; the others are still worth saving, and
                # a full disk is no reason to call this process unready.
                log.warning("session %s: finals not saved: %r", session_id, exc)

    async def _checkpoint(self, session_id: str, record: _Held) -> None:
        if record.stream is None or not record.keep:
            return
        finals = list(record.stream.finals)
        if len(finals) == record.saved:
            return
        async with record.lock:
            if session_id not in self.held:
                return  # closed meanwhile: the close stored the whole of it
            transcript = session_transcript(
                finals, model=record.model, duration=record.stream.received_s
            )
            key = f"{session_prefix(session_id)}transcript.json"
            await self.storage.put_bytes(key, transcript.model_dump_json().encode())
            async with self.sessions() as db, db.begin():
                await db.execute(
                    update(RealtimeSession)
                    .where(
                        RealtimeSession.id == session_id,
                        RealtimeSession.status == "active",
                    )
                    .values(
                        transcript=transcript.text,
                        transcript_key=key,
                        audio_seconds=transcript.duration,
                    )
                )
            record.saved = len(finals)

    async def end_abandoned(self, *, every_active: bool = False) -> int:
        """End "active" records whose process is gone: those unstamped for
        ``abandoned_after_s``, or all of them (``every_active``: the caller knows
        no other process serves streams on this database). Each is ``failed``,
        ended when last stamped, and kept or purged by its own retention.
        Returns how many were ended."""
        query = select(
            RealtimeSession.id,
            RealtimeSession.started_at,
            RealtimeSession.seen_at,
            RealtimeSession.retention_days,
        ).where(RealtimeSession.status == "active")
        if not every_active:
            cutoff = utcnow() - timedelta(seconds=self.abandoned_after_s)
            stamped = func.coalesce(RealtimeSession.seen_at, RealtimeSession.started_at)
            query = query.where(stamped < cutoff)
        async with self.sessions() as db:
            rows = (await db.execute(query)).all()
        ended = 0
        for session_id, started_at, seen_at, retention_days in rows:
            if session_id in self.held:
                continue  # this process's own, its beat only late
            ended += await self._end_abandoned(
                session_id, seen_at or started_at, retention_days
            )
        return ended

    async def _end_abandoned(
        self, session_id: str, ended_at: datetime, retention_days: int | None
    ) -> int:
        still_active = and_(
            RealtimeSession.id == session_id, RealtimeSession.status == "active"
        )
        async with self.sessions() as db, db.begin():
            if retention_days == 0:  # the client asked for no record
                result = await db.execute(delete(RealtimeSession).where(still_active))
            else:
                purge_after = (
                    ended_at + timedelta(days=retention_days)
                    if retention_days is not None and retention_days > 0
                    else None
                )
                result = await db.execute(
                    update(RealtimeSession)
                    .where(still_active)
                    .values(
                        status="failed",
                        ended_at=ended_at,
                        error=ABANDONED,
                        purge_after=purge_after,
                    )
                )
        return int(getattr(result, "rowcount", 0) or 0)

    async def link_batch_job(self, session_id: str, job_id: str) -> None:
        """A hybrid session's batch job (the record may be gone: retention 0)."""
        async with self.sessions() as db, db.begin():
            row = await db.get(RealtimeSession, session_id)
            if row is not None:
                row.batch_job_id = job_id

    async def list(
        self, *, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[RealtimeSession], str | None, bool]:
        query = select(RealtimeSession).where(RealtimeSession.tenant_id == tenant_id)
        if cursor:
            started, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    RealtimeSession.started_at < started,
                    and_(
                        RealtimeSession.started_at == started,
                        RealtimeSession.id < last_id,
                    ),
                )
            )
        query = query.order_by(
            RealtimeSession.started_at.desc(), RealtimeSession.id.desc()
        ).limit(limit + 1)
        async with self.sessions() as db:
            rows = list((await db.scalars(query)).all())
        has_more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if rows else None
        next_cursor = (
            encode_cursor(last.started_at, last.id) if has_more and last else None
        )
        return rows, next_cursor, has_more

    async def get(self, *, tenant_id: str, session_id: str) -> RealtimeSession:
        async with self.sessions() as db:
            row = await db.get(RealtimeSession, session_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"No realtime session with id {session_id}.", param="id")
        return row

    async def transcript(self, *, tenant_id: str, session_id: str) -> Transcript:
        row = await self.get(tenant_id=tenant_id, session_id=session_id)
        if row.transcript_key is None:
            raise NotFound("This session has no stored transcript.", param="id")
        data: dict[str, Any] = json.loads(
            await self.storage.get_bytes(row.transcript_key)
        )
        if "metadata" not in data:  # stored before sessions kept transcripts
            data = {
                "text": data.get("text", ""),
                "language_code": row.language,
                "language_probability": None,
                "duration": row.audio_seconds,
                "segments": data.get("segments", []),
                "metadata": {"model": row.model, "stages": ["realtime"]},
            }
        return Transcript.model_validate(data)

    async def delete(self, *, tenant_id: str, session_id: str) -> None:
        row = await self.get(tenant_id=tenant_id, session_id=session_id)
        if row.status == "active":
            raise Conflict("The session is still streaming.", param="id")
        await self._remove(session_id)

    async def purge_expired(self) -> int:
        async with self.sessions() as db:
            ids = (
                await db.scalars(
                    select(RealtimeSession.id).where(
                        RealtimeSession.purge_after < utcnow()
                    )
                )
            ).all()
        for session_id in ids:
            await self._remove(session_id)
        return len(ids)

    async def _remove(self, session_id: str) -> None:
        async with self.sessions() as db, db.begin():
            await db.execute(
                delete(RealtimeSession).where(RealtimeSession.id == session_id)
            )
        await self.storage.delete_prefix(session_prefix(session_id))


def session_transcript(
    finals: list[Final], *, model: str, duration: float
) -> Transcript:
    """A live session's finals as one transcript."""
    segments = [
        Segment(
            id=index,
            start=final.start,
            end=final.end,
            text=final.text.strip(),
            words=[
                Word(
                    text=w.text.strip(),
                    start=w.start,
                    end=w.end,
                    confidence=round(w.probability, 4),
                )
                for w in final.words
                if w.text.strip()
            ]
            or None,
        )
        for index, final in enumerate(finals)
        if final.text.strip()
    ]
    languages = Counter(f.language for f in finals if f.language)
    language = languages.most_common(1)[0][0] if languages else None
    probability = next(
        (
            f.language_probability
            for f in finals
            if f.language == language and f.language_probability is not None
        ),
        None,
    )
    return Transcript(
        text=" ".join(s.text for s in segments),
        language_code=language,
        language_probability=probability,
        duration=round(duration, 3),
        segments=segments,
        metadata=TranscriptMetadata(model=model, stages=["realtime"]),
    )


class _Purpose(BaseModel):
    """What a spooled recording is for (``<id>.json`` beside it)."""

    store: bool = True  # with the session's record
    tenant_id: str | None = None
    batch: TranscriptionRequest | None = None  # a hybrid session's job

    @classmethod
    def read(cls, path: Path) -> _Purpose:
        """Absent or unreadable: the audio is for the record."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            return cls()


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def _finished_wav(path: Path) -> Path | None:
    """A copy of a 16-bit mono WAV written by ``wave`` whose writer never
    closed it (its header may not count all its frames), with every frame its
    data holds; None when it holds none."""
    with path.open("rb") as handle:
        header = handle.read(44)
        if len(header) < 44 or header[:4] != b"RIFF" or header[36:40] != b"data":
            return None
        rate = int.from_bytes(header[24:28], "little")
        out = path.with_name(f"{path.stem}.part")  # not another spooled .wav
        frames = 0
        with wave.open(str(out), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(rate)
            while block := handle.read(1 << 20):
                block = block[: len(block) // 2 * 2]
                writer.writeframes(block)
                frames += len(block) // 2
    if not frames:
        out.unlink(missing_ok=True)
        return None
    return out
