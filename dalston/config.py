"""One typed settings object, built once per process and passed down.

Defaults describe embedded mode: SQLite, an in-process queue and a local artifact
folder under ``DALSTON_DATA_DIR``. Distributed mode is selected by pointing
``DATABASE_URL`` / ``REDIS_URL`` / ``S3_ENDPOINT_URL`` at real services.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dalston.audio.limits import AudioLimits
from dalston.catalog import ModelCatalog
from dalston.engine_sdk.base import EngineConfig
from dalston.engine_sdk.registry import stage_engine


class Device(StrEnum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class AuthMode(StrEnum):
    API_KEY = "api_key"
    NONE = "none"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Every knob of a Dalston process. Env vars are ``DALSTON_*`` unless noted."""

    model_config = SettingsConfigDict(
        env_prefix="DALSTON_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- where state lives ----------------------------------------------------
    data_dir: Path = Field(
        default=Path(".dalston"), description="Artifacts, SQLite file and admin key."
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=_env("DATABASE_URL"),
        description="SQLAlchemy async URL; default: SQLite in data_dir.",
    )
    redis_url: str | None = Field(default=None, validation_alias=_env("REDIS_URL"))
    s3_endpoint_url: str | None = Field(
        default=None, validation_alias=_env("S3_ENDPOINT_URL")
    )
    s3_bucket: str = "dalston"
    storage: str = Field(
        default="auto",
        description="auto (S3 when S3_ENDPOINT_URL is set, else the local folder) "
        "or s3 (AWS S3 with the usual AWS_* settings).",
    )
    redis_prefix: str = Field(
        default="dalston",
        description="Prefix of every Redis key, so installations can share a Redis.",
    )
    queue_visibility_s: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="Redis Streams: a task unacknowledged this long is handed to "
        "another worker (its worker is presumed dead).",
    )
    queue_consumer_ttl_s: Annotated[float, Field(gt=0)] = Field(
        default=15.0,
        description="Redis Streams: a consumer (worker or orchestrator) whose "
        "liveness key is this old is dead, and its tasks are taken over at once "
        "rather than after the visibility timeout.",
    )
    hf_token: str | None = Field(default=None, validation_alias=_env("HF_TOKEN"))

    # --- HTTP ----------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    auth: AuthMode = AuthMode.API_KEY
    max_upload_bytes: Annotated[int, Field(ge=1)] = 1024 * 1024 * 1024
    request_header_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=30.0,
        description="A connection whose request headers have not all arrived this "
        "long after it opened (or after the previous response) is closed.",
    )
    upload_idle_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="A request body that sends nothing for this long is cut off "
        "with a 408 (a stalled or deliberately slow upload holds no connection).",
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Let audio_url point at loopback / private addresses (SSRF guard).",
    )
    url_fetch_timeout_s: Annotated[float, Field(gt=0)] = 60.0
    max_audio_duration_s: Annotated[float, Field(gt=0)] = Field(
        default=2 * 3600.0,
        description="Longest audio a job may hold; longer files are refused before "
        "any work (from the header) and decoding stops at this length.",
    )
    max_audio_channels: Annotated[int, Field(ge=1, le=64)] = 16

    # --- engines --------------------------------------------------------------
    default_model: str = "whisper-tiny.en"
    device: Device = Device.AUTO
    compute_type: str = Field(
        default="default", description="CTranslate2 compute type: int8, float16, ..."
    )
    cpu_threads: Annotated[int, Field(ge=0)] = 0
    engine_concurrency: Annotated[int | None, Field(ge=1, le=64)] = Field(
        default=None,
        description="Tasks each engine runs at a time; unset: the engine's own "
        "choice (one, but two transcriptions side by side on a CPU with two cores "
        "or more)",
    )
    engine_nice: Annotated[int, Field(ge=0, le=19)] = Field(
        default=10,
        description="In a process that also serves HTTP (embedded mode), engine "
        "threads run this many nice steps below it, so requests are answered "
        "while inference takes the rest of the CPU; 0 turns it off",
    )
    engine_sched_idle: bool = Field(
        default=False,
        description="In a process that also serves live streams, engine threads "
        "(and the aligner's processes) run under Linux's SCHED_IDLE policy: they "
        "take the cores only when stream decodes and requests leave them idle "
        "(realtime first; batch work nearly stops while anything else keeps the "
        "cores busy). Off: the nice steps and the batch pause alone.",
    )
    engine_batch_size: Annotated[int, Field(ge=1, le=256)] = 1
    beam_size: Annotated[int, Field(ge=1, le=16)] = 5
    vad_batch_threshold_s: Annotated[float, Field(ge=0)] = Field(
        default=120.0,
        description="Audio longer than this is decoded with VAD-batched inference.",
    )
    vad_batch_size: Annotated[int, Field(ge=1, le=256)] | None = Field(
        default=None,
        description="Windows decoded at once on the long-audio path. Default: 8 on "
        "a GPU; 1 on CPU, where batching gains no speed and each window in a batch "
        "holds ~30-60 MB of encoder attention (tiny.en, batch 8: +450 MB): there "
        "windows are decoded side by side instead, one per task slot.",
    )
    model_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders whose sub-folders are CTranslate2 models, served by "
        "name; in the environment a list separated by ':' or ','.",
    )
    model_idle_ttl_s: Annotated[float, Field(ge=0)] = Field(
        default=900.0,
        description="A batch engine unloads a model no task has used for this "
        "many seconds (its memory goes back to the system); the next job that "
        "needs it loads it again. 0: models stay loaded.",
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description="Where models joined from packages go (data_dir/models); hub "
        "downloads use the Hugging Face cache (HF_HOME).",
    )

    # --- compatibility dialects -------------------------------------------------
    elevenlabs_models: dict[str, str] = Field(
        default_factory=lambda: {"scribe_v1": "auto", "scribe_v2": "auto"},
        description="ElevenLabs model_id -> Dalston model id ('auto': the default).",
    )
    openai_models: dict[str, str] = Field(
        default_factory=lambda: {
            name: "auto"
            for name in (
                "whisper-1",
                "gpt-4o-transcribe",
                "gpt-4o-mini-transcribe",
                "gpt-4o-mini-transcribe-2025-12-15",
                "gpt-transcribe",
            )
        },
        description="OpenAI model -> Dalston model id ('auto': the default).",
    )
    multilingual_model: str = Field(
        default="whisper-base",
        description="Used for 'auto' when the request needs more than English "
        "(another language, translation, language detection).",
    )
    sync_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=600.0, description="How long a synchronous request waits for its job."
    )
    webhook_secret: str | None = Field(
        default=None, description="HMAC secret for signing webhook deliveries."
    )
    webhook_max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    webhook_backoff_s: Annotated[float, Field(ge=0)] = 2.0
    webhook_disable_after: Annotated[int, Field(ge=1)] = Field(
        default=20,
        description="A /v1/webhooks endpoint is disabled after this many "
        "consecutive failed deliveries.",
    )
    webhook_lease_s: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="How long a process holds a delivery it is sending; one whose "
        "sender died is sent again after this.",
    )
    webhook_poll_s: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="How often the delivery loop looks for work."
    )
    webhook_retention_days: Annotated[float, Field(gt=0)] = Field(
        default=30.0,
        description="Ended webhook deliveries (and their events) are removed by "
        "the retention sweep after this many days.",
    )

    # --- enrichment stages (docs/stages.md) -------------------------------------
    engines: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Batch engines the embedded server runs (default: every "
        "installed one); in the environment a list separated by ','. A job whose "
        "stages need another engine is refused at submit time.",
    )
    align_words: bool = Field(
        default=True,
        description="Re-time Whisper's words with the forced aligner when word "
        "timestamps are asked for and the aligner is installed (a request's "
        "word_alignment field overrides it).",
    )
    diarization_backend: Literal["resemblyzer", "pyannote"] = Field(
        default="resemblyzer",
        description="Speaker diarization engine: resemblyzer (ships its weights, "
        "CPU) or pyannote (needs HF_TOKEN and the gated pyannote weights).",
    )
    pyannote_model: str = Field(
        default="pyannote/speaker-diarization-3.1",
        description="The pyannote pipeline loaded by the pyannote backend.",
    )

    # --- realtime -------------------------------------------------------------------
    realtime_capacity: Annotated[int, Field(ge=0, le=256)] | Literal["auto"] = Field(
        default=4,
        description="Live sessions this process serves at once (0: none); 'auto': "
        "as many as its decode threads hold at the latency target, from a decode "
        "timed at start-up.",
    )
    realtime_threads: Annotated[int, Field(ge=1, le=64)] = Field(
        default=2, description="Inference threads shared by this process's streams."
    )
    advertise_url: str | None = Field(
        default=None,
        description="How gateways reach this realtime worker, e.g. ws://host:8001 "
        "(default: ws://<hostname>:<port>).",
    )
    realtime_beam_size: Annotated[int, Field(ge=1, le=8)] = 1
    realtime_short_partials: bool = Field(
        default=True,
        description="Partials are decoded in an encoder window fitted to their "
        "audio (at least 10 s) instead of Whisper's 30 s: several times cheaper, "
        "so first words show sooner; finals always use the full window.",
    )
    realtime_batch_size: Annotated[int, Field(ge=1, le=64)] | None = Field(
        default=None,
        description="Partials of different live streams waiting together are "
        "decoded as one batch of up to this many (one encoder call). Unset: 8 on "
        "a GPU, 1 (no batching) on CPU, where a batch costs more than its parts.",
    )
    realtime_batch_pause_s: Annotated[float, Field(ge=0, le=60)] = Field(
        default=2.0,
        description="In a process that serves live streams and runs batch engines "
        "(the embedded server), batch work pauses between its units while stream "
        "decodes wait or run, at most this long at a time; 0: never.",
    )
    realtime_max_lag_s: Annotated[float, Field(gt=0)] = 10.0
    realtime_idle_timeout_s: Annotated[float, Field(ge=0)] = Field(
        default=60.0,
        description="A live session that sends nothing (no audio, no message) "
        "this long is closed (close 4408), freeing its slot; 0: never.",
    )
    realtime_max_session_s: Annotated[float, Field(ge=0)] = Field(
        default=14400.0,
        description="A live session is ended after this long (its last words "
        "flushed, then close 4413); 0: no limit.",
    )
    realtime_heartbeat_s: Annotated[float, Field(gt=0)] = Field(
        default=30.0,
        description="How often a server stamps the records of the live sessions "
        "it holds and saves their new finals (what a crash can lose at most). A "
        "record left unstamped for five periods is ended as failed: its server "
        "died.",
    )

    # --- rate limits and quotas (per tenant; 0 or unset: unlimited) -------------
    rate_limit_requests_per_minute: Annotated[int | None, Field(ge=0)] = Field(
        default=None,
        description="Requests per minute of each API key without its own "
        "rate_limit; over it: 429 with Retry-After.",
    )
    rate_limit_concurrent_jobs: Annotated[int | None, Field(ge=0)] = Field(
        default=None,
        description="Unfinished (pending or running) batch jobs per tenant; the "
        "next submit is refused with 429 and nothing is stored.",
    )
    rate_limit_concurrent_sessions: Annotated[int | None, Field(ge=0)] = Field(
        default=None,
        description="Live realtime sessions per tenant; the next is closed 4429.",
    )

    # --- orchestration --------------------------------------------------------
    task_max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    task_retry_backoff_s: Annotated[float, Field(ge=0)] = 1.0
    task_timeout_s: Annotated[float, Field(gt=0)] = 3600.0
    queue_max_size: Annotated[int, Field(ge=1)] = 10_000
    retention_sweep_s: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="How often the orchestrator purges jobs and realtime sessions "
        "whose retention has run out.",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as text, or as JSON objects carrying trace, job "
        "and session ids.",
    )
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=0,
        description="Serve Prometheus metrics on this port from processes with no "
        "HTTP API (orchestrator, batch workers); 0: not served.",
    )

    @field_validator("engines", mode="before")
    @classmethod
    def _split_engines(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("model_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            return [p for p in re.split(r"[:,]", value) if p.strip()]
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the plain driver-less forms people paste from other tools.
            if url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url[len("postgres://") :]
            elif url.startswith("postgresql://"):
                url = "postgresql+asyncpg://" + url[len("postgresql://") :]
            elif url.startswith("sqlite://") and "+aiosqlite" not in url:
                url = url.replace("sqlite://", "sqlite+aiosqlite://", 1)
            return url
        return f"sqlite+aiosqlite:///{self.data_dir / 'dalston.db'}"

    @property
    def diarize_engine(self) -> str:
        return stage_engine("diarize", backend=self.diarization_backend)

    @property
    def resolved_model_cache_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    def audio_limits(self) -> AudioLimits:
        return AudioLimits(
            max_duration_s=self.max_audio_duration_s,
            max_channels=self.max_audio_channels,
        )

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            device=self.device.value,
            compute_type=self.compute_type,
            cpu_threads=self.cpu_threads,
            concurrency=self.engine_concurrency,
            max_batch_size=self.engine_batch_size,
            beam_size=self.beam_size,
            vad_batch_threshold_s=self.vad_batch_threshold_s,
            vad_batch_size=self.vad_batch_size,
            model_cache_dir=self.resolved_model_cache_dir,
            model_dirs=tuple(self.model_dirs),
            hf_token=self.hf_token,
            default_model=self.default_model,
            audio_limits=self.audio_limits(),
        )

    def catalog(self) -> ModelCatalog:
        return ModelCatalog(
            cache_dir=self.resolved_model_cache_dir,
            local_dirs=self.model_dirs,
            hf_token=self.hf_token,
        )

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def admin_key_file(self) -> Path:
        return self.data_dir / "admin_key"
