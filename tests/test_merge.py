"""The merge stage (speakers onto words and segments) and the stage graph."""

from __future__ import annotations

from typing import Any

import pytest

from dalston.engines.transcript_merge.speakers import (
    Turn,
    label_transcript,
    parse_turns,
)
from dalston.orchestrator.assemble import assemble_transcript
from dalston.orchestrator.dag import build_dag
from dalston.transcript import talk_times


def _word(text: str, start: float, end: float) -> dict[str, Any]:
    return {"text": text, "start": start, "end": end, "confidence": 0.9}


def _transcript() -> dict[str, Any]:
    return {
        "text": "Hello there. How are you? Fine.",
        "language_code": "en",
        "language_probability": 0.99,
        "duration": 6.0,
        "segments": [
            {
                "id": 0,
                "start": 0.0,
                "end": 3.0,
                "text": "Hello there. How are you?",
                "tokens": [1, 2, 3],
                "words": [
                    _word("Hello", 0.1, 0.5),
                    _word("there.", 0.5, 1.0),
                    _word("How", 1.6, 1.9),
                    _word("are", 1.9, 2.2),
                    _word("you?", 2.2, 2.8),
                ],
            },
            {
                "id": 1,
                "start": 3.5,
                "end": 5.0,
                "text": "Fine.",
                "words": [_word("Fine.", 3.6, 4.4)],
            },
        ],
    }


TURNS = [Turn(0.0, 1.2, "b"), Turn(1.5, 3.0, "a"), Turn(3.4, 4.5, "b")]


def test_words_take_the_speaker_of_their_turn_and_segments_split() -> None:
    merged = label_transcript(_transcript(), TURNS)
    segments = merged["segments"]
    # "b" speaks first, so it is SPEAKER_00, whatever the diarizer called it.
    assert [(s["speaker"], s["text"]) for s in segments] == [
        ("SPEAKER_00", "Hello there."),
        ("SPEAKER_01", "How are you?"),
        ("SPEAKER_00", "Fine."),
    ]
    assert [s["id"] for s in segments] == [0, 1, 2]
    assert segments[0]["start"] == 0.0 and segments[0]["end"] == 1.0
    assert segments[1]["start"] == 1.6 and segments[1]["end"] == 3.0
    assert segments[0]["tokens"] is None  # decoder tokens span the old segment
    for segment in segments:
        assert {w["speaker"] for w in segment["words"]} == {segment["speaker"]}
    assert merged["text"] == "Hello there. How are you? Fine."
    assert merged["speakers"] == [
        {"id": "SPEAKER_00", "label": None, "channel": None, "talk_time": 2.3},
        {"id": "SPEAKER_01", "label": None, "channel": None, "talk_time": 1.5},
    ]


def test_each_speaker_has_its_talk_time_from_the_turns() -> None:
    # "b" talks 0-1.2 and 3.4-4.5, with an overlapping duplicate turn; "a" 1.5-3.0.
    merged = label_transcript(_transcript(), [*TURNS, Turn(0.5, 1.0, "b")])
    talk = {s["id"]: s["talk_time"] for s in merged["speakers"]}
    assert talk == {"SPEAKER_00": 2.3, "SPEAKER_01": 1.5}


def test_talk_times_count_a_speaker_once_and_overlap_for_both() -> None:
    spans = [("x", 0.0, 2.0), ("x", 1.0, 3.0), ("y", 2.5, 4.0), ("x", 5, 5)]
    assert talk_times(spans) == {"x": 3.0, "y": 1.5}
    assert talk_times([]) == {}


def test_a_word_in_a_pause_takes_the_nearest_turn() -> None:
    transcript = _transcript()
    transcript["segments"][0]["words"][2] = _word("How", 1.25, 1.45)  # in the gap
    merged = label_transcript(transcript, TURNS)
    how = merged["segments"][1]["words"][0]
    assert how["text"] == "How" and how["speaker"] == "SPEAKER_01"


def test_segments_without_words_take_the_main_speaker() -> None:
    transcript = _transcript()
    for segment in transcript["segments"]:
        segment["words"] = None
    merged = label_transcript(transcript, TURNS)
    # "a" talks longest in the first segment, so it is named first.
    assert [s["speaker"] for s in merged["segments"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert len(merged["segments"]) == 2


def test_no_turns_leave_speakers_empty() -> None:
    merged = label_transcript(_transcript(), [])
    assert merged["speakers"] == []
    assert all(s["speaker"] is None for s in merged["segments"])


def test_parse_turns_drops_empty_turns_and_sorts() -> None:
    turns = parse_turns(
        [
            {"start": 2.0, "end": 3.0, "speaker": "x"},
            {"start": 1.0, "end": 1.0, "speaker": "y"},
            {"start": 0.0, "end": 1.0, "speaker": "z"},
        ]
    )
    assert [t.speaker for t in turns] == ["z", "x"]


@pytest.mark.parametrize(
    ("params", "stages"),
    [
        ({}, ["prepare", "transcribe"]),
        ({"align": True}, ["prepare", "transcribe", "align"]),
        (
            {"align": True, "speaker_detection": "diarize"},
            ["prepare", "transcribe", "align", "diarize", "merge"],
        ),
        (
            {"speaker_detection": "diarize", "pii_detection": True},
            ["prepare", "transcribe", "diarize", "merge", "pii"],
        ),
        (
            {"align": True, "pii_detection": True, "redact_pii_audio": True},
            ["prepare", "transcribe", "align", "pii", "redact"],
        ),
    ],
)
def test_stage_graph(params: dict[str, Any], stages: list[str]) -> None:
    specs = build_dag(params, transcribe_engine="faster-whisper")
    assert [s.stage for s in specs] == stages
    by_stage = {s.stage: s for s in specs}
    if "merge" in by_stage:
        text_stage = "align" if "align" in by_stage else "transcribe"
        assert by_stage["merge"].depends_on == (text_stage, "diarize")
        assert by_stage["diarize"].depends_on == ("prepare",)  # beside transcribe
    if "pii" in by_stage:
        assert by_stage["pii"].depends_on[0] in ("merge", "align", "transcribe")
    if "redact" in by_stage:
        assert by_stage["redact"].depends_on == ("pii",)


def test_assembly_takes_the_latest_transcript_and_pii() -> None:
    transcribed = _transcript()
    merged = label_transcript(transcribed, TURNS)
    merged["diarization"] = {"backend": "resemblyzer", "num_speakers": 2}
    outputs = {
        "prepare": {"duration": 6.0, "channels": 1},
        "transcribe": transcribed,
        "merge": merged,
        "pii": {
            "entities": [
                {
                    "text": "Fine",
                    "entity_type": "PERSON",
                    "start_char": 26,
                    "end_char": 30,
                    "start": 3.6,
                    "end": 4.4,
                    "confidence": 0.85,
                }
            ],
            "redacted_text": "Hello there. How are you? {PERSON}.",
            "entity_types": ["PERSON"],
        },
        "redact": {"audio_key": "audio/redacted.wav", "mode": "beep", "spans": []},
    }
    transcript = assemble_transcript(
        model="whisper-tiny.en", params={"pii_detection": True}, outputs=outputs
    )
    assert [s.id for s in transcript.speakers] == ["SPEAKER_00", "SPEAKER_01"]
    assert len(transcript.segments) == 3
    assert transcript.metadata.diarization == "resemblyzer"
    assert transcript.metadata.stages == list(outputs)
    assert transcript.entities and transcript.entities[0].entity_type == "PERSON"
    assert transcript.text[26:30] == "Fine"
    assert transcript.pii is not None and transcript.pii.redacted_audio
    assert transcript.pii.redaction_mode == "beep"


def test_split_segments_keep_the_text_as_written() -> None:
    """A speaker change inside a segment leaves "m'appelle" and "self-made" whole."""
    pieces = [" Je", " m'", "appelle", " Claire.", " Moi,", " self", "-made."]
    words = [_word(w, 0.1 + i * 0.4, 0.45 + i * 0.4) for i, w in enumerate(pieces)]
    transcript = {
        "text": "Je m'appelle Claire. Moi, self-made.",
        "language_code": "fr",
        "language_probability": 0.9,
        "duration": 3.0,
        "segments": [
            {
                "id": 0,
                "start": 0.0,
                "end": 3.0,
                "text": "".join(pieces),
                "words": [{**w, "text": w["text"].strip()} for w in words],
            }
        ],
    }
    merged = label_transcript(transcript, [Turn(0.0, 1.5, "a"), Turn(1.5, 3.0, "b")])
    assert [s["text"] for s in merged["segments"]] == [
        "Je m'appelle Claire.",
        "Moi, self-made.",
    ]
