"""Operations: ``GET /v1/jobs/stats`` (a tenant's jobs today and per day),
``GET /v1/audit`` (its audit log, admin scope) and ``GET /v1/queue`` (the tasks
waiting and running now, admin scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from dalston.auth.keys import DEFAULT_TENANT
from dalston.db.models import utcnow
from dalston.dialects.native.schemas import (
    AuditEntry,
    AuditList,
    BoardTask,
    DayUsage,
    JobStats,
    TaskBoard,
)
from dalston.gateway.deps import CanRead, IsAdmin, RuntimeDep
from dalston.services import usage

router = APIRouter(tags=["operations"])


@router.get("/v1/jobs/stats", response_model=JobStats)
async def job_stats(
    runtime: RuntimeDep,
    principal: CanRead,
    days: Annotated[int, Query(ge=1, le=usage.MAX_DAYS)] = 14,
) -> JobStats:
    """The tenant's jobs running and queued now, those finished since midnight
    UTC with the audio seconds transcribed, and per UTC day over the last
    ``days``: jobs completed and failed, audio and processing seconds, RTFx."""
    series = await usage.daily_usage(
        sessions=runtime.sessions, tenant_id=principal.tenant_id, days=days
    )
    return JobStats(
        **await runtime.jobs.stats(tenant_id=principal.tenant_id),
        daily=[DayUsage(**d.as_dict()) for d in series],
    )


@router.get("/v1/queue", response_model=TaskBoard)
async def task_board(
    runtime: RuntimeDep,
    admin: IsAdmin,
    limit: Annotated[int, Query(ge=1, le=usage.BOARD_LIMIT)] = usage.BOARD_LIMIT,
) -> TaskBoard:
    """Tasks running, queued and waiting now, running first, each oldest first
    (admin scope). An admin of the server's own tenant sees every tenant's."""
    tenant = None if admin.tenant_id == DEFAULT_TENANT else admin.tenant_id
    rows, has_more = await usage.task_board(
        sessions=runtime.sessions, tenant_id=tenant, limit=limit
    )
    now = utcnow()
    tasks: list[BoardTask] = []
    by_engine: dict[str, dict[str, int]] = {}
    for t in rows:
        waited_until = t.started_at or now
        tasks.append(
            BoardTask(
                id=t.id,
                job_id=t.job_id,
                job_name=t.job_name,
                tenant_id=t.tenant_id,
                stage=t.stage,
                engine_id=t.engine_id,
                status=t.status,  # type: ignore[arg-type]
                attempts=t.attempts,
                queued_at=t.queued_at,
                started_at=t.started_at,
                waited_s=round((waited_until - t.queued_at).total_seconds(), 3)
                if t.queued_at
                else None,
                running_s=round((now - t.started_at).total_seconds(), 3)
                if t.started_at and t.status == "running"
                else None,
            )
        )
        counts = by_engine.setdefault(
            t.engine_id, {"running": 0, "queued": 0, "waiting": 0}
        )
        counts[t.status] = counts.get(t.status, 0) + 1
    return TaskBoard(tasks=tasks, has_more=has_more, by_engine=by_engine)


@router.get("/v1/audit", response_model=AuditList)
async def audit_log(
    runtime: RuntimeDep,
    admin: IsAdmin,
    resource_type: str | None = None,
    resource_id: str | None = None,
    action: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> AuditList:
    """The tenant's audit entries, newest first (admin scope)."""
    rows, next_cursor, has_more = await runtime.audit.list(
        tenant_id=admin.tenant_id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        actor_id=actor_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return AuditList(
        events=[
            AuditEntry(
                id=r.id,
                timestamp=r.timestamp,
                tenant_id=r.tenant_id,
                actor_type=r.actor_type,
                actor_id=r.actor_id,
                action=r.action,
                resource_type=r.resource_type,
                resource_id=r.resource_id,
                detail=dict(r.detail or {}),
                ip_address=r.ip_address,
                user_agent=r.user_agent,
            )
            for r in rows
        ],
        cursor=next_cursor,
        has_more=has_more,
    )
