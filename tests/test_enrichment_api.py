"""Alignment, diarization, PII and audio redaction through the real API: a server
subprocess running every stage on real speech, driven over HTTP and by the
official ElevenLabs and OpenAI SDKs. The refusals, and a stage whose engine is not
served, are checked in process: ``tests/inproc/test_enrichment_requests.py``."""

from __future__ import annotations

import io
import itertools
import math
import wave
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
from elevenlabs.client import ElevenLabs

from tests.server import ServerProcess, submit, wait_for_job

DATA = Path(__file__).resolve().parent / "data"
# 30 s, two speakers with overlap (pyannote's sample; RTTM reference beside it).
TWO_SPEAKERS = DATA / "pyannote_sample.wav"
# LibriSpeech: "Mr. Quilter is the apostle of the middle classes ..." (a name).
NAMED = DATA / "pv_ls_1272_128104_0000.wav"


def _rttm(path: Path) -> list[tuple[float, float, str]]:
    turns = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            turns.append((start, start + duration, parts[7]))
    return turns


def _ref_speaker(
    turns: list[tuple[float, float, str]], start: float, end: float
) -> str | None:
    """The one reference speaker talking over the word, None in overlap or silence."""
    middle = (start + end) / 2
    speaking = {who for a, b, who in turns if a <= middle <= b}
    return speaking.pop() if len(speaking) == 1 else None


def _word_agreement(
    words: list[dict[str, Any]], turns: list[tuple[float, float, str]]
) -> float:
    """Share of words (in single-speaker reference regions) whose speaker matches,
    under the best one-to-one mapping of hypothesis to reference speakers."""
    pairs = [
        (w["speaker"], ref)
        for w in words
        if (ref := _ref_speaker(turns, w["start"], w["end"])) is not None
    ]
    assert pairs, "no word falls in a single-speaker reference region"
    hyp = sorted({h for h, _ in pairs})
    ref = sorted({r for _, r in pairs})
    best = 0
    for perm in itertools.permutations(ref, min(len(hyp), len(ref))):
        mapping = dict(zip(hyp, perm, strict=False))
        best = max(best, sum(mapping.get(h) == r for h, r in pairs))
    return best / len(pairs)


def _talk_from_rttm(path: Path) -> list[float]:
    """Each reference speaker's talk time, longest first."""
    from dalston.transcript import talk_times

    turns = [(speaker, start, end) for start, end, speaker in _rttm(path)]
    return sorted(talk_times(turns).values(), reverse=True)


def _stages(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["stage"]: s for s in job["stages"]}


def test_diarized_job_puts_a_speaker_on_every_word(client: httpx.Client) -> None:
    job_id = submit(client, TWO_SPEAKERS, speaker_detection="diarize")
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    stages = _stages(job)
    assert list(stages) == ["prepare", "transcribe", "align", "diarize", "merge"]
    for stage in stages.values():
        assert stage["status"] == "succeeded" and stage["duration_ms"] >= 0
    assert [s["id"] for s in job["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    # Talk time from the turns, against the reference's (speaker-mapped by order:
    # both talk in the sample, the one who starts talks longer).
    reference = _talk_from_rttm(TWO_SPEAKERS.with_suffix(".rttm"))
    found = sorted((s["talk_time"] for s in job["speakers"]), reverse=True)
    print(f"\ntalk time {found} vs reference {reference}")
    for got, want in zip(found, reference, strict=True):
        assert abs(got - want) <= 0.2 * want, (found, reference)
    words = job["words"]
    assert words and all(w["speaker"] in ("SPEAKER_00", "SPEAKER_01") for w in words)
    for segment in job["segments"]:
        assert {w["speaker"] for w in segment["words"]} == {segment["speaker"]}
    agreement = _word_agreement(words, _rttm(TWO_SPEAKERS.with_suffix(".rttm")))
    print(f"\nword speaker agreement vs RTTM: {agreement:.3f} ({len(words)} words)")
    assert agreement >= 0.8
    srt = client.get(
        f"/v1/audio/transcriptions/{job_id}/export/srt",
        params={"include_speakers": "true"},
    )
    assert srt.status_code == 200 and "SPEAKER_01" in srt.text


def test_speaker_count_is_honoured(client: httpx.Client) -> None:
    job_id = submit(client, TWO_SPEAKERS, speaker_detection="diarize", num_speakers="3")
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    assert job["parameters"]["num_speakers"] == 3
    # Three clusters over the audio; each one speaks at least one word or turn.
    assert 2 <= len(job["speakers"]) <= 3


def test_english_words_are_aligned(client: httpx.Client) -> None:
    job_id = submit(client, NAMED)
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    assert "align" in _stages(job)
    transcript = client.get(f"/v1/audio/transcriptions/{job_id}/export/json").json()
    assert transcript["metadata"]["word_timing"] == "pocketsphinx"
    starts = [w["start"] for w in job["words"]]
    assert starts == sorted(starts) and starts[0] > 0.1  # not Whisper's 0.00
    off = submit(client, NAMED, word_alignment="false")
    job = wait_for_job(client, off)
    assert "align" not in _stages(job)


def test_pii_is_found_and_the_audio_redacted(client: httpx.Client) -> None:
    job_id = submit(
        client,
        NAMED,
        pii_detection="true",
        redact_pii_audio="true",
        pii_redaction_mode="silence",
    )
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    assert list(_stages(job))[-2:] == ["pii", "redact"]
    people = [e for e in job["entities"] if e["entity_type"] == "PERSON"]
    assert people, job["entities"]
    quilter = people[0]
    assert "Quilter" in quilter["text"]
    assert job["text"][quilter["start_char"] : quilter["end_char"]] == quilter["text"]
    assert "{PERSON}" in job["redacted_text"] and "Quilter" not in job["redacted_text"]
    assert job["pii"]["redacted_audio"] and job["pii"]["redaction_mode"] == "silence"
    assert 0 < quilter["start"] < quilter["end"] < 2.0

    response = client.get(f"/v1/audio/transcriptions/{job_id}/audio/redacted")
    assert response.status_code == 200, response.text
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (16000, 1)
        redacted = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    with wave.open(str(NAMED)) as wav:
        original = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert redacted.shape == original.shape
    inside = np.zeros(original.shape, dtype=bool)
    for entity in job["entities"]:
        if entity["start"] is not None:
            # The span's samples: floor(start * rate) up to ceil(end * rate).
            a = math.floor(entity["start"] * 16000)
            b = math.ceil(entity["end"] * 16000)
            inside[a:b] = True
    assert inside.any()
    assert not redacted[inside].any()  # silence over every entity span
    assert np.array_equal(redacted[~inside], original[~inside])  # untouched elsewhere
    assert np.abs(original[inside]).max() > 1000  # there was speech to remove
    plain = client.get(f"/v1/audio/transcriptions/{job_id}/audio")
    assert plain.status_code == 200 and plain.content == NAMED.read_bytes()


def test_elevenlabs_sdk_diarize_and_entities(server: ServerProcess) -> None:
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    with TWO_SPEAKERS.open("rb") as audio:
        result = eleven.speech_to_text.convert(
            model_id="scribe_v1", file=audio, diarize=True, num_speakers=2
        )
    body = result.model_dump(by_alias=True)
    speakers = {w["speaker_id"] for w in body["words"] if w["type"] == "word"}
    assert speakers == {"speaker_0", "speaker_1"}

    with NAMED.open("rb") as audio:
        result = eleven.speech_to_text.convert(
            model_id="scribe_v1", file=audio, entity_detection="all"
        )
    body = result.model_dump(by_alias=True)
    people = [e for e in body["entities"] if e["entity_type"] == "PERSON"]
    assert (
        people
        and body["text"][people[0]["start_char"] : people[0]["end_char"]]
        == people[0]["text"]
    )

    with NAMED.open("rb") as audio:
        result = eleven.speech_to_text.convert(
            model_id="scribe_v1",
            file=audio,
            entity_detection="pii",
            entity_redaction="pii",
            entity_redaction_mode="enumerated_entity_type",
        )
    body = result.model_dump(by_alias=True)
    assert "{PERSON_1}" in body["text"] and "Quilter" not in body["text"]
    assert body.get("entities") is None  # redaction hides them, as upstream
    texts = [w["text"] for w in body["words"]]
    assert "{PERSON_1}" in texts and not any("Quilter" in t for t in texts)


def test_openai_sdk_diarized_json(server: ServerProcess) -> None:
    with (
        openai.OpenAI(
            base_url=f"{server.url}/v1", api_key=server.admin_key, max_retries=0
        ) as oai,
        TWO_SPEAKERS.open("rb") as audio,
    ):
        result = oai.audio.transcriptions.create(
            model="gpt-4o-transcribe-diarize",
            file=audio,
            response_format="diarized_json",
            chunking_strategy="auto",
        )
    segments = result.segments
    assert segments and {s.speaker for s in segments} == {"A", "B"}
    assert all(s.type == "transcript.text.segment" for s in segments)
    assert [s.id for s in segments] == [f"seg_{i}" for i in range(len(segments))]
    assert result.text.startswith(segments[0].text)


def test_every_stage_copes_with_silence(client: httpx.Client, tmp_path: Path) -> None:
    """No speech: no speakers, no entities, an unchanged 'redacted' copy; never a
    failed job."""
    silent = tmp_path / "silence.wav"
    with wave.open(str(silent), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\0\0" * 16000 * 2)
    job_id = submit(
        client,
        silent,
        speaker_detection="diarize",
        pii_detection="true",
        redact_pii_audio="true",
    )
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    assert all(s["status"] == "succeeded" for s in job["stages"])
    assert job["entities"] == [] and job["pii"]["entity_count"] == 0
    assert job["speakers"] == [] and job["text"] == ""
    redacted = client.get(f"/v1/audio/transcriptions/{job_id}/audio/redacted")
    assert redacted.status_code == 200
    with wave.open(io.BytesIO(redacted.content)) as wav:
        assert wav.getnframes() == 32000
        assert not any(wav.readframes(wav.getnframes()))
