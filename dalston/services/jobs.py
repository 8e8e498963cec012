"""Batch jobs: submit, read, list, rename, cancel, delete, export, retention. Routes
call this; it never runs inference, it hands work to the orchestrator."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, BinaryIO, cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from dalston import telemetry
from dalston.audio import read_header
from dalston.catalog import ModelCatalog
from dalston.config import Settings
from dalston.db.models import Job, Task, utcnow
from dalston.engine_sdk.registry import SPECS, install_hint, installed_engines
from dalston.errors import (
    ArtifactMissing,
    Conflict,
    DalstonError,
    InvalidRequest,
    NotFound,
    input_error,
)
from dalston.orchestrator import JobStatus, Orchestrator, TaskStatus, build_dag
from dalston.orchestrator.dag import (
    ALIGN_ENGINE,
    StageSpec,
)
from dalston.orchestrator.orchestrator import (
    JOB_TRACEPARENT,
    PURGE_WHEN_FINISHED,
    new_tasks,
)
from dalston.pii import AUDIO_REDACTION_MODES, REDACTION_MODES, resolve_entity_types
from dalston.services import policy
from dalston.services.limits import Limits
from dalston.services.request import TranscriptionRequest
from dalston.services.url_fetch import fetch_to_file
from dalston.storage.base import ArtifactStore, job_prefix
from dalston.transcript import Transcript

log = logging.getLogger(__name__)

_SUFFIX = re.compile(r"^[a-z0-9]{1,8}$")
# The longest a native ``GET`` of a job may wait for it to finish (``?wait=``):
# under the usual proxy and client read timeouts (60 s).
MAX_JOB_WAIT_S = 50.0
# Every dialect's request, batch and realtime (limits declared there, once).
JobRequest = TranscriptionRequest
# Engines of optional stages: refused at submit time when nothing serves them.
_OPTIONAL_ENGINES = frozenset(
    engine_id
    for engine_id, spec in SPECS.items()
    if spec.stage not in ("prepare", "transcribe")
)
# The request field to name when a stage cannot run.
_STAGE_PARAMS = {
    "align": "word_alignment",
    "diarize": "speaker_detection",
    "merge": "speaker_detection",
    "pii": "pii_detection",
    "redact": "redact_pii_audio",
}


async def _all_installed() -> frozenset[str]:
    return frozenset(installed_engines())


def _speaker_params(request: JobRequest) -> dict[str, Any]:
    """Diarization's parameters (ranges and pairings: the request model's)."""
    if not request.diarize:
        return {}
    return {
        "num_speakers": request.num_speakers,
        "min_speakers": request.min_speakers,
        "max_speakers": request.max_speakers,
        "diarization_threshold": request.diarization_threshold,
    }


def _pii_params(request: JobRequest) -> dict[str, Any]:
    if not (request.pii_detection or request.redact_pii_audio):
        for name in ("pii_entity_types", "entity_redaction_mode"):
            if getattr(request, name):
                raise InvalidRequest(f"{name} needs pii_detection=true.", param=name)
        if request.pii_redaction_mode:
            raise InvalidRequest(
                "pii_redaction_mode needs redact_pii_audio=true.",
                param="pii_redaction_mode",
            )
        return {}
    audio_mode = request.pii_redaction_mode or "silence"
    text_mode = request.entity_redaction_mode or "entity_type"
    try:
        types = resolve_entity_types(request.pii_entity_types)
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="pii_entity_types") from None
    if audio_mode not in AUDIO_REDACTION_MODES:
        raise InvalidRequest(
            "pii_redaction_mode must be one of " + ", ".join(AUDIO_REDACTION_MODES),
            param="pii_redaction_mode",
        )
    if text_mode not in REDACTION_MODES:
        raise InvalidRequest(
            "entity_redaction_mode must be one of " + ", ".join(REDACTION_MODES),
            param="entity_redaction_mode",
        )
    return {
        "pii_detection": True,
        "pii_entity_types": list(types),
        "redact_pii_audio": request.redact_pii_audio,
        "pii_redaction_mode": audio_mode,
        "entity_redaction_mode": text_mode,
    }


@dataclass(frozen=True)
class AudioSource:
    """Exactly one of an uploaded file object or a URL."""

    upload: BinaryIO | None = None
    filename: str | None = None
    url: str | None = None
    # Headerless 16-bit little-endian PCM, 16 kHz mono (ElevenLabs pcm_s16le_16).
    raw_pcm_s16le_16k: bool = False


@dataclass(frozen=True)
class JobView:
    job: Job
    transcript: Transcript | None

    @property
    def input_error(self) -> DalstonError | None:
        """Why the job failed, when its input was the cause: the refusal that
        submit would have answered had the check been cheap enough to run there."""
        job = self.job
        if job.status != JobStatus.FAILED or not job.error_code:
            return None
        task = next((t for t in job.tasks if t.error_code), None)
        message = task.error if task is not None and task.error else job.error
        return input_error(job.error_code, message or "The audio was refused.")


class JobService:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        storage: ArtifactStore,
        orchestrator: Orchestrator,
        catalog: ModelCatalog,
        engines_available: Callable[[], Awaitable[frozenset[str]]] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits
        self.sessions = sessions
        self.storage = storage
        self.orchestrator = orchestrator
        self.catalog = catalog
        self.engines_available = engines_available or _all_installed
        self._available_now: frozenset[str] = frozenset()
        # Naming speakers rewrites the stored transcript: one at a time here.
        self._speaker_lock = asyncio.Lock()

    # --- submit ---------------------------------------------------------------
    def validate(self, request: JobRequest) -> tuple[str, dict[str, Any]]:
        """The resolved model id and the parameters the stages get."""
        choice = policy.choose(request, self.settings, self.catalog)
        model_id, language = choice.model, choice.language
        multichannel = (
            request.multichannel or request.speaker_detection == "per_channel"
        )
        diarize = request.speaker_detection == "diarize"
        if diarize and multichannel:
            raise InvalidRequest(
                "speaker_detection=diarize works on one mixed channel; use "
                "per_channel for multichannel audio.",
                param="speaker_detection",
            )
        speaker_params = _speaker_params(request)
        pii_params = _pii_params(request)
        wants_words = request.timestamps_granularity in ("word", "character")
        # Speakers go on words and redaction covers words: both need word times.
        need_words = wants_words or diarize or bool(pii_params)
        params: dict[str, Any] = {
            "language": language,
            "timestamps_granularity": request.timestamps_granularity,
            "vocabulary": list(request.vocabulary),
            "task": request.task,
            "prompt": request.prompt,
            "temperature": request.temperature,
            "seed": request.seed,
            "multichannel": multichannel,
            "speaker_detection": request.speaker_detection,
            "need_word_times": need_words,
            **speaker_params,
            **pii_params,
        }
        if diarize and self.settings.diarization_backend == "pyannote":
            params["diarization_model"] = self.settings.pyannote_model
        params["align"] = self._wants_alignment(request, need_words)
        return model_id, params

    def _wants_alignment(self, request: JobRequest, need_words: bool) -> bool:
        """Explicit ``word_alignment=true`` needs the aligner; the default uses it
        when it is installed and leaves Whisper's times when not."""
        if request.word_alignment is False or not need_words:
            if request.word_alignment and not need_words:
                raise InvalidRequest(
                    "word_alignment needs word timestamps "
                    "(timestamps_granularity=word).",
                    param="word_alignment",
                )
            return False
        if request.word_alignment:
            return True
        return self.settings.align_words and ALIGN_ENGINE in self._available_now

    async def _check_engines(self, specs: list[StageSpec]) -> None:
        """A stage whose engine nothing here serves is refused before any upload."""
        available = await self.engines_available()
        self._available_now = available
        for spec in specs:
            if spec.engine_id in available or spec.engine_id not in _OPTIONAL_ENGINES:
                continue
            raise InvalidRequest(
                f"The {spec.stage} stage needs the {spec.engine_id} engine, which is "
                f"not installed on this server ({install_hint(spec.engine_id)}, or "
                f"start `dalston worker --engine {spec.engine_id}`).",
                param=_STAGE_PARAMS.get(spec.stage),
            )

    async def plan(
        self, request: JobRequest
    ) -> tuple[str, dict[str, Any], list[StageSpec]]:
        """Validate a request and build its stage graph; refuses missing engines."""
        self._available_now = await self.engines_available()
        model_id, params = self.validate(request)
        specs = build_dag(
            params,
            transcribe_engine=self.catalog.get(model_id).engine_id,
            diarize_engine=self.settings.diarize_engine,
        )
        await self._check_engines(specs)
        return model_id, params, specs

    async def submit(
        self,
        *,
        tenant_id: str,
        request: JobRequest,
        source: AudioSource,
        idempotency_key: str | None = None,
        webhook: dict[str, Any] | None = None,
    ) -> Job:
        """Store the audio and create the job (``webhook``: the job's own
        ``webhook_url`` and ``webhook_metadata``, already checked); with
        ``idempotency_key``, a repeat of the same request (same tenant and key)
        gets the job the first made, and another request with that key a 409.
        Once the job row exists the submit succeeds: if dispatching its first
        stage fails here, any orchestrator's sweep of due tasks dispatches it."""
        with telemetry.span("job.create", tenant_id=tenant_id) as current:
            job = await self._submit(
                tenant_id=tenant_id,
                request=request,
                source=source,
                idempotency_key=idempotency_key,
                webhook=webhook,
            )
            if current is not None:
                current.set_attribute("dalston.job_id", job.id)
            log.info(
                "job %s accepted (%s)", job.id, job.model, extra={"job_id": job.id}
            )
            return job

    async def _submit(
        self,
        *,
        tenant_id: str,
        request: JobRequest,
        source: AudioSource,
        idempotency_key: str | None = None,
        webhook: dict[str, Any] | None = None,
    ) -> Job:
        model_id, params, specs = await self.plan(request)
        request_hash = None
        if idempotency_key is not None:
            _check_idempotency_key(idempotency_key)
            request_hash = _fingerprint(model_id, params, request, source)
            existing = await self._by_idempotency_key(tenant_id, idempotency_key)
            if existing is not None:
                return _same_request(existing, request_hash)
        if self.limits is not None:
            # Over the tenant's quota of unfinished jobs: 429, nothing stored.
            await self.limits.check_job(tenant_id)
        if webhook:
            params = {**params, **webhook}
        if traceparent := telemetry.current_traceparent():  # job.create's
            params = {**params, JOB_TRACEPARENT: traceparent}
        job_id = str(uuid.uuid4())
        # Whatever fails from here on (a refused header, a full disk, the
        # insert) keeps nothing of the job: the except clauses below.
        try:
            audio_key, size, duration = await self._store_audio(job_id, source)
            job = Job(
                id=job_id,
                tenant_id=tenant_id,
                status=JobStatus.PENDING,
                display_name=request.display_name or _display_name(source),
                model=model_id,
                params=params,
                audio_key=audio_key,
                audio_bytes=size,
                audio_duration_s=duration,
                created_at=utcnow(),
                retention_days=request.retention_days,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
            async with self.sessions() as session, session.begin():
                session.add(job)
                await session.flush()
                ids = [str(uuid.uuid4()) for _ in specs]
                session.add_all(new_tasks(job_id, specs, ids))
        except IntegrityError:
            # A concurrent request with the same key won the insert.
            await self.storage.delete_prefix(job_prefix(job_id))
            if idempotency_key is None:
                raise
            winner = await self._by_idempotency_key(tenant_id, idempotency_key)
            if winner is None:
                raise
            return _same_request(winner, request_hash)
        except BaseException:
            await self.storage.delete_prefix(job_prefix(job_id))
            raise
        try:
            await self.orchestrator.start_job(job_id)
        except Exception:  # the job exists: the sweep of due tasks starts it
            log.warning(
                "starting job %s failed; left to the sweep", job_id, exc_info=True
            )
        return job

    async def _by_idempotency_key(self, tenant_id: str, key: str) -> Job | None:
        async with self.sessions() as session:
            job: Job | None = await session.scalar(
                select(Job).where(
                    Job.tenant_id == tenant_id, Job.idempotency_key == key
                )
            )
            return job

    async def _store_audio(
        self, job_id: str, source: AudioSource
    ) -> tuple[str, int, float | None]:
        """Check the audio's header and store it; the checks that need the whole
        file run in the prepare stage (``dalston.audio.header``)."""
        if (source.upload is None) == (source.url is None):
            raise InvalidRequest(
                "Send exactly one of a 'file' upload or an 'audio_url'.", param="file"
            )
        if source.upload is not None and not source.raw_pcm_s16le_16k:
            # The multipart parser's spool goes to storage as it is: one copy.
            return await self._put_audio(job_id, source.upload, source.filename)
        with tempfile.NamedTemporaryFile(prefix="dalston-upload-") as spool:
            tmp = cast(BinaryIO, spool)
            if source.url is not None:
                url_path = await fetch_to_file(
                    source.url,
                    tmp,
                    max_bytes=self.settings.max_upload_bytes,
                    timeout_s=self.settings.url_fetch_timeout_s,
                    allow_private=self.settings.allow_private_urls,
                )
                name = PurePosixPath(url_path).name
            else:
                assert source.upload is not None
                await asyncio.to_thread(_copy, source.upload, tmp)
                await asyncio.to_thread(_wrap_pcm_in_wav, tmp)
                name = "audio.wav"
            tmp.flush()
            return await self._put_audio(job_id, tmp, name)

    async def _put_audio(
        self, job_id: str, file: BinaryIO, name: str | None
    ) -> tuple[str, int, float | None]:
        header = await asyncio.to_thread(
            read_header, file, self.settings.audio_limits()
        )
        suffix = _suffix(name or "", header.container)
        key = f"{job_prefix(job_id)}audio/original.{suffix}"
        size = await self.storage.put_stream(key, file)
        return key, size, header.declared_duration_s

    async def wait(self, *, tenant_id: str, job_id: str, timeout: float) -> JobView:
        """The job once finished (or as it is after ``timeout`` seconds);
        ``NotFound`` if it is deleted meanwhile."""
        await self._job(tenant_id, job_id)
        try:
            await self.orchestrator.wait_until_finished(job_id, timeout)
        except KeyError:
            raise NotFound(f"No job with id {job_id}.", param="id") from None
        return await self.get(tenant_id=tenant_id, job_id=job_id)

    async def purge(self, job_id: str) -> None:
        """Remove a finished job and everything stored for it (zero retention).

        Its stored objects go first: should the process die in between, what is
        left is the row (its job answers 404, a delete removes it), never stored
        audio or transcripts that no row points to any more."""
        await self.storage.delete_prefix(job_prefix(job_id))
        async with self.sessions() as session, session.begin():
            row = await session.get(Job, job_id)
            if row is not None:
                await session.delete(row)

    async def purge_once_finished(self, job_id: str) -> None:
        """Remove the job now if it has finished, else as soon as it finishes.

        Durable: an unfinished job is marked (a job parameter the orchestrator
        reads when it moves the job to a final state, setting ``purge_after``),
        and the retention sweep of whichever process is alive removes it.
        """
        async with self.sessions() as session, session.begin():
            row = await session.get(Job, job_id, with_for_update=True)
            if row is None:
                return
            if not JobStatus(row.status).is_terminal:
                row.params = {**row.params, PURGE_WHEN_FINISHED: True}
                return
        await self.purge(job_id)

    async def delivered(self, view: JobView) -> None:
        """Called once a finished job's result has been handed to the client: a
        job with zero retention (``retention=0``) is purged now."""
        job = view.job
        if job.retention_days == 0 and JobStatus(job.status).is_terminal:
            await self.purge(job.id)

    async def purge_expired(self) -> int:
        """Purge every job whose ``purge_after`` has passed (the retention sweep)."""
        async with self.sessions() as session:
            ids = (
                await session.scalars(select(Job.id).where(Job.purge_after < utcnow()))
            ).all()
        for job_id in ids:
            await self.purge(job_id)
        if ids:
            log.info("retention: purged %d expired job(s)", len(ids))
        return len(ids)

    async def unfinished_with_model(self, model_id: str) -> int:
        """Jobs of any tenant that use ``model_id`` and have not finished."""
        finished = [status.value for status in JobStatus if status.is_terminal]
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.model == model_id, Job.status.not_in(finished))
            )
        return int(count or 0)

    # --- read -----------------------------------------------------------------
    async def get(self, *, tenant_id: str, job_id: str) -> JobView:
        job = await self._job(tenant_id, job_id)
        transcript = None
        if job.status == JobStatus.COMPLETED and job.transcript_key:
            try:
                raw = await self.storage.get_bytes(job.transcript_key)
            except KeyError:
                # Purged meanwhile (zero retention, a sweep, a delete): 404.
                await self._job(tenant_id, job_id)
                # The job is there but its transcript object is not.
                raise ArtifactMissing(
                    f"job {job_id} completed but its transcript is no longer stored"
                ) from None
            transcript = Transcript.model_validate_json(raw)
        return JobView(job=job, transcript=transcript)

    async def list(
        self,
        *,
        tenant_id: str,
        status: JobStatus | None,
        since: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Job], str | None, bool]:
        query = select(Job).where(Job.tenant_id == tenant_id)
        if status is not None:
            query = query.where(Job.status == status)
        if since is not None:
            query = query.where(Job.created_at >= since)
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    Job.created_at < created,
                    and_(Job.created_at == created, Job.id < last_id),
                )
            )
        query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
        async with self.sessions() as session:
            rows = list((await session.scalars(query)).all())
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(rows[-1].created_at, rows[-1].id)
            if has_more and rows
            else None
        )
        return rows, next_cursor, has_more

    # --- change ---------------------------------------------------------------
    async def stats(self, *, tenant_id: str) -> dict[str, Any]:
        """The tenant's jobs now and since midnight UTC: running, queued
        (pending), completed and failed today, audio seconds completed today."""
        midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        mine = Job.tenant_id == tenant_id
        today = Job.completed_at >= midnight
        async with self.sessions() as session:
            counts: dict[str, int] = dict(
                (
                    await session.execute(
                        select(Job.status, func.count())
                        .where(
                            mine,
                            Job.status.in_((JobStatus.RUNNING, JobStatus.PENDING)),
                        )
                        .group_by(Job.status)
                    )
                )
                .tuples()
                .all()
            )
            finished: dict[str, int] = dict(
                (
                    await session.execute(
                        select(Job.status, func.count())
                        .where(
                            mine,
                            today,
                            Job.status.in_((JobStatus.COMPLETED, JobStatus.FAILED)),
                        )
                        .group_by(Job.status)
                    )
                )
                .tuples()
                .all()
            )
            seconds = await session.scalar(
                select(func.coalesce(func.sum(Job.audio_duration_s), 0.0)).where(
                    mine, today, Job.status == JobStatus.COMPLETED
                )
            )
        return {
            "running": int(counts.get(JobStatus.RUNNING, 0)),
            "queued": int(counts.get(JobStatus.PENDING, 0)),
            "completed_today": int(finished.get(JobStatus.COMPLETED, 0)),
            "failed_today": int(finished.get(JobStatus.FAILED, 0)),
            "audio_seconds_today": float(seconds or 0.0),
        }

    async def rename(self, *, tenant_id: str, job_id: str, display_name: str) -> None:
        await self._job(tenant_id, job_id)
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Job).where(Job.id == job_id).values(display_name=display_name)
            )

    async def name_speakers(
        self, *, tenant_id: str, job_id: str, names: dict[str, str | None]
    ) -> None:
        """Give speakers names (``None`` or "" takes a name away), kept in the
        stored transcript as ``speakers[].label``: every response and export
        of the job shows them from then on. Needs a completed job, and ids its
        transcript has."""
        job = await self._job(tenant_id, job_id)
        if job.status != JobStatus.COMPLETED or not job.transcript_key:
            raise Conflict(
                f"Job {job_id} is {job.status}; speakers can be named once it "
                "has completed."
            )
        key = job.transcript_key
        async with self._speaker_lock:
            transcript = Transcript.model_validate_json(
                await self.storage.get_bytes(key)
            )
            known = {s.id for s in transcript.speakers}
            unknown = sorted(set(names) - known)
            if unknown:
                raise InvalidRequest(
                    f"No speaker {', '.join(unknown)} in this transcript "
                    f"(it has {', '.join(sorted(known)) or 'none'}).",
                    param="speakers",
                )
            for speaker in transcript.speakers:
                if speaker.id in names:
                    name = (names[speaker.id] or "").strip()
                    speaker.label = name or None
            await self.storage.put_bytes(key, transcript.model_dump_json().encode())

    async def delete_audio(self, *, tenant_id: str, job_id: str) -> None:
        """Remove the stored audio (upload, prepared and redacted copies) of a
        finished job; its transcript and other artifacts stay."""
        job = await self._job(tenant_id, job_id)
        if not JobStatus(job.status).is_terminal:
            raise Conflict(
                f"Job {job_id} is {job.status}; its audio can be deleted once it "
                "has finished."
            )
        # Every stage writes its audio under audio/ (original, prepared, redacted).
        await self.storage.delete_prefix(f"{job_prefix(job_id)}audio/")
        if job.audio_key:
            await self.storage.delete_prefix(job.audio_key)
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Job).where(Job.id == job_id).values(audio_key=None)
            )

    async def cancel(self, *, tenant_id: str, job_id: str) -> Job:
        job = await self._job(tenant_id, job_id)
        if JobStatus(job.status).is_terminal:
            raise Conflict(f"Job {job_id} is already {job.status}.")
        await self.orchestrator.cancel_job(job_id)
        return await self._job(tenant_id, job_id)

    async def delete(self, *, tenant_id: str, job_id: str) -> None:
        job = await self._job(tenant_id, job_id)
        if not JobStatus(job.status).is_terminal:
            raise Conflict(
                f"Job {job_id} is {job.status}; cancel it before deleting it."
            )
        await self.purge(job_id)

    async def _job(self, tenant_id: str, job_id: str) -> Job:
        async with self.sessions() as session:
            job = await session.scalar(
                select(Job).where(Job.id == job_id).options(selectinload(Job.tasks))
            )
        # Another tenant's job is indistinguishable from a missing one.
        if job is None or job.tenant_id != tenant_id:
            raise NotFound(f"No job with id {job_id}.", param="id")
        return job


_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")


def _check_idempotency_key(key: str) -> None:
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters.",
            param="Idempotency-Key",
        )


def _fingerprint(
    model_id: str, params: dict[str, Any], request: JobRequest, source: AudioSource
) -> str:
    """What makes two submits "the same request": the resolved job, and the audio
    by its URL or its upload's name and size."""
    upload_size = None
    if source.upload is not None:
        position = source.upload.tell()
        upload_size = source.upload.seek(0, 2)
        source.upload.seek(position)
    described = {
        "model": model_id,
        "params": params,
        "name": request.display_name,
        "retention": request.retention_days,
        "url": source.url,
        "file": [source.filename, upload_size],
    }
    body = json.dumps(described, sort_keys=True, default=str).encode()
    return hashlib.sha256(body).hexdigest()


def _same_request(job: Job, request_hash: str | None) -> Job:
    if job.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was used for a different request; use a new key.",
            param="Idempotency-Key",
        )
    return job


def stage_timings(tasks: list[Task]) -> list[dict[str, Any]]:
    out = []
    for task in tasks:
        duration = None
        if task.started_at and task.completed_at:
            duration = int((task.completed_at - task.started_at).total_seconds() * 1000)
        wait = None
        if task.queued_at and task.started_at:
            wait = int((task.started_at - task.queued_at).total_seconds() * 1000)
        out.append(
            {
                "stage": task.stage,
                "engine_id": task.engine_id,
                "status": task.status,
                "depends_on": list(task.depends_on),
                "queued_at": task.queued_at,
                "queue_wait_ms": max(wait, 0) if wait is not None else None,
                "started_at": task.started_at,
                "completed_at": task.completed_at,
                "duration_ms": duration,
                "retries": max(task.attempts - 1, 0),
                "error": task.error,
                "progress": 1.0
                if task.status == TaskStatus.SUCCEEDED
                else task.progress
                if task.status == TaskStatus.RUNNING
                else None,
            }
        )
    return out


def audio_progress(job: Job) -> float | None:
    """The share of the job's audio transcribed so far (0-1), from what its
    transcribe task reports; 1 once the job has completed, None where unknown."""
    if job.status == JobStatus.COMPLETED:
        return 1.0
    tasks = [t for t in job.tasks if t.stage == "transcribe"]
    if not tasks:
        return None
    done = sum(
        1.0 if t.status == TaskStatus.SUCCEEDED else (t.progress or 0.0) for t in tasks
    )
    return round(done / len(tasks), 4)


def _wrap_pcm_in_wav(spool: BinaryIO) -> None:
    """Put a 16 kHz mono s16le WAV header in front of raw PCM, in place."""
    import shutil
    import wave

    spool.seek(0)
    with tempfile.TemporaryFile() as pcm:
        shutil.copyfileobj(spool, pcm)
        size = pcm.tell()
        if size == 0:
            raise InvalidRequest("The uploaded file is empty.", param="file")
        if size % 2:
            raise InvalidRequest(
                "pcm_s16le_16 audio must hold whole 16-bit samples.", param="file"
            )
        pcm.seek(0)
        spool.seek(0)
        spool.truncate()
        with wave.open(spool, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16_000)
            while chunk := pcm.read(1024 * 1024):
                out.writeframesraw(chunk)
        spool.flush()


def _copy(src: BinaryIO, dst: Any) -> None:
    src.seek(0)
    while chunk := src.read(1024 * 1024):
        dst.write(chunk)


def _suffix(name: str, container: str) -> str:
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    if _SUFFIX.match(suffix):
        return suffix
    first = container.split(",")[0].lower()
    return first if _SUFFIX.match(first) else "bin"


def _display_name(source: AudioSource) -> str | None:
    if source.filename:
        return source.filename[:255]
    if source.url:
        return (PurePosixPath(source.url.split("?")[0]).name or source.url)[:255]
    return None


def encode_cursor(created: datetime, row_id: str) -> str:
    """An opaque cursor for keyset pagination over (time, id), newest first."""
    raw = json.dumps([created.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, job_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created), str(job_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("Invalid cursor.", param="cursor") from exc
