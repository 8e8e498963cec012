"""Records of live sessions: opened when a stream starts, closed with its transcript
(and its audio, when the client asked to keep it), listed, fetched, deleted, and
purged after their retention.

A session's finals are stored as a ``Transcript`` (``sessions/{id}/transcript.json``),
the same currency as a job's, so sessions export as srt/vtt/txt/json through the
same renderer. Its language is the one most finals were decoded in, with the
probability of the detection that chose it (none when the client fixed it).
Records stored before this (``{text, segments}``) are read into the same shape.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dalston.db.models import RealtimeSession, utcnow
from dalston.errors import Conflict, NotFound
from dalston.realtime_sdk.events import Final
from dalston.services.jobs import decode_cursor, encode_cursor
from dalston.storage.base import ArtifactStore
from dalston.transcript import Segment, Transcript, TranscriptMetadata, Word


def session_prefix(session_id: str) -> str:
    return f"sessions/{session_id}/"


class SessionRecords:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], storage: ArtifactStore
    ) -> None:
        self.sessions = sessions
        self.storage = storage

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
    ) -> None:
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
                    started_at=utcnow(),
                )
            )

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
        """Store the transcript (and audio), or nothing when retention is 0."""
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
