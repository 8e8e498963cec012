"""A finished job as an ElevenLabs response, and the options kept beside it.

The ElevenLabs view options of a job (granularity, audio-event tagging,
multichannel style) are stored as ``jobs/{id}/elevenlabs.json`` so that
``GET /v1/speech-to-text/transcripts/{id}`` answers in the shape the transcript
was asked for; the file goes with the job's other artifacts when it is deleted.
Jobs made through another API are shown from their own parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dalston.db.models import Job
from dalston.dialects.elevenlabs.export_options import ExportSpec
from dalston.dialects.elevenlabs.response import ResponseOptions, build_response
from dalston.errors import DalstonError, NotFound
from dalston.orchestrator import JobStatus
from dalston.services.jobs import JobView
from dalston.storage.base import ArtifactStore, job_prefix


class TranscriptionFailed(DalstonError):
    status_code = 500
    code = "transcription_failed"


class TranscriptNotReady(NotFound):
    code = "transcript_not_ready"


class SyncTimeout(DalstonError):
    status_code = 504
    code = "timeout"


def options_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}elevenlabs.json"


async def save_options(
    storage: ArtifactStore, job_id: str, options: ResponseOptions
) -> None:
    await storage.put_bytes(options_key(job_id), options.to_json())


async def load_options(storage: ArtifactStore, job: Job) -> ResponseOptions:
    key = options_key(job.id)
    if await storage.exists(key):
        return ResponseOptions.from_json(await storage.get_bytes(key))
    granularity = job.params.get("timestamps_granularity", "word")
    return ResponseOptions(
        timestamps_granularity=granularity
        if granularity in ("word", "character")
        else "none",
        use_multi_channel=bool(job.params.get("multichannel")),
    )


def response_for(
    view: JobView, options: ResponseOptions, formats: Sequence[ExportSpec] = ()
) -> dict[str, Any]:
    """The response body of a finished job; an error for one that failed."""
    job = view.job
    status = JobStatus(job.status)
    if status is JobStatus.COMPLETED and view.transcript is not None:
        return build_response(
            view.transcript,
            options,
            transcription_id=job.id,
            audio_duration_s=job.audio_duration_s,
            formats=formats,
        )
    refused = view.input_error
    if refused is not None:
        raise refused
    if status.is_terminal:
        raise TranscriptionFailed(
            f"Transcription {job.id} {status.value}: {job.error or 'no transcript'}."
        )
    raise TranscriptNotReady(
        f"Transcript {job.id} is not ready yet (status: {status.value}); "
        "try again later."
    )
