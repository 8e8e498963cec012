"""Typed responses of the native API. Every model accepts fields it does not know
(a newer server may add some), and keeps them: ``model.model_extra``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApiKey",
    "ApiKeyCreated",
    "Delivery",
    "DeliveryPage",
    "Engine",
    "Entity",
    "Job",
    "JobCreated",
    "JobPage",
    "JobStats",
    "JobSummary",
    "Me",
    "Model",
    "PiiInfo",
    "RealtimeStatus",
    "RetentionInfo",
    "Segment",
    "Session",
    "SessionPage",
    "Speaker",
    "StageInfo",
    "Token",
    "Transcript",
    "Webhook",
    "WebhookCreated",
    "Word",
]

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Word(_Model):
    text: str
    start: float
    end: float
    confidence: float | None = None
    speaker: str | None = None


class Segment(_Model):
    id: int | None = None
    start: float
    end: float
    text: str
    speaker: str | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    words: list[Word] | None = None


class Speaker(_Model):
    id: str
    label: str | None = None
    channel: int | None = None
    talk_time: float | None = None  # seconds this speaker talks


class Entity(_Model):
    entity_type: str | None = None
    text: str | None = None
    start: float | None = None
    end: float | None = None


class PiiInfo(_Model):
    enabled: bool = True
    entities_detected: int | None = None
    entity_summary: dict[str, int] | None = None
    redacted_audio_available: bool | None = None


class TranscriptMetadata(_Model):
    model: str | None = None
    stages: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Transcript(_Model):
    """A stored transcript (``GET /v1/realtime/sessions/{id}/transcript``, or a
    job's ``export(..., "json")``)."""

    text: str = ""
    language_code: str | None = None
    language_probability: float | None = None
    duration: float | None = None
    channels: int | None = None
    speakers: list[Speaker] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)
    metadata: TranscriptMetadata | None = None


class StageInfo(_Model):
    stage: str
    engine_id: str | None = None
    status: str
    depends_on: list[str] = Field(default_factory=list)
    queued_at: datetime | None = None
    queue_wait_ms: int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None
    retries: int = 0
    error: str | None = None
    progress: float | None = None  # 0-1, while running (the transcriber reports)


class RetentionInfo(_Model):
    mode: str
    days: int | None = None
    purge_after: datetime | None = None


class JobCreated(_Model):
    """What ``POST /v1/audio/transcriptions`` answers (201)."""

    id: str
    status: str
    display_name: str | None = None
    model: str | None = None
    created_at: datetime | None = None


class JobSummary(_Model):
    """One row of ``list_jobs``."""

    id: str
    status: str
    display_name: str | None = None
    model: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    audio_duration_seconds: float | None = None
    language_code: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Job(_Model):
    """A job, with its transcript fields once ``completed``."""

    id: str
    status: str
    display_name: str | None = None
    model: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    stages: list[StageInfo] = Field(default_factory=list)
    # The share of the audio transcribed so far (0-1); 1 once completed.
    progress: float | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    audio_duration_seconds: float | None = None
    audio_stored: bool | None = None
    language_code: str | None = None
    language_probability: float | None = None
    text: str | None = None
    segments: list[Segment] | None = None
    speakers: list[Speaker] | None = None
    words: list[Word] | None = None
    pii: PiiInfo | None = None
    entities: list[Entity] | None = None
    redacted_text: str | None = None
    warnings: list[str] | None = None
    retention: RetentionInfo | None = None

    @property
    def done(self) -> bool:
        """Completed, failed or cancelled: nothing more will change."""
        return self.status in TERMINAL_STATUSES


class JobPage(_Model):
    jobs: list[JobSummary]
    cursor: str | None = None
    has_more: bool = False

    @property
    def items(self) -> list[JobSummary]:
        return self.jobs


class DayUsage(_Model):
    """One UTC day of ``JobStats.daily``."""

    date: date
    completed: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    processing_seconds: float = 0.0
    rtfx: float | None = None  # audio seconds per processing second


class JobStats(_Model):
    running: int = 0
    queued: int = 0
    completed_today: int = 0
    failed_today: int = 0
    audio_seconds_today: float = 0.0
    daily: list[DayUsage] = Field(default_factory=list)  # oldest first, today last


class Model(_Model):
    """A catalog entry (``/v1/models``)."""

    id: str
    engine_id: str | None = None
    stage: str | None = None
    status: str | None = None
    languages: list[str] | None = None
    word_timestamps: bool | None = None
    size_bytes: int | None = None
    supports_cpu: bool | None = None
    supports_gpu: bool | None = None
    source: str | None = None
    description: str | None = None


class Engine(_Model):
    """A batch engine worker (``/v1/engines``)."""

    id: str
    engine_id: str | None = None
    stage: str | None = None
    status: str | None = None
    loaded_model: str | None = None
    capacity: int | None = None
    active: int | None = None
    host: str | None = None


class RealtimeStatus(_Model):
    status: str
    capacity: int = 0
    active: int = 0
    available: int = 0
    workers: int = 0


class Session(_Model):
    """A realtime session's record (``/v1/realtime/sessions``)."""

    id: str
    protocol: str | None = None
    model: str | None = None
    language: str | None = None
    status: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    audio_seconds: float | None = None
    transcript: str | None = None
    has_audio: bool | None = None
    error: str | None = None
    purge_after: datetime | None = None


class SessionPage(_Model):
    sessions: list[Session]
    cursor: str | None = None
    has_more: bool = False

    @property
    def items(self) -> list[Session]:
        return self.sessions


class Token(_Model):
    """A single-use WebSocket token (``tk_...``)."""

    token: str
    expires_at: datetime | None = None
    scopes: list[str] = Field(default_factory=list)


class ApiKey(_Model):
    id: str
    name: str
    prefix: str | None = None
    scopes: list[str] = Field(default_factory=list)
    tenant_id: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    rate_limit: int | None = None
    expires_at: datetime | None = None


class ApiKeyCreated(ApiKey):
    """A new key: ``key`` (``dk_...``) is shown this once."""

    key: str


class Me(_Model):
    key_id: str | None = None
    tenant_id: str
    scopes: list[str] = Field(default_factory=list)


class Webhook(_Model):
    id: str
    url: str
    events: list[str] = Field(default_factory=list)
    description: str | None = None
    enabled: bool = True
    created_at: datetime | None = None
    disabled_reason: str | None = None


class WebhookCreated(Webhook):
    """A new endpoint (or a rotated one): ``signing_secret`` (``whsec_...``) is
    shown this once."""

    signing_secret: str


class Delivery(_Model):
    id: str
    event_id: str | None = None
    event_type: str | None = None
    status: str
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None


class DeliveryPage(_Model):
    deliveries: list[Delivery]
    cursor: str | None = None
    has_more: bool = False

    @property
    def items(self) -> list[Delivery]:
        return self.deliveries
