"""The ElevenLabs dialect in process: the official SDK over ``httpx.ASGITransport``,
the SDKs' captured requests replayed, errors in ElevenLabs' shapes.

The fake transcriber gives a known text, so the chunk, multichannel and
additional_formats shapes are checked exactly; recognition (WER) is proven by
``tests/compat/test_elevenlabs.py`` and the byte-level socket replay stays in
``tests/compat/test_elevenlabs_wire.py``.
"""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import NotFoundError, UnprocessableEntityError

from tests.inproc.conftest import CAPTURES, DATA, InProcess

JFK = DATA / "whisper_jfk.flac"
STEREO = DATA / "fw_stereo_diarization.wav"
TEXT = "And so my fellow Americans. Ask not what your country can do for you."
ALL_FORMATS = ["srt", "txt", "segmented_json", "docx", "pdf", "html"]


def _capture(name: str) -> bytes:
    return (CAPTURES / f"{name}.txt").read_bytes()


async def _replay(inproc: InProcess, raw: bytes) -> tuple[int, Any]:
    response = await inproc.replay(raw)
    assert response.headers["content-type"].startswith("application/json")
    return response.status_code, response.json()


def _check_empty_chunk(body: dict[str, Any]) -> None:
    """The 0.1 s clip every capture carries, heard as silence: a valid, empty
    transcript."""
    assert body["language_code"] == "eng" and body["text"] == ""
    assert body["words"] == [] and 0 <= body["language_probability"] <= 1
    assert body["transcription_id"]
    assert body["audio_duration_secs"] == pytest.approx(0.1, abs=0.01)


def _check_words(body: dict[str, Any], text: str, channel: int | None = None) -> None:
    """Words and single spacings that spell ``text``, in time order."""
    words = body["words"]
    kinds = [w["type"] for w in words]
    assert set(kinds) <= {"word", "spacing"}
    assert all(a != "spacing" or b != "spacing" for a, b in itertools.pairwise(kinds))
    assert "".join(w["text"] for w in words) == text
    assert all(w["channel_index"] == channel for w in words if channel is not None)
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    assert all(w["start"] <= w["end"] for w in words)


# --- captured SDK requests ------------------------------------------------------
@pytest.fixture
def silent(inproc: InProcess) -> InProcess:
    inproc.fake.text = ""
    return inproc


@pytest.mark.parametrize("name", ["001", "010"])
async def test_plain_captures_are_transcribed(silent: InProcess, name: str) -> None:
    status, body = await _replay(silent, _capture(name))
    assert status == 200, body
    _check_empty_chunk(body)


@pytest.mark.parametrize("name", ["002", "011"])
async def test_captures_with_diarize_get_past_the_enrichment_fields(
    silent: InProcess, name: str
) -> None:
    """002 (Python: diarize, num_speakers, diarization_threshold, entity_detection
    as a JSON array) and 011 (JS: diarize) are accepted up to their
    webhook_metadata, sent without webhook=true: the one field still refused."""
    status, body = await _replay(silent, _capture(name))
    assert status == 422, body
    assert [d["loc"] for d in body["detail"]] == [["body", "webhook_metadata"]]


@pytest.mark.parametrize("name", ["003", "004", "013", "014"])
async def test_captured_get_and_delete_of_unknown_id_is_404(
    silent: InProcess, name: str
) -> None:
    """tr_123 does not exist here: the right answer is ElevenLabs' 404."""
    assert await _replay(silent, _capture(name)) == (
        404,
        {"detail": {"status": "not_found", "message": "Transcript not found."}},
    )


@pytest.mark.parametrize(("get", "delete"), [("003", "004"), ("013", "014")])
async def test_captured_get_and_delete_of_a_real_id(
    silent: InProcess, get: str, delete: str
) -> None:
    """The same bytes with tr_123 replaced by a transcript made by capture 001."""
    _, made = await _replay(silent, _capture("001"))
    real = made["transcription_id"].encode()
    status, fetched = await _replay(silent, _capture(get).replace(b"tr_123", real))
    assert status == 200
    _check_empty_chunk(fetched)
    deleted = await _replay(silent, _capture(delete).replace(b"tr_123", real))
    assert deleted == (200, {})
    gone = await _replay(silent, _capture(get).replace(b"tr_123", real))
    assert gone[0] == 404


async def test_transcripts_and_webhooks_belong_to_their_tenant(
    silent: InProcess,
) -> None:
    _, made = await _replay(silent, _capture("001"))
    transcription_id = made["transcription_id"]
    created = await silent.client.post(
        "/auth/keys",
        json={
            "name": "other tenant",
            "scopes": ["jobs:read", "jobs:write", "webhooks"],
            "tenant_id": "elevenlabs-other",
        },
    )
    assert created.status_code == 201, created.text
    other = silent.elevenlabs(key=created.json()["key"])
    with pytest.raises(NotFoundError):
        await other.speech_to_text.transcripts.get(transcription_id)
    with pytest.raises(ApiError) as caught:
        await other.speech_to_text.transcripts.delete(transcription_id)
    assert caught.value.status_code == 404
    assert (await other.webhooks.list()).webhooks == []
    owner = silent.elevenlabs()
    fetched = await owner.speech_to_text.transcripts.get(transcription_id)
    assert fetched.text == ""  # type: ignore[union-attr]


# --- response shapes ------------------------------------------------------------
async def test_convert_words_formats_get_delete(inproc: InProcess) -> None:
    inproc.fake.text = TEXT
    eleven = inproc.elevenlabs()
    result = await eleven.speech_to_text.convert(
        model_id="scribe_v1",
        file=JFK.read_bytes(),
        language_code="en",
        timestamps_granularity="word",
        additional_formats=[{"format": f} for f in ALL_FORMATS],  # type: ignore[misc]
    )
    body = result.model_dump(by_alias=True)
    assert body["text"] == TEXT and body["language_code"] == "eng"
    assert body["audio_duration_secs"] == pytest.approx(11.0, abs=0.05)
    _check_words(body, TEXT)
    formats = {f["requested_format"]: f for f in body["additional_formats"]}
    assert list(formats) == ALL_FORMATS
    srt = formats["srt"]
    assert (srt["file_extension"], srt["is_base64_encoded"]) == ("srt", False)
    assert srt["content"].startswith("1\n00:00:00,")
    cue_lines = [
        line
        for line in srt["content"].splitlines()
        if line and "-->" not in line and not line.isdigit()
    ]
    assert " ".join(cue_lines) == TEXT
    assert all(len(line) <= 42 for line in cue_lines)
    assert formats["txt"]["content"].startswith("[00:00:00.000 --> ")
    segments = json.loads(formats["segmented_json"]["content"])["segments"]
    assert " ".join(s["text"] for s in segments) == TEXT
    assert all(s["start_time"] <= s["end_time"] for s in segments)
    docx = formats["docx"]
    assert docx["is_base64_encoded"] is True
    assert docx["content_type"].endswith("wordprocessingml.document")
    assert base64.b64decode(docx["content"]).startswith(b"PK")  # a zip container
    pdf = formats["pdf"]
    assert pdf["is_base64_encoded"] is True and pdf["content_type"] == "application/pdf"
    assert base64.b64decode(pdf["content"]).startswith(b"%PDF")
    page = formats["html"]["content"]
    assert page.startswith("<!DOCTYPE html>") and "Americans" in page

    transcription_id = body["transcription_id"]
    fetched = await eleven.speech_to_text.transcripts.get(transcription_id)
    assert fetched.model_dump(by_alias=True)["text"] == TEXT
    assert await eleven.speech_to_text.transcripts.delete(transcription_id) == {}
    with pytest.raises(NotFoundError) as missing:
        await eleven.speech_to_text.transcripts.get(transcription_id)
    assert missing.value.body == {
        "detail": {"status": "not_found", "message": "Transcript not found."}
    }


async def test_character_timestamps_spell_each_word(inproc: InProcess) -> None:
    inproc.fake.text = TEXT
    result = await inproc.elevenlabs().speech_to_text.convert(
        model_id="scribe_v2",
        file=JFK.read_bytes(),
        language_code="en",
        timestamps_granularity="character",
        keyterms=["Americans"],
    )
    body = result.model_dump(by_alias=True)
    _check_words(body, TEXT)
    for word in body["words"]:
        chars = word["characters"]
        assert "".join(c["text"] for c in chars) == word["text"]
        assert chars[0]["start"] == pytest.approx(word["start"], abs=1e-3)
        assert chars[-1]["end"] == pytest.approx(word["end"], abs=1e-3)
    assert inproc.fake.tasks[-1].params["vocabulary"] == ["Americans"]


async def test_multichannel_separate_and_combined(inproc: InProcess) -> None:
    texts = ["Hello from the left.", "And hello from the right."]
    inproc.fake.channel_texts = texts
    eleven = inproc.elevenlabs()
    separate = await eleven.speech_to_text.convert(
        model_id="scribe_v1",
        file=STEREO.read_bytes(),
        language_code="en",
        use_multi_channel=True,
    )
    body = separate.model_dump(by_alias=True)
    assert body["transcription_id"] and body["audio_duration_secs"] == 5.0
    transcripts = body["transcripts"]
    assert [t["channel_index"] for t in transcripts] == [0, 1]
    for channel, (text, transcript) in enumerate(zip(texts, transcripts, strict=True)):
        assert transcript["text"] == text
        _check_words(transcript, text, channel)

    combined = await eleven.speech_to_text.convert(
        model_id="scribe_v1",
        file=STEREO.read_bytes(),
        language_code="en",
        use_multi_channel=True,
        multichannel_output_style="combined",
    )
    merged = combined.model_dump(by_alias=True)
    assert merged["channel_index"] is None
    for channel, text in enumerate(texts):
        said = " ".join(
            w["text"]
            for w in merged["words"]
            if w["type"] == "word" and w["channel_index"] == channel
        )
        assert said == text


# --- errors in ElevenLabs' shapes -----------------------------------------------
async def test_missing_model_id_is_a_422_detail_list(inproc: InProcess) -> None:
    async with inproc.http() as anon:
        response = await anon.post(
            "/v1/speech-to-text",
            headers={"xi-api-key": inproc.admin_key},
            files={"file": ("a.flac", JFK.read_bytes())},
        )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "model_id"],
                "msg": "field required",
                "type": "value_error.missing",
            }
        ]
    }


async def test_unknown_model_id_is_a_422(inproc: InProcess) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        await inproc.elevenlabs().speech_to_text.convert(
            model_id="whisper-1", file=JFK.read_bytes()
        )
    (error,) = caught.value.body["detail"]
    assert error["loc"] == ["body", "model_id"] and "whisper-1" in error["msg"]


@pytest.mark.parametrize("key", [None, "dk_wrong", "sk_test"])
async def test_no_or_bad_key_is_401_invalid_api_key(
    inproc: InProcess, key: str | None
) -> None:
    headers = {"xi-api-key": key} if key else {}
    async with inproc.http() as anon:
        for method, path in (
            ("POST", "/v1/speech-to-text"),
            ("GET", "/v1/speech-to-text/transcripts/x"),
            ("DELETE", "/v1/speech-to-text/transcripts/x"),
            ("POST", "/v1/single-use-token/batch_scribe"),
            ("GET", "/v1/workspace/webhooks"),
        ):
            response = await anon.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path)
            detail = response.json()["detail"]
            assert detail["status"] == "invalid_api_key" and detail["message"]


async def test_non_audio_is_refused_in_elevenlabs_shape(inproc: InProcess) -> None:
    with pytest.raises(ApiError) as caught:
        await inproc.elevenlabs().speech_to_text.convert(
            model_id="scribe_v1", file=("notes.wav", b"this is not audio at all")
        )
    assert 400 <= caught.value.status_code < 500
    detail = caught.value.body["detail"]
    assert set(detail) == {"status", "message"} and "audio" in detail["message"]


async def test_bad_values_name_their_field(inproc: InProcess) -> None:
    key = {"xi-api-key": inproc.admin_key}
    cases: dict[str, dict[str, str]] = {
        "timestamps_granularity": {"timestamps_granularity": "segment"},
        "keyterms": {"keyterms": "has <tags>"},
        "additional_formats": {"additional_formats": '[{"format":"vtt"}]'},
        "webhook_id": {"webhook_id": "abc"},
        "language_code": {"language_code": "xx"},
        "file": {},
    }
    async with inproc.http() as anon:
        for field, data in cases.items():
            files = None if field == "file" else {"file": ("a.flac", b"fLaC")}
            response = await anon.post(
                "/v1/speech-to-text",
                headers=key,
                data={"model_id": "scribe_v1", **data},
                files=files,
            )
            assert response.status_code == 422, (field, response.text)
            assert response.json()["detail"][0]["loc"][:2] == ["body", field]
        not_a_type = await anon.post("/v1/single-use-token/karaoke", headers=key)
    assert not_a_type.status_code == 422
    assert not_a_type.json()["detail"][0]["loc"] == ["path", "token_type"]


async def test_single_use_token_works_once(inproc: InProcess) -> None:
    eleven = inproc.elevenlabs()
    token = (await eleven.tokens.single_use.create("batch_scribe")).token
    anonymous = inproc.elevenlabs(anonymous=True)
    result = await anonymous.speech_to_text.convert(
        model_id="scribe_v1", file=JFK.read_bytes(), language_code="en", token=token
    )
    assert result.text  # type: ignore[union-attr]
    with pytest.raises(ApiError) as reused:
        await anonymous.speech_to_text.convert(
            model_id="scribe_v1", file=JFK.read_bytes(), token=token
        )
    assert reused.value.status_code == 401
    assert reused.value.body["detail"]["status"] == "invalid_api_key"
    with pytest.raises(UnprocessableEntityError):
        await eleven.tokens.single_use.create("karaoke")  # type: ignore[arg-type]


async def test_speaker_roles_are_refused(inproc: InProcess) -> None:
    with pytest.raises(ApiError) as refused:
        await inproc.elevenlabs().speech_to_text.convert(
            model_id="scribe_v1",
            file=JFK.read_bytes(),
            diarize=True,
            detect_speaker_roles=True,
        )
    assert refused.value.status_code == 400
    detail = refused.value.body["detail"]
    assert detail["status"] == "unsupported_feature"
    assert "speaker role" in detail["message"]


async def test_webhook_needs_a_configured_target(inproc: InProcess) -> None:
    eleven = inproc.elevenlabs()
    with pytest.raises(ApiError) as caught:
        await eleven.speech_to_text.convert(
            model_id="scribe_v1", file=JFK.read_bytes(), webhook=True
        )
    assert caught.value.status_code == 400
    assert "/v1/workspace/webhooks" in caught.value.body["detail"]["message"]
    with pytest.raises(UnprocessableEntityError):
        await eleven.speech_to_text.convert(
            model_id="scribe_v1",
            file=JFK.read_bytes(),
            webhook=True,
            webhook_id="no-such-hook",
        )
