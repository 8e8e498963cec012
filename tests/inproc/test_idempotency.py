"""``Idempotency-Key``: a retried submit gets the job the first one made (also
when both arrive at once), another request with the key a 409, on SQLite and
PostgreSQL; once the job row exists a submit never fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess, fast_settings, running

CLIP = JFK.read_bytes()


@pytest.fixture(scope="module")
async def app(
    both_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[InProcess]:
    settings = fast_settings(tmp_path_factory.mktemp("idem"), **both_databases)
    async for state in running(settings):
        yield state


async def _submit(
    client: httpx.AsyncClient, key: str, language: str = "en"
) -> httpx.Response:
    return await client.post(
        "/v1/audio/transcriptions/jobs",
        headers={"Idempotency-Key": key},
        files={"file": ("jfk.flac", CLIP)},
        data={"language": language},
    )


async def _count(app: InProcess) -> int:
    jobs = await app.client.get("/v1/audio/transcriptions", params={"limit": 100})
    return len(jobs.json()["jobs"])


async def test_a_retry_gets_the_same_job(app: InProcess) -> None:
    key = str(uuid.uuid4())
    before = await _count(app)
    first = await _submit(app.client, key)
    again = await _submit(app.client, key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["id"] == again.json()["id"]
    assert await _count(app) == before + 1
    other = await _submit(app.client, key, language="fr")
    assert other.status_code == 409, other.text
    assert other.json()["error"]["param"] == "Idempotency-Key"


async def test_concurrent_retries_make_one_job(app: InProcess) -> None:
    key = str(uuid.uuid4())
    before = await _count(app)
    answers = await asyncio.gather(*(_submit(app.client, key) for _ in range(8)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await _count(app) == before + 1


async def test_the_key_belongs_to_its_tenant(app: InProcess) -> None:
    created = await app.client.post(
        "/auth/keys",
        json={
            "name": "other",
            "scopes": ["jobs:read", "jobs:write"],
            "tenant_id": "t2",
        },
    )
    assert created.status_code == 201, created.text
    key = str(uuid.uuid4())
    mine = await _submit(app.client, key)
    async with app.http(created.json()["key"]) as other:
        theirs = await _submit(other, key)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


async def test_bad_keys_are_refused(app: InProcess) -> None:
    response = await _submit(app.client, "x" * 300)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"


async def test_openai_and_elevenlabs_retries_return_the_same_job(
    app: InProcess,
) -> None:
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    files = {"file": ("jfk.flac", CLIP)}
    first = await app.client.post(
        "/v1/audio/transcriptions",
        headers=headers,
        files=files,
        data={"model": "whisper-1"},
    )
    again = await app.client.post(
        "/v1/audio/transcriptions",
        headers=headers,
        files=files,
        data={"model": "whisper-1"},
    )
    assert first.status_code == again.status_code == 200, again.text
    assert first.headers["x-dalston-job-id"] == again.headers["x-dalston-job-id"]
    key = str(uuid.uuid4())
    eleven = [
        await app.client.post(
            "/v1/speech-to-text",
            headers={"Idempotency-Key": key},
            files=files,
            data={"model_id": "scribe_v1"},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in eleven] == [200, 200], eleven[1].text
    assert eleven[0].json()["transcription_id"] == eleven[1].json()["transcription_id"]


async def test_a_submit_whose_dispatch_fails_still_succeeds(
    app: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue is away when the job is started: the submit answers 201 (no 500
    after the job row exists, so no duplicate on the client's retry) and the
    orchestrator's sweep of due tasks starts the job."""
    orchestrator = app.runtime.orchestrator

    async def queue_away(job_id: str) -> None:
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(orchestrator, "start_job", queue_away)
    response = await _submit(app.client, str(uuid.uuid4()))
    assert response.status_code == 201, response.text
    job = await app.wait(response.json()["id"])
    assert job["status"] == "completed", job
