"""``AsyncDalston`` against the real app in process (fake transcriber: seconds, no
model): jobs, pages, exports, errors, keys, discovery, sessions, webhooks."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import BASE_URL, DATA
from dalston_sdk import (
    AsyncDalston,
    AuthenticationError,
    ConflictError,
    Job,
    NotFoundError,
    PermissionDeniedError,
    UnsupportedMediaError,
    ValidationError,
)

from tests.inproc.conftest import InProcess

CLIP = DATA / "pv_ls_1272_128104_0000.wav"


def client(app: InProcess, key: str | None = None) -> AsyncDalston:
    return AsyncDalston(
        BASE_URL, api_key=key or app.admin_key, transport=app.transport()
    )


async def test_transcribe_waits_for_the_job(app: InProcess) -> None:
    app.fake.text = "Mister Quilter is the apostle. Of the middle classes."
    async with client(app) as dalston:
        job = await dalston.transcribe(
            CLIP, language="en", name="quilter", timestamps_granularity="word"
        )
    assert isinstance(job, Job)
    assert job.status == "completed", job.error
    assert job.display_name == "quilter"
    assert job.text == app.fake.text
    assert job.segments and len(job.segments) == 2
    assert job.words and job.words[0].text == "Mister"
    assert job.language_code == "en"
    assert job.created_at is not None and job.done


async def test_transcribe_from_bytes_and_file_object_without_waiting(
    app: InProcess,
) -> None:
    audio = await asyncio.to_thread(CLIP.read_bytes)
    async with client(app) as dalston:
        created = await dalston.transcribe(audio, wait=False, language="en")
        assert created.status == "pending"
        with CLIP.open("rb") as fh:
            other = await dalston.transcribe(fh, wait=False, language="en")
        done = await dalston.wait(created.id, timeout=30, poll_interval=0.01)
        assert (await dalston.wait(other.id, timeout=30)).status == "completed"
    assert done.status == "completed" and done.text


async def test_wait_is_answered_as_the_job_finishes(app: InProcess) -> None:
    """``wait`` asks the server to hold its request until the job is finished (a
    long poll), so the finished job comes back at once, in one request."""
    app.fake.gate = threading.Event()  # the transcriber holds the job
    inner = app.transport()
    gets: list[httpx.URL] = []

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "GET":
                gets.append(request.url)
            return await inner.handle_async_request(request)

    async with AsyncDalston(
        BASE_URL, api_key=app.admin_key, transport=Counting()
    ) as dalston:
        created = await dalston.transcribe(CLIP, wait=False, language="en")
        waiting = asyncio.create_task(dalston.wait(created.id, timeout=30))
        await asyncio.sleep(1.0)
        assert not waiting.done()
        released = time.monotonic()
        app.fake.gate.set()
        done = await waiting
    assert done.status == "completed"
    assert time.monotonic() - released < 2
    assert len(gets) == 1 and gets[0].params["wait"] == "20.0", gets


async def test_idempotency_key_returns_the_same_job(app: InProcess) -> None:
    async with client(app) as dalston:
        first = await dalston.transcribe(CLIP, wait=False, idempotency_key="sdk-1")
        again = await dalston.transcribe(CLIP, wait=False, idempotency_key="sdk-1")
    assert first.id == again.id


async def test_exports(app: InProcess) -> None:
    app.fake.text = "Hello there. General Kenobi."
    async with client(app) as dalston:
        job = await dalston.transcribe(CLIP, language="en")
        srt = await dalston.export(job.id, "srt")
        vtt = await dalston.export(job.id, "vtt", max_line_length=20, max_lines=1)
        txt = await dalston.export(job.id, "txt")
        as_json = await dalston.export(job.id, "json")
    assert srt.startswith("1\n") and "-->" in srt and "Hello there." in srt
    assert vtt.startswith("WEBVTT") and "General Kenobi." in vtt
    assert txt.strip() == app.fake.text
    assert '"segments"' in as_json


async def test_pages_and_iter_jobs(app: InProcess) -> None:
    async with client(app) as dalston:
        ids = {
            (await dalston.transcribe(CLIP, wait=False, language="en")).id
            for _ in range(5)
        }
        page = await dalston.list_jobs(limit=2)
        assert len(page.jobs) == 2 and page.has_more and page.cursor
        second = await dalston.list_jobs(limit=2, cursor=page.cursor)
        assert not {j.id for j in page.jobs} & {j.id for j in second.jobs}
        seen = [job.id async for job in dalston.iter_jobs(page_size=2)]
        for job_id in ids:
            await dalston.wait(job_id, timeout=30)
        completed = [j async for j in dalston.iter_jobs(status="completed")]
    assert ids <= set(seen) and len(seen) == len(set(seen))
    assert ids <= {j.id for j in completed}


async def test_cancel_rename_delete(app: InProcess) -> None:
    async with client(app) as dalston:
        job = await dalston.transcribe(CLIP, language="en")
        renamed = await dalston.update_job(job.id, display_name="renamed")
        assert renamed.display_name == "renamed"
        with pytest.raises(ConflictError):
            await dalston.cancel(job.id)  # completed: not cancellable
        await dalston.delete_audio(job.id)
        assert (await dalston.get_job(job.id)).audio_stored is False
        await dalston.delete(job.id)
        with pytest.raises(NotFoundError) as caught:
            await dalston.get_job(job.id)
    assert caught.value.status_code == 404 and caught.value.code == "not_found"


async def test_errors(app: InProcess, tmp_path: Path) -> None:
    async with client(app, key="dk_not_a_key") as bad:
        with pytest.raises(AuthenticationError) as caught:
            await bad.list_jobs()
    assert caught.value.status_code == 401
    junk = b"%PDF-1.4 this is not audio at all\n" * 200
    async with client(app) as dalston:
        with pytest.raises(NotFoundError):
            await dalston.get_job("00000000-0000-0000-0000-000000000000")
        with pytest.raises(UnsupportedMediaError) as media:
            await dalston.transcribe(junk, filename="doc.wav", wait=False)
        with pytest.raises(ValidationError) as invalid:
            await dalston.transcribe(CLIP, wait=False, num_speakers=99)
        with pytest.raises(ValidationError):
            await dalston.transcribe(CLIP, wait=False, extra_fields={"nope": "1"})
        with pytest.raises(ValidationError):
            await dalston.list_jobs(limit=1000)
        reader = await dalston.create_key("reader", scopes=["jobs:read"])
    assert media.value.status_code == 415
    assert invalid.value.status_code in (400, 422) and invalid.value.param
    async with client(app, key=reader.key) as limited:
        with pytest.raises(PermissionDeniedError):
            await limited.transcribe(CLIP, wait=False)


async def test_keys_me_and_tokens(app: InProcess) -> None:
    async with client(app) as dalston:
        me = await dalston.me()
        assert "admin" in me.scopes
        created = await dalston.create_key("sdk", scopes=["jobs:read", "realtime"])
        assert created.key.startswith("dk_") and created.scopes == [
            "jobs:read",
            "realtime",
        ]
        assert created.id in {k.id for k in await dalston.list_keys()}
        token = await dalston.create_token(ttl=60)
        assert token.token.startswith("tk_") and token.scopes == ["realtime"]
        await dalston.revoke_key(created.id)
        with pytest.raises(NotFoundError):
            await dalston.revoke_key("no-such-key")
    async with client(app, key=created.key) as revoked:
        with pytest.raises(AuthenticationError):
            await revoked.me()


async def test_discovery(app: InProcess) -> None:
    async with client(app) as dalston:
        models = await dalston.list_models()
        assert models and all(m.id for m in models)
        one = await dalston.get_model(models[0].id)
        assert one.id == models[0].id
        with pytest.raises(NotFoundError):
            await dalston.get_model("no-such-model")
        engines = await dalston.list_engines()
        assert any(e.stage == "transcribe" for e in engines)
        status = await dalston.realtime_status()
        assert status.status in ("ready", "at_capacity", "unavailable")
        assert (await dalston.health())["status"] == "healthy"
        sessions = await dalston.list_sessions(limit=5)
        assert sessions.sessions == [] and not sessions.has_more
        with pytest.raises(NotFoundError):
            await dalston.get_session("no-such-session")


async def test_operations_routes(app: InProcess) -> None:
    """Webhooks, stats and model pulls (Operations): listing and stats answer,
    and an unknown webhook, delivery or model is a NotFoundError."""
    async with client(app) as dalston:
        hooks = await dalston.list_webhooks()
        assert hooks == []
        stats = await dalston.job_stats(days=3)
        assert stats.running >= 0 and stats.queued >= 0
        assert len(stats.daily) == 3 and stats.daily[-1].date >= stats.daily[0].date
        for call in (
            dalston.get_webhook("w"),
            dalston.update_webhook("w", enabled=False),
            dalston.delete_webhook("w"),
            dalston.rotate_webhook_secret("w"),
            dalston.list_deliveries("w"),
            dalston.retry_delivery("w", "d"),
            dalston.pull_model("tiny.en"),
        ):
            with pytest.raises(NotFoundError):
                await call
