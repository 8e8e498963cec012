"""Speakers in every dialect's answer, in process: the fake diarizer gives two
equal turns and the fake transcriber one sentence in each, so each sentence's
words must carry its turn's speaker, in each dialect's labels (native
``SPEAKER_00``, ElevenLabs ``speaker_0``, OpenAI diarized_json ``A``).

Diarization of real speech is proven in ``tests/test_enrichment_api.py``.
"""

from __future__ import annotations

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
