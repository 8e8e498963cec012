"""The runtime owns what outlives a request."""

from __future__ import annotations

from pathlib import Path

from dalston.config import Settings
from dalston.runtime import Role, Runtime

AUDIO = Path(__file__).resolve().parent / "data" / "whisper_jfk.flac"


async def test_purge_once_finished_is_a_stored_mark_not_a_timer(tmp_path: Path) -> None:
    """ElevenLabs ``enable_logging=false`` after a sync timeout: the job is marked,
    and removed by the retention sweep once it reaches a final state, whichever
    process is alive then."""
    from dalston.services.jobs import AudioSource, JobRequest

    settings = Settings(data_dir=tmp_path, realtime_capacity=0)
    runtime = Runtime.build(settings, Role(engines=(), realtime=False))
    await runtime.start()
    try:
        with AUDIO.open("rb") as fh:
            job = await runtime.jobs.submit(
                tenant_id="default",
                request=JobRequest.build(language="en"),
                source=AudioSource(upload=fh, filename=AUDIO.name),
            )
        await runtime.jobs.purge_once_finished(job.id)  # still pending: marked
        assert await runtime.jobs.purge_expired() == 0
        await runtime.jobs.cancel(tenant_id="default", job_id=job.id)
        assert await runtime.jobs.purge_expired() == 1
    finally:
        await runtime.stop()
