"""Synchronous requests that outlast ``sync_timeout_s``, in process: the fake's
gate holds the job, so the wait always runs out (no race with a fast machine),
then opens and the job finishes.

- ElevenLabs: 202 with the transcription id, the transcript follows; with zero
  retention a 504, and nothing is left once the job ends.
- OpenAI: 504 ``timeout`` with ``x-should-retry: false`` (the SDK must not
  resubmit) and the job id; a stream ends in an error event.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import openai
import pytest
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import NotFoundError

from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess, fast_settings, running

JOBS = "/v1/audio/transcriptions"


@pytest.fixture(scope="module")
async def _impatient_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[InProcess]:
    settings = fast_settings(
        tmp_path_factory.mktemp("impatient"),
        sync_timeout_s=0.05,
        retention_sweep_s=0.1,
    )
    async for state in running(settings):
        yield state


@pytest.fixture
def held(_impatient_app: InProcess) -> InProcess:
    """The app with its fake's gate closed (opened by the test)."""
    _impatient_app.fake.reset()
    _impatient_app.fake.gate = threading.Event()
    return _impatient_app


async def _until_gone(app: InProcess, job_id: str) -> None:
    deadline = time.monotonic() + 30
    while (await app.client.get(f"{JOBS}/{job_id}")).status_code != 404:
        assert time.monotonic() < deadline, f"job {job_id} was not purged"
        await asyncio.sleep(0.05)
    assert app.stored_keys(f"jobs/{job_id}/") == []


async def test_elevenlabs_answers_202_and_the_transcript_follows(
    held: InProcess,
) -> None:
    eleven = held.elevenlabs()
    answer = await eleven.speech_to_text.convert(
        model_id="scribe_v1", file=JFK.read_bytes(), language_code="en"
    )
    body = answer.model_dump()
    assert "still running" in body["message"] and body["request_id"]
    with pytest.raises(NotFoundError) as missing:
        await eleven.speech_to_text.transcripts.get(body["transcription_id"])
    assert missing.value.body["detail"]["status"] == "transcript_not_ready"
    assert held.fake.gate is not None
    held.fake.gate.set()
    deadline = time.monotonic() + 30
    while True:
        try:
            fetched = await eleven.speech_to_text.transcripts.get(
                body["transcription_id"]
            )
            break
        except NotFoundError as not_yet:
            assert not_yet.body["detail"]["status"] == "transcript_not_ready"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    assert fetched.text == held.fake.text  # type: ignore[union-attr]


async def test_elevenlabs_zero_retention_is_504_and_leaves_nothing(
    held: InProcess,
) -> None:
    with pytest.raises(ApiError) as caught:
        await held.elevenlabs().speech_to_text.convert(
            model_id="scribe_v1",
            file=JFK.read_bytes(),
            enable_logging=False,
            request_options={"max_retries": 0},
        )
    assert caught.value.status_code == 504
    job_id = caught.value.body["detail"]["message"].split()[1]
    assert held.fake.gate is not None
    held.fake.gate.set()
    await _until_gone(held, job_id)


async def test_openai_504_is_not_retried_and_leaves_a_job_to_fetch(
    held: InProcess,
) -> None:
    before = len((await held.client.get(JOBS)).json()["jobs"])
    # The SDK's default retries: x-should-retry: false must stop it resubmitting.
    sdk = held.openai(max_retries=2)
    with pytest.raises(openai.InternalServerError) as info:
        await sdk.audio.transcriptions.create(
            model="whisper-1", file=JFK.open("rb"), language="en"
        )
    assert info.value.status_code == 504
    assert info.value.code == "timeout"
    assert info.value.response.headers["x-should-retry"] == "false"
    job_id = info.value.response.headers["x-dalston-job-id"]
    assert job_id in info.value.message
    stream = await sdk.audio.transcriptions.create(
        model="whisper-1", file=JFK.open("rb"), language="en", stream=True
    )
    with pytest.raises(openai.APIError, match="did not finish"):
        async for _ in stream:
            pass
    jobs = (await held.client.get(JOBS)).json()["jobs"]
    assert len(jobs) == before + 2  # one per request: nothing was retried
    assert held.fake.gate is not None
    held.fake.gate.set()
    job = await held.wait(job_id)
    assert job["status"] == "completed" and job["text"] == held.fake.text
