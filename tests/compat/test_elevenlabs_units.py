"""The ElevenLabs dialect's pure parts, without a server: audio events, language
codes, export options and formats, response shapes, webhook signatures."""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
import time

import pytest
from starlette.datastructures import FormData

from dalston.config import Settings
from dalston.dialects.elevenlabs.export_options import parse_additional_formats
from dalston.dialects.elevenlabs.formats import render
from dalston.dialects.elevenlabs.request import UnsupportedFeature, parse_request
from dalston.dialects.elevenlabs.response import ResponseOptions, build_response
from dalston.dialects.elevenlabs.tokens import segment_tokens, strip_audio_events
from dalston.errors import ValidationFailed
from dalston.gateway.forms import FormFields
from dalston.services.languages import WHISPER_TO_ISO3, to_iso3, to_whisper
from dalston.services.webhooks import sign
from dalston.transcript.model import (
    ChannelSummary,
    Segment,
    Transcript,
    TranscriptMetadata,
    Word,
)


def _word(text: str, start: float, end: float, p: float = 0.9, **kw: object) -> Word:
    return Word(text=text, start=start, end=end, confidence=p, **kw)  # type: ignore[arg-type]


def _segment(words: list[Word], **kw: object) -> Segment:
    return Segment(
        id=0,
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(w.text for w in words),
        words=words,
        avg_logprob=-0.2,
        **kw,  # type: ignore[arg-type]
    )


def _transcript(segments: list[Segment], **kw: object) -> Transcript:
    return Transcript(
        text=" ".join(s.text for s in segments),
        language_code="en",
        language_probability=0.97,
        duration=10.0,
        segments=segments,
        metadata=TranscriptMetadata(model="whisper-tiny.en"),
        **kw,  # type: ignore[arg-type]
    )


LAUGH = _segment(
    [
        _word("Well,", 0.0, 0.4),
        _word("(audience", 0.5, 0.9, 0.5),
        _word("laughing)", 0.9, 1.3, 0.4),
        _word("that's", 1.4, 1.6),
        _word("[Music]", 1.7, 2.5, 0.3),
        _word("it.", 2.6, 2.9),
    ]
)


# --- audio events -----------------------------------------------------------------
def test_bracketed_tags_become_one_audio_event_each() -> None:
    tokens = segment_tokens(LAUGH, tag_audio_events=True)
    assert [(t.text, t.kind) for t in tokens] == [
        ("Well,", "word"),
        ("(audience laughing)", "audio_event"),
        ("that's", "word"),
        ("[Music]", "audio_event"),
        ("it.", "word"),
    ]
    event = tokens[1]
    assert (event.start, event.end) == (0.5, 1.3)
    assert event.logprob == pytest.approx((math.log(0.5) + math.log(0.4)) / 2)


def test_tag_audio_events_false_drops_them_from_words_and_text() -> None:
    tokens = segment_tokens(LAUGH, tag_audio_events=False)
    assert [t.text for t in tokens] == ["Well,", "that's", "it."]
    assert strip_audio_events(LAUGH.text) == "Well, that's it."
    assert strip_audio_events("*applause* Thank you ♪ la la ♪.") == "Thank you."


def test_unclosed_bracket_is_an_ordinary_word() -> None:
    segment = _segment([_word("(so", 0, 1), _word("what", 1, 2)])
    assert [t.kind for t in segment_tokens(segment, tag_audio_events=True)] == [
        "word",
        "word",
    ]


# --- languages ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "whisper"),
    [
        ("en", "en"),
        ("eng", "en"),
        ("ENG", "en"),
        ("en-US", "en"),
        ("deu", "de"),
        ("ger", "de"),
        ("cmn", "zh"),
        ("zho", "zh"),
        ("yue", "yue"),
        ("jav", "jw"),
        ("haw", "haw"),
        ("xx", None),
        ("klingon", None),
    ],
)
def test_language_codes(code: str, whisper: str | None) -> None:
    assert to_whisper(code) == whisper


def test_every_whisper_language_has_an_iso3_code() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(_LANGUAGE_CODES) == set(WHISPER_TO_ISO3)
    assert all(len(code) == 3 for code in WHISPER_TO_ISO3.values())
    assert to_iso3("en") == "eng" and to_iso3(None) is None


# --- request parsing ----------------------------------------------------------------
def _fields(*items: tuple[str, str]) -> FormFields:
    return FormFields(FormData(list(items)), error=ValidationFailed)


def test_parse_reads_sdk_quirks() -> None:
    fields = _fields(
        ("model_id", "scribe_v2"),
        ("file", "null"),
        ("source_url", "https://example.com/a.mp3"),
        ("webhook_metadata", "null"),
        ("entity_detection", "null"),
        ("entity_redaction", "null"),
        ("diarize", "false"),
        ("language_code", "fra"),
        ("keyterms", '["alpha", "beta gamma"]'),
        ("keyterms", "delta"),
        ("additional_formats", '[{"format":"srt","maxCharactersPerLine":30}]'),
    )
    request = parse_request(fields, Settings(), enable_logging=True)
    assert request.job.language == "fr"
    assert request.job.model == "auto"  # dalston.services.policy decides
    assert request.job.vocabulary == ("alpha", "beta gamma", "delta")
    assert request.formats[0].max_characters_per_line == 30
    assert request.url == "https://example.com/a.mp3"


@pytest.mark.parametrize(
    ("items", "where"),
    [
        ([("keyterms", "a <b>")], "keyterms"),
        ([("keyterms", "one two three four five six")], "keyterms"),
        ([("keyterms", "x" * 51)], "keyterms"),
        ([("timestamps_granularity", "segment")], "timestamps_granularity"),
        ([("temperature", "2.5")], "temperature"),
        ([("seed", "-1")], "seed"),
        ([("language_code", "zz")], "language_code"),
        ([("webhook_id", "abc")], "webhook_id"),
        ([("additional_formats", '[{"format":"vtt"}]')], "additional_formats"),
        (
            [("additional_formats", '[{"format":"txt","bogus":1}]')],
            "additional_formats",
        ),
        ([("multichannel_output_style", "combined")], "multichannel_output_style"),
        ([("shiny_new_field", "1")], "shiny_new_field"),
    ],
)
def test_bad_fields_are_422(items: list[tuple[str, str]], where: str) -> None:
    fields = _fields(
        ("model_id", "scribe_v1"), ("source_url", "https://x.io/a"), *items
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_request(fields, Settings(), enable_logging=True)
    assert caught.value.loc[:2] == ["body", where]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ('{"a": 1, "b": {"c": "d"}}', {"a": 1, "b": {"c": "d"}}),
        ('"a json string"', "a json string"),
        ("plain text, not JSON", "plain text, not JSON"),
        ("null", None),
    ],
)
def test_webhook_metadata_object_or_string(raw: str, parsed: object) -> None:
    fields = _fields(
        ("model_id", "scribe_v1"),
        ("source_url", "https://x.io/a"),
        ("webhook", "true"),
        ("webhook_metadata", raw),
    )
    assert parse_request(fields, Settings(), enable_logging=True).webhook_metadata == (
        parsed
    )


@pytest.mark.parametrize(
    "raw", ['{"a": {"b": {"c": 1}}}', "[1, 2]", "x" * (16 * 1024 + 1)]
)
def test_webhook_metadata_limits(raw: str) -> None:
    fields = _fields(
        ("model_id", "scribe_v1"),
        ("source_url", "https://x.io/a"),
        ("webhook", "true"),
        ("webhook_metadata", raw),
    )
    with pytest.raises(ValidationFailed):
        parse_request(fields, Settings(), enable_logging=True)


def test_unknown_field_sent_as_null_is_fine() -> None:
    fields = _fields(
        ("model_id", "scribe_v1"),
        ("source_url", "https://x.io/a"),
        ("future_field", "null"),
    )
    parse_request(fields, Settings(), enable_logging=True)


def test_unsupported_features_are_named_together() -> None:
    fields = _fields(
        ("model_id", "scribe_v1"),
        ("source_url", "https://x.io/a"),
        ("diarize", "true"),
        ("detect_speaker_roles", "true"),
        ("use_speaker_library", "true"),
        ("no_verbatim", "true"),
    )
    with pytest.raises(UnsupportedFeature) as caught:
        parse_request(fields, Settings(), enable_logging=True)
    message = caught.value.message
    assert caught.value.status_code == 400
    assert "detect_speaker_roles=true" in message and "role" in message
    assert "use_speaker_library" in message and "no_verbatim" in message


@pytest.mark.parametrize(
    ("pairs", "param"),
    [
        ((("num_speakers", "2"),), "num_speakers"),  # without diarize
        ((("entity_detection", "credit_cards"),), "entity_detection"),
        (
            (("entity_detection", "pii"), ("entity_redaction", "pci")),
            "entity_redaction",  # not a subset of what is detected
        ),
        ((("entity_redaction", "pii"),), "entity_redaction"),
        (
            (
                ("entity_detection", "pii"),
                ("entity_redaction", "pii"),
                ("entity_redaction_mode", "blur"),
            ),
            "entity_redaction_mode",
        ),
    ],
)
def test_bad_enrichment_fields_are_422(
    pairs: tuple[tuple[str, str], ...], param: str
) -> None:
    fields = _fields(
        ("model_id", "scribe_v1"), ("source_url", "https://x.io/a"), *pairs
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_request(fields, Settings(), enable_logging=True)
    assert caught.value.param == param


def test_enrichment_fields_are_parsed() -> None:
    fields = _fields(
        ("model_id", "scribe_v1"),
        ("source_url", "https://x.io/a"),
        ("diarize", "true"),
        ("num_speakers", "3"),
        ("diarization_threshold", "0.3"),
        ("entity_detection", '["pii", "pci"]'),
        ("entity_redaction", "pci"),
        ("entity_redaction_mode", "enumerated_entity_type"),
    )
    scribe = parse_request(fields, Settings(), enable_logging=True)
    assert scribe.job.diarize and scribe.job.num_speakers == 3
    assert scribe.job.diarization_threshold is None  # a count wins, as upstream
    assert "CREDIT_CARD" in scribe.entity_detection
    assert "PERSON" in scribe.entity_detection
    assert "CREDIT_CARD" in scribe.entity_redaction
    assert "PERSON" not in scribe.entity_redaction
    assert scribe.options.redaction_mode == "enumerated_entity_type"


def test_additional_formats_limit_and_camel_case() -> None:
    many = json.dumps([{"format": "txt"}] * 11)
    with pytest.raises(ValidationFailed):
        parse_additional_formats(_fields(("additional_formats", many)))
    specs = parse_additional_formats(
        _fields(
            (
                "additional_formats",
                '[{"format":"html","includeTimestamps":false,'
                '"segmentOnSilenceLongerThanS":0.5}]',
            )
        )
    )
    assert specs[0].include_timestamps is False
    assert specs[0].segment_on_silence_longer_than_s == 0.5


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "true"])
@pytest.mark.parametrize(
    "option", ["max_characters_per_line", "max_segment_duration_s"]
)
def test_additional_formats_refuse_what_is_not_a_finite_number(
    number: str, option: str
) -> None:
    """JSON's 1e999 parses to infinity: int() of it was an OverflowError (a 500)."""
    raw = f'[{{"format":"srt","{option}":{number}}}]'
    with pytest.raises(ValidationFailed) as caught:
        parse_additional_formats(_fields(("additional_formats", raw)))
    assert caught.value.loc[-1] == option


# --- response shapes ------------------------------------------------------------------
def test_chunk_has_spacing_logprob_and_characters() -> None:
    transcript = _transcript(
        [_segment([_word("Hi", 0.0, 0.4), _word("you", 0.6, 1.0)])]
    )
    body = build_response(
        transcript,
        ResponseOptions(timestamps_granularity="character"),
        transcription_id="t1",
        audio_duration_s=10.0,
    )
    assert body["language_code"] == "eng" and body["language_probability"] == 0.97
    assert body["transcription_id"] == "t1" and body["audio_duration_secs"] == 10.0
    words = body["words"]
    assert [w["type"] for w in words] == ["word", "spacing", "word"]
    assert words[1] == {
        "text": " ",
        "start": 0.4,
        "end": 0.6,
        "type": "spacing",
        "speaker_id": None,
        "logprob": 0.0,
        "characters": [{"text": " ", "start": 0.4, "end": 0.6}],
    }
    assert all(w["logprob"] <= 0 for w in words)
    assert words[0]["characters"] == [
        {"text": "H", "start": 0.0, "end": 0.2},
        {"text": "i", "start": 0.2, "end": 0.4},
    ]


def test_granularity_none_gives_untimed_words() -> None:
    segment = Segment(id=0, start=0.0, end=2.0, text="Hello there.", avg_logprob=-0.1)
    body = build_response(
        _transcript([segment]),
        ResponseOptions(timestamps_granularity="none"),
        transcription_id="t",
        audio_duration_s=2.0,
    )
    assert [w["text"] for w in body["words"]] == ["Hello", " ", "there."]
    assert all(w["start"] is None and w["end"] is None for w in body["words"])
    assert body["words"][0]["logprob"] == pytest.approx(-0.1)


def _stereo() -> Transcript:
    left = _segment([_word("left", 0.0, 0.5, channel=0)], channel=0)
    right = _segment([_word("right", 0.2, 0.7, channel=1)], channel=1)
    right = right.model_copy(update={"id": 1})
    return _transcript(
        [left, right],
        channels=2,
        channel_transcripts=[
            ChannelSummary(
                channel_index=0,
                text="left",
                language_code="en",
                language_probability=0.9,
            ),
            ChannelSummary(
                channel_index=1,
                text="right",
                language_code="en",
                language_probability=0.8,
            ),
        ],
    )


def test_multichannel_separate_and_combined() -> None:
    separate = build_response(
        _stereo(),
        ResponseOptions(use_multi_channel=True),
        transcription_id="t",
        audio_duration_s=1.0,
    )
    assert separate["transcription_id"] == "t"
    assert [t["channel_index"] for t in separate["transcripts"]] == [0, 1]
    assert [t["text"] for t in separate["transcripts"]] == ["left", "right"]
    assert separate["transcripts"][1]["words"][0]["channel_index"] == 1
    combined = build_response(
        _stereo(),
        ResponseOptions(use_multi_channel=True, multichannel_output_style="combined"),
        transcription_id="t",
        audio_duration_s=1.0,
    )
    assert combined["text"] == "left right"
    assert [(w["text"], w["channel_index"]) for w in combined["words"]] == [
        ("left", 0),
        (" ", 1),
        ("right", 1),
    ]


# --- formats ------------------------------------------------------------------------
def _render(fmt: str, **options: object) -> dict[str, object]:
    spec = parse_additional_formats(
        _fields(("additional_formats", json.dumps([{"format": fmt, **options}])))
    )[0]
    units = [segment_tokens(LAUGH, tag_audio_events=True)]
    return render(spec, units, "en")


def test_srt_respects_line_length_and_silence() -> None:
    item = _render(
        "srt", max_characters_per_line=10, segment_on_silence_longer_than_s=0
    )
    content = str(item["content"])
    # The 0.4 s word is on screen for 0.5 s, the shared renderer's minimum.
    assert content.startswith("1\n00:00:00,000 --> 00:00:00,500\nWell,\n")
    assert all(len(line) <= 19 for line in content.splitlines() if "-->" not in line)
    assert item["file_extension"] == "srt" and item["is_base64_encoded"] is False
    times = [
        [_srt_seconds(t) for t in line.split(" --> ")]
        for line in content.splitlines()
        if "-->" in line
    ]
    assert len(times) == 5 and all(end - start >= 0.5 - 1e-9 for start, end in times)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))


def _srt_seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))


# Whisper's word tokens for French and a hyphenated word: "m'" then "appelle".
FRENCH_TEXT = " Bonjour, je m'appelle Claire. C'est un self-substantial exemple."
FRENCH = Segment(
    id=0,
    start=0.0,
    end=4.4,
    text=FRENCH_TEXT,
    words=[
        _word(w, i * 0.4, i * 0.4 + 0.35)
        for i, w in enumerate(
            (
                *(" Bonjour,", " je", " m'", "appelle", " Claire.", " C'", "est"),
                *(" un", " self", "-substantial", " exemple."),
            )
        )
    ],
)


def _render_segment(segment: Segment, fmt: str, **options: object) -> str:
    spec = parse_additional_formats(
        _fields(("additional_formats", json.dumps([{"format": fmt, **options}])))
    )[0]
    units = [segment_tokens(segment, tag_audio_events=True)]
    return str(render(spec, units, "fr")["content"])


def test_formats_join_words_as_the_language_writes_them() -> None:
    srt = _render_segment(FRENCH, "srt")
    cue_text = " ".join(line for line in srt.splitlines() if line and "-->" not in line)
    assert "m'appelle" in cue_text and "self-substantial" in cue_text
    assert "m 'appelle" not in cue_text and "self -substantial" not in cue_text
    txt = _render_segment(FRENCH, "txt", include_timestamps=False)
    assert txt.strip() == FRENCH_TEXT.strip()
    segments = json.loads(_render_segment(FRENCH, "segmented_json"))["segments"]
    assert " ".join(s["text"] for s in segments) == FRENCH_TEXT.strip()
    # Each cue's words are the tokens it shows, in order, none lost or repeated.
    words = [w["text"] for s in segments for w in s["words"]]
    assert words == [
        *("Bonjour,", "je", "m'appelle", "Claire.", "C'est", "un"),
        *("self-substantial", "exemple."),
    ]


def test_export_options_map_onto_the_one_renderer() -> None:
    # No cue holds more than 30 characters or lasts longer than 2 s, lines keep
    # to 16 characters, and no cut falls inside "self-substantial".
    srt = _render_segment(
        FRENCH,
        "srt",
        max_characters_per_line=16,
        max_segment_chars=30,
        max_segment_duration_s=2.0,
    )
    blocks = [b.split("\n")[1:] for b in srt.strip().split("\n\n")]
    # Cut at the comma, the sentence end, then where the next word passes 2 s.
    assert [lines for _, *lines in blocks] == [
        ["Bonjour,"],
        ["je m'appelle", "Claire."],
        ["C'est un", "self-substantial"],
        ["exemple."],
    ]
    for timing, *lines in blocks:
        start, end = (_srt_seconds(t) for t in timing.split(" --> "))
        assert end - start <= 2.0 + 1e-9 and end - start >= 0.5 - 1e-9
        assert len(" ".join(lines)) <= 30 and all(len(line) <= 16 for line in lines)


def test_txt_segmented_json_html() -> None:
    txt = str(_render("txt", include_timestamps=False)["content"])
    assert txt.strip() == LAUGH.text
    segmented = json.loads(str(_render("segmented_json")["content"]))
    assert segmented["segments"][0]["words"][1]["type"] == "audio_event"
    page = str(_render("html", max_segment_chars=12)["content"])
    assert page.startswith("<!DOCTYPE html>") and "[Music]" in page


def test_docx_and_pdf_are_base64_documents() -> None:
    from docx import Document

    item = _render("docx")
    assert item["is_base64_encoded"] is True
    document = Document(io.BytesIO(base64.b64decode(str(item["content"]))))
    assert "that's" in "\n".join(p.text for p in document.paragraphs)
    pdf = base64.b64decode(str(_render("pdf")["content"]))
    assert pdf.startswith(b"%PDF")


# --- webhook signature --------------------------------------------------------------
def test_signature_verifies_with_the_sdk_helper() -> None:
    from elevenlabs.client import ElevenLabs

    body = json.dumps({"type": "speech_to_text_transcription", "data": {}}).encode()
    header = sign("s3cret", body)
    client = ElevenLabs(api_key="unused", base_url="http://127.0.0.1:9")
    event = client.webhooks.construct_event(body.decode(), header, "s3cret")
    assert event["type"] == "speech_to_text_transcription"
    from elevenlabs.errors import BadRequestError

    with pytest.raises(BadRequestError):
        client.webhooks.construct_event(body.decode(), header, "wrong")
    stale = sign("s3cret", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(BadRequestError):
        client.webhooks.construct_event(body.decode(), stale, "s3cret")


def test_elided_pieces_are_one_word_in_text_words_and_srt() -> None:
    """Whisper's "m'" + "appelle" pieces read "m'appelle" everywhere."""
    from dalston.transcript.model import Segment, Word

    pieces = ["Je", "m'", "appelle", "Claire,", "self", "-substantial."]
    words = [
        Word(text=w, start=i * 0.4, end=i * 0.4 + 0.35, confidence=0.9)
        for i, w in enumerate(pieces)
    ]
    segment = Segment(
        id=0,
        start=0.0,
        end=words[-1].end,
        text=" Je m'appelle Claire, self-substantial.",
        words=words,
    )
    tokens = segment_tokens(segment, tag_audio_events=True)
    assert [t.text for t in tokens] == [
        "Je",
        "m'appelle",
        "Claire,",
        "self-substantial.",
    ]
    assert tokens[1].start == words[1].start and tokens[1].end == words[2].end
    spec = parse_additional_formats(
        _fields(("additional_formats", json.dumps([{"format": "srt"}])))
    )[0]
    content = str(render(spec, [tokens], "fr")["content"])
    assert "m'appelle" in content and "self-substantial" in content
