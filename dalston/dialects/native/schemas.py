"""Pydantic shapes of the native API, kept apart from the ORM rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dalston.transcript import Entity, PiiSummary, Segment, Speaker, Word


class JobCreated(BaseModel):
    id: str
    status: str
    display_name: str | None
    model: str
    created_at: datetime


class JobSummary(BaseModel):
    id: str
    status: str
    display_name: str | None
    model: str
    created_at: datetime
    completed_at: datetime | None
    audio_duration_seconds: float | None
    language_code: str | None
    error: str | None


class JobList(BaseModel):
    jobs: list[JobSummary]
    cursor: str | None
    has_more: bool


class StageInfo(BaseModel):
    stage: str
    engine_id: str
    status: str
    # The stages this one waits for (the job's DAG), and its queue wait: from
    # being put on its engine's queue to an engine taking it (last attempt).
    depends_on: list[str] = []
    queued_at: datetime | None = None
    queue_wait_ms: int | None = None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    retries: int
    error: str | None
    # How far the stage has got (0-1): 1 once done, the running task's own
    # report while it runs (the transcriber reports it), else null.
    progress: float | None = None


class RetentionInfo(BaseModel):
    """How long a job is kept: ``keep`` (until deleted), ``days`` (purged at
    ``purge_after``, set once the job has finished) or ``after_delivery`` (purged
    once its finished result has been fetched)."""

    mode: Literal["keep", "days", "after_delivery"]
    days: int | None = None
    purge_after: datetime | None = None


SpeakerNames = dict[str, str | None]


class JobUpdate(BaseModel):
    """``PATCH /v1/audio/transcriptions/{id}``."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=255)
    # Speaker id -> name ("SPEAKER_00": "Alice"); null or "" takes a name away.
    speakers: dict[str, str | None] | None = Field(default=None, max_length=64)

    @field_validator("display_name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("display_name must not be blank")
        return value

    @field_validator("speakers")
    @classmethod
    def _names(
        cls, value: dict[str, str | None] | None
    ) -> dict[str, str | None] | None:
        for speaker_id, name in (value or {}).items():
            if not speaker_id or len(speaker_id) > 64:
                raise ValueError("speaker ids are 1-64 characters")
            if name is not None and len(name.strip()) > 100:
                raise ValueError("a speaker name is at most 100 characters")
        return value


class PiiInfo(PiiSummary):
    """The PII stage's summary, with the names the original Dalston clients read
    (``pii.enabled``, ``pii.entities_detected``, ``pii.entity_summary``,
    ``pii.redacted_audio_available``) beside ours."""

    enabled: bool = True
    entities_detected: int
    entity_summary: dict[str, int]
    redacted_audio_available: bool

    @classmethod
    def of(cls, summary: PiiSummary, entities: list[Entity] | None) -> PiiInfo:
        counts: dict[str, int] = {}
        for entity in entities or ():
            counts[entity.entity_type] = counts.get(entity.entity_type, 0) + 1
        return cls(
            **summary.model_dump(),
            entities_detected=summary.entity_count,
            entity_summary=counts,
            redacted_audio_available=summary.redacted_audio,
        )


class JobResponse(BaseModel):
    id: str
    status: str
    display_name: str | None
    model: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error: str | None
    stages: list[StageInfo]
    # The share of the audio transcribed so far (0-1); 1 once completed.
    progress: float | None = None
    parameters: dict[str, object]
    audio_duration_seconds: float | None = None
    # False once the audio was deleted (DELETE .../audio); the transcript stays.
    audio_stored: bool = True
    language_code: str | None = None
    language_probability: float | None = None
    text: str | None = None
    segments: list[Segment] | None = None
    speakers: list[Speaker] | None = None
    words: list[Word] | None = None
    # PII stage (pii_detection): what was found, and the text with it masked.
    pii: PiiInfo | None = None
    entities: list[Entity] | None = None
    redacted_text: str | None = None
    warnings: list[str] | None = None
    retention: RetentionInfo = Field(default_factory=lambda: RetentionInfo(mode="keep"))


class ModelInfo(BaseModel):
    id: str
    object: Literal["model"] = "model"
    engine_id: str
    stage: str
    status: str
    languages: list[str] | None
    word_timestamps: bool
    size_bytes: int | None
    supports_cpu: bool
    supports_gpu: bool
    source: str
    description: str
    loaded: bool = Field(
        default=False,
        description="An engine or realtime worker holds the model in memory now.",
    )
    downloaded_bytes: int | None = Field(
        default=None,
        description="While downloading: bytes of the model in the cache so far.",
    )
    download_progress: float | None = Field(
        default=None,
        description="Hub models: 0..1 while downloading (when the size is known), "
        "1.0 once ready.",
    )
    error: str | None = Field(
        default=None, description="status failed: why the last pull failed."
    )


class ModelPull(ModelInfo):
    """``POST /v1/models/{id}/pull``: the model, and what the pull did."""

    message: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelInfo]


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    scopes: list[str] = Field(default_factory=lambda: ["jobs:read", "jobs:write"])
    tenant_id: str | None = Field(
        default=None, max_length=64, description="Admins may mint keys for any tenant."
    )
    rate_limit: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Requests per minute; null: the tenant default.",
    )
    expires_at: datetime | None = Field(
        default=None, description="After this the key is refused (401)."
    )


class KeyInfo(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    tenant_id: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    rate_limit: int | None = None
    expires_at: datetime | None = None


class KeyCreated(KeyInfo):
    key: str


class KeyList(BaseModel):
    keys: list[KeyInfo]


class Me(BaseModel):
    key_id: str | None
    tenant_id: str
    scopes: list[str]


class TokenCreate(BaseModel):
    ttl: int = Field(default=900, ge=10, le=3600, description="Seconds until expiry.")
    scopes: list[str] = Field(default_factory=lambda: ["realtime"])


class TokenCreated(BaseModel):
    token: str
    expires_at: datetime
    scopes: list[str]


class DayUsage(BaseModel):
    date: date
    completed: int
    failed: int
    audio_seconds: float
    processing_seconds: float
    rtfx: float | None = Field(
        description="Audio seconds per second of processing (jobs with a start "
        "time); null on a day without one."
    )


class JobStats(BaseModel):
    running: int
    queued: int
    completed_today: int
    failed_today: int
    audio_seconds_today: float
    daily: list[DayUsage] = Field(
        description="The last `days` UTC days, oldest first, today last; every "
        "day present."
    )


class BoardTask(BaseModel):
    id: str
    job_id: str
    job_name: str | None
    tenant_id: str
    stage: str
    engine_id: str
    status: Literal["running", "queued", "waiting"]
    attempts: int
    queued_at: datetime | None
    started_at: datetime | None
    waited_s: float | None = Field(
        description="Seconds on the queue: until it started, or until now."
    )
    running_s: float | None = Field(description="Seconds since it started.")


class TaskBoard(BaseModel):
    tasks: list[BoardTask]
    has_more: bool
    by_engine: dict[str, dict[str, int]] = Field(
        description="Per engine, the listed tasks per status."
    )


class AuditEntry(BaseModel):
    id: str
    timestamp: datetime
    tenant_id: str
    actor_type: str
    actor_id: str | None
    action: str
    resource_type: str
    resource_id: str
    detail: dict[str, Any]
    ip_address: str | None
    user_agent: str | None


class AuditList(BaseModel):
    events: list[AuditEntry]
    cursor: str | None
    has_more: bool
