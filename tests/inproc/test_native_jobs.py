"""The native job API in process: the job JSON, exports, cancelling and failure,
with the fake transcriber (its gate holds tasks, so running and queued jobs are
observed without races).

Storage backends (SQLite, PostgreSQL, Redis + S3), listing and paging across them,
and real transcripts stay with the subprocess servers in
``tests/test_job_lifecycle.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from tests.audio_fixtures import JFK
from tests.inproc.conftest import DATA, InProcess

CLIP = DATA / "deepspeech_ldc93s1_8k.wav"
JOBS = "/v1/audio/transcriptions"
TEXT = "She had your dark suit. In greasy wash water all year."


async def _wait_status(inproc: InProcess, job_id: str, wanted: set[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = (await inproc.client.get(f"{JOBS}/{job_id}")).json()
        if body["status"] in wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {wanted}")


async def test_job_json_and_exports(inproc: InProcess) -> None:
    inproc.fake.text = TEXT
    job_id = await inproc.submit(CLIP, vocabulary='["greasy"]')
    job = await inproc.wait(job_id)
    assert job["status"] == "completed", job
    assert job["text"] == TEXT and job["language_code"] == "en"
    assert job["model"] == "whisper-tiny.en"  # English asked: the fast model
    assert [s["stage"] for s in job["stages"]] == ["prepare", "transcribe"]
    assert all(s["status"] == "succeeded" for s in job["stages"])
    assert job["started_at"] <= job["completed_at"]
    assert " ".join(w["text"] for w in job["words"]) == TEXT
    assert inproc.fake.tasks[-1].params["vocabulary"] == ["greasy"]

    srt = await inproc.client.get(f"{JOBS}/{job_id}/export/srt")
    assert srt.status_code == 200
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert srt.text.startswith("1\n00:00:00,000 --> ")
    vtt = await inproc.client.get(f"{JOBS}/{job_id}/export/vtt")
    assert vtt.text.startswith("WEBVTT\n\n00:00:00.000 --> ")
    for body, skip in ((srt.text, 0), (vtt.text, 1)):
        lines = body.splitlines()[skip:]
        cues = [ln for ln in lines if ln and "-->" not in ln and not ln.isdigit()]
        assert " ".join(cues) == TEXT
    txt = await inproc.client.get(f"{JOBS}/{job_id}/export/txt")
    assert txt.text.strip() == TEXT
    exported = json.loads(
        (await inproc.client.get(f"{JOBS}/{job_id}/export/json")).text
    )
    assert exported["text"] == TEXT
    assert exported["metadata"]["model"] == "whisper-tiny.en"
    bad = await inproc.client.get(f"{JOBS}/{job_id}/export/docx2")
    assert 400 <= bad.status_code < 500 and bad.json()["error"]["message"]

    assert (await inproc.client.delete(f"{JOBS}/{job_id}")).status_code == 204
    assert (await inproc.client.get(f"{JOBS}/{job_id}")).status_code == 404
    assert inproc.stored_keys(f"jobs/{job_id}/") == []


async def test_no_language_runs_the_multilingual_model(inproc: InProcess) -> None:
    inproc.fake.detected_language = "de"
    inproc.fake.text = "Guten Morgen."
    job = await inproc.wait(await inproc.submit(CLIP, language=""))
    assert job["model"] == "whisper-base" and job["language_code"] == "de"
    assert inproc.fake.tasks[-1].params["model"] == "whisper-base"


async def test_presigned_audio_url_refused_on_local_storage(inproc: InProcess) -> None:
    job = await inproc.wait(await inproc.submit(CLIP))
    refused = await inproc.client.get(
        f"{JOBS}/{job['id']}/audio", params={"presigned": True}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "presigned"
    audio = await inproc.client.get(f"{JOBS}/{job['id']}/audio")
    assert audio.content == CLIP.read_bytes()


async def test_cancel_running_and_queued_jobs(inproc: InProcess) -> None:
    inproc.fake.gate = threading.Event()  # held until cancelled
    running = await inproc.submit(CLIP)
    queued = await inproc.submit(CLIP)
    await _wait_status(inproc, running, {"running"})
    # Deleting a running job is refused: cancel first.
    assert (await inproc.client.delete(f"{JOBS}/{running}")).status_code == 409
    for job_id in (queued, running):
        response = await inproc.client.post(f"{JOBS}/{job_id}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] in ("cancelling", "cancelled")
    for job_id in (running, queued):
        job = await inproc.wait(job_id)
        assert job["status"] == "cancelled", job
        assert job["text"] is None
    again = await inproc.client.post(f"{JOBS}/{running}/cancel")
    assert again.status_code == 409
    assert (await inproc.client.delete(f"{JOBS}/{running}")).status_code == 204
    # The engine is free again: a new job still completes.
    inproc.fake.gate.set()
    after = await inproc.wait(await inproc.submit(CLIP))
    assert after["status"] == "completed"


async def test_engine_failure_fails_the_job_with_its_reason(inproc: InProcess) -> None:
    inproc.fake.error = "the model would not load"
    job: dict[str, Any] = await inproc.wait(await inproc.submit(JFK))
    assert job["status"] == "failed"
    assert "the model would not load" in job["error"]
    transcribe = job["stages"][1]
    assert transcribe["status"] == "failed" and transcribe["error"]


async def test_a_get_that_waits_answers_when_the_job_finishes(
    inproc: InProcess,
) -> None:
    """``GET ...?wait=S`` holds the request until the job is finished (a long
    poll) and answers at once then; at the latest after S seconds, with the job
    as it is; out-of-range waits are refused in the native error shape."""
    inproc.fake.gate = threading.Event()
    job_id = await inproc.submit(CLIP)
    await _wait_status(inproc, job_id, {"running"})
    started = time.monotonic()
    held = await inproc.client.get(f"{JOBS}/{job_id}", params={"wait": 0.5})
    assert time.monotonic() - started >= 0.45
    assert held.status_code == 200 and held.json()["status"] == "running"

    waiting = asyncio.create_task(
        inproc.client.get(f"{JOBS}/{job_id}", params={"wait": 20})
    )
    await asyncio.sleep(0.3)
    assert not waiting.done()
    released = time.monotonic()
    inproc.fake.gate.set()
    answer = await asyncio.wait_for(waiting, 10)
    assert time.monotonic() - released < 5  # the job's end, not the 20 s
    assert answer.status_code == 200 and answer.json()["status"] == "completed"

    for bad in ("-1", "51", "soon"):
        refused = await inproc.client.get(f"{JOBS}/{job_id}", params={"wait": bad})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["param"] == "wait", refused.text
    missing = await inproc.client.get(f"{JOBS}/no-such-job", params={"wait": 20})
    assert missing.status_code == 404


async def test_progress_of_a_running_job(inproc: InProcess) -> None:
    """The transcriber's own report of how far it has got shows in the job (the
    share of the audio transcribed) and in its stage; 1 once completed."""
    inproc.fake.progress = 0.4
    inproc.fake.gate = threading.Event()  # held after reporting
    job_id = await inproc.submit(CLIP)
    deadline = time.monotonic() + 20
    while True:
        job = (await inproc.client.get(f"{JOBS}/{job_id}")).json()
        if job["progress"] == 0.4:
            break
        assert job["progress"] in (None, 0.0), job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.02)
    [stage] = [s for s in job["stages"] if s["stage"] == "transcribe"]
    assert stage["status"] == "running" and stage["progress"] == 0.4
    assert all(s["progress"] in (None, 1.0) for s in job["stages"] if s is not stage)
    inproc.fake.gate.set()
    done = await inproc.wait(job_id)
    assert done["progress"] == 1.0
    assert all(s["progress"] == 1.0 for s in done["stages"])
    # The graph and each stage's queue wait (a job page draws both).
    by_stage = {s["stage"]: s for s in done["stages"]}
    assert by_stage["prepare"]["depends_on"] == []
    assert "prepare" in by_stage["transcribe"]["depends_on"]
    for stage in done["stages"]:
        assert stage["queued_at"] is not None
        assert stage["queue_wait_ms"] is not None and stage["queue_wait_ms"] >= 0
        assert stage["queued_at"] <= stage["started_at"] <= stage["completed_at"]
