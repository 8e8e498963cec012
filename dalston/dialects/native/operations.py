"""Operations: ``GET /v1/jobs/stats`` (a tenant's jobs today) and
``GET /v1/audit`` (its audit log, admin scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from dalston.dialects.native.schemas import AuditEntry, AuditList, JobStats
from dalston.gateway.deps import CanRead, IsAdmin, RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/v1/jobs/stats", response_model=JobStats)
async def job_stats(runtime: RuntimeDep, principal: CanRead) -> JobStats:
    """The tenant's jobs running and queued now, and those finished since
    midnight UTC with the audio seconds transcribed."""
    return JobStats(**await runtime.jobs.stats(tenant_id=principal.tenant_id))


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
