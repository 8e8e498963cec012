"""Speakers in every dialect's answer, in process: the fake diarizer gives two
equal turns and the fake transcriber one sentence in each, so each sentence's
words must carry its turn's speaker, in each dialect's labels (native
``SPEAKER_00``, ElevenLabs ``speaker_0``, OpenAI diarized_json ``A``).

Diarization of real speech is proven in ``tests/test_enrichment_api.py``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import openai
import pytest

from tests.inproc.conftest import DATA, InProcess, fast_settings, running

CLIP = DATA / "deepspeech_ldc93s1_8k.wav"
# Two sentences of four words: the first half of the audio, then the second.
FIRST, SECOND = "One two three four.", "Five six seven eight."


@pytest.fixture(scope="module")
async def _diarizing_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[InProcess]:
    settings = fast_settings(tmp_path_factory.mktemp("speakers"))
    async for state in running(settings, diarize=True):
        yield state


@pytest.fixture
def app(_diarizing_app: InProcess) -> InProcess:
    _diarizing_app.fake.reset()
    _diarizing_app.fake.text = f"{FIRST} {SECOND}"
    return _diarizing_app


async def test_native_words_and_segments_carry_their_turns_speaker(
    app: InProcess,
) -> None:
    job_id = await app.submit(CLIP, speaker_detection="diarize")
    job = await app.wait(job_id)
    assert job["status"] == "completed", job
    stages = [s["stage"] for s in job["stages"]]
    assert stages == ["prepare", "transcribe", "diarize", "merge"]
    assert [s["id"] for s in job["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    said = {
        speaker: " ".join(w["text"] for w in job["words"] if w["speaker"] == speaker)
        for speaker in ("SPEAKER_00", "SPEAKER_01")
    }
    assert said == {"SPEAKER_00": FIRST, "SPEAKER_01": SECOND}
    for segment in job["segments"]:
        assert {w["speaker"] for w in segment["words"]} == {segment["speaker"]}
    srt = await app.client.get(
        f"/v1/audio/transcriptions/{job_id}/export/srt",
        params={"include_speakers": "true"},
    )
    assert srt.status_code == 200 and "SPEAKER_01" in srt.text


async def test_native_speaker_count_reaches_the_diarizer(app: InProcess) -> None:
    job = await app.wait(
        await app.submit(CLIP, speaker_detection="diarize", num_speakers="3")
    )
    assert job["parameters"]["num_speakers"] == 3
    assert len(job["speakers"]) == 3


async def test_elevenlabs_words_carry_speaker_ids(app: InProcess) -> None:
    result = await app.elevenlabs().speech_to_text.convert(
        model_id="scribe_v1",
        file=CLIP.read_bytes(),
        language_code="en",
        diarize=True,
        num_speakers=2,
    )
    body = result.model_dump(by_alias=True)
    said = {
        speaker: " ".join(
            w["text"]
            for w in body["words"]
            if w["type"] == "word" and w["speaker_id"] == speaker
        )
        for speaker in ("speaker_0", "speaker_1")
    }
    assert said == {"speaker_0": FIRST, "speaker_1": SECOND}


async def test_openai_diarized_json(app: InProcess) -> None:
    result = await app.openai().audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=CLIP.open("rb"),
        language="en",
        response_format="diarized_json",
        chunking_strategy="auto",
    )
    assert isinstance(result, openai.types.audio.TranscriptionDiarized)
    segments = result.segments
    assert [(s.speaker, s.text.strip()) for s in segments] == [
        ("A", FIRST),
        ("B", SECOND),
    ]
    assert all(s.type == "transcript.text.segment" for s in segments)
    assert [s.id for s in segments] == ["seg_0", "seg_1"]
    assert all(s.start < s.end for s in segments)
    assert result.text == f"{FIRST} {SECOND}"


async def test_named_speakers_show_in_the_job_and_every_export(app: InProcess) -> None:
    """PATCH the job with ``speakers``: the names are kept on the job (the
    transcript's ``speakers[].label``) and used by every export; a name can be
    taken away again; unknown ids, an unfinished job and bad names are refused."""
    job_id = await app.submit(CLIP, speaker_detection="diarize")
    assert (await app.wait(job_id))["status"] == "completed"
    url = f"/v1/audio/transcriptions/{job_id}"
    named = await app.client.patch(url, json={"speakers": {"SPEAKER_01": " Alice "}})
    assert named.status_code == 200, named.text
    labels = {s["id"]: s["label"] for s in named.json()["speakers"]}
    assert labels == {"SPEAKER_00": None, "SPEAKER_01": "Alice"}
    # Ids stay ids in the words and segments; the name is beside them.
    assert {w["speaker"] for w in named.json()["words"]} == {"SPEAKER_00", "SPEAKER_01"}
    params = {"include_speakers": "true"}
    for fmt, expected in (("srt", "[Alice]"), ("vtt", "<v Alice>"), ("txt", "Alice: ")):
        text = (await app.client.get(f"{url}/export/{fmt}", params=params)).text
        assert expected in text and "SPEAKER_01" not in text, (fmt, text)
        assert "SPEAKER_00" in text  # the unnamed one keeps its id
    exported = (await app.client.get(f"{url}/export/json")).json()
    assert {s["id"]: s["label"] for s in exported["speakers"]}["SPEAKER_01"] == "Alice"
    # Renaming the job and a speaker in one request; a null name takes it away.
    both = await app.client.patch(
        url, json={"display_name": "standup", "speakers": {"SPEAKER_01": None}}
    )
    assert both.json()["display_name"] == "standup"
    assert all(s["label"] is None for s in both.json()["speakers"])

    for body, param in (
        ({"speakers": {"SPEAKER_09": "Bob"}}, "speakers"),
        ({"speakers": {"SPEAKER_00": "x" * 101}}, None),
        ({}, None),
    ):
        refused = await app.client.patch(url, json=body)
        assert 400 <= refused.status_code < 500 and refused.status_code != 404, body
        if param:
            assert refused.json()["error"]["param"] == param
    app.fake.gate = threading.Event()  # a job that has not finished
    running_id = await app.submit(CLIP, speaker_detection="diarize")
    early = await app.client.patch(
        f"/v1/audio/transcriptions/{running_id}", json={"speakers": {"A": "B"}}
    )
    assert early.status_code == 409, early.text
    app.fake.gate.set()
