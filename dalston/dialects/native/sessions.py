"""Realtime capacity, workers and session records (``/v1/realtime/*``)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from dalston.dialects.native.exports import CueQuery, export_response
from dalston.errors import NotFound
from dalston.gateway.deps import AuditDep, CanRead, CanWrite, RuntimeDep
from dalston.services.realtime_sessions import SessionRecords
from dalston.transcript import Transcript
from dalston.transcript.export import ExportFormat

router = APIRouter(prefix="/v1/realtime", tags=["realtime"])
log = logging.getLogger(__name__)


class WorkerInfo(BaseModel):
    id: str
    host: str
    capacity: int
    active: int
    models: list[str]


class RealtimeStatus(BaseModel):
    """Ours (capacity, active, available, workers), and the same counts under the
    names the original Dalston clients read, with an overall ``status``."""

    status: Literal["ready", "at_capacity", "unavailable"]
    capacity: int
    active: int
    available: int
    workers: int
    total_capacity: int
    active_sessions: int
    available_capacity: int
    worker_count: int
    ready_workers: int


class SessionInfo(BaseModel):
    id: str
    protocol: str
    model: str
    language: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    audio_seconds: float
    transcript: str | None
    has_audio: bool
    error: str | None
    purge_after: datetime | None
    # Hybrid sessions (batch_after=true): the batch job made from its audio.
    batch_job_id: str | None = None


class SessionList(BaseModel):
    sessions: list[SessionInfo]
    cursor: str | None
    has_more: bool


def _info(row: Any) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        protocol=row.protocol,
        model=row.model,
        language=row.language,
        status=row.status,
        started_at=row.started_at,
        ended_at=row.ended_at,
        audio_seconds=row.audio_seconds,
        transcript=row.transcript,
        has_audio=row.audio_key is not None,
        batch_job_id=row.batch_job_id,
        error=row.error,
        purge_after=row.purge_after,
    )


@router.get("/status", response_model=RealtimeStatus)
async def realtime_status(runtime: RuntimeDep, _: CanRead) -> RealtimeStatus:
    r = runtime.router
    await _refresh(runtime)
    available = max(r.capacity - r.active, 0)
    workers = len(r.workers)
    if not workers:
        status: Literal["ready", "at_capacity", "unavailable"] = "unavailable"
    else:
        status = "ready" if available else "at_capacity"
    return RealtimeStatus(
        status=status,
        capacity=r.capacity,
        active=r.active,
        available=available,
        workers=workers,
        total_capacity=r.capacity,
        active_sessions=r.active,
        available_capacity=available,
        worker_count=workers,
        ready_workers=workers,
    )


@router.get("/workers")
async def realtime_workers(
    runtime: RuntimeDep, _: CanRead
) -> dict[str, list[WorkerInfo]]:
    await _refresh(runtime)
    return {
        "workers": [
            WorkerInfo(
                id=w.id,
                host=w.host,
                capacity=w.capacity,
                active=w.active,
                models=list(w.decoder.models.loaded if w.decoder else w.models),
            )
            for w in runtime.router.workers.values()
        ]
    }


async def _refresh(runtime: RuntimeDep) -> None:
    try:
        await runtime.router.refresh()
    except Exception:  # registry unreachable: show what this process knows
        log.warning("realtime worker registry unreachable", exc_info=True)


def _records(runtime: RuntimeDep) -> SessionRecords:
    return runtime.realtime_records


@router.get("/sessions", response_model=SessionList)
async def list_sessions(
    runtime: RuntimeDep,
    principal: CanRead,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> SessionList:
    rows, next_cursor, has_more = await _records(runtime).list(
        tenant_id=principal.tenant_id, limit=limit, cursor=cursor
    )
    return SessionList(
        sessions=[_info(r) for r in rows], cursor=next_cursor, has_more=has_more
    )


@router.get("/sessions/{session_id}", response_model=SessionInfo)
async def get_session(
    session_id: str, runtime: RuntimeDep, principal: CanRead
) -> SessionInfo:
    row = await _records(runtime).get(
        tenant_id=principal.tenant_id, session_id=session_id
    )
    return _info(row)


@router.get("/sessions/{session_id}/transcript", response_model=Transcript)
async def session_transcript(
    session_id: str, runtime: RuntimeDep, principal: CanRead
) -> Transcript:
    return await _records(runtime).transcript(
        tenant_id=principal.tenant_id, session_id=session_id
    )


@router.get("/sessions/{session_id}/export/{fmt}")
async def export_session(
    session_id: str,
    fmt: ExportFormat,
    runtime: RuntimeDep,
    principal: CanRead,
    options: CueQuery,
) -> Response:
    """The session's transcript as srt/vtt/txt/json, exactly as a job exports."""
    transcript = await _records(runtime).transcript(
        tenant_id=principal.tenant_id, session_id=session_id
    )
    return export_response(transcript, fmt, options, session_id)


@router.get("/sessions/{session_id}/audio")
async def session_audio(
    session_id: str, runtime: RuntimeDep, principal: CanRead
) -> Response:
    row = await _records(runtime).get(
        tenant_id=principal.tenant_id, session_id=session_id
    )
    if row.audio_key is None:
        raise NotFound("This session's audio was not kept (store_audio=true keeps it).")
    try:
        # Read whole: a FileResponse would outlive an S3 store's temporary copy.
        data = await runtime.storage.get_bytes(row.audio_key)
    except KeyError:
        raise NotFound("This session's audio is gone.") from None
    return Response(
        data,
        media_type="audio/wav",
        headers={"Content-Disposition": f'attachment; filename="{session_id}.wav"'},
    )


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(
    session_id: str, runtime: RuntimeDep, principal: CanWrite, audit: AuditDep
) -> Response:
    await _records(runtime).delete(tenant_id=principal.tenant_id, session_id=session_id)
    await audit("session.deleted", "session", session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
