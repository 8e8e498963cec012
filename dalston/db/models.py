"""SQLAlchemy 2 tables. Pydantic schemas for the API live in ``gateway.schemas``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> Any:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime}


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    model: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    audio_key: Mapped[str | None] = mapped_column(String(512))
    audio_bytes: Mapped[int | None] = mapped_column(Integer)
    audio_duration_s: Mapped[float | None] = mapped_column(Float)
    language_code: Mapped[str | None] = mapped_column(String(16))
    transcript_key: Mapped[str | None] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    # Set when the input caused the failure: the ``DalstonError`` code of the
    # refusal (``unsupported_media``, ``invalid_request``, ``payload_too_large``).
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # None: keep; 0: purge once the result is delivered; N: purge N days after
    # the job finishes (``purge_after``, set then).
    retention_days: Mapped[int | None] = mapped_column(Integer)
    purge_after: Mapped[datetime | None] = mapped_column(index=True)
    # The client's ``Idempotency-Key`` (unique per tenant) and a digest of the
    # request it came with: a retry gets this job, another request a 409.
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    tasks: Mapped[list[Task]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="Task.position"
    )

    __table_args__ = (
        Index("ix_jobs_tenant_created", "tenant_id", "created_at", "id"),
        Index(
            "ux_jobs_tenant_idempotency_key",
            "tenant_id",
            "idempotency_key",
            unique=True,
        ),
    )


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(32))
    engine_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    depends_on: Mapped[list[str]] = mapped_column(default=list)
    # Which audio the stage reads: none | original | prepared (see orchestrator.dag).
    audio_input: Mapped[str] = mapped_column(String(16), default="prepared")
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    output_key: Mapped[str | None] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))  # as Job.error_code
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # A waiting retry is not dispatched before this (its backoff); any
    # orchestrator's sweep dispatches it once due, so a retry outlives the
    # process that scheduled it.
    not_before: Mapped[datetime | None] = mapped_column(index=True)
    # A running attempt's own report of how far it has got (0-1), if it reports.
    progress: Mapped[float | None]

    job: Mapped[Job] = relationship(back_populates="tasks")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Requests per minute (None: the tenant default); past expires_at: 401.
    rate_limit: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None]


class SingleUseToken(Base):
    """A short-lived secret for one connection (WebSocket URLs, ``?token=``)."""

    __tablename__ = "single_use_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    tenant_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class RealtimeSession(Base):
    """The record of one live transcription session."""

    __tablename__ = "realtime_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    protocol: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    worker_id: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    audio_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    transcript: Mapped[str | None] = mapped_column(Text)
    transcript_key: Mapped[str | None] = mapped_column(String(512))
    audio_key: Mapped[str | None] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    purge_after: Mapped[datetime | None] = mapped_column(index=True)
    # Hybrid sessions (batch_after): the batch job made from the session's audio.
    batch_job_id: Mapped[str | None] = mapped_column(String(36))
    # While "active": when the process holding the stream last said it still does
    # (services.realtime_sessions: a record nobody stamps any more is ended).
    seen_at: Mapped[datetime | None]
    # The stream's retention (None: keep), applied to a record ended that way too.
    retention_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_realtime_sessions_tenant_started", "tenant_id", "started_at", "id"),
    )


class AuditEvent(Base):
    """Who did what to which resource: keys, jobs, sessions, webhook endpoints."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    tenant_id: Mapped[str] = mapped_column(String(64))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))

    __table_args__ = (
        Index("ix_audit_events_tenant_time", "tenant_id", "timestamp", "id"),
        Index("ix_audit_events_resource", "resource_type", "resource_id"),
    )


class WebhookEndpoint(Base):
    """A tenant's registered receiver (``/v1/webhooks``)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(default=list)
    description: Mapped[str | None] = mapped_column(String(1000))
    secret: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_webhook_endpoints_tenant_created", "tenant_id", "created_at", "id"),
    )


class WebhookEvent(Base):
    """An outbox row, written in the transaction that finishes the job; the
    delivery loop fans it out into ``WebhookDelivery`` rows (``dispatched_at``)."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A job's own ``webhook_url`` (signed with ``WEBHOOK_SECRET``), if it had one.
    target_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class WebhookDelivery(Base):
    """One event to one receiver, retried with backoff until it succeeds or
    runs out of attempts; ``lease_until`` fences the process sending it."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    endpoint_id: Mapped[str | None] = mapped_column(String(36))
    # A dialect's own receiver (an ElevenLabs webhook id) when not an endpoint's.
    target: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )
