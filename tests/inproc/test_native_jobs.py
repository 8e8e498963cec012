"""The native job API in process: submit, read, export, with the fake transcriber."""

from __future__ import annotations

from tests.inproc.conftest import DATA, InProcess

CLIP = DATA / "deepspeech_ldc93s1_8k.wav"


async def test_job_completes_with_the_engines_transcript(inproc: InProcess) -> None:
    inproc.fake.text = "She had your dark suit. In greasy wash water all year."
    job = await inproc.wait(await inproc.submit(CLIP))
    assert job["status"] == "completed", job
    assert job["text"] == "She had your dark suit. In greasy wash water all year."
    assert job["language_code"] == "en"
