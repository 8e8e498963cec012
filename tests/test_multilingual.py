"""One request, one answer: German, French and Spanish speech sent with **no
language** through every door (native jobs and the shared path, the official
ElevenLabs and OpenAI SDKs, the three realtime protocols) runs on the
multilingual model, is reported in its own language in each dialect's form, and
gets the same text from every batch door. English with ``language=en`` stays on
the fast English-only model and is reported as fixed (probability 1.0).

Real faster-whisper (whisper-base, whisper-tiny.en) on real speech
(Picovoice clips, tests/data/SOURCES.md), scored by WER after Whisper's basic
normaliser.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from elevenlabs.client import ElevenLabs

from dalston.eval.scoring import normalize, wer
from tests.audio_fixtures import DATA, JFK, STREAMED_JFK_MAX_WER
from tests.realtime_client import of_type, pcm16, stream
from tests.server import ServerProcess, wait_for_job
from tests.test_realtime_elevenlabs import _plain
from tests.test_realtime_openai import COMPLETED, _session, _settled, pcm24k

# language -> (clip, ElevenLabs ISO 639-3 code, OpenAI verbose_json name)
LANGUAGES = {
    "de": (DATA / "pv_de.wav", "deu", "german"),
    "fr": (DATA / "pv_fr.wav", "fra", "french"),
    "es": (DATA / "pv_es.wav", "spa", "spanish"),
}
# whisper-base on these short clips (measured: see the printed WERs); the bound
# leaves room for one or two words, not for another language.
MAX_WER = 0.35
# Streams decode VAD-cut utterances (less context): a looser bound, still far
# below what another language scores (about 1.0).
STREAM_MAX_WER = 0.5
DOORS = ("native", "shared", "elevenlabs", "openai")


def _ref(path: Path) -> str:
    return path.with_suffix(".txt").read_text().strip()


def _check_text(language: str, text: str, door: str, bound: float = MAX_WER) -> float:
    clip = LANGUAGES[language][0]
    score = wer([_ref(clip)], [text], language=language)
    print(f"{door} {language}: WER {score:.3f}: {text}")
    assert score <= bound, f"{door} {language}: WER {score:.3f}: {text}"
    return score


def _job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/audio/transcriptions/{job_id}").json()
    return body


def _native(client: httpx.Client, path: Path, route: str) -> str:
    with path.open("rb") as audio:
        response = client.post(route, files={"file": (path.name, audio)})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


@pytest.fixture(scope="module")
def batch(server: ServerProcess) -> dict[tuple[str, str], dict[str, Any]]:
    """Every clip through every batch door, with no language: (door, language)
    -> what that door answered, plus the native job behind it."""
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    oai = openai.OpenAI(api_key=server.admin_key, base_url=f"{server.url}/v1")
    out: dict[tuple[str, str], dict[str, Any]] = {}
    with server.client() as client:
        pending = {
            (door, lang): _native(client, clip, route)
            for lang, (clip, _, _) in LANGUAGES.items()
            for door, route in (
                ("native", "/v1/audio/transcriptions/jobs"),
                ("shared", "/v1/audio/transcriptions"),
            )
        }
        for key, job_id in pending.items():
            job = wait_for_job(client, job_id)
            out[key] = {"job": job, "text": job["text"]}

        def through_eleven(clip: Path) -> dict[str, Any]:
            with clip.open("rb") as audio:
                scribe = eleven.speech_to_text.convert(model_id="scribe_v1", file=audio)
            body = scribe.model_dump(by_alias=True)
            return {"body": body, "text": body["text"], "id": body["transcription_id"]}

        def through_openai(clip: Path) -> dict[str, Any]:
            with clip.open("rb") as audio:
                raw = oai.audio.transcriptions.with_raw_response.create(
                    model="whisper-1", file=audio, response_format="verbose_json"
                )
            result = raw.parse()
            return {
                "body": result.model_dump(),
                "text": result.text,
                "id": raw.headers["x-dalston-job-id"],
            }

        # The SDK doors two at a time (the server transcribes two side by side).
        with ThreadPoolExecutor(2) as pool:
            asked = {
                (door, lang): pool.submit(send, clip)
                for lang, (clip, _, _) in LANGUAGES.items()
                for door, send in (
                    ("elevenlabs", through_eleven),
                    ("openai", through_openai),
                )
            }
            for key, future in asked.items():
                answer = future.result()
                answer["job"] = _job(client, answer.pop("id"))
                out[key] = answer
    return out


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("door", DOORS)
def test_batch_detects_the_language(
    batch: dict[tuple[str, str], dict[str, Any]], door: str, language: str
) -> None:
    answer = batch[door, language]
    job = answer["job"]
    assert job["status"] == "completed", job
    assert job["model"] == "whisper-base"
    assert job["parameters"]["language"] is None  # nothing fixed: detected
    assert job["language_code"] == language
    # Whisper's own detection, not a fixed 1.0 from an English-only model.
    assert 0.5 < job["language_probability"] <= 1.0
    _, iso3, name = LANGUAGES[language]
    if door == "elevenlabs":
        assert answer["body"]["language_code"] == iso3
        assert answer["body"]["language_probability"] == job["language_probability"]
    if door == "openai":
        assert answer["body"]["language"] == name
    _check_text(language, answer["text"], door)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_batch_door_gives_the_same_text(
    batch: dict[tuple[str, str], dict[str, Any]], language: str
) -> None:
    texts = {door: normalize(batch[door, language]["text"], language) for door in DOORS}
    assert len(set(texts.values())) == 1, texts


def test_english_stays_on_the_english_model(server: ServerProcess) -> None:
    """``language=en`` through each batch door: whisper-tiny.en, and the
    language reported as fixed (probability 1.0)."""
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    oai = openai.OpenAI(api_key=server.admin_key, base_url=f"{server.url}/v1")
    ref = _ref(JFK)
    with server.client() as client:
        with JFK.open("rb") as audio:
            created = client.post(
                "/v1/audio/transcriptions/jobs",
                files={"file": (JFK.name, audio)},
                data={"language": "en"},
            )
        assert created.status_code == 201, created.text
        native = wait_for_job(client, created.json()["id"])
        with JFK.open("rb") as audio:
            scribe = eleven.speech_to_text.convert(
                model_id="scribe_v1", file=audio, language_code="en"
            )
        raw = oai.audio.transcriptions.with_raw_response.create(
            model="whisper-1",
            file=JFK.open("rb"),
            language="en",
            response_format="verbose_json",
        )
        jobs = [
            native,
            _job(client, scribe.transcription_id or ""),
            _job(client, raw.headers["x-dalston-job-id"]),
        ]
    for job in jobs:
        assert job["model"] == "whisper-tiny.en"
        assert job["language_code"] == "en" and job["language_probability"] == 1.0
        assert wer([ref], [job["text"]]) <= 0.15, job["text"]
    assert scribe.language_code == "eng" and scribe.language_probability == 1.0
    assert raw.parse().language == "english"


# --- realtime -------------------------------------------------------------------
def _sessions(server: ServerProcess) -> dict[str, dict[str, Any]]:
    with server.client() as client:
        rows = client.get("/v1/realtime/sessions", params={"limit": 100}).json()
    return {row["id"]: row for row in rows["sessions"]}


def _native_stream(server: ServerProcess, clip: Path, query: str = "") -> Any:
    url = f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream{query}"
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    return asyncio.run(stream(url, pcm16(clip), headers=headers))


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_native_stream_detects_the_language(
    server: ServerProcess, language: str
) -> None:
    result = _native_stream(server, LANGUAGES[language][0])
    begin = of_type(result, "session.begin")[0]
    assert begin["config"]["model"] == "whisper-base"
    assert begin["config"]["language"] == "auto"
    finals = of_type(result, "transcript.final")
    assert finals and {f["language"] for f in finals} == {language}, finals
    _check_text(
        language, " ".join(f["text"] for f in finals), "native stream", STREAM_MAX_WER
    )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_elevenlabs_stream_detects_the_language(
    server: ServerProcess, language: str
) -> None:
    clip, iso3, _ = LANGUAGES[language]
    query = (
        "model_id=scribe_v2_realtime&audio_format=pcm_16000"
        "&include_language_detection=true"
    )
    msgs, code = asyncio.run(
        _plain(
            f"ws://127.0.0.1:{server.port}/v1/speech-to-text/realtime?{query}",
            {"xi-api-key": server.admin_key},
            [],
            audio=pcm16(clip),
            commit=True,
            until=lambda got: any(
                m["message_type"] == "committed_transcript" for m in got
            ),
        )
    )
    assert msgs[0]["message_type"] == "session_started", msgs[:2]
    assert code == 1000
    committed = [m for m in msgs if m["message_type"] == "committed_transcript"]
    assert committed and {m["language_code"] for m in committed} == {iso3}
    _check_text(
        language,
        " ".join(m["text"] for m in committed),
        "elevenlabs stream",
        STREAM_MAX_WER,
    )
    assert _sessions(server)[msgs[0]["session_id"]]["model"] == "whisper-base"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_openai_stream_detects_the_language(
    server: ServerProcess, language: str
) -> None:
    """OpenAI's transcription events carry no language: the text must be in the
    spoken one, and the session ran on the multilingual model."""
    clip = LANGUAGES[language][0]
    update = {
        "type": "transcription_session.update",
        "session": {
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "whisper-1"},
        },
    }
    got, code = asyncio.run(
        _session(
            f"ws://127.0.0.1:{server.port}/v1/realtime?intent=transcription",
            {"Authorization": f"Bearer {server.admin_key}"},
            [update, pcm24k(clip, trailing_silence_s=2.0)],
            until=_settled(),
        )
    )
    assert not [m for m in got if m["type"] == "error"], got
    completed = [m for m in got if m["type"] == COMPLETED]
    assert completed, [m["type"] for m in got]
    said = " ".join(m["transcript"] for m in completed)
    _check_text(language, said, "openai stream", STREAM_MAX_WER)
    assert code == 1000
    # The session record (the newest OpenAI one) holds the model it ran on.
    ours = [s for s in _sessions(server).values() if s["protocol"] == "openai"]
    assert ours[0]["model"] == "whisper-base"


def test_stream_language_reported_as_fixed(server: ServerProcess) -> None:
    """A stream told ``language=en`` runs on the English model."""
    result = _native_stream(server, JFK, "?language=en")
    assert of_type(result, "session.begin")[0]["config"]["model"] == "whisper-tiny.en"
    finals = of_type(result, "transcript.final")
    assert finals and {f["language"] for f in finals} == {"en"}
    said = " ".join(f["text"] for f in finals)
    assert wer([_ref(JFK)], [said]) <= STREAMED_JFK_MAX_WER, said
