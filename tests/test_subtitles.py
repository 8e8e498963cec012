"""Subtitles people can use, from jobs and from realtime sessions, on real speech.

French read speech (elisions: "m'appelle", "l'équipe", "j'ai") through a native job
and the OpenAI dialect, and English through a live native session stored and
exported afterwards; every cue is checked against the rules of
``dalston.transcript.export`` and the cues' text against the reference.
"""

from __future__ import annotations

import asyncio
import re
from itertools import pairwise
from pathlib import Path

import openai
from elevenlabs.client import ElevenLabs
from jiwer import wer
from whisper_normalizer.basic import BasicTextNormalizer
from whisper_normalizer.english import EnglishTextNormalizer

from tests.realtime_client import of_type, pcm16, stream
from tests.server import ServerProcess, wait_for_job

DATA = Path(__file__).resolve().parent / "data"
FRENCH = DATA / "readalongs_ej_fra.m4a"
ENGLISH = DATA / "whisper_jfk.flac"
_SPACED_ELISION = re.compile(r"\b\w+ ['\u2019]\w")  # "m 'appelle"
_SPACED_HYPHEN = re.compile(r"\w -\w")  # "self -substantial"


def _parse(srt_or_vtt: str) -> list[tuple[float, float, list[str]]]:
    cues = []
    for block in srt_or_vtt.replace("\r", "").strip().split("\n\n"):
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:  # the WEBVTT header
            continue
        start, end = (_seconds(t) for t in lines[timing].split(" --> "))
        cues.append((start, end, lines[timing + 1 :]))
    return cues


def _seconds(stamp: str) -> float:
    h, m, s = stamp.strip().replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _check_rules(
    cues: list[tuple[float, float, list[str]]], max_chars: int = 42, max_lines: int = 2
) -> str:
    assert cues
    for start, end, lines in cues:
        assert 1 <= len(lines) <= max_lines, lines
        for line in lines:
            assert len(line) <= max_chars or " " not in line, line
        assert end - start >= 0.5 - 1e-3, (start, end, lines)
    for (_, end, _), (start, _, _) in pairwise(cues):
        assert end <= start + 1e-3
    text = " ".join(" ".join(lines) for *_, lines in cues)
    assert not _SPACED_ELISION.search(text), text
    assert not _SPACED_HYPHEN.search(text), text
    return text


def test_french_job_subtitles(server: ServerProcess) -> None:
    with server.client() as http, FRENCH.open("rb") as fh:
        created = http.post(
            "/v1/audio/transcriptions/jobs",
            files={"file": (FRENCH.name, fh)},
            data={"language": "fr"},
        )
        assert created.status_code == 201, created.text
        job = wait_for_job(http, created.json()["id"], timeout=300)
        assert job["status"] == "completed", job
        srt = http.get(f"/v1/audio/transcriptions/{job['id']}/export/srt").text
    text = _check_rules(_parse(srt))
    norm = BasicTextNormalizer()
    reference = (DATA / "readalongs_ej_fra.txt").read_text()
    assert wer(norm(reference), norm(text)) < 0.35
    assert re.search(r"\b[mlj]['\u2019]\w", text, re.IGNORECASE)  # elisions kept whole


def test_french_openai_srt_follows_the_same_rules(server: ServerProcess) -> None:
    client = openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=server.admin_key, max_retries=0
    )
    with FRENCH.open("rb") as fh:
        srt = client.audio.transcriptions.create(
            model="whisper-1", file=fh, language="fr", response_format="srt"
        )
    client.close()
    _check_rules(_parse(str(srt)))


def test_french_elevenlabs_srt_follows_the_same_rules(server: ServerProcess) -> None:
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    with FRENCH.open("rb") as fh:
        result = eleven.speech_to_text.convert(
            file=fh,
            model_id="scribe_v1",
            language_code="fr",
            additional_formats=[  # type: ignore[list-item]
                {"format": "srt", "max_characters_per_line": 42}
            ],
        )
    assert result.additional_formats
    srt = result.additional_formats[0]
    assert srt is not None
    text = _check_rules(_parse(srt.content))
    assert re.search(r"\b[mlj]['\u2019]\w", result.text, re.IGNORECASE)
    assert not _SPACED_ELISION.search(result.text)
    assert text


def test_live_session_exports_as_subtitles(server: ServerProcess) -> None:
    url = (
        f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream"
        "?language=en&word_timestamps=true&interim_results=false"
    )
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    result = asyncio.run(stream(url, pcm16(ENGLISH), pace=4.0, headers=headers))
    session_id = of_type(result, "session.begin")[0]["session_id"]
    norm = EnglishTextNormalizer()
    reference = norm((DATA / "whisper_jfk.txt").read_text())
    with server.client() as http:
        transcript = http.get(f"/v1/realtime/sessions/{session_id}/transcript").json()
        assert transcript["language_code"] == "en"
        assert transcript["segments"] and transcript["segments"][0]["words"]
        srt = http.get(
            f"/v1/realtime/sessions/{session_id}/export/srt",
            params={"max_line_length": 32},
        )
        assert srt.status_code == 200
        assert srt.headers["content-type"].startswith("application/x-subrip")
        vtt = http.get(f"/v1/realtime/sessions/{session_id}/export/vtt").text
        txt = http.get(f"/v1/realtime/sessions/{session_id}/export/txt").text
        missing = http.get("/v1/realtime/sessions/nope/export/srt")
    assert vtt.startswith("WEBVTT")
    srt_text = _check_rules(_parse(srt.text), max_chars=32)
    assert wer(reference, norm(srt_text)) < 0.2
    assert wer(reference, norm(_check_rules(_parse(vtt)))) < 0.2
    assert wer(reference, norm(txt)) < 0.2
    assert missing.status_code == 404
