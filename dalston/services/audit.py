"""The audit log: who did what to which resource, per tenant.

``AuditLog.record`` is the one way to write an entry (keys created and revoked,
jobs created, cancelled, deleted and their audio deleted, sessions deleted,
webhook endpoints changed: ``record_webhook_change``); ``AuditLog.list`` reads
them back newest first with a keyset cursor.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dalston.db.models import AuditEvent, utcnow
from dalston.services.jobs import decode_cursor, encode_cursor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts: an API key (``key_id``; None without authentication) of a
    tenant, from an address and client."""

    tenant_id: str
    key_id: str | None
    ip_address: str | None = None
    user_agent: str | None = None

    @property
    def actor_type(self) -> str:
        return "api_key" if self.key_id else "anonymous"


class AuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def record(
        self,
        actor: Actor,
        action: str,
        resource_type: str,
        resource_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one entry. A failure is logged, never raised: the action it
        records has already happened."""
        row = AuditEvent(
            id=str(uuid.uuid4()),
            timestamp=utcnow(),
            tenant_id=actor.tenant_id,
            actor_type=actor.actor_type,
            actor_id=actor.key_id,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            detail=detail or {},
            ip_address=actor.ip_address,
            user_agent=(actor.user_agent or "")[:512] or None,
        )
        try:
            async with self.sessions() as session, session.begin():
                session.add(row)
        except Exception:
            log.exception(
                "audit entry %s %s/%s lost", action, resource_type, resource_id
            )

    async def record_webhook_change(
        self,
        actor: Actor,
        change: str,
        endpoint_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """A webhook endpoint created, updated, deleted or its secret rotated
        (``change``: created|updated|deleted|secret_rotated)."""
        await self.record(actor, f"webhook.{change}", "webhook", endpoint_id, detail)

    async def list(
        self,
        *,
        tenant_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        action: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[AuditEvent], str | None, bool]:
        """The tenant's entries, newest first: (page, next cursor, has_more)."""
        query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        for column, value in (
            (AuditEvent.resource_type, resource_type),
            (AuditEvent.resource_id, resource_id),
            (AuditEvent.action, action),
            (AuditEvent.actor_id, actor_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(AuditEvent.timestamp >= since)
        if until is not None:
            query = query.where(AuditEvent.timestamp < until)
        if cursor:
            at, row_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    AuditEvent.timestamp < at,
                    and_(AuditEvent.timestamp == at, AuditEvent.id < row_id),
                )
            )
        query = query.order_by(AuditEvent.timestamp.desc(), AuditEvent.id.desc())
        async with self.sessions() as session:
            rows = list((await session.scalars(query.limit(limit + 1))).all())
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(rows[-1].timestamp, rows[-1].id)
            if has_more and rows
            else None
        )
        return rows, next_cursor, has_more
