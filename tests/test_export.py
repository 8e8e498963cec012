"""Subtitle and text exports."""

from __future__ import annotations

from dalston.transcript import Segment, Transcript, TranscriptMetadata, Word
from dalston.transcript.export import CueOptions, ExportFormat, render


def _transcript() -> Transcript:
    words = [
        Word(text=w, start=i * 0.5, end=i * 0.5 + 0.4)
        for i, w in enumerate(
            "one two three four five six seven eight nine ten".split()
        )
    ]
    return Transcript(
        text="one two three four five six seven eight nine ten",
        language_code="en",
        language_probability=1.0,
        duration=3725.5,
        segments=[
            Segment(
                id=0,
                start=0.0,
                end=5.0,
                text=" ".join(w.text for w in words),
                words=words,
                speaker="SPEAKER_00",
            ),
            Segment(id=1, start=3723.25, end=3725.5, text="last words"),
        ],
        metadata=TranscriptMetadata(model="m"),
    )


def test_srt_numbers_cues_and_formats_hours() -> None:
    srt = render(_transcript(), ExportFormat.SRT, CueOptions())
    blocks = srt.strip().split("\n\n")
    assert blocks[0].startswith("1\n00:00:00,000 --> 00:00:04,900\n")
    assert blocks[-1] == "2\n01:02:03,250 --> 01:02:05,500\nlast words"


def test_long_segments_split_on_word_times() -> None:
    options = CueOptions(max_line_length=10, max_lines=1)
    vtt = render(_transcript(), ExportFormat.VTT, options)
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt.strip().split("\n\n")[1:]
    assert len(cues) > 3
    for cue in cues:
        _timing, *lines = cue.split("\n")
        assert len(lines) == 1 and len(lines[0]) <= 10
    assert cues[1].startswith("00:00:01.000 --> ")  # "three four" starts at 1.0 s


def test_speakers_in_txt_and_srt() -> None:
    transcript = _transcript()
    txt = render(transcript, ExportFormat.TXT, CueOptions(include_speakers=True))
    assert txt.startswith("SPEAKER_00: one two")
    srt = render(transcript, ExportFormat.SRT, CueOptions(include_speakers=True))
    assert "[SPEAKER_00] one two" in srt


def test_json_round_trips() -> None:
    transcript = _transcript()
    again = Transcript.model_validate_json(
        render(transcript, ExportFormat.JSON, CueOptions())
    )
    assert again == transcript
